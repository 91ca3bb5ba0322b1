"""Indexing, slicing and attention on dynamic dims: each case is traced once with a dynamic profile (batch 1..8 and
sequence 1..128 together where the op has both), built with TensorRT, and run by the CPU executor at the min, opt
and max shapes against eager PyTorch at the same shapes."""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.errors import ShapeError  # noqa: E402
from trtnet.reference import execute  # noqa: E402
from test_ops import Fn  # noqa: E402

Shape = Sequence[int]


def bsh(hidden: int = 4) -> tuple[Shape, Shape, Shape]:
    """(batch, sequence, hidden) at min / opt / max: batch 1..8 and sequence 1..128, both dynamic."""
    return (1, 1, hidden), (4, 16, hidden), (8, 128, hidden)


def heads(n: int, d: int = 8, batch: Sequence[int] = (1, 2, 8), seq: Sequence[int] = (1, 16, 128)) -> tuple:
    """(B, n, S, d) at min / opt / max."""
    return tuple((b, n, s, d) for b, s in zip(batch, seq))


def _array(shape: Shape, dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.7
    if dtype == "float01":  # an attention mask of ones and zeros, as Hugging Face's
        return (rng.random(shape) < 0.7).astype(np.float32)
    if dtype == "padding":  # a key_padding_mask (True = ignore) that leaves key 0 to every row
        mask = rng.random(shape) < 0.3
        mask[:, 0] = False
        return mask
    return rng.standard_normal(shape).astype(np.float16 if dtype == "float16" else np.float32)


def check_dynamic(fn: Callable[..., Any], torch_fn: Callable[..., Any], profiles: Sequence[tuple],
                  dtypes: Sequence[str] | None = None, runs: Sequence[Sequence[Shape]] | None = None,
                  module: nn.Module | None = None, tol: float = 2e-5) -> None:
    """Trace ``fn`` (or ``module``) on inputs with the (min, opt, max) ``profiles``, build it, then run it at each
    profile shape (or at ``runs``: per run, one shape per input) on the CPU executor and compare with ``torch_fn``."""
    dtypes = list(dtypes or ["float32"] * len(profiles))
    inputs = []
    for i, ((lo, mid, hi), dtype) in enumerate(zip(profiles, dtypes)):
        shape = tuple(-1 if a != b else a for a, b in zip(lo, hi))
        trt_dtype = {"float01": "float32", "padding": "bool"}.get(dtype, dtype)
        inputs.append(trtnet.Input(f"x{i}", shape, trt_dtype, min=lo, opt=mid, max=hi))
    assert any(-1 in spec.shape for spec in inputs), "each case must have a dynamic dim"
    net = trtnet.trace(module or Fn(fn), inputs)
    assert len(serialize(net, BuildConfig())) > 0
    for run, shapes in enumerate(runs or list(zip(*profiles))):
        arrays = [_array(s, dtype, seed=run + 10 * i) for i, (s, dtype) in enumerate(zip(shapes, dtypes))]
        outputs = execute(net.network, {f"x{i}": a for i, a in enumerate(arrays)})
        got = [outputs[name] for name in net.outputs]
        with torch.no_grad():
            expected = torch_fn(*[torch.from_numpy(a).float() if a.dtype == np.float16 else torch.from_numpy(a)
                                  for a in arrays])
        expected = [expected] if isinstance(expected, torch.Tensor) else [e for e in expected if e is not None]
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert tuple(g.shape) == tuple(e.shape), f"at {shapes}"
            if e.dtype.is_floating_point:
                torch.testing.assert_close(g.float(), e.float(), atol=tol, rtol=tol, equal_nan=True,
                                           msg=lambda m: f"at {shapes}: {m}")
            else:
                assert torch.equal(g, e), f"at {shapes}"


# ---- getitem ------------------------------------------------------------------------------------
INDEXING = {
    "pooler x[:, 0]": lambda x: x[:, 0],
    "x[:, -1]": lambda x: x[:, -1],
    "x[:, 1:]": lambda x: x[:, 1:],  # empty at sequence 1
    "x[:, :-1]": lambda x: x[:, :-1],
    "x[:, 2:-3]": lambda x: x[:, 2:-3],
    "x[:, -5:]": lambda x: x[:, -5:],  # clamped to the whole dim at sequence 1
    "x[:, 3:100]": lambda x: x[:, 3:100],  # stop clamped
    "x[:, ::2]": lambda x: x[:, ::2],
    "x[:, 1::3]": lambda x: x[:, 1::3],
    "x[-1, :, 1:3]": lambda x: x[-1, :, 1:3],
    "x[0]": lambda x: x[0],
    "x[..., None, 2]": lambda x: x[..., None, 2],
    "x[:, None]": lambda x: x[:, None],
    "x[:, 0, None]": lambda x: x[:, 0, None],
}


@pytest.mark.parametrize("case", INDEXING)
def test_getitem_on_batch_and_sequence(case: str) -> None:
    check_dynamic(INDEXING[case], INDEXING[case], [bsh()])


def test_getitem_negative_step_is_refused_as_torch() -> None:
    with pytest.raises(ValueError, match="step must be greater than zero"):
        torch.zeros(3)[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        trtnet.trace(Fn(lambda x: x[:, ::-1]), [trtnet.Input("x", (-1, -1), min=(1, 1), opt=(2, 2), max=(4, 4))])


def test_integer_index_out_of_range_on_a_static_dim() -> None:
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 2 with size 4"):
        trtnet.trace(Fn(lambda x: x[:, :, 4]), [trtnet.Input("x", (-1, -1, 4), min=bsh()[0], opt=bsh()[1],
                                                             max=bsh()[2])])


# ---- narrow / split / chunk / unbind -------------------------------------------------------------
NARROWING = {
    "narrow(1, 0, 1)": (lambda x: x.narrow(1, 0, 1), lambda x: x.narrow(1, 0, 1)),
    "narrow(1, -1, 1)": (lambda x: x.narrow(1, -1, 1), lambda x: x.narrow(1, -1, 1)),
    "narrow(0, 0, 1)": (lambda x: x.narrow(0, 0, 1), lambda x: x.narrow(0, 0, 1)),
    "split([1, 3], -1)": (lambda x: x.split([1, 3], -1), lambda x: x.split([1, 3], -1)),
    "chunk(2, -1)": (lambda x: x.chunk(2, -1), lambda x: x.chunk(2, -1)),
    "unbind(-1)": (lambda x: x.unbind(-1), lambda x: x.unbind(-1)),
    "chunk(1, 1)": (lambda x: x.chunk(1, 1), lambda x: x.chunk(1, 1)),
}


@pytest.mark.parametrize("case", NARROWING)
def test_narrow_split_chunk_unbind(case: str) -> None:
    ours, theirs = NARROWING[case]
    check_dynamic(ours, theirs, [bsh()])


@pytest.mark.parametrize("op, message", [
    (lambda x: x.chunk(2, 1), "chunk: dim 1 of \\(-1, -1, 4\\) is dynamic"),
    (lambda x: x.unbind(0), "unbind: dim 0 of \\(-1, -1, 4\\) is dynamic"),
    (lambda x: x.split(2, 1), "split: dim 1 of \\(-1, -1, 4\\) is dynamic, so the number of pieces"),
])
def test_ops_with_a_runtime_number_of_results_are_refused(op: Callable, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        trtnet.trace(Fn(op), [trtnet.Input("x", (-1, -1, 4), min=bsh()[0], opt=bsh()[1], max=bsh()[2])])


# ---- flip / roll ------------------------------------------------------------------------------------
FLIP_ROLL = {
    "flip(1)": (lambda x: x.flip(1), lambda x: x.flip(1)),
    "flip(0, 2)": (lambda x: x.flip(0, 2), lambda x: x.flip(0, 2)),
    "F.flip(x, [-1, 1])": (lambda x: F.flip(x, [-1, 1]), lambda x: torch.flip(x, [-1, 1])),
    "roll(3, 1)": (lambda x: x.roll(3, 1), lambda x: x.roll(3, 1)),  # shift beyond the sequence at min
    "roll(-2, 1)": (lambda x: x.roll(-2, 1), lambda x: x.roll(-2, 1)),
    "roll((1, -1), (0, 2))": (lambda x: F.roll(x, (1, -1), (0, 2)), lambda x: torch.roll(x, (1, -1), (0, 2))),
    "roll((1, 2), (1, 1))": (lambda x: x.roll((1, 2), (1, 1)), lambda x: x.roll((1, 2), (1, 1))),
}


@pytest.mark.parametrize("case", FLIP_ROLL)
def test_flip_and_roll(case: str) -> None:
    ours, theirs = FLIP_ROLL[case]
    check_dynamic(ours, theirs, [bsh()])


def test_roll_flattened_with_one_dynamic_dim_and_flip_static() -> None:
    check_dynamic(lambda x: (x.roll(5), x.flip(-1)), lambda x: (x.roll(5), x.flip(-1)),
                  [((1, 3, 4), (2, 3, 4), (8, 3, 4))])


def test_flip_repeated_dim_is_refused() -> None:
    with pytest.raises(trtnet.TrtnetError, match="dim 1 appears multiple times"):
        trtnet.trace(Fn(lambda x: x.flip(1, -2)), [trtnet.Input("x", (2, 3, 4))])


# ---- expand / repeat / pad ---------------------------------------------------------------------------
def test_expand_as_batch_and_sequence() -> None:
    check_dynamic(lambda x, y: x[:, :1].expand_as(y) + y, lambda x, y: x[:, :1].expand_as(y) + y, [bsh(), bsh()])


def test_expand_dynamic_dim_of_runtime_size_one_broadcasts() -> None:
    """x's dim 0 is dynamic; where its runtime size is 1 it broadcasts to y's (stride computed at run time)."""
    runs = [((1, 4), (1, 4)), ((1, 4), (16, 4)), ((8, 4), (8, 4))]
    check_dynamic(lambda x, y: x.expand_as(y), lambda x, y: x.expand_as(y),
                  [((1, 4), (1, 4), (8, 4)), ((1, 4), (16, 4), (128, 4))], runs=runs)


REPEATS = {
    "repeat(1, 2, 3)": lambda x: x.repeat(1, 2, 3),
    "repeat(2, 1, 1, 1)": lambda x: x.repeat(2, 1, 1, 1),
    "expand(2, -1, -1, 4)": lambda x: x[:, :, :1].expand(2, -1, -1, 4),
}


@pytest.mark.parametrize("case", REPEATS)
def test_repeat_and_expand(case: str) -> None:
    check_dynamic(REPEATS[case], REPEATS[case], [((1, 1, 4), (4, 1, 4), (8, 1, 4))] if "expand" in case else [bsh()])


@pytest.mark.parametrize("mode", ["constant", "replicate"])
def test_pad_dynamic_sequence(mode: str) -> None:
    def ours(x):
        return F.pad(x.permute(0, 2, 1), (2, 1), mode=mode)

    def theirs(x):
        return TF.pad(x.permute(0, 2, 1), (2, 1), mode=mode)

    check_dynamic(ours, theirs, [bsh()])


# ---- attention -----------------------------------------------------------------------------------------
def test_causal_self_attention_batch_and_sequence() -> None:
    sdpa = F.scaled_dot_product_attention
    check_dynamic(lambda q, k, v: sdpa(q, k, v, is_causal=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True), [heads(2)] * 3)


def test_causal_cross_attention_lengths_differ() -> None:
    """Top-left causal mask tril(ones(L, S)) with L and S dynamic independently."""
    sdpa = F.scaled_dot_product_attention
    queries = heads(2, seq=(1, 5, 32))
    keys = heads(2, seq=(3, 9, 20))
    check_dynamic(lambda q, k, v: sdpa(q, k, v, is_causal=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True), [queries, keys, keys])


def test_llama_causal_gqa_batch_and_sequence() -> None:
    sdpa = F.scaled_dot_product_attention
    check_dynamic(lambda q, k, v: sdpa(q, k, v, is_causal=True, enable_gqa=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
                  [heads(8, 16), heads(2, 16), heads(2, 16)])


def test_gqa_without_mask_batch_and_sequence() -> None:
    sdpa = F.scaled_dot_product_attention
    check_dynamic(lambda q, k, v: sdpa(q, k, v, enable_gqa=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                  [heads(4), heads(2), heads(2)])


def test_hf_extended_attention_mask() -> None:
    """BERT's ``get_extended_attention_mask``: ``mask[:, None, None, :]``, ``(1.0 - mask) * finfo.min``, added to
    the scores of every head and query position."""
    lowest = float(np.finfo(np.float32).min)

    def extended(mask):
        return (1.0 - mask[:, None, None, :]) * lowest

    def ours(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=extended(mask))

    def theirs(q, k, v, mask):
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=extended(mask))

    masks = tuple((b, s) for b, _, s, _ in heads(2))
    check_dynamic(ours, theirs, [heads(2)] * 3 + [masks], dtypes=["float32"] * 3 + ["float01"], tol=1e-4)


def test_bool_mask_per_batch() -> None:
    """A bool (B, 1, L, S) mask built from a padding mask and a causal mask by broadcasting."""
    def ours(q, k, v, keep):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])

    def theirs(q, k, v, keep):
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])

    masks = tuple((b, s) for b, _, s, _ in heads(2))
    check_dynamic(ours, theirs, [heads(2)] * 3 + [masks], dtypes=["float32"] * 3 + ["bool"])


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_batch_sequence_and_key_padding_mask(batch_first: bool) -> None:
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).eval()
    ours.load_state_dict(theirs.state_dict())

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = ours

        def forward(self, x, padding):
            return self.attn(x, x, x, key_padding_mask=padding, need_weights=False)[0]

    def reference(x, padding):
        return theirs(x, x, x, key_padding_mask=padding, need_weights=False)[0]

    sizes = ((1, 1), (4, 16), (8, 128))
    xs = tuple((b, s, 8) if batch_first else (s, b, 8) for b, s in sizes)
    check_dynamic(None, reference, [xs, sizes], dtypes=["float32", "padding"], module=SelfAttention(), tol=1e-4)


# ---- sizes (SymInt) as bounds ---------------------------------------------------------------------------
SIZED = {
    "x[:, :y.size(1)]": lambda x, y: x[:, :y.shape[1]],
    "x[:, -y.size(1):]": lambda x, y: x[:, -y.shape[1]:],
    "x[:, x.size(1) // 2:]": lambda x, y: x[:, x.shape[1] // 2:],
    "x[:, y.size(1) - 3:]": lambda x, y: x[:, y.shape[1] - 3:],  # sign unknown while building: computed at run time
    "x[:, y.size(1) - 1]": lambda x, y: x[:, y.shape[1] - 1],
    "narrow(1, 0, y.size(1))": lambda x, y: x.narrow(1, 0, y.shape[1]),
    "split([1, x.size(1) - 1], 1)": lambda x, y: x.split([1, x.shape[1] - 1], 1),
    "expand(x.size(0), 2, y.size(1), 4)": lambda x, y: x[:, :1, None].expand(x.shape[0], 2, y.shape[1], 4),
    "repeat(1, y.size(1), 1)": lambda x, y: x[:, :1].repeat(1, y.shape[1], 1),
}


@pytest.mark.parametrize("case", SIZED)
def test_sizes_as_bounds(case: str) -> None:
    """``y`` is never longer than ``x`` (sequence 2..128 against 1..64)."""
    longer = ((1, 2, 4), (4, 16, 4), (8, 128, 4))
    shorter = ((1, 1, 4), (4, 9, 4), (8, 64, 4))
    check_dynamic(SIZED[case], SIZED[case], [longer, shorter])


# ---- Hugging Face idioms, whole blocks ---------------------------------------------------------------------
def bert_block(F_: Any, x: Any, mask: Any, heads: int, pooler: Any) -> Any:
    """A BERT-style self-attention read with HF's idioms (``view(*x.shape[:-1], heads, -1)``, the extended mask
    ``(1.0 - mask[:, None, None, :]) * finfo.min``), then the ``x[:, 0]`` pooler; ``F_`` is trtnet's or torch's
    functional namespace."""
    def split(t):
        return t.view(*t.shape[:-1], heads, -1).transpose(1, 2)

    extended = (1.0 - mask[:, None, None, :]) * float(np.finfo(np.float32).min)
    attended = F_.scaled_dot_product_attention(split(x), split(x * 0.5), split(x), attn_mask=extended)
    merged = attended.transpose(1, 2).reshape(*x.shape[:-1], -1)
    return pooler(merged[:, 0]).tanh()


def test_bert_pooler_and_mask_batch_and_sequence() -> None:
    ours = nn.Linear(8, 8)
    theirs = torch.nn.Linear(8, 8)
    ours.load_state_dict(theirs.state_dict())
    check_dynamic(lambda x, m: bert_block(F, x, m, 2, ours), lambda x, m: bert_block(TF, x, m, 2, theirs),
                  [bsh(8), ((1, 1), (4, 16), (8, 128))], dtypes=["float32", "float01"], tol=1e-4)


def llama_attention(F_: Any, x: Any, heads: int, kv_heads: int, dim: int) -> Any:
    """Llama's attention core: ``view(*x.shape[:-1], -1, d)`` into query and key/value heads (GQA), causal."""
    batch, length = x.shape[:2]
    q = x.view(*x.shape[:-1], -1, dim).transpose(1, 2)
    kv = x[..., :kv_heads * dim].view(batch, length, kv_heads, dim).transpose(1, 2)
    out = F_.scaled_dot_product_attention(q, kv.flip(-1), kv, is_causal=True, enable_gqa=True)
    return out.transpose(1, 2).reshape(batch, length, -1)


def test_llama_attention_view_gqa_causal_batch_and_sequence() -> None:
    check_dynamic(lambda x: llama_attention(F, x, 4, 2, 4), lambda x: llama_attention(TF, x, 4, 2, 4), [bsh(16)],
                  tol=1e-4)


def test_static_shapes_add_no_shape_layers() -> None:
    """With nothing dynamic, bounds fold to the slice's own attributes and the causal mask is a constant."""
    def model(x):
        y = x[:, 1:, None, -1] + x[:, :-1, None, 0]
        z = F.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True)
        return y, z, x.flip(1).roll(2, 1).narrow(1, -3, 2), x.expand(2, -1, -1).repeat(1, 2, 1)

    net = trtnet.trace(Fn(model), [trtnet.Input("x", (2, 5, 4))])
    kinds = {net.network.get_layer(i).type.name for i in range(net.network.num_layers)}
    assert not kinds & {"SHAPE", "FILL", "GATHER", "CONCATENATION"}, kinds
    assert "SLICE" in kinds


def test_dynamic_slice_with_range_decided_bounds_adds_no_arithmetic() -> None:
    """``x[:, 1:]`` on a sequence of 1..128: min(1, s) is 1 and max(s - 1, 0) is s - 1 by the profile range, so the
    slice needs only the size layers (shape, gather, one subtraction), no min/max."""
    net = trtnet.trace(Fn(lambda x: x[:, 1:]), [trtnet.Input("x", (-1, -1, 4), min=bsh()[0], opt=bsh()[1],
                                                             max=bsh()[2])])
    layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    elementwise = [layer for layer in layers if layer.type.name == "ELEMENTWISE"]
    assert len(elementwise) == 1, [layer.name for layer in layers]


@pytest.mark.parametrize("op, message", [
    (lambda x: x[:, "a"], "unsupported index 'a' of type str"),
    (lambda x: x[:, 1.5], "unsupported index 1.5 of type float"),
    (lambda x: x[:, ::x.shape[1]], "slice step must be an int"),
    (lambda x: x[:, :2.0], "slice bound must be an int or a size"),
    (lambda x: x.expand(x.shape[0], 2.5, 4), "expand size must be an int or a size"),
    (lambda x: x.roll(1, (0, 1)), "roll: shifts and dimensions must align. shifts: 1, dims: 2"),
    (lambda x: F.pad(x, (0, 0, 1, 1), mode="reflect"), "mode='reflect' on dynamic dim 1"),
])
def test_bad_indexing_arguments_are_clear_errors(op: Callable, message: str) -> None:
    with pytest.raises(trtnet.TrtnetError, match=re.escape(message)):
        trtnet.trace(Fn(op), [trtnet.Input("x", (-1, -1, 4), min=bsh()[0], opt=bsh()[1], max=bsh()[2])])


def _sized_masks(F_: Any, arange: Any, q: Any, k: Any) -> tuple[Any, Any]:
    """A bool causal (L, S) mask and a float additive one built from the sizes, as user code writes them."""
    rows = arange(q.shape[-2])[:, None]
    columns = arange(k.shape[-2])[None, :]
    return columns <= rows, (columns > rows + 2).float() * -1e9


@pytest.mark.parametrize("kind", [0, 1])
def test_masks_built_from_sizes_broadcast(kind: int) -> None:
    """(L, S) masks from ``arange`` of dynamic lengths, broadcast over (B, H) in SDPA."""
    def ours(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=_sized_masks(F, F.arange, q, k)[kind])

    def theirs(q, k, v):
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=_sized_masks(TF, torch.arange, q, k)[kind])

    check_dynamic(ours, theirs, [heads(2, seq=(1, 5, 32)), heads(2, seq=(1, 9, 40)), heads(2, seq=(1, 9, 40))])


def test_full_bool_mask_per_batch_and_position() -> None:
    """A bool (B, 1, L, S) mask input with B and L = S dynamic."""
    sdpa = F.scaled_dot_product_attention
    masks = tuple((b, 1, s, s) for b, _, s, _ in heads(2))
    check_dynamic(lambda q, k, v, m: sdpa(q, k, v, attn_mask=m),
                  lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
                  [heads(2)] * 3 + [masks], dtypes=["float32"] * 3 + ["bool"])


def test_multihead_attention_3d_float_mask_dynamic_batch() -> None:
    """A float (N * num_heads, L, S) attn_mask with N and L = S dynamic, reshaped by sizes to (N, H, L, S)."""
    ours = nn.MultiheadAttention(8, 2, batch_first=True)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    ours.load_state_dict(theirs.state_dict())
    sizes = ((1, 1), (4, 16), (8, 128))
    xs = tuple((b, s, 8) for b, s in sizes)
    masks = tuple((2 * b, s, s) for b, s in sizes)

    class WithMask(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = ours

        def forward(self, x, mask):
            return self.attn(x, x, x, attn_mask=mask)

    check_dynamic(None, lambda x, m: theirs(x, x, x, attn_mask=m), [xs, masks], module=WithMask(), tol=1e-4)


def test_llama_causal_gqa_fp16() -> None:
    """fp16 q/k/v (scores and softmax in float32, as torch's kernels) against float32 eager on the same values."""
    sdpa = F.scaled_dot_product_attention
    check_dynamic(lambda q, k, v: sdpa(q, k, v, is_causal=True, enable_gqa=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
                  [heads(4, 16), heads(2, 16), heads(2, 16)], dtypes=["float16"] * 3, tol=2e-2)


@pytest.mark.parametrize("start", [3, -2])
def test_narrow_from_a_tensor_start_read_at_run_time(start: int) -> None:
    """torch.narrow with a 0-dim integer tensor start (computed in the network, not a shape)."""
    def ours(x):
        begin = (x[:, 0, 0] * 0).sum().to(trtnet.int64) + start
        return x.narrow(1, begin, 1)

    def theirs(x):
        return x.narrow(1, torch.tensor(start), 1)

    check_dynamic(ours, theirs, [((1, 4, 4), (4, 16, 4), (8, 128, 4))])
