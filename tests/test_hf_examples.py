"""examples/hf_llama.py and examples/hf_bert.py: Hugging Face-style ports built once with a dynamic batch AND
sequence (1..8 x 1..128) and checked at min, opt and max against their torch twins; planted bugs must fail."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import trtnet
import trtnet.nn as nn
from trtnet.errors import TrtnetError

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import bert, llama  # noqa: E402
from trtnet.weights import read_safetensors  # noqa: E402


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def _statuses(report) -> list[bool]:
    return [point.passed for point in report.points]


def _summary(name: str, report) -> str:
    return f"{name}: " + ", ".join(
        f"{p.label} {'x'.join(map(str, p.outputs[0].actual_shape))} max abs "
        + "/".join(f"{o.max_abs_err:.2e}" for o in p.outputs) for p in report.points)


LLAMA_LAYER_KEYS = ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                    "input_layernorm.weight", "post_attention_layernorm.weight"]


def test_llama_example_checks_min_opt_max(tmp_path):
    report = _example("hf_llama").run(tmp_path)
    saved = read_safetensors(tmp_path / "llama_seeded.safetensors")
    hf_keys = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
               *(f"model.layers.{i}.{key}" for i in range(2) for key in LLAMA_LAYER_KEYS)}
    assert set(saved) == hf_keys  # HF LlamaForCausalLM's names; the rotary inv_freq buffer is not persistent
    assert saved["model.layers.0.self_attn.k_proj.weight"].shape == (32, 64)  # 2 KV heads x 16 < 4 query heads
    assert [p.label for p in report.points] == ["min", "opt", "max"]
    assert [p.outputs[0].actual_shape for p in report.points] == [(1, 1, 256), (2, 64, 256), (8, 128, 256)]
    assert report.passed and not report.warnings, report.warnings
    print(_summary("Llama", report))


def test_llama_with_rotation_reversed_fails(tmp_path, monkeypatch):
    """rotate_half giving (x2, -x1): RoPE turns the other way, so attention sees -(m - n). One token (min) attends to
    itself only and still passes; opt and max must fail."""
    monkeypatch.setattr(llama, "rotate_half", lambda x: trtnet.functional.cat(
        (x[..., x.shape[-1] // 2:], -x[..., : x.shape[-1] // 2]), dim=-1))
    report = _example("hf_llama").run(tmp_path)
    assert _statuses(report) == [True, False, False]
    print(_summary("Llama, RoPE reversed", report))


def test_bert_example_checks_min_opt_max(tmp_path):
    example = _example("hf_bert")
    report = example.run(tmp_path)
    saved = read_safetensors(tmp_path / "bert_seeded.safetensors")
    assert {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.bias",
            "encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.output.LayerNorm.weight",
            "encoder.layer.1.intermediate.dense.bias", "encoder.layer.1.output.dense.weight",
            "pooler.dense.weight"} <= set(saved)
    assert not any(key.endswith(("position_ids", "token_type_ids")) for key in saved)  # non-persistent, as HF's
    assert len(saved) == 5 + 2 * 16 + 2
    mask = example.padded_inputs()["attention_mask"]
    assert mask[0].all() and not mask[1].all()  # opt has a padded row
    assert [p.label for p in report.points] == ["min", "opt", "max"]
    assert [[o.actual_shape for o in p.outputs] for p in report.points] == [
        [(1, 1, 64), (1, 64)], [(2, 64, 64), (2, 64)], [(8, 128, 64), (8, 64)]]
    assert report.passed and not report.warnings, report.warnings
    print(_summary("BERT", report))


def test_bert_with_mask_sign_flipped_fails(tmp_path, monkeypatch):
    """``mask * finfo.min`` instead of ``(1.0 - mask) * finfo.min`` attends to the padding only. One key (min) is
    attended whatever its score and still passes; opt (a padded row) and max (random masks) must fail."""
    def flipped(self, attention_mask, dtype):
        return attention_mask[:, None, None, :].to(dtype=dtype) * float(np.finfo(np.float32).min)

    monkeypatch.setattr(bert.BertModel, "get_extended_attention_mask", flipped)
    report = _example("hf_bert").run(tmp_path)
    assert _statuses(report) == [True, False, False]
    print(_summary("BERT, mask flipped", report))


class _SlicedBuffer(nn.Module):
    """HF's ``self.position_ids[:, :seq_length]``: a buffer indexed with a symbolic size."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("position_ids", np.arange(16)[None, :] * 3, persistent=False)
        self.default_inputs = [trtnet.Input("x", (-1, -1), trtnet.int64, min=(1, 1), opt=(2, 5), max=(3, 16))]

    def forward(self, x):
        return x + self.position_ids[:, : x.shape[1]]


class _SlicedBufferTorch(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("position_ids", torch.arange(16)[None, :] * 3, persistent=False)

    def forward(self, x):
        return x + self.position_ids[:, : x.shape[1]]


def test_buffer_indexed_with_a_symbolic_size():
    report = trtnet.check(_SlicedBuffer(), _SlicedBufferTorch())
    assert [p.outputs[0].actual_shape for p in report.points] == [(1, 1), (2, 5), (3, 16)]
    assert report.passed and all(p.outputs[0].max_abs_err == 0 for p in report.points)


def test_buffer_indexed_outside_a_trace_is_a_clear_error():
    with pytest.raises(TrtnetError, match="trtnet ops run only while a network is built"):
        _SlicedBuffer().position_ids[:, :2]
