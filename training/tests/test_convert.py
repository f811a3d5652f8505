"""training/convert.py on tiny random checkpoints of each architecture in the real file layout
(tiny_checkpoints.py): the converted graph, run by onnxruntime-node, against transformers' own
Qwen2 / Llama forward of the same weights with attention made bidirectional and the logit shift
applied as Dream's sampler applies it.

    /usr/bin/python3 -m unittest training/tests/test_convert.py -v
"""
import io
import json
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from unittest import mock

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import convert  # noqa: E402
import tiny_checkpoints  # noqa: E402


def bidirectional_logits(model, ids, shift):
    """The reference: transformers' forward with an all-zero additive 4-D mask (no causal mask),
    and for Dream-style models the logits moved one place right (logits[i] = output[i-1])."""
    n = ids.shape[1]
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.zeros(1, 1, n, n), use_cache=False).logits
    return torch.cat([out[:, :1], out[:, :-1]], dim=1) if shift else out


class ConvertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="diffuse-convert-test-")
        cls.refs = {arch: tiny_checkpoints.build(arch, cls.ck(arch), seed=i)
                    for i, arch in enumerate(("dream", "open-dcoder", "llada", "dreamon"))}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def ck(cls, arch):
        return os.path.join(cls.tmp, f"ck-{arch}")

    def convert(self, arch, dtype="fp32", src=None, **extra):
        out = os.path.join(self.tmp, f"{arch}-{dtype}-{len(os.listdir(self.tmp))}")
        argv = ["--from", src or self.ck(arch), "--out", out, "--dtype", dtype, "--threads", "1"]
        for k, v in extra.items():
            argv += [f"--{k}", str(v)]
        with redirect_stdout(io.StringIO()):
            convert.main(argv)
        with open(os.path.join(out, "denoiser.json")) as f:
            return out, json.load(f)

    def canvas(self, info, n=48, seed=0):
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, info["vocab_size"], (1, n), generator=g)
        ids[0, 10:18] = info["special_tokens"]["mask"]
        return ids

    def run_full(self, out, info, ids):
        c = info["cache"]
        n = ids.shape[1]
        empty = np.zeros((c["layers"], c["kv_heads"], 0, c["head_dim"]), np.float32)
        return convert.run_onnx(os.path.join(out, "model.onnx"), {
            "input_ids": ids.numpy(), "token_positions": np.arange(n)[None], "past_keys": empty,
            "past_values": empty, "positions": np.arange(n)[None]}, ["logits", "keys", "values"], threads=1)

    def assert_matches_transformers(self, arch, shift):
        out, info = self.convert(arch)
        ids = self.canvas(info)
        ref = bidirectional_logits(self.refs[arch], ids, shift)[0, :, :info["vocab_size"]].numpy()
        full = self.run_full(out, info, ids)
        got = full["logits"][0]
        self.assertEqual(got.shape, ref.shape)
        self.assertLessEqual(float(np.abs(got - ref).max()), 1e-4)
        self.assertEqual(float((got.argmax(-1) == ref.argmax(-1)).mean()), 1.0)
        # a cached call: the span (and, shifted, the slots its logits are read from) recomputed,
        # every other token's keys and values from the full call
        span = list(range(10, 18))
        active = sorted(set(span) | ({p - 1 for p in span} if shift else set()))
        rest = [p for p in range(ids.shape[1]) if p not in active]
        cached = convert.run_onnx(os.path.join(out, "model.onnx"), {
            "input_ids": ids[:, active].numpy(), "token_positions": np.array([active]),
            "past_keys": full["keys"][:, :, rest], "past_values": full["values"][:, :, rest],
            "positions": np.array([[active.index(p) for p in span]])}, ["logits"], threads=1)["logits"][0]
        self.assertLessEqual(float(np.abs(cached - ref[span]).max()), 1e-4)
        print(f"\n  {arch} fp32 vs transformers: max |dlogit| {np.abs(got - ref).max():.1e} (cached "
              f"{np.abs(cached - ref[span]).max():.1e}), argmax agreement 100 %", file=sys.stderr)
        return out, info

    def test_dream_matches_qwen2_bidirectional_with_the_shift(self):
        out, info = self.assert_matches_transformers("dream", shift=True)
        self.assertEqual(info["cache"], {"layers": 2, "heads": 4, "kv_heads": 2, "head_dim": 16, "logit_shift": 1})

    def test_open_dcoder_matches_qwen2_bidirectional_with_the_shift_and_tied_embeddings(self):
        out, info = self.assert_matches_transformers("open-dcoder", shift=True)
        self.assertTrue(info["converted"]["shape"]["tied"])

    def test_llada_matches_llama_bidirectional_without_a_shift(self):
        out, info = self.assert_matches_transformers("llada", shift=False)
        self.assertNotIn("logit_shift", info["cache"])

    def test_the_reference_is_bidirectional(self):
        # the all-zero 4-D mask really replaces the causal one: the first position sees the last token
        model = self.refs["llada"]
        ids = torch.randint(0, 1000, (1, 12), generator=torch.Generator().manual_seed(3))
        other = ids.clone()
        other[0, -1] = (ids[0, -1] + 1) % 1000
        a, b = bidirectional_logits(model, ids, False), bidirectional_logits(model, other, False)
        self.assertGreater(float((a[0, 0] - b[0, 0]).abs().max()), 1e-3)

    def test_special_ids_come_from_the_checkpoint_files_and_are_four_different_ids(self):
        with open(os.path.join(self.ck("dream"), "tokenizer.json")) as f:
            by_text = {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}
        _, info = self.convert("dream")
        self.assertEqual(info["special_tokens"], {"pad": by_text["<|endoftext|>"], "mask": by_text["<|mask|>"],
                                                  "bos": by_text["<|beginoftext|>"], "eos": by_text["<|im_end|>"]})
        _, info = self.convert("llada")
        self.assertEqual(info["special_tokens"]["mask"], by_text.get("<|mdm_mask|>", info["special_tokens"]["mask"]))
        self.assertEqual(len(set(info["special_tokens"].values())), 4)

    def test_dreamon_declares_expand_and_pads_with_its_delete_token(self):
        # DreamOn's variable-length infilling onto the sampler's: delete is the contract's pad
        # (surplus slots, and every later one after it), expand a fifth special id
        with open(os.path.join(self.ck("dreamon"), "tokenizer.json")) as f:
            by_text = {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}
        out, info = self.assert_matches_transformers("dreamon", shift=True)
        self.assertEqual(info["special_tokens"]["pad"], by_text["<|delete|>"])
        self.assertEqual(info["special_tokens"]["expand"], by_text["<|expand|>"])
        self.assertEqual(len(set(info["special_tokens"].values())), 5)
        self.assertIn("generation_config.json expand_token_id", info["converted"]["special_token_sources"]["expand"])
        with open(os.path.join(out, "MODEL_CARD.md")) as f:
            self.assertIn(f"expand {by_text['<|expand|>']}", f.read())
        _, info = self.convert("dream")
        self.assertNotIn("expand", info["special_tokens"], "a Dream folder has no expand token")

    def test_the_logits_are_as_wide_as_the_tokenizer_not_the_padded_embedding(self):
        _, info = self.convert("llada")
        with open(os.path.join(self.ck("llada"), "config.json")) as f:
            rows = json.load(f)["embedding_size"]
        self.assertLess(info["vocab_size"], rows)
        self.assertEqual(info["converted"]["shape"]["out_vocab"], info["vocab_size"])

    def test_int8_reports_argmax_agreement_in_the_card(self):
        out, info = self.convert("dream", "int8")
        check = info["converted"]["check"]
        self.assertIn("int8", check)
        print(f"\n  int8 on the tiny random dream checkpoint: argmax agreement {check['int8']['argmax_agreement']:.3f}, "
              f"cached {check['int8']['cached_argmax_agreement']:.3f}", file=sys.stderr)
        with open(os.path.join(out, "MODEL_CARD.md")) as f:
            card = f.read()
        self.assertIn("| int8 |", card)
        self.assertIn("| fp32 |", card)
        self.assertLess(os.path.getsize(os.path.join(out, "model.onnx")),
                        os.path.getsize(os.path.join(self.convert("dream")[0], "model.onnx")) * 0.5)

    def test_fp16_weights_keep_the_argmax(self):
        _, info = self.convert("llada", "fp16")
        self.assertGreaterEqual(info["converted"]["check"]["fp16"]["argmax_agreement"], 0.97)

    def test_a_single_safetensors_file_converts_like_the_shards(self):
        from safetensors.torch import load_file, save_file
        src = os.path.join(self.tmp, "single-open-dcoder")
        shutil.copytree(self.ck("open-dcoder"), src)
        state = {}
        for f in sorted(os.listdir(src)):
            if f.endswith(".safetensors"):
                state.update(load_file(os.path.join(src, f)))
                os.remove(os.path.join(src, f))
        os.remove(os.path.join(src, "model.safetensors.index.json"))
        save_file(state, os.path.join(src, "model.safetensors"))
        _, info = self.convert("open-dcoder", src=src)
        self.assertEqual(info["converted"]["check"]["fp32"]["argmax_agreement"], 1.0)

    def test_a_tensor_without_a_place_in_the_table_stops_the_conversion(self):
        from safetensors.torch import save_file
        src = os.path.join(self.tmp, "extra-llada")
        shutil.copytree(self.ck("llada"), src)
        save_file({"model.transformer.blocks.0.mystery.weight": torch.zeros(4, 4)}, os.path.join(src, "model.safetensors"))
        os.remove(os.path.join(src, "model.safetensors.index.json"))
        for f in os.listdir(src):
            if f.startswith("model-"):
                os.remove(os.path.join(src, f))
        with self.assertRaisesRegex(AssertionError, "mystery.weight .* has no place in the llada table"):
            self.convert("llada", src=src)

    def test_a_shape_that_disagrees_with_config_json_stops_the_conversion(self):
        src = os.path.join(self.tmp, "wrong-dream")
        shutil.copytree(self.ck("dream"), src)
        with open(os.path.join(src, "config.json")) as f:
            cfg = json.load(f)
        cfg["intermediate_size"] += 8
        with open(os.path.join(src, "config.json"), "w") as f:
            json.dump(cfg, f)
        with self.assertRaisesRegex(AssertionError, r"gate_proj.weight: shape \(160, 64\), the graph needs \(168, 64\)"):
            self.convert("dream", src=src)

    def test_a_folder_whose_fp32_check_fails_is_not_written(self):
        real = convert.reference_logits
        out = os.path.join(self.tmp, "never-written")
        with mock.patch.object(convert, "reference_logits", lambda *a: real(*a) + 1e-2):
            with self.assertRaisesRegex(SystemExit, "does not match transformers' forward"):
                with redirect_stdout(io.StringIO()):
                    convert.main(["--from", self.ck("dream"), "--out", out, "--dtype", "fp32", "--threads", "1"])
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".convert-")], [], "no work folder left")

    def test_a_model_past_the_protobuf_limit_keeps_its_weights_in_model_onnx_data(self):
        with mock.patch.object(convert, "EXTERNAL_DATA_BYTES", 0):
            out, info = self.convert("llada")
        self.assertTrue(os.path.exists(os.path.join(out, "model.onnx.data")))
        self.assertLess(os.path.getsize(os.path.join(out, "model.onnx")), 200_000)
        self.assertEqual(info["converted"]["check"]["fp32"]["argmax_agreement"], 1.0)

    def test_the_architecture_comes_from_config_json_or_from_arch(self):
        # Qwen2ForCausalLM is Open-dCoder's architecture name (an autoregressive Qwen2 has no mask
        # token, so its conversion stops at the special ids); --arch overrides
        self.assertEqual(convert.pick_architecture({"architectures": ["Qwen2ForCausalLM"]}).name, "open-dcoder")
        self.assertEqual(convert.pick_architecture({"architectures": ["Qwen2ForCausalLM"]}, "dream").name, "dream")
        with self.assertRaisesRegex(SystemExit, "not a diffusion model this converter knows"):
            convert.pick_architecture({"architectures": ["GPT2LMHeadModel"]})
        src = os.path.join(self.tmp, "autoregressive-qwen2")
        shutil.copytree(self.ck("open-dcoder"), src)
        with open(os.path.join(src, "tokenizer_config.json")) as f:
            tcfg = json.load(f)
        del tcfg["mask_token"]
        with open(os.path.join(src, "tokenizer_config.json"), "w") as f:
            json.dump(tcfg, f)
        with self.assertRaisesRegex(SystemExit, "no mask token id"):
            self.convert("open-dcoder", src=src)


if __name__ == "__main__":
    unittest.main()
