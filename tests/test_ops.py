"""Op breadth: every op over an option grid (a) builds with TensorRT (fp32; fp16 for a subset) and (b) matches eager
PyTorch when the traced network runs on the CPU reference executor (``trtnet.reference.execute``)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.reference import execute  # noqa: E402

TOL = {"float32": dict(atol=2e-5, rtol=2e-5), "float16": dict(atol=2e-2, rtol=2e-2)}


class Fn(nn.Module):
    """A module running ``fn`` on its inputs (for functional ops and Tensor methods)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs)


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _trt_dtype(a: np.ndarray) -> str:
    return "bool" if a.dtype == np.bool_ else str(a.dtype)


def run(model: nn.Module, arrays: list[np.ndarray], *, build: bool = True, dynamic: int | None = None,
        feeds: list[np.ndarray] | None = None) -> tuple[list[torch.Tensor], Any]:
    """Trace ``model`` on inputs shaped like ``arrays``, build the engine, execute on the reference executor.

    ``dynamic=k`` declares dim 0 of the first k inputs dynamic (profile 1..8); ``feeds`` are then the arrays run."""
    inputs = []
    for i, a in enumerate(arrays):
        if dynamic is not None and i < dynamic:
            shape = (-1, *a.shape[1:])
            inputs.append(trtnet.Input(f"x{i}", shape, _trt_dtype(a), min=(1, *a.shape[1:]), opt=a.shape,
                                       max=(8, *a.shape[1:])))
        else:
            inputs.append(trtnet.Input(f"x{i}", a.shape, _trt_dtype(a)))
    net = trtnet.trace(model, inputs)
    if build:
        assert len(serialize(net, BuildConfig())) > 0
    outputs = execute(net.network, {f"x{i}": a for i, a in enumerate(feeds or arrays)})
    return [outputs[name] for name in net.outputs], net


def check(model: nn.Module | Callable, torch_fn: Callable, arrays: list[np.ndarray], *, dtype: str = "float32",
          build: bool = True, tol: dict | None = None, dynamic: int | None = None,
          feeds: list[np.ndarray] | None = None) -> Any:
    """Run ``model`` (a Module or a function of trtnet Tensors) and compare every output with ``torch_fn``."""
    model = model if isinstance(model, nn.Module) else Fn(model)
    if dtype == "float16":
        model.to(trtnet.float16)
        arrays = [a.astype(np.float16) if a.dtype == np.float32 else a for a in arrays]
        feeds = feeds and [a.astype(np.float16) if a.dtype == np.float32 else a for a in feeds]
    got, net = run(model, arrays, build=build, dynamic=dynamic, feeds=feeds)
    with torch.no_grad():
        expected = torch_fn(*[torch.from_numpy(a).float() if a.dtype == np.float16 else torch.from_numpy(a)
                              for a in (feeds or arrays)])
    expected = [expected] if isinstance(expected, torch.Tensor) else [e for e in expected if e is not None]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert tuple(g.shape) == tuple(e.shape)
        if e.dtype == torch.bool or not e.dtype.is_floating_point:
            assert torch.equal(g, e)
        else:
            torch.testing.assert_close(g.float(), e.float(), **(tol or TOL[dtype]), equal_nan=True)
    return net


def load(trt_module: nn.Module, torch_module: torch.nn.Module, dtype: str = "float32") -> torch.nn.Module:
    """Copy random torch weights (rounded to fp16 when testing fp16) into the trtnet module."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in torch_module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        if dtype == "float16":
            for p in torch_module.parameters():
                p.copy_(p.half().float())
    trt_module.load_state_dict(torch_module.state_dict())
    return torch_module.eval()


# ---- ConvTranspose2d ------------------------------------------------------------------------------
DECONV = [  # stride, padding, output_padding, groups, dilation, bias
    (1, 0, 0, 1, 1, True),
    (2, 1, 1, 1, 1, True),
    (2, 0, 1, 1, 1, True),  # output_padding > padding: zero rows appended, bias after
    (3, 1, 2, 1, 1, False),
    (3, (0, 2), (2, 1), 1, 1, True),  # one dim each way
    (2, 1, 0, 2, 1, True),  # groups
    (1, 2, 0, 1, 2, True),  # dilation
    (1, 0, 1, 1, 2, True),  # output_padding < dilation
    ((2, 3), (1, 0), (1, 2), 1, (1, 2), True),
]


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation,bias", DECONV)
def test_conv_transpose2d(stride, padding, output_padding, groups, dilation, bias) -> None:
    args = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation,
                bias=bias)
    ours = nn.ConvTranspose2d(4, 6, (3, 2), **args)
    theirs = load(ours, torch.nn.ConvTranspose2d(4, 6, (3, 2), **args))
    check(ours, theirs, [rand(2, 4, 5, 6)])


@pytest.mark.parametrize("output_padding", [0, 1])
def test_conv_transpose2d_fp16(output_padding) -> None:
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=0, output_padding=output_padding)
    theirs = load(ours, torch.nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=output_padding), "float16")
    check(ours, theirs, [rand(1, 4, 5, 5)], dtype="float16")


def test_conv_transpose2d_output_size_and_functional() -> None:
    ours = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    theirs = load(ours, torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1))
    check(Fn(lambda x: ours(x, output_size=(10, 10))), lambda x: theirs(x, output_size=(10, 10)), [rand(1, 4, 5, 5)])
    w = rand(4, 2, 3, 3, seed=1)
    check(lambda x: F.conv_transpose2d(x, w, None, 2, 1, 1, 2), lambda x: TF.conv_transpose2d(
        x, torch.from_numpy(w), None, 2, 1, 1, 2), [rand(1, 4, 5, 5)])
    with pytest.raises(trtnet.TrtnetError, match="output_padding"):
        run(Fn(lambda x: F.conv_transpose2d(x, w, stride=2, output_padding=2)), [rand(1, 4, 5, 5)], build=False)


# ---- interpolate / Upsample -----------------------------------------------------------------------
INTERP = [  # mode, size, scale_factor, align_corners, recompute
    ("nearest", None, 2, None, None),
    ("nearest", None, 1.7, None, None),  # non-integer factor: PyTorch maps coordinates with the factor itself
    ("nearest", None, (0.5, 2.5), None, None),
    ("nearest", (7, 13), None, None, None),
    ("nearest", (3, 4), None, None, None),
    ("nearest", None, 1.7, None, True),
    ("nearest-exact", None, 2.5, None, None),
    ("nearest-exact", (9, 4), None, None, None),
    ("bilinear", None, 2, False, None),
    ("bilinear", None, 1.7, False, None),
    ("bilinear", None, 0.6, False, None),
    ("bilinear", (7, 13), None, False, None),
    ("bilinear", None, 1.7, False, True),
    ("bilinear", None, 2, True, None),
    ("bilinear", (7, 13), None, True, None),
    ("bilinear", (1, 4), None, True, None),  # single output row reads row 0
    ("bicubic", None, 1.7, False, None),
    ("bicubic", (7, 13), None, True, None),
]


@pytest.mark.parametrize("mode,size,scale_factor,align_corners,recompute", INTERP)
def test_interpolate(mode, size, scale_factor, align_corners, recompute) -> None:
    kwargs = dict(size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners,
                  recompute_scale_factor=recompute)
    check(lambda x: F.interpolate(x, **kwargs), lambda x: TF.interpolate(x, **kwargs), [rand(2, 3, 10, 6)],
          tol=dict(atol=1e-5, rtol=1e-5))


@pytest.mark.parametrize("scale", [
    0.29,  # TensorRT sizes in float32: 100 * float32(0.29) = 29.0, PyTorch floor(100 * 0.29) = 28: scale nudged
    0.7,  # 10 * float32(0.7) is 7 in float32 (TensorRT, PyTorch) but 6 in float64
])
def test_interpolate_scale_sizes_like_pytorch(scale) -> None:
    check(lambda x: F.interpolate(x, scale_factor=scale, mode="bilinear"),
          lambda x: TF.interpolate(x, scale_factor=scale, mode="bilinear"), [rand(1, 2, 10, 100)],
          tol=dict(atol=1e-4, rtol=1e-4))  # source coordinates near 100 carry float32 rounding of the scale


@pytest.mark.parametrize("mode,shape,scale", [("nearest", (2, 3, 7), 2.5), ("linear", (2, 3, 7), 1.5),
                                              ("trilinear", (1, 2, 3, 4, 5), 2), ("nearest", (1, 2, 3, 4, 5), 1.5)])
def test_interpolate_1d_3d(mode, shape, scale) -> None:
    check(lambda x: F.interpolate(x, scale_factor=scale, mode=mode), lambda x: TF.interpolate(
        x, scale_factor=scale, mode=mode), [rand(*shape)])


def test_upsample_modules_fp16_and_dynamic_batch() -> None:
    check(nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear"),
          [rand(1, 3, 4, 5)], dtype="float16")
    check(nn.UpsamplingBilinear2d(size=(7, 9)), torch.nn.UpsamplingBilinear2d(size=(7, 9)), [rand(1, 3, 4, 5)])
    check(nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3), [rand(1, 3, 4, 5)])
    for kwargs in (dict(size=(7, 9)), dict(scale_factor=2)):
        check(nn.Upsample(**kwargs, mode="nearest"), torch.nn.Upsample(**kwargs, mode="nearest"), [rand(2, 3, 4, 5)],
              dynamic=1, feeds=[rand(3, 3, 4, 5)])


def test_interpolate_refuses() -> None:
    x = [rand(1, 2, 4, 4)]
    for kwargs, error in [(dict(scale_factor=2, mode="bilinear", antialias=True), trtnet.TrtnetError),
                          (dict(scale_factor=2, mode="nearest", align_corners=True), ValueError),
                          (dict(scale_factor=2, mode="linear"), trtnet.ShapeError)]:
        with pytest.raises(error):
            run(Fn(lambda t, kw=kwargs: F.interpolate(t, **kw)), x, build=False)


# ---- LayerNorm / GroupNorm ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("shape,normalized,kwargs", [
    ((2, 7, 16), 16, {}),
    ((2, 7, 16), (7, 16), {}),
    ((2, 7, 16), 16, dict(elementwise_affine=False)),
    ((2, 7, 16), 16, dict(bias=False, eps=1e-3)),
    ((3, 16), [16], {}),
])
def test_layer_norm(shape, normalized, kwargs, dtype) -> None:
    ours = nn.LayerNorm(normalized, **kwargs)
    theirs = load(ours, torch.nn.LayerNorm(normalized, **kwargs), dtype)
    x = rand(*shape) * 3 + 1
    check(ours, theirs, [x], dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("groups,channels,shape,affine", [
    (2, 8, (2, 8, 5, 6), True),
    (1, 8, (2, 8, 5, 6), True),  # one group: statistics over C, H, W (not an instance norm)
    (8, 8, (2, 8, 5, 6), True),  # instance norm
    (4, 8, (2, 8, 5, 6), False),
    (2, 6, (2, 6, 10), True),
    (3, 6, (1, 6, 2, 3, 4), True),
    (2, 6, (4, 6), True),
])
def test_group_norm(groups, channels, shape, affine, dtype) -> None:
    ours = nn.GroupNorm(groups, channels, eps=1e-4, affine=affine)
    theirs = load(ours, torch.nn.GroupNorm(groups, channels, eps=1e-4, affine=affine), dtype)
    x = rand(*shape) * 2 - 0.5
    check(ours, theirs, [x], dtype=dtype)


def test_normalization_layers_use_per_channel_scale() -> None:
    """What TensorRT demands of group norm (see functional/normalization.py): axes without dim 1 and a
    [1, C, 1, 1] scale with add_normalization_v2; GroupNorm(1, C) reduces over dim 1 too."""
    trt = trtnet.backend.trt()
    for groups, axes in ((2, 0b1100), (1, 0b1110)):
        net = trtnet.trace(nn.GroupNorm(groups, 8, affine=False), [trtnet.Input("x", (2, 8, 5, 6))])
        layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
        norm = next(layer for layer in layers if layer.type == trt.LayerType.NORMALIZATION)
        norm.__class__ = trt.INormalizationLayer
        assert (norm.axes, norm.num_groups) == (axes, groups)
        assert tuple(norm.get_input(1).shape) == (1, 8, 1, 1)


# ---- softmax ------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
@pytest.mark.parametrize("dim", [0, 1, 2, -1, None])
def test_softmax_and_log_softmax(dim) -> None:
    x = [rand(2, 3, 4, 5) * 4]
    net = check(nn.Softmax(dim), torch.nn.Softmax(dim), x)
    check(nn.LogSoftmax(dim), torch.nn.LogSoftmax(dim), x)
    trt = trtnet.backend.trt()
    layer = net.network.get_layer(0)
    assert layer.type == trt.LayerType.SOFTMAX
    layer.__class__ = trt.ISoftMaxLayer
    assert layer.axes == 1 << (1 if dim is None else dim % 4)


def test_softmax_methods_extremes_and_fp16() -> None:
    x = rand(3, 6) * 40  # log_softmax must stay finite where log(softmax) underflows
    check(lambda t: t.softmax(-1) + t.log_softmax(0), lambda t: t.softmax(-1) + t.log_softmax(0), [x])
    check(lambda t: F.softmax(t, 1), lambda t: torch.softmax(t, 1), [rand(2, 5, 3)], dtype="float16")
    check(lambda t: F.log_softmax(t, -1), lambda t: torch.log_softmax(t, -1), [rand(2, 5, 3)], dtype="float16")


# ---- scaled_dot_product_attention -------------------------------------------------------------------
def _bool(*shape: int, seed: int = 0) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) > 0.4
    mask[..., 0] = True  # every row attends somewhere (rows masked everywhere are tested separately)
    return mask


SDPA = [  # q shape, k shape, mask, kwargs
    ((2, 3, 5, 8), (2, 3, 7, 8), None, {}),
    ((2, 3, 5, 8), (2, 3, 7, 8), None, dict(scale=0.3)),
    ((2, 3, 5, 8), (2, 3, 5, 8), None, dict(is_causal=True)),
    ((2, 3, 4, 8), (2, 3, 7, 8), None, dict(is_causal=True)),  # L < S: top-left aligned
    ((2, 3, 7, 8), (2, 3, 4, 8), None, dict(is_causal=True)),
    ((2, 3, 5, 8), (2, 3, 7, 8), _bool(5, 7), {}),
    ((2, 3, 5, 8), (2, 3, 7, 8), _bool(2, 1, 5, 7, seed=1), {}),
    ((2, 3, 5, 8), (2, 3, 7, 8), rand(5, 7, seed=2), {}),
    ((2, 3, 5, 8), (2, 3, 7, 8), rand(2, 3, 5, 7, seed=3), dict(scale=0.5)),
    ((5, 8), (7, 8), None, {}),
    ((2, 6, 5, 8), (2, 2, 7, 8), None, dict(enable_gqa=True)),
]


@pytest.mark.parametrize("q_shape,k_shape,mask,kwargs", SDPA)
def test_scaled_dot_product_attention(q_shape, k_shape, mask, kwargs) -> None:
    arrays = [rand(*q_shape, seed=4), rand(*k_shape, seed=5), rand(*k_shape[:-1], 6, seed=6)]
    if mask is None:
        check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
              lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **kwargs), arrays)
    else:
        check(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, **kwargs),
              lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m, **kwargs), arrays + [mask])


def test_sdpa_fully_masked_rows_fp16_and_refusals() -> None:
    mask = _bool(5, 7)
    mask[2] = False  # PyTorch gives zeros for a row that attends nowhere
    arrays = [rand(1, 2, 5, 4), rand(1, 2, 7, 4, seed=1), rand(1, 2, 7, 4, seed=2)]
    sdpa = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m)  # noqa: E731
    check(sdpa, TF.scaled_dot_product_attention, arrays + [mask])
    additive = np.where(mask, 0, -np.inf).astype(np.float32)
    check(sdpa, TF.scaled_dot_product_attention, arrays + [additive])
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
          lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
          [rand(1, 2, 5, 8)] * 3, dtype="float16")
    for kwargs in (dict(dropout_p=0.1), dict(is_causal=True, attn_mask=True)):
        with pytest.raises(trtnet.TrtnetError):
            run(Fn(lambda q, kw=kwargs: F.scaled_dot_product_attention(q, q, q, **kw)), [rand(1, 2, 5, 8)],
                build=False)


# ---- MultiheadAttention -----------------------------------------------------------------------------
MHA = [  # batch_first, bias, need_weights, average, masks, cross attention
    (True, True, False, True, None, False),
    (False, True, False, True, None, False),
    (True, True, True, True, None, False),
    (False, False, True, False, None, False),
    (True, True, False, True, "bool", False),
    (False, True, True, True, "bool", False),
    (True, True, False, True, "float", False),
    (True, True, True, False, "bool3d", False),
    (False, True, False, True, None, True),
    (True, True, True, True, "bool", True),
]


def _mha_masks(kind: str | None, n: int, heads: int, length: int, source: int) -> dict[str, np.ndarray]:
    if kind is None:
        return {}
    if kind == "bool":  # True = not allowed in MultiheadAttention
        padding = np.zeros((n, source), dtype=np.bool_)
        padding[0, -2:] = True
        return dict(attn_mask=~_bool(length, source, seed=7), key_padding_mask=padding)
    if kind == "float":
        return dict(attn_mask=rand(length, source, seed=8), key_padding_mask=rand(n, source, seed=9))
    return dict(attn_mask=~_bool(n * heads, length, source, seed=10))


@pytest.mark.parametrize("batch_first,bias,need_weights,average,masks,cross", MHA)
def test_multihead_attention(batch_first, bias, need_weights, average, masks, cross) -> None:
    embed, heads, n, length, source = 8, 2, 2, 5, (7 if cross else 5)
    ours = nn.MultiheadAttention(embed, heads, bias=bias, batch_first=batch_first)
    theirs = load(ours, torch.nn.MultiheadAttention(embed, heads, bias=bias, batch_first=batch_first))
    shape = (lambda seq: (n, seq, embed)) if batch_first else (lambda seq: (seq, n, embed))
    mask_arrays = _mha_masks(masks, n, heads, length, source)
    names = list(mask_arrays)
    arrays = [rand(*shape(length), seed=11)] + ([rand(*shape(source), seed=12)] if cross else [])
    arrays += list(mask_arrays.values())
    kw = dict(need_weights=need_weights, average_attn_weights=average)

    def call(module: Any, *xs: Any) -> Any:
        q = xs[0]
        k = xs[1] if cross else q
        masks_given = dict(zip(names, xs[2 if cross else 1:]))
        return module(q, k, k, **masks_given, **kw)

    check(Fn(lambda *xs: call(ours, *xs)), lambda *xs: call(theirs, *xs), arrays)


def test_multihead_attention_kdim_unbatched_fp16_dynamic() -> None:
    ours = nn.MultiheadAttention(8, 4, kdim=6, vdim=5, batch_first=True)
    theirs = load(ours, torch.nn.MultiheadAttention(8, 4, kdim=6, vdim=5, batch_first=True))
    assert set(ours.state_dict()) == set(theirs.state_dict())
    check(Fn(lambda q, k, v: ours(q, k, v)), lambda q, k, v: theirs(q, k, v),
          [rand(2, 5, 8), rand(2, 7, 6, seed=1), rand(2, 7, 5, seed=2)])

    ours = nn.MultiheadAttention(8, 2)
    theirs = load(ours, torch.nn.MultiheadAttention(8, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    check(Fn(lambda x: ours(x, x, x)[0]), lambda x: theirs(x, x, x)[0], [rand(5, 8)])  # unbatched (L, E)
    check(Fn(lambda x: ours(x, x, x, need_weights=False)[0]), lambda x: theirs(x, x, x, need_weights=False)[0],
          [rand(4, 2, 8)], dynamic=None)

    ours16 = nn.MultiheadAttention(8, 2, batch_first=True)
    theirs16 = load(ours16, torch.nn.MultiheadAttention(8, 2, batch_first=True), "float16")
    ours16.to(trtnet.float16)
    check(Fn(lambda x: ours16(x, x, x, need_weights=False)[0]), lambda x: theirs16(x, x, x, need_weights=False)[0],
          [rand(2, 5, 8)], dtype="float16")

    ours = nn.MultiheadAttention(8, 2, batch_first=True)  # dynamic batch
    theirs = load(ours, torch.nn.MultiheadAttention(8, 2, batch_first=True))
    check(Fn(lambda x: ours(x, x, x)), lambda x: theirs(x, x, x), [rand(2, 5, 8)], dynamic=1,
          feeds=[rand(3, 5, 8, seed=3)])
    with pytest.raises(trtnet.TrtnetError, match="add_bias_kv"):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)
    with pytest.raises(trtnet.TrtnetError, match="is_causal"):
        run(Fn(lambda x: ours(x, x, x, is_causal=True)), [rand(2, 5, 8)], build=False)


# ---- Embedding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_embedding(index_dtype, dtype) -> None:
    ours = nn.Embedding(10, 4, padding_idx=0)
    theirs = load(ours, torch.nn.Embedding(10, 4, padding_idx=0), dtype)
    indices = np.array([[0, 3, 9], [9, 2, 2]], dtype=index_dtype)
    check(ours, lambda i: theirs(i.long()), [indices], dtype=dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm(norm_type) -> None:
    """torch renormalises the looked-up rows longer than max_norm (in place) and returns them scaled."""
    ours = nn.Embedding(10, 4, max_norm=0.8, norm_type=norm_type)
    theirs = load(ours, torch.nn.Embedding(10, 4, max_norm=0.8, norm_type=norm_type), trtnet.float32)
    indices = np.array([[0, 3, 9], [9, 2, 2]], dtype=np.int64)
    check(ours, lambda i: theirs(i.long()), [indices])
    assert "max_norm=0.8" in repr(ours)


def test_embedding_and_index_select_functional() -> None:
    w = rand(6, 3)
    check(lambda i: F.embedding(i, w), lambda i: TF.embedding(i, torch.from_numpy(w)),
          [np.array([5, 0, 1], np.int64)])
    check(lambda x, i: x.index_select(1, i), lambda x, i: x.index_select(1, i.long()),
          [rand(2, 5, 3), np.array([4, 0, 4], np.int32)])
    with pytest.raises(trtnet.TrtnetError, match="max_norm must be positive"):
        nn.Embedding(4, 2, max_norm=0.0)
    with pytest.raises(trtnet.TrtnetError, match="int32 or int64"):
        run(Fn(lambda x: F.embedding(x, w)), [rand(2)], build=False)


# ---- joining, splitting, indexing -------------------------------------------------------------------
def test_cat_stack_split_chunk_unbind_narrow() -> None:
    a, b = rand(2, 3, 4), rand(2, 3, 4, seed=1)
    check(lambda x, y: F.stack([x, y], 1), lambda x, y: torch.stack([x, y], 1), [a, b])
    check(lambda x, y: F.stack([x, y], -1), lambda x, y: torch.stack([x, y], -1), [a, b])
    check(lambda x, y: F.cat([x, y], -1), lambda x, y: torch.cat([x, y], -1), [a, b])
    check(lambda x: x.split(2, dim=-1), lambda x: x.split(2, dim=-1), [rand(2, 3, 5)])
    check(lambda x: x.split([1, 3, 1], -1), lambda x: x.split([1, 3, 1], -1), [rand(2, 3, 5)])
    check(lambda x: F.split(x, 3, 0), lambda x: torch.split(x, 3, 0), [rand(2, 3, 5)])
    check(lambda x: x.chunk(3, dim=-1), lambda x: x.chunk(3, dim=-1), [rand(2, 3, 9)])
    check(lambda x: x.chunk(4, 1), lambda x: x.chunk(4, 1), [rand(2, 6, 4)])  # 3 chunks of 2, as PyTorch
    check(lambda x: x.unbind(1), lambda x: x.unbind(1), [a])
    check(lambda x: x.narrow(-1, -3, 2), lambda x: x.narrow(-1, -3, 2), [a])


INDEXES = [
    (slice(None), slice(1, 3)),
    (Ellipsis, slice(None, None, 2)),
    (slice(None), -1),
    (-2,),
    (1, None, slice(-3, None), 0),
    (None, Ellipsis, None),
    (slice(None), slice(None, None, 3), slice(1, -1, 2)),
    (0, 1, 2),
    (slice(1, 10), slice(-10, 2)),  # bounds beyond the dim are clipped, as in Python
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem(index) -> None:
    check(lambda x: x[index], lambda x: x[index], [rand(4, 5, 6)])


def test_getitem_dynamic_batch_and_refusals() -> None:
    check(lambda x: x[:, 1:3, None, -1], lambda x: x[:, 1:3, None, -1], [rand(2, 5, 6)], dynamic=1,
          feeds=[rand(4, 5, 6)])
    for index, error in [((slice(None, None, -1),), ValueError), ((0, 0, 0, 0), IndexError), ((7,), IndexError)]:
        with pytest.raises(error):
            run(Fn(lambda x, i=index: x[i]), [rand(4, 5, 6)], build=False)
    with pytest.raises(trtnet.TrtnetError, match="advanced indexing"):
        run(Fn(lambda x: x[x > 0]), [rand(4, 5, 6)], build=False)
    check(lambda x: x[1:], lambda x: x[1:], [rand(4, 5, 6)], dynamic=1, feeds=[rand(3, 5, 6)])  # a dynamic dim sliced


def test_shape_methods() -> None:
    x = rand(2, 1, 3, 1)
    check(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    check(lambda t: t.squeeze(1), lambda t: t.squeeze(1), [x])
    check(lambda t: t.squeeze(0), lambda t: t.squeeze(0), [x])  # not size 1: unchanged, as PyTorch
    check(lambda t: t.squeeze((1, 3)), lambda t: t.squeeze((1, 3)), [x])
    check(lambda t: t.unsqueeze(0).unsqueeze(-1).unsqueeze(2), lambda t: t.unsqueeze(0).unsqueeze(-1).unsqueeze(2), [x])
    check(lambda t: t.expand(2, 4, 3, 5), lambda t: t.expand(2, 4, 3, 5), [x])
    check(lambda t: t.expand(6, -1, 4, -1, 2), lambda t: t.expand(6, -1, 4, -1, 2), [x])
    check(lambda t: t.repeat(2, 3, 1, 2), lambda t: t.repeat(2, 3, 1, 2), [x])
    check(lambda t: t.repeat(2, 1, 1, 1, 3), lambda t: t.repeat(2, 1, 1, 1, 3), [x])
    check(lambda t: t.permute(3, 0, 2, 1).reshape(-1, 3).transpose(0, 1).T,
          lambda t: t.permute(3, 0, 2, 1).reshape(-1, 3).transpose(0, 1).T, [x])
    check(lambda t: t.unsqueeze(1).squeeze(2).expand(-1, 4, 3, 1), lambda t: t.unsqueeze(1).squeeze(2).expand(
        -1, 4, 3, 1), [x], dynamic=1, feeds=[rand(5, 1, 3, 1)])
    with pytest.raises(trtnet.ShapeError):
        run(Fn(lambda t: t.expand(2, 1, 4, 1)), [x], build=False)


# ---- reductions, pointwise math, comparisons, where ---------------------------------------------------
def test_reduction_methods() -> None:
    x = [rand(2, 3, 4)]
    for name in ("mean", "sum", "amax", "amin"):
        for args in ((), (1,), (-1, True), ((0, 2),), ((0, 2), True)):
            check(lambda t, n=name, a=args: getattr(t, n)(*a), lambda t, n=name, a=args: getattr(t, n)(*a), x)
    check(lambda t: t.mean(dim=-1, keepdim=True), lambda t: t.mean(dim=-1, keepdim=True), x, dtype="float16")


@pytest.mark.parametrize("name", ["sqrt", "rsqrt", "exp", "log", "abs", "reciprocal", "sin", "cos", "erf", "floor",
                                  "ceil", "neg"])
def test_unary_methods(name) -> None:
    x = rand(3, 4) * 2
    if name in ("sqrt", "rsqrt", "log", "reciprocal"):
        x = np.abs(x) + 0.1
    check(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x])
    check(lambda t: getattr(F, name)(t), lambda t: getattr(torch, name)(t), [x])


def test_pow_clamp_hardtanh_fp16() -> None:
    x = rand(3, 4) * 3
    check(lambda t: t.abs() ** 1.5 + t.pow(2) + 2 ** t, lambda t: t.abs() ** 1.5 + t.pow(2) + 2 ** t, [x])
    for kwargs in (dict(min=-1.0), dict(max=0.5), dict(min=-0.5, max=0.5), dict(min=1.0, max=-1.0)):
        check(lambda t, kw=kwargs: t.clamp(**kw), lambda t, kw=kwargs: t.clamp(**kw), [x])
    check(lambda t, b: F.clamp(t, min=b), lambda t, b: torch.clamp(t, min=b), [x, rand(1, 4, seed=1)])
    check(nn.Hardtanh(-2.0, 1.5), torch.nn.Hardtanh(-2.0, 1.5), [x])
    check(lambda t: t.clamp(max=1.0).sqrt(), lambda t: t.clamp(max=1.0).sqrt(), [np.abs(x)], dtype="float16")
    check(lambda t: t.clamp(0, 3), lambda t: t.clamp(0, 3), [np.arange(-3, 5, dtype=np.int32)])
    with pytest.raises(trtnet.TrtnetError, match="min"):
        run(Fn(lambda t: t.clamp()), [x], build=False)


def test_comparisons_and_where() -> None:
    x, y = rand(3, 4), rand(1, 4, seed=1)
    x[0, :2] = y[0, :2]  # some equal elements
    for op in ("__gt__", "__lt__", "__eq__", "__ge__", "__le__", "__ne__"):
        check(lambda a, b, o=op: getattr(a, o)(b), lambda a, b, o=op: getattr(a, o)(b), [x, y])
    check(lambda a: a > 0.5, lambda a: a > 0.5, [x])
    check(lambda a: 0.5 < a, lambda a: 0.5 < a, [x])
    check(lambda a, b: F.where(a > b, a, b), lambda a, b: torch.where(a > b, a, b), [x, y])
    check(lambda a: F.where(a > 0, a, 0.0), lambda a: torch.where(a > 0, a, 0.0), [x])
    check(lambda a, c: F.where(c, 1.0, a), lambda a, c: torch.where(c, 1.0, a), [x, x[:1] > 0])
    check(lambda a: ((a > 0) & (a < 1)) | ~(a != a), lambda a: ((a > 0) & (a < 1)) | ~(a != a), [x])
    check(lambda a: a.masked_fill(a < 0, -2.0), lambda a: a.masked_fill(a < 0, -2.0), [x], dtype="float16")
    check(lambda i: i == 2, lambda i: i == 2, [np.array([1, 2, 3], np.int32)])


MATMUL = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)),
          ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((1, 3, 4), (2, 4, 5))]


@pytest.mark.parametrize("a_shape,b_shape", MATMUL)
def test_matmul_broadcasting(a_shape, b_shape) -> None:
    check(lambda a, b: a @ b, lambda a, b: a @ b, [rand(*a_shape), rand(*b_shape, seed=1)])


def test_matmul_refuses_bad_batch() -> None:
    with pytest.raises(trtnet.ShapeError, match="broadcast"):
        run(Fn(lambda a, b: a @ b), [rand(2, 3, 4), rand(3, 4, 5)], build=False)


# ---- pad ------------------------------------------------------------------------------------------
PADS = [((1, 2), "constant", None), ((1, 2, 0, 3), "constant", 2.5), ((-1, 2, 1, -2), "constant", 0.0),
        ((1, 2, 3, 0), "reflect", None), ((2, 2, 1, 1), "reflect", None), ((1, 1, 2, 0, 0, 1), "replicate", None),
        ((1, 2, 3, 0), "replicate", None), ((4, 0, 1, 5), "replicate", None), ((1, 2, 3, 0), "circular", None), ((0, 1, 1, 1, 1, 0), "constant", -1.0)]


@pytest.mark.parametrize("pad,mode,value", PADS)
def test_pad(pad, mode, value) -> None:
    kwargs = dict(mode=mode) if value is None else dict(mode=mode, value=value)
    check(lambda x: F.pad(x, pad, **kwargs), lambda x: TF.pad(x, pad, **kwargs), [rand(2, 3, 4, 5)])


def test_pad_fp16_dynamic_and_refusals() -> None:
    check(lambda x: F.pad(x, (1, 1, 2, 0), mode="reflect"), lambda x: TF.pad(x, (1, 1, 2, 0), mode="reflect"),
          [rand(2, 3, 4, 5)], dtype="float16")
    check(lambda x: F.pad(x, (1, 1, 2, 0), value=1.0), lambda x: TF.pad(x, (1, 1, 2, 0), value=1.0),
          [rand(2, 3, 4, 5)], dynamic=1, feeds=[rand(4, 3, 4, 5)])
    with pytest.raises(trtnet.ShapeError, match="reflect"):
        run(Fn(lambda x: F.pad(x, (5, 0, 0, 0), mode="reflect")), [rand(1, 2, 4, 5)], build=False)
    with pytest.raises(trtnet.ShapeError, match="batch"):
        run(Fn(lambda x: F.pad(x, (1, 0), mode="reflect")), [rand(1, 2, 4, 5)], build=False)
    with pytest.raises(trtnet.TrtnetError, match="mode"):
        run(Fn(lambda x: F.pad(x, (1, 0), mode="edge")), [rand(1, 2, 4, 5)], build=False)


# ---- naming and keep-alive ------------------------------------------------------------------------
def test_new_layers_named_by_module_path_and_kept_alive() -> None:
    model = nn.Sequential(nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1), nn.GroupNorm(2, 4),
                          nn.Upsample(scale_factor=2), nn.Softmax(1))
    load(model, torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1),
                                    torch.nn.GroupNorm(2, 4)))
    net = trtnet.trace(model, [trtnet.Input("x", (1, 2, 4, 4))])
    names = [net.network.get_layer(i).name for i in range(net.network.num_layers)]
    assert not any(n.startswith("(Unnamed") for n in names)
    assert {"0", "1", "2", "3"} <= set(names)  # each module's output layer carries the module path
    assert any(n.startswith("0/") for n in names)  # the deconvolution's helper layers live in its scope
    kept = [a for a in net.graph.keep_alive if isinstance(a, np.ndarray)]
    assert len(kept) >= 4  # kernel, bias, group-norm scale and bias


def test_non_integer_scalar_with_int_tensor_promotes_not_truncates():
    x = np.array([2, 3, -2], dtype=np.int32)  # torch promotes to float32: 2 == 2.5 is False, not truncated to 2 == 2
    check(lambda t: t == 2.5, lambda t: t == 2.5, [x])
    check(lambda t: t + 2.5, lambda t: t + 2.5, [x])


def test_expand_as_follows_a_dynamic_batch_at_run_time():
    class PrependToken(trtnet.Module):
        def __init__(self):
            super().__init__()
            self.token = trtnet.Parameter((1, 1, 4))

        def forward(self, x):
            token = F.as_tensor(self.token).expand_as(x[:, :1, :])
            return F.cat([token, x], dim=1)

    model = PrependToken()
    token = np.arange(4, dtype=np.float32).reshape(1, 1, 4)
    model.load_state_dict({"token": token})
    net = trtnet.trace(model, [trtnet.Input("x", (-1, 3, 4), min=(1, 3, 4), opt=(2, 3, 4), max=(4, 3, 4))])
    assert tuple(net.network.get_output(0).shape) == (-1, 4, 4)
    assert serialize(net, BuildConfig())
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 4)).astype(np.float32)
        got = execute(net.network, {"x": x})["output"].numpy()
        expected = np.concatenate([np.broadcast_to(token, (batch, 1, 4)), x], axis=1)
        np.testing.assert_array_equal(got, expected)
