"""Where a training step's time goes: PyTorch's profiler over a few steps of a run, the device's
kernels grouped by kind (attention, matrix products, the compiler's fused elementwise kernels,
the optimiser, copies, the rest) as milliseconds a step and a share of the steps' wall time.
Model v2 trained at 19 % MFU against an aim of 30 %; without this the probe said how fast, not
why. device-train.sh's probe turns it on (train.py --profile-steps), so a GPU session's probe
brings the breakdown back in probe.log at the cost of a few seconds.

On a CPU (the tests) there are no device kernels: it prints the operators with the most CPU time.
A profiler that fails only prints why; it never stops the run.
"""
import re
import time

import torch

# First match wins: attention kernels can have "gemm" in their names.
KINDS = (
    ("attention", re.compile(r"flash|fmha|attention|sdpa", re.I)),
    ("matrix products", re.compile(r"gemm|cutlass|xmma|nvjet|cublas|sm90_", re.I)),
    ("fused elementwise (compiled)", re.compile(r"^triton_", re.I)),
    ("optimiser", re.compile(r"adam|multi_tensor|foreach", re.I)),
    ("copies and fills", re.compile(r"memcpy|memset|copy|fill", re.I)),
)


def kind_of(kernel_name):
    for kind, pattern in KINDS:
        if pattern.search(kernel_name):
            return kind
    return "other"


def _device_us(event):
    """A profiler row's own device time in µs (the attribute's name changed in torch 2.4)."""
    for name in ("self_device_time_total", "self_cuda_time_total"):
        if hasattr(event, name):
            return float(getattr(event, name))
    return 0.0


class StepProfiler:
    """Profiles steps first_step .. first_step + steps - 1 of a run: call before_step(step) before
    each step's work and after_step() after it (the step number is the one about to run)."""

    def __init__(self, steps, first_step, device):
        self.steps, self.first, self.device = steps, first_step, device
        self.prof, self.t0, self.done = None, 0.0, steps <= 0

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def active(self):
        return self.prof is not None

    def before_step(self, step):
        if self.done or self.prof is not None or step < self.first:
            return
        try:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if self.device.type == "cuda":
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self._sync()
            self.prof = torch.profiler.profile(activities=activities)
            self.prof.__enter__()
            self.t0, self.start, self.count = time.time(), step, 0
        except Exception as e:  # noqa: BLE001  a profiler that cannot start must not stop training
            print(f"profile: could not start ({type(e).__name__}: {e})", flush=True)
            self.prof, self.done = None, True

    def after_step(self):
        if self.prof is None:
            return
        self.count += 1
        if self.count < self.steps:
            return
        self._sync()
        wall = time.time() - self.t0
        prof, self.prof, self.done = self.prof, None, True
        try:
            prof.__exit__(None, None, None)
            print(self.summary(prof.key_averages(), wall), flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"profile: failed ({type(e).__name__}: {e})", flush=True)

    def summary(self, rows, wall):
        n = self.count
        step_ms = 1000 * wall / n
        head = (f"profile of steps {self.start + 1}-{self.start + n} ({n} steps, {step_ms:.1f} ms a step "
                f"wall, profiler overhead included)")
        timed = [r for r in rows if _device_us(r) > 0]
        # Kernel rows only (the operators that launched them may carry the same time again).
        on_device = [r for r in timed if str(getattr(r, "device_type", "")).endswith("CUDA")]
        kernels = [(r.key, _device_us(r) / 1000 / n, r.count / n) for r in (on_device or timed)]
        if not kernels:
            top = sorted(rows, key=lambda r: r.self_cpu_time_total, reverse=True)[:10]
            lines = [head + "; no device kernels recorded: operators with the most CPU time",
                     "| operator | ms a step (self CPU) | calls a step |", "|---|---|---|"]
            lines += [f"| {r.key} | {r.self_cpu_time_total / 1000 / n:.2f} | {r.count / n:.1f} |" for r in top]
            return "\n".join(lines)
        busy = sum(ms for _, ms, _ in kernels)
        by_kind = {}
        for name, ms, _ in kernels:
            kind = kind_of(name)
            by_kind[kind] = by_kind.get(kind, 0.0) + ms
        lines = [head + f"; device busy {busy:.1f} ms a step ({100 * busy / step_ms:.1f} % of wall)",
                 "| kernels | ms a step | share of wall |", "|---|---|---|"]
        lines += [f"| {k} | {ms:.2f} | {100 * ms / step_ms:.1f} % |" for k, ms in sorted(by_kind.items(), key=lambda x: -x[1])]
        lines += ["| kernel (top 15) | ms a step | calls a step |", "|---|---|---|"]
        lines += [f"| {name[:90]} | {ms:.2f} | {calls:.1f} |" for name, ms, calls in sorted(kernels, key=lambda x: -x[1])[:15]]
        return "\n".join(lines)
