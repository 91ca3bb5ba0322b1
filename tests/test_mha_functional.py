"""``F.multi_head_attention_forward`` with torch's positional signature, against torch's own function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trtnet.functional as F
from trtnet.errors import TrtnetError
from tests.test_ops import check

E, HEADS, L, S, N = 8, 2, 3, 4, 2


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal(shape).astype(np.float32) * 0.4 for name, shape in (
        ("in_proj_weight", (3 * E, E)), ("in_proj_bias", (3 * E,)), ("bias_k", (1, 1, E)), ("bias_v", (1, 1, E)),
        ("out_proj_weight", (E, E)), ("out_proj_bias", (E,)), ("q", (E, E)), ("k", (E, E)), ("v", (E, E)))}


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("bias_kv", [False, True])
@pytest.mark.parametrize("zero_attn", [False, True])
@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("masks", ["none", "attn", "padding", "both"])
def test_matches_torch(bias_kv: bool, zero_attn: bool, separate: bool, masks: str) -> None:
    w = _weights()
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(shape).astype(np.float32) for shape in ((L, N, E), (S, N, E), (S, N, E)))
    attn = rng.standard_normal((L, S)).astype(np.float32) if masks in ("attn", "both") else None
    padding = np.array([[False, False, True, False], [False, True, False, False]]) if masks in ("padding", "both") \
        else None

    def arguments(to: object) -> tuple[list, dict]:
        positional = [E, HEADS, None if separate else to(w["in_proj_weight"]), to(w["in_proj_bias"]),
                      to(w["bias_k"]) if bias_kv else None, to(w["bias_v"]) if bias_kv else None, zero_attn, 0.0,
                      to(w["out_proj_weight"]), to(w["out_proj_bias"])]
        keywords = dict(training=False, use_separate_proj_weight=separate)
        if separate:
            keywords.update(q_proj_weight=to(w["q"]), k_proj_weight=to(w["k"]), v_proj_weight=to(w["v"]))
        return positional, keywords

    def trtnet_fn(*tensors):
        tq, tk, tv, *rest = tensors
        positional, keywords = arguments(lambda a: a)
        rest = list(rest)
        mask = rest.pop(0) if attn is not None else None
        pad_mask = rest.pop(0) if padding is not None else None
        return F.multi_head_attention_forward(tq, tk, tv, *positional, attn_mask=mask, key_padding_mask=pad_mask,
                                              **keywords)

    def torch_fn(*tensors):
        tq, tk, tv, *rest = tensors
        positional, keywords = arguments(torch.from_numpy)
        mask = rest.pop(0) if attn is not None else None
        pad_mask = rest.pop(0) if padding is not None else None
        return torch.nn.functional.multi_head_attention_forward(tq, tk, tv, *positional, attn_mask=mask,
                                                                key_padding_mask=pad_mask, **keywords)

    arrays = [q, k, v] + [a for a in (attn, padding) if a is not None]
    check(trtnet_fn, torch_fn, arrays)


def test_training_dropout_and_static_kv_are_refused() -> None:
    w = _weights()
    x = np.zeros((L, N, E), np.float32)
    positional = [E, HEADS, w["in_proj_weight"], w["in_proj_bias"], None, None, False, 0.1, w["out_proj_weight"],
                  w["out_proj_bias"]]
    with pytest.raises(TrtnetError, match="inference networks need 0.0"):
        check(lambda a: F.multi_head_attention_forward(a, a, a, *positional), lambda a: a, [x])
    positional[7] = 0.0
    with pytest.raises(TrtnetError, match="static_k"):
        check(lambda a: F.multi_head_attention_forward(a, a, a, *positional, static_k=a), lambda a: a, [x])
