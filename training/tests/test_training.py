"""Tests of the training pipeline on a tiny synthetic corpus (about a minute on 1-2 CPU threads).

    /usr/bin/python3 -m unittest discover -s training/tests -v
"""
import faulthandler
import json
import os
import shutil
import socket
import sys
import tempfile
import unittest
from types import SimpleNamespace

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import export  # noqa: E402
import objective  # noqa: E402
import step_profile  # noqa: E402
import train  # noqa: E402
from model import Denoiser, DenoiserConfig  # noqa: E402

VOCAB = 96
NEWLINES = [4, 5]  # "\n" and "\n    " in a real tokenizer
SPACES = [6, 7]    # "    " and "\t": indentation tokens
TINY = ["--n-layer", "2", "--d-model", "64", "--n-head", "2", "--threads", "1", "--seq-len", "64",
        "--batch-size", "16", "--log-every", "5", "--eval-windows", "16", "--warmup-steps", "10"]


def write_corpus(folder, n_docs=400, seed=0):
    """Code-like documents: each defines a few 'functions' whose name and argument tokens recur
    in the body lines, so a masked token can often be recovered from its context."""
    rng = np.random.default_rng(seed)

    def doc():
        out = []
        for _ in range(rng.integers(2, 5)):
            name, arg = rng.integers(20, 50), rng.integers(50, 80)
            out += [10, name, 11, arg, 12, 13, 4]                      # def name ( arg ) :\n
            indent = [int(rng.choice(SPACES))]
            for _ in range(rng.integers(1, 4)):
                op = rng.integers(14, 18)
                out += [*indent, arg, op, rng.integers(80, VOCAB), 4]  #     arg op k\n
            out += [*indent, 19, name, 11, arg, 12, 5]                 #     return name ( arg )\n    
        return out + [3]                                               # eos

    os.makedirs(folder, exist_ok=True)
    for name, n in (("train.bin", n_docs), ("heldout.bin", n_docs // 10)):
        tokens = np.array([t for _ in range(n) for t in doc()], dtype="<u2")
        tokens.tofile(os.path.join(folder, name))
    meta = {"vocab_size": VOCAB, "special": {"pad": 0, "mask": 1, "bos": 2, "eos": 3},
            "newline_token_ids": NEWLINES, "indent_token_ids": SPACES}
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f)


def model_state(ckpt_path):
    return train.torch_load(ckpt_path)["model"]


def ddp_rank(rank, world, port, argv, state_file):
    """One process of a data-parallel run, with the environment torchrun gives it (Debian's
    torchrun 1.13 fails on Python 3.11 before it starts any process, so the test sets it here).
    Saves the process's final weights to state_file % rank."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    faulthandler.dump_traceback_later(120, exit=True)  # a hung process prints where, and the test fails
    torch.save(train.main(argv)["model"].state_dict(), state_file % rank)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.tmp = tempfile.mkdtemp(prefix="diffuse-train-test-")
        cls.data = os.path.join(cls.tmp, "data")
        write_corpus(cls.data)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_train(self, out, *extra):
        return train.main(["--data", self.data, "--out", os.path.join(self.tmp, out), *TINY, *extra])

    def read_jsonl(self, out, name):
        with open(os.path.join(self.tmp, out, name)) as f:
            return [json.loads(line) for line in f]

    def test_loss_goes_down(self):
        # The tiny model sits on a unigram plateau for ~100 steps (as the real one does for ~3 M
        # tokens); 300 steps (a few seconds) get well past it.
        self.run_train("learn", "--max-steps", "300", "--lr", "3e-3", "--log-every", "10")
        log = self.read_jsonl("learn", "log.jsonl")
        first, plateau, last = log[0]["loss"], log[5]["loss"], log[-1]["loss"]
        self.assertLess(last, 0.75 * plateau, f"loss {first:.3f} -> {plateau:.3f} -> {last:.3f}")
        ev = self.read_jsonl("learn", "eval.jsonl")[-1]
        self.assertEqual(ev["tokens_seen"], 300 * 16 * 64)
        self.assertGreater(ev["masked_acc_15"], 0.3)  # a unigram guess gets about 0.1-0.15 here

    def test_resume_is_exact(self):
        self.run_train("straight", "--max-steps", "12")
        self.run_train("chained", "--max-steps", "6")
        self.run_train("chained", "--max-steps", "12")  # resumes from last.pt
        a, b = model_state(os.path.join(self.tmp, "straight", "last.pt")), \
            model_state(os.path.join(self.tmp, "chained", "last.pt"))
        self.assertEqual(a.keys(), b.keys())
        for k in a:
            self.assertTrue(torch.equal(a[k], b[k]), k)
        self.assertEqual(train.torch_load(os.path.join(self.tmp, "chained", "last.pt"))["tokens_seen"], 12 * 16 * 64)

    def test_export_and_init_from(self):
        models = os.path.join(self.tmp, "models")
        name = os.path.join(models, "tiny")
        ref = os.path.join(self.tmp, "reference.json")
        export.main(["--random-init", "--config", "vocab_size=96,n_layer=2,d_model=64,n_head=2",
                     "--meta", os.path.join(self.data, "meta.json"), "--out", name, "--reference", ref,
                     "--seed", "7", "--fp32"])
        import onnx
        m = onnx.load(os.path.join(name, "model.onnx"))
        onnx.checker.check_model(m)
        torch.manual_seed(7)
        expected = Denoiser(DenoiserConfig(vocab_size=96, n_layer=2, d_model=64, n_head=2)).state_dict()
        names = {i.name for i in m.graph.initializer}
        self.assertTrue(set(expected) <= names, set(expected) - names)
        with open(os.path.join(name, "denoiser.json")) as f:
            info = json.load(f)
        self.assertEqual(info["special_tokens"], {"pad": 0, "mask": 1, "bos": 2, "eos": 3})
        self.assertEqual(info["training"]["params"], sum(v.numel() for v in expected.values()))
        with open(ref) as f:
            cases = json.load(f)["cases"]
        self.assertEqual(len(cases), 2)
        self.assertEqual(len(cases[0]["logits"]), int(np.prod(cases[0]["shape"])))

        # a run that starts from the exported model has exactly its weights
        self.run_train("from-onnx", "--init-from", os.path.join(name, "model.onnx"), "--max-steps", "0")
        got = model_state(os.path.join(self.tmp, "from-onnx", "last.pt"))
        for k in expected:
            self.assertTrue(torch.equal(expected[k], got[k]), k)

    def test_int8_export_and_init_from(self):
        import onnx
        from quantize import quantize_weight
        name = os.path.join(self.tmp, "models", "tiny-int8")
        config = dict(vocab_size=96, n_layer=2, d_model=64, n_head=2)
        export.main(["--random-init", "--config", ",".join(f"{k}={v}" for k, v in config.items()),
                     "--meta", os.path.join(self.data, "meta.json"), "--out", name, "--seed", "7"])
        m = onnx.load(os.path.join(name, "model.onnx"))
        onnx.checker.check_model(m)
        ops = [n.op_type for n in m.graph.node]
        # qkv, proj, gate, up, down per layer, and the output head
        self.assertEqual(ops.count("DynamicQuantizeMatMul"), 5 * 2 + 1)
        inits = {i.name: i for i in m.graph.initializer}
        self.assertEqual(inits["blocks.0.mlp.up.weight.int8"].data_type, onnx.TensorProto.INT8)
        self.assertNotIn("blocks.0.mlp.up.weight", inits)
        # the tied embedding is stored once, int8, for both the head and the lookup
        self.assertIn("embed.weight.int8", inits)
        self.assertNotIn("embed.weight", inits)
        lookups = [n for n in m.graph.node if n.op_type == "Gather" and n.input[0].startswith("embed.weight")]
        self.assertEqual([n.input[0] for n in lookups], ["embed.weight.int8", "embed.weight.scale"])

        # a run that starts from it has its weights back within half a quantisation step
        self.run_train("from-int8", "--init-from", os.path.join(name, "model.onnx"), "--max-steps", "0")
        got = model_state(os.path.join(self.tmp, "from-int8", "last.pt"))
        torch.manual_seed(7)
        expected = Denoiser(DenoiserConfig(**config)).state_dict()
        for k, w in expected.items():
            if k.endswith(".weight") and w.dim() == 2:
                _, scale = quantize_weight(w.numpy())
                bound = torch.from_numpy(scale)[:, None] / 2 + 1e-7
                self.assertTrue(bool(((got[k] - w).abs() <= bound).all()), k)
                self.assertFalse(torch.equal(got[k], w), k)
            else:
                self.assertTrue(torch.equal(got[k], w), k)

    def test_cached_forward_is_the_plain_forward(self):
        """forward_cached with no past at positions 0..n-1 is forward(); computing a few tokens
        against the others' keys and values from that call gives their logits again."""
        torch.manual_seed(3)
        cfg = DenoiserConfig(vocab_size=96, n_layer=2, d_model=64, n_head=2)
        model = Denoiser(cfg).eval()
        ids, pos = torch.randint(4, 96, (1, 30)), torch.tensor([[2, 11, 29]])
        empty = torch.zeros(2, 2, 0, 32)
        with torch.no_grad():
            want = model(ids, pos)
            got, keys, values = model.forward_cached(ids, torch.arange(30)[None], empty, empty, pos)
            self.assertTrue(torch.allclose(got, want, atol=1e-5))
            self.assertEqual(list(keys.shape), [2, 2, 30, 32])
            active = torch.tensor([2, 11, 17, 29])
            rest = torch.tensor([p for p in range(30) if p not in active.tolist()])
            part, k, _ = model.forward_cached(ids[:, active], active[None], keys[:, :, rest], values[:, :, rest],
                                              torch.tensor([[0, 1, 3]]))
            self.assertTrue(torch.allclose(part, want, atol=1e-5))
            self.assertTrue(torch.allclose(k, keys[:, :, active], atol=1e-5))

    def test_cache_export_and_add_cache(self):
        """export.py --cache writes the cache graph and its names; add-cache.py turns a plain
        export into the same graph with the int8 weights byte for byte."""
        import importlib.util
        import onnx
        config = "vocab_size=96,n_layer=2,d_model=64,n_head=2"
        meta = os.path.join(self.data, "meta.json")
        cached = os.path.join(self.tmp, "models", "tiny-cache")
        export.main(["--random-init", "--config", config, "--meta", meta, "--out", cached, "--seed", "5", "--cache"])
        with open(os.path.join(cached, "denoiser.json")) as f:
            info = json.load(f)
        self.assertEqual(info["cache"], {"layers": 2, "heads": 2, "head_dim": 32})
        self.assertEqual(info["inputs"], export.CACHE_INPUTS)
        graph = onnx.load(os.path.join(cached, "model.onnx")).graph
        self.assertEqual([i.name for i in graph.input], list(export.CACHE_INPUTS.values()))
        self.assertEqual([o.name for o in graph.output], ["logits", "keys", "values"])

        plain = os.path.join(self.tmp, "models", "tiny-plain")
        export.main(["--random-init", "--config", config, "--meta", meta, "--out", plain, "--seed", "5"])
        spec = importlib.util.spec_from_file_location("add_cache", os.path.join(HERE, "..", "add-cache.py"))
        add_cache = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(add_cache)
        add_cache.main(plain)
        with open(os.path.join(plain, "denoiser.json")) as f:
            self.assertEqual(json.load(f)["cache"], info["cache"])
        a = add_cache.int8_initializers(os.path.join(plain, "model.onnx"))
        b = add_cache.int8_initializers(os.path.join(cached, "model.onnx"))
        self.assertEqual(a.keys(), b.keys())
        for k in a:
            self.assertTrue(np.array_equal(a[k], b[k]), k)

    def test_compact_checkpoint_exports_the_same_int8_model(self):
        # The GPU run's fallback when the ONNX export fails there: int8 weights that export here
        # to exactly the int8 model the checkpoint itself gives.
        import onnx
        self.run_train("compact", "--max-steps", "3")
        ckpt = os.path.join(self.tmp, "compact", "last.pt")
        compact = os.path.join(self.tmp, "compact", "compact.pt")
        export.main(["--ckpt", ckpt, "--compact", compact])
        self.assertLess(os.path.getsize(compact), 0.5 * os.path.getsize(ckpt))
        a, b = os.path.join(self.tmp, "models", "from-ckpt"), os.path.join(self.tmp, "models", "from-compact")
        export.main(["--ckpt", ckpt, "--out", a])
        export.main(["--ckpt", compact, "--out", b])
        ia = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(os.path.join(a, "model.onnx")).graph.initializer}
        ib = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(os.path.join(b, "model.onnx")).graph.initializer}
        self.assertEqual(ia.keys(), ib.keys())
        for k in ia:
            self.assertTrue(np.array_equal(ia[k], ib[k]) if ia[k].dtype == np.int8 else np.allclose(ia[k], ib[k], rtol=1e-6, atol=0), k)
        with open(os.path.join(b, "denoiser.json")) as f:
            info = json.load(f)
        self.assertEqual((info["training"]["steps"], info["context_length"], info["trained_context_length"]), (3, 64, 64))

    def test_compile_warm_up_and_fallback(self):
        # The GPU path compiles the model and loss, warming up on the first batch before the
        # clock starts. Here (no compiler in torch 1.13) a stand-in torch.compile checks that the
        # warm-up leaves no trace (its gradients are dropped) and that a compiler that fails
        # leaves a run identical to an eager one.
        def failing(fn):
            def run(*args, **kwargs):
                raise RuntimeError("no compiler here")
            return run

        self.run_train("eager", "--max-steps", "6")
        had = getattr(torch, "compile", None)
        try:
            torch.compile = failing
            self.run_train("failed-compile", "--max-steps", "6", "--compile", "true")
            torch.compile = lambda fn: fn
            self.run_train("identity-compile", "--max-steps", "6", "--compile", "true")
        finally:
            if had is None:
                del torch.compile
            else:
                torch.compile = had
        eager = model_state(os.path.join(self.tmp, "eager", "last.pt"))
        failed = model_state(os.path.join(self.tmp, "failed-compile", "last.pt"))
        for k in eager:
            self.assertTrue(torch.equal(eager[k], failed[k]), k)
        a, b = self.read_jsonl("eager", "log.jsonl"), self.read_jsonl("identity-compile", "log.jsonl")
        self.assertEqual(len(a), len(b))
        for x, y in zip(a, b):  # the plain-operations loss: the same numbers up to rounding
            self.assertAlmostEqual(x["loss"], y["loss"], delta=1e-3 * abs(x["loss"]))

    def test_data_parallel_run(self):
        # The path for users who train bigger models (torchrun, one process per GPU), on gloo:
        # gradients are averaged, so both processes end with the same weights although each
        # trains on its own batches; with two micro-batches per step (no_sync on the first);
        # and a run resumed from the checkpoint ends exactly where the uninterrupted one does.
        def run(out, steps):
            argv = ["--data", self.data, "--out", os.path.join(self.tmp, out), *TINY, "--grad-accum", "2",
                    "--max-steps", str(steps)]
            state = os.path.join(self.tmp, out + "-rank%d.pt")
            torch.multiprocessing.spawn(ddp_rank, args=(2, free_port(), argv, state), nprocs=2)
            return [torch.load(state % r) for r in range(2)]

        straight = run("ddp-straight", 8)
        run("ddp-chained", 4)
        chained = run("ddp-chained", 8)
        with torch.random.fork_rng():  # the weights train.main starts from (it seeds before building the model)
            torch.manual_seed(train.CONFIG["seed"])
            init = Denoiser(DenoiserConfig(vocab_size=VOCAB, n_layer=2, d_model=64, n_head=2)).state_dict()
        for k in straight[0]:
            self.assertTrue(torch.equal(straight[0][k], straight[1][k]), f"ranks differ at {k}")
            self.assertTrue(torch.equal(straight[0][k], chained[0][k]), f"resumed run differs at {k}")
        self.assertFalse(torch.equal(straight[0]["embed.weight"], init["embed.weight"]))
        ck = train.torch_load(os.path.join(self.tmp, "ddp-straight", "last.pt"))
        self.assertEqual(ck["tokens_seen"], 8 * 16 * 64 * 2)  # both processes' tokens
        for k in straight[0]:
            self.assertTrue(torch.equal(ck["model"][k], straight[0][k]), k)

    def test_step_profile_groups_device_kernels(self):
        # The GPU path of the probe's breakdown, on profiler rows as torch 2.x gives them: kernel
        # rows (device type CUDA) are grouped by kind, per step; the operator rows that launched
        # them carry the same time again and must not be counted twice.
        def row(key, ms, calls, device="DeviceType.CUDA"):
            return SimpleNamespace(key=key, count=calls, self_device_time_total=1000 * ms, device_type=device,
                                   self_cpu_time_total=0.0)
        rows = [row("sm90_xmma_gemm_bf16bf16_bf16f32", 40.0, 96), row("nvjet_tst_128x64_64x8", 20.0, 48),
                row("pytorch_flash::flash_bwd_kernel", 16.0, 16), row("triton_red_fused_rms_norm_3", 12.0, 80),
                row("multi_tensor_apply_kernel<AdamW>", 2.0, 2), row("Memcpy HtoD (Pinned -> Device)", 1.0, 8),
                row("aten::mm", 60.0, 144, device="DeviceType.CPU")]
        prof = step_profile.StepProfiler(2, 10, torch.device("cuda"))
        prof.start, prof.count = 10, 2
        text = prof.summary(rows, wall=0.2)  # 2 steps in 200 ms: 100 ms a step
        self.assertIn("profile of steps 11-12 (2 steps, 100.0 ms a step wall", text)
        self.assertIn("device busy 45.5 ms a step (45.5 % of wall)", text)
        self.assertIn("| matrix products | 30.00 | 30.0 % |", text)
        self.assertIn("| attention | 8.00 | 8.0 % |", text)
        self.assertIn("| fused elementwise (compiled) | 6.00 | 6.0 % |", text)
        self.assertIn("| optimiser | 1.00 | 1.0 % |", text)
        self.assertIn("| copies and fills | 0.50 | 0.5 % |", text)
        self.assertNotIn("aten::mm", text)

    def test_training_curve_survives_chained_runs(self):
        dest = os.path.join(self.tmp, "curve.json")

        def run(folder, points):
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "eval.jsonl"), "w") as f:
                for t in points:
                    f.write(json.dumps(dict(tokens_seen=t, masked_acc_15=0.1, masked_acc_50=0.1, masked_loss_15=5.0,
                                            masked_loss_50=5.0, train_loss=4.0)) + "\n")
            return folder

        first = run(os.path.join(self.tmp, "machine-a"), [10, 20, 30, 40])  # 40: after the exported checkpoint
        export.update_curve(dest, first, upto=30)
        second = run(os.path.join(self.tmp, "machine-b"), [30, 45, 60])
        export.update_curve(dest, second, upto=60)
        export.update_curve(dest, second, upto=60)  # exporting again does not duplicate
        with open(dest) as f:
            self.assertEqual([p["tokens_seen"] for p in json.load(f)], [10, 20, 30, 45, 60])

    def test_infill_spans(self):
        meta_args = SimpleNamespace(**{**train.CONFIG, "free_span_frac": 0.0})
        data = train.TokenData(self.data)
        rng = np.random.default_rng(3)
        seen_pads = 0
        for _ in range(200):
            body = train.sample_windows(data.train, rng, 1, 63)[0]
            spans = objective.line_spans(body, data.is_newline, rng, meta_args)
            self.assertTrue(spans)
            self.assertLessEqual(len(spans), 3)
            self.assertLessEqual(sum(e - s for s, e in spans), 0.6 * len(body))
            for s, e in spans:  # line-aligned: start at row start or after a newline, end after one
                self.assertTrue(s == 0 or body[s - 1] in NEWLINES, (s, body))
                self.assertIn(body[e - 1], NEWLINES)
            for (_, e1), (s2, _) in zip(spans, spans[1:]):
                self.assertLess(e1, s2)
            row, region, regions = objective.infill_row(body, spans, rng, data.pad)
            self.assertEqual(len(row), len(body))
            pad_slots = np.zeros(len(row), dtype=bool)
            for (s, t, e), (s0, e0) in zip(regions, spans):
                self.assertTrue(np.array_equal(row[s:t], body[s0:s0 + t - s]))  # true tokens, in place
                self.assertTrue((row[t:e] == data.pad).all())
                pad_slots[t:e] = True
            self.assertTrue(((row == data.pad) == pad_slots).all())  # pads only at span ends
            self.assertTrue(np.array_equal(region, np.isin(np.arange(len(row)),
                                                           [i for s, _, e in regions for i in range(s, e)])))
            seen_pads += pad_slots.sum()
        self.assertGreater(seen_pads, 0)

        # cursor-like spans may start and end anywhere, still inside the row and apart
        free_args = SimpleNamespace(**{**train.CONFIG, "free_span_frac": 1.0})
        for _ in range(50):
            body = train.sample_windows(data.train, rng, 1, 63)[0]
            spans = objective.line_spans(body, data.is_newline, rng, free_args)
            self.assertTrue(spans)
            for (_, e1), (s2, _) in zip(spans, spans[1:]):
                self.assertLess(e1, s2)

        # the batch builder: masks only inside span regions for infill rows, gathers in buckets
        a = SimpleNamespace(**{**train.CONFIG, "sub_frac": 0.0, "bos_first": True})
        windows = train.sample_windows(data.train, rng, 8, 63)
        b = objective.make_batch(windows, rng, a, data)
        self.assertEqual(b["input_ids"].shape, (8, 64))
        self.assertTrue((b["input_ids"][:, 0] == data.bos).all())
        self.assertEqual(len(b["positions"]), objective.loss_slot_count(a, 8, 64))
        live = b["weights"] > 0
        self.assertTrue((b["input_ids"].reshape(-1)[b["positions"][live]] == data.mask).all())


    def test_frontier_rows(self):
        # A span as the sampler shows it: the answer's first c tokens in place, then a window of
        # masks, then the suffix. Mostly the window's targets are the answer's last tokens and then
        # pads; sometimes the answer goes on past the window (all answer, the rest hidden).
        a = SimpleNamespace(**train.CONFIG)
        data = train.TokenData(self.data)
        rng = np.random.default_rng(11)
        complete, at_line_end, goes_on, widths = 0, 0, 0, set()
        for _ in range(400):
            stream = train.sample_windows(data.train, rng, 1, 63 + 31)[0]
            body, spare = stream[:63], stream[63:]
            spans = objective.line_spans(body, data.is_newline, rng, a)
            s, e = spans[int(rng.integers(len(spans)))]
            row, (w0, t, w1) = objective.frontier_row(body, s, e, rng, pad=data.pad, window=4, is_newline=data.is_newline, spare=spare)
            self.assertEqual(len(row), len(body))
            c = w0 - s
            self.assertTrue(np.array_equal(row[:t], body[:t]))  # prefix, written answer, the window's answer
            self.assertTrue((row[t:w1] == data.pad).all())
            if t == w1 and t < e and w1 < len(row):  # the answer goes on: the suffix follows the window
                goes_on += 1
                rest = np.concatenate([body[e:], spare])
                self.assertTrue(np.array_equal(row[w1:], rest[:len(row) - w1]))
            elif w1 < len(row):  # the answer ends in the window, the suffix follows it
                self.assertEqual(t, e)
                self.assertTrue(np.array_equal(row[w1:], body[e:e + len(row) - w1]))
            complete += c == e - s
            at_line_end += 0 < c < e - s and body[s + c - 1] in NEWLINES
            widths.add(w1 - w0)
        self.assertGreater(complete, 60)
        self.assertGreater(at_line_end, 20)
        self.assertGreater(goes_on, 20)
        self.assertIn(4, widths)
        self.assertGreater(len(widths), 5)

        # in a batch, frontier rows are masked only inside their window
        b = objective.make_batch(train.sample_windows(data.train, rng, 16, 64), rng,
                             SimpleNamespace(**{**train.CONFIG, "mdlm_frac": 0.0, "frontier_frac": 1.0, "sub_frac": 0.0}), data)
        live = b["weights"] > 0
        self.assertGreater(int((b["targets"][live] == data.pad).sum()), 0)
        self.assertTrue((b["input_ids"].reshape(-1)[b["positions"][live]] == data.mask).all())

    def test_weighted_cross_entropy_matches_torch(self):
        # The hand-written loss and its gradient against F.cross_entropy, in float32 and in bf16
        # (the autocast logits), with zero weights (the padded loss slots) among the rows.
        g = torch.Generator().manual_seed(0)
        for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 1e-2)):
            logits = (3 * torch.randn(300, 257, generator=g)).to(dtype).requires_grad_()
            target = torch.randint(0, 257, (300,), generator=g)
            weight = torch.rand(300, generator=g)
            weight[::7] = 0.0
            got = train.WeightedCrossEntropy.apply(logits, target, weight)
            (got * 1.7).backward()
            got_grad = logits.grad.clone()
            logits.grad = None
            ref_logits = logits.detach().float().requires_grad_()
            want = (torch.nn.functional.cross_entropy(ref_logits, target, reduction="none") * weight).sum()
            (want * 1.7).backward()
            self.assertLess(abs(got.item() - want.item()), 1e-5 * abs(want.item()), dtype)
            self.assertEqual(got_grad.dtype, dtype)
            err = (got_grad.float() - ref_logits.grad).abs().max().item()
            self.assertLess(err, tol * ref_logits.grad.abs().max().item(), dtype)
            self.assertTrue(bool((got_grad[::7] == 0).all()), "a zero weight must give a zero gradient")

    def test_editor_spans(self):
        a = SimpleNamespace(**train.CONFIG)
        data = train.TokenData(self.data)
        self.assertEqual(list(np.flatnonzero(data.is_space)), SPACES)
        rng = np.random.default_rng(5)
        kinds, multi_line_blocks = {}, 0
        for _ in range(400):
            body = train.sample_windows(data.train, rng, 1, 63)[0]
            spans = objective.editor_spans(body, data.is_newline, data.is_space, rng, a)
            self.assertTrue(spans)
            self.assertLessEqual(sum(e - s for s, e, _ in spans), a.span_max_frac * len(body))
            for (_, e1, _), (s2, _, _) in zip(spans, spans[1:]):
                self.assertLess(e1, s2)
            first_nl = int(np.flatnonzero(data.is_newline[body])[0])
            for s, e, kind in spans:
                kinds[kind] = kinds.get(kind, 0) + 1
                self.assertGreater(s, first_nl)  # never in the row's first (maybe cut) line
                self.assertFalse(data.is_space[body[s]] or data.is_newline[body[s]], (kind, s, body))
                line_start = int(np.flatnonzero(data.is_newline[body[:s]])[-1]) + 1
                before = body[line_start:s]
                newlines = int(data.is_newline[body[s:e]].sum())
                if kind in ("line", "block"):
                    # after the indentation: only indentation between the line start and the span
                    self.assertTrue(data.is_space[before].all(), (kind, before))
                    self.assertTrue(data.is_newline[body[e - 1]])
                    self.assertEqual(newlines if kind == "line" else min(newlines, 1), 1)
                    multi_line_blocks += kind == "block" and newlines >= 2
                else:  # mid-line: some typed text of the line stays in the prefix
                    self.assertTrue((~data.is_space[before]).any(), before)
                    self.assertLessEqual(newlines, 1)
                    self.assertTrue(newlines == 0 or data.is_newline[body[e - 1]])
        self.assertEqual(set(kinds), {"line", "mid", "block"})
        self.assertGreater(multi_line_blocks, 20)
        self.assertGreater(min(kinds.values()), 60, kinds)

        # a batch of editor-span rows teaches the span's end: pad targets follow the spans
        b = objective.make_batch(train.sample_windows(data.train, rng, 16, 64), rng,
                             SimpleNamespace(**{**train.CONFIG, "mdlm_frac": 0.0, "editor_span_frac": 1.0, "sub_frac": 0.0}), data)
        live = b["weights"] > 0
        self.assertGreater(int((b["targets"][live] == data.pad).sum()), 0)
        self.assertGreater(int((b["targets"][live] != data.pad).sum()), 0)

    def test_batches_do_not_depend_on_workers(self):
        # Batch i comes from its own seed: worker processes change nothing (so resume stays exact)
        a = SimpleNamespace(**{**train.CONFIG, "seq_len": 64, "workers": 0})
        data = train.TokenData(self.data)
        inline = train.batch_loader(data, a, 0, 8, 5, pin=False)
        pooled = train.batch_loader(data, SimpleNamespace(**{**vars(a), "workers": 2}), 0, 8, 5, pin=False)
        direct = train.Batches(data, a, 0, 8)
        for i in range(5, 9):
            x, y, z = next(inline), next(pooled), direct[i]
            for k in ("input_ids", "positions", "targets", "weights"):
                self.assertTrue(torch.equal(x[k], y[k]) and torch.equal(x[k], z[k]), (i, k))
        self.assertFalse(torch.equal(direct[5]["input_ids"], direct[6]["input_ids"]))
        self.assertFalse(torch.equal(direct[5]["input_ids"], train.Batches(data, a, 1, 8)[5]["input_ids"]))

    def test_loss_slots_are_fixed_and_unbiased(self):
        data = train.TokenData(self.data)
        rng = np.random.default_rng(9)
        windows = train.sample_windows(data.train, rng, 8, 64)
        full = objective.make_batch(windows, np.random.default_rng(1), SimpleNamespace(**{**train.CONFIG, "loss_slots": 1.0, "mdlm_frac": 1.0}), data)
        tight = objective.make_batch(windows, np.random.default_rng(1), SimpleNamespace(**{**train.CONFIG, "loss_slots": 0.1, "mdlm_frac": 1.0}), data)
        self.assertEqual(len(tight["positions"]), 64)
        n_full = int((full["weights"] > 0).sum())
        self.assertGreater(n_full, 64)  # the tight batch had to subsample
        # the subsample's weights are scaled by n/M: the total weight is kept on average
        self.assertAlmostEqual(float(tight["weights"].mean()) * 64 / float(full["weights"].sum()), 1.0, delta=0.5)


if __name__ == "__main__":
    unittest.main()
