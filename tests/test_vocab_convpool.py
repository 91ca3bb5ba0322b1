"""Issue 9, conv/pool/resize vocabulary in 1-3 spatial dims: Conv1d/3d, ConvTranspose1d/3d, MaxPool1d/3d (with
dilation), AvgPool1d/3d, adaptive avg/max pooling with uneven windows, PixelShuffle/PixelUnshuffle/ChannelShuffle,
interpolate ``mode='area'`` and on 3-D/5-D inputs, unbatched inputs. Every network is built with TensorRT and run
on the CPU executor (:func:`trtnet.testing.assert_matches_torch`, ``test_ops.run``) against eager PyTorch; every
argument PyTorch refuses is refused by trtnet with a trtnet error."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402
from trtnet.reference import execute  # noqa: E402
from trtnet.testing import assert_matches_torch  # noqa: E402
from test_ops import Fn, rand, run  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning",
                                        "ignore::trtnet.verdict.CheckWarning")
T = torch.nn


def matches(make: Callable[[Any], Any], shape: tuple[int, ...], dtype: str = "fp32") -> None:
    """``make(trtnet.nn)`` computes what ``make(torch.nn)`` (seeded default weights) computes on a random input."""
    torch.manual_seed(0)
    reference = make(T)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    assert_matches_torch(make(nn), reference, [x], dtype=dtype)


def close(ours: Callable[..., Any], theirs: Callable[..., Any], x: np.ndarray) -> None:
    """The functional ``ours`` on trtnet tensors computes ``theirs`` on torch tensors."""
    torch.testing.assert_close(run(Fn(ours), [x])[0][0], theirs(torch.from_numpy(x)), atol=2e-5, rtol=2e-5)


def layer_types(make: Callable[[Any], Any], shape: tuple[int, ...]) -> list[str]:
    net = trtnet.trace(make(nn), [trtnet.Input("x", shape)])
    return [net.network.get_layer(i).type.name for i in range(net.network.num_layers)]


SPATIAL = {1: (11,), 2: (9, 10), 3: (5, 6, 7)}
CLASSES = {1: ("Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d"),
           2: ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"),
           3: ("Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d")}


# ---- convolution --------------------------------------------------------------------------------
# kernel, stride, padding, dilation, groups, bias
CONV = [(3, 1, 0, 1, 1, True), (3, 2, 1, 1, 1, False), (2, 3, 2, 1, 1, True), (3, 1, 2, 2, 1, True),
        (3, 1, "same", 2, 1, True), (4, 1, "same", 1, 2, True), (3, 2, "valid", 1, 4, True), (1, 1, 0, 1, 2, False)]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel,stride,padding,dilation,groups,bias", CONV)
def test_conv(nd, kernel, stride, padding, dilation, groups, bias) -> None:
    name = CLASSES[nd][0]
    matches(lambda m: getattr(m, name)(4, 8, kernel, stride, padding, dilation, groups, bias), (2, 4, *SPATIAL[nd]))


# every padding_mode with every kind of padding once, each spatial rank three times
PADDING_MODES = [(1 + (m + p) % 3, mode, padding) for m, mode in enumerate(["reflect", "replicate", "circular"])
                 for p, padding in enumerate([1, 2, "same"])]


@pytest.mark.parametrize("nd,mode,padding", PADDING_MODES)
def test_conv_padding_modes(nd, mode, padding) -> None:
    name = CLASSES[nd][0]
    matches(lambda m: getattr(m, name)(3, 4, 3, padding=padding, padding_mode=mode), (2, 3, *SPATIAL[nd]))


def test_conv_per_dim_arguments() -> None:
    matches(lambda m: m.Conv3d(2, 4, (1, 2, 3), (2, 1, 1), (0, 1, 2), (1, 2, 1)), (1, 2, 5, 6, 7))
    matches(lambda m: m.Conv2d(2, 4, (3, 2), padding=(2, 1), padding_mode="reflect"), (1, 2, 6, 7))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_unbatched_and_fp16(nd) -> None:
    name = CLASSES[nd][0]
    matches(lambda m: getattr(m, name)(3, 4, 3, padding=1), (3, *SPATIAL[nd]))
    matches(lambda m: getattr(m, name)(4, 6, 3, stride=2, groups=2), (2, 4, *SPATIAL[nd]), dtype="fp16")


def test_functional_conv1d_conv3d() -> None:
    w1, w3 = rand(6, 2, 3, seed=1), rand(4, 3, 2, 2, 2, seed=2)
    close(lambda x: F.conv1d(x, w1, None, 2, "valid", 1, 2),
          lambda x: torch.nn.functional.conv1d(x, torch.from_numpy(w1), None, 2, "valid", 1, 2), rand(2, 4, 9))
    close(lambda x: F.conv3d(x, w3, padding="same", dilation=2),
          lambda x: torch.nn.functional.conv3d(x, torch.from_numpy(w3), padding="same", dilation=2), rand(3, 4, 5, 6))


def test_int8_quantized_conv1d_matches_torch_fake_quantization() -> None:
    """Under a quantization plan the 1-D kernel enters the 2-D convolution as input 1, shaped [K, C, 1, k]."""
    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.default_inputs = [trtnet.Input("x", (4, 2, 9))]
            self.conv = nn.Conv1d(2, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    weight, bias = rand(4, 2, 3, seed=5) * 0.3, rand(4, seed=6) * 0.1
    model = Model()
    model.load_state_dict({"conv.weight": weight, "conv.bias": bias})
    model = trtnet.quantize(model, [rand(4, 2, 9, seed=7 + i) * 2 for i in range(3)], "int8", "max")
    x = rand(4, 2, 9, seed=20)
    got = run(model, [x])[0][0]
    w = torch.from_numpy(weight)
    scale = w.abs().reshape(4, -1).amax(1) / 127
    w = torch.fake_quantize_per_channel_affine(w, scale, torch.zeros(4, dtype=torch.int32), 0, -128, 127)
    q = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), model.quantization.scales["conv"], 0, -128, 127)
    torch.testing.assert_close(got, torch.nn.functional.conv1d(q, w, torch.from_numpy(bias), padding=1),
                               atol=1e-5, rtol=1e-5)


# ---- transposed convolution ---------------------------------------------------------------------
# kernel, stride, padding, output_padding, groups, dilation, bias
DECONV = [(3, 1, 0, 0, 1, 1, True), (3, 2, 1, 1, 1, 1, True), (2, 3, 0, 2, 1, 1, False), (3, 2, 1, 0, 2, 1, True),
          (3, 1, 2, 0, 1, 2, True), (3, 2, 0, 1, 1, 2, True)]  # last: strided + dilated -> spread kernel


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel,stride,padding,output_padding,groups,dilation,bias", DECONV)
def test_conv_transpose(nd, kernel, stride, padding, output_padding, groups, dilation, bias) -> None:
    name = CLASSES[nd][1]
    shape = (2, 4, *(max(n // 2, 3) for n in SPATIAL[nd]))
    matches(lambda m: getattr(m, name)(4, 6, kernel, stride, padding, output_padding, groups, bias, dilation), shape)


@pytest.mark.parametrize("nd", [1, 3])
def test_conv_transpose_unbatched_fp16_and_output_size(nd) -> None:
    name = CLASSES[nd][1]
    matches(lambda m: getattr(m, name)(3, 4, 3, stride=2), (3, *(4,) * nd))
    matches(lambda m: getattr(m, name)(4, 6, 3, stride=2, output_padding=1), (1, 4, *(4,) * nd), dtype="fp16")

    class Sized(nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.up = getattr(m, name)(2, 3, 3, stride=2, padding=1)

        def forward(self, x):
            return self.up(x, output_size=(10,) * nd)

    ours = Sized(nn)
    theirs = getattr(T, name)(2, 3, 3, stride=2, padding=1)
    ours.up.load_state_dict(theirs.state_dict())
    x = rand(1, 2, *(5,) * nd)
    with torch.no_grad():
        torch.testing.assert_close(run(ours, [x])[0][0], theirs(torch.from_numpy(x), output_size=(10,) * nd),
                                   atol=2e-5, rtol=2e-5)


# ---- max and average pooling ----------------------------------------------------------------------
# kernel, stride, padding, dilation, ceil_mode
MAX = [(2, None, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False), (3, 2, 1, 2, True), (2, 3, 1, 3, True),
       (3, 3, 0, 1, True)]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX)
def test_max_pool(nd, kernel, stride, padding, dilation, ceil_mode) -> None:
    name = CLASSES[nd][2]
    matches(lambda m: getattr(m, name)(kernel, stride, padding, dilation, ceil_mode=ceil_mode), (2, 3, *SPATIAL[nd]))


def test_max_pool_dilation_is_separable_strided_slices() -> None:
    """TensorRT pooling has no dilation: one slice per kernel tap and spatial dim (3 + 3), their maximum."""
    types = layer_types(lambda m: m.MaxPool2d(3, 2, 1, dilation=2), (1, 2, 9, 10))
    assert types.count("SLICE") == 6 and types.count("ELEMENTWISE") == 4 and "POOLING" not in types
    matches(lambda m: m.MaxPool2d((2, 3), (1, 2), (1, 0), dilation=(3, 2), ceil_mode=True), (1, 2, 9, 10))
    matches(lambda m: m.MaxPool3d(2, 1, 1, dilation=2), (3, 5, 6, 7), dtype="fp16")  # unbatched, fp16


# kernel, stride, padding, ceil_mode, count_include_pad
AVG = [(2, None, 0, False, True), (3, 2, 1, True, True), (3, 2, 1, True, False), (3, 2, 1, False, False),
       (2, 3, 1, True, True)]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", AVG)
def test_avg_pool(nd, kernel, stride, padding, ceil_mode, count_include_pad) -> None:
    name = CLASSES[nd][3]
    matches(lambda m: getattr(m, name)(kernel, stride, padding, ceil_mode, count_include_pad), (2, 3, *SPATIAL[nd]))


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("divisor", [1, 3, 7])
def test_avg_pool_divisor_override(nd, divisor) -> None:
    name = CLASSES[nd][3]
    matches(lambda m: getattr(m, name)(3, 2, 1, True, divisor_override=divisor), (2, 3, *SPATIAL[nd]))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pooling_unbatched_and_fp16(nd) -> None:
    matches(lambda m: getattr(m, CLASSES[nd][2])(3, 2, 1), (3, *SPATIAL[nd]))
    matches(lambda m: getattr(m, CLASSES[nd][3])(3, 2, 1, True), (3, *SPATIAL[nd]))
    matches(lambda m: getattr(m, CLASSES[nd][2])(2, ceil_mode=True), (2, 3, *SPATIAL[nd]), dtype="fp16")
    matches(lambda m: getattr(m, CLASSES[nd][3])(3, 2, 1, True, False), (2, 3, *SPATIAL[nd]), dtype="fp16")


def test_functional_pooling() -> None:
    tf, x = torch.nn.functional, rand(2, 3, 11)
    close(lambda t: F.max_pool1d(t, 3, 2, 1, 2, True), lambda t: tf.max_pool1d(t, 3, 2, 1, 2, True), x)
    close(lambda t: F.avg_pool1d(t, 4, 3, 2, True, False), lambda t: tf.avg_pool1d(t, 4, 3, 2, True, False), x)
    close(lambda t: F.adaptive_max_pool1d(t, 4), lambda t: tf.adaptive_max_pool1d(t, 4), x)
    close(lambda t: F.adaptive_avg_pool3d(t, (2, 3, 4)), lambda t: tf.adaptive_avg_pool3d(t, (2, 3, 4)), rand(3, 5, 6, 7))
    close(lambda t: F.max_pool3d(t, 2, 1, 1, 2), lambda t: tf.max_pool3d(t, 2, 1, 1, 2), rand(1, 2, 5, 6, 7))
    # one-element sequences stand for every spatial dim, as in torch
    close(lambda t: F.avg_pool2d(t, (3,), (2,), (1,)), lambda t: tf.avg_pool2d(t, (3,), (2,), (1,)), rand(1, 2, 8, 8))
    w = rand(3, 2, 3, 3, seed=4)
    close(lambda t: F.conv2d(t, w, None, [2], (1,), (2,)),
          lambda t: tf.conv2d(t, torch.from_numpy(w), None, [2], (1,), (2,)), rand(1, 2, 8, 8))


# ---- adaptive pooling -----------------------------------------------------------------------------
ADAPTIVE = {1: [(11, 1), (11, 4), (11, 7), (11, 11), (10, 5), (5, 8)],
            2: [((9, 10), 1), ((9, 10), (4, 3)), ((9, 10), (None, 7)), ((9, 10), (3, 5)), ((7, 7), 3)],
            3: [((5, 6, 7), 1), ((5, 6, 7), (2, 4, 3)), ((5, 6, 7), (None, 3, 5)), ((4, 6, 8), (2, 3, 4))]}
ADAPTIVE_CASES = [(nd, shape, size) for nd, cases in ADAPTIVE.items() for shape, size in cases]


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("nd,shape,size", ADAPTIVE_CASES)
def test_adaptive_pool(kind, nd, shape, size) -> None:
    name = CLASSES[nd][4 if kind == "avg" else 5]
    spatial = (shape,) if isinstance(shape, int) else shape
    matches(lambda m: getattr(m, name)(size), (2, 3, *spatial))


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_uneven_unbatched_fp16(kind) -> None:
    matches(lambda m: getattr(m, f"Adaptive{kind.title()}Pool2d")((4, 3)), (3, 9, 10))
    matches(lambda m: getattr(m, f"Adaptive{kind.title()}Pool2d")((4, 3)), (2, 3, 9, 10), dtype="fp16")


def test_adaptive_pool_lowering() -> None:
    """Even windows: one pooling layer; uneven: one gather per resized dim (7 -> 3 uses windows of 3)."""
    assert layer_types(lambda m: m.AdaptiveMaxPool2d((3, 5)), (1, 2, 9, 10)) == ["POOLING"]
    uneven = layer_types(lambda m: m.AdaptiveAvgPool2d((4, 3)), (1, 2, 9, 10))
    assert uneven.count("GATHER") == 2 and "POOLING" not in uneven


# ---- pixel and channel shuffles --------------------------------------------------------------------
@pytest.mark.parametrize("make,shape", [
    (lambda m: m.PixelShuffle(2), (2, 8, 3, 4)), (lambda m: m.PixelShuffle(3), (18, 2, 3)),
    (lambda m: m.PixelShuffle(1), (1, 3, 2, 2)), (lambda m: m.PixelShuffle(2), (2, 3, 4, 2, 3)),
    (lambda m: m.PixelUnshuffle(2), (2, 3, 4, 6)), (lambda m: m.PixelUnshuffle(3), (2, 6, 9)),
    (lambda m: m.PixelUnshuffle(2), (2, 2, 1, 4, 4)),
    (lambda m: m.ChannelShuffle(3), (2, 6, 3, 4)), (lambda m: m.ChannelShuffle(2), (2, 4, 5)),
    (lambda m: m.ChannelShuffle(2), (1, 8, 2, 3, 2)), (lambda m: m.ChannelShuffle(1), (2, 3, 4)),
], ids=["ps2", "ps3-unbatched", "ps1", "ps-2-lead", "pu2", "pu3-unbatched", "pu-2-lead", "cs3", "cs-3d", "cs-5d",
        "cs1"])
def test_shuffles(make, shape) -> None:
    matches(make, shape)


def test_functional_shuffles() -> None:
    tf, x = torch.nn.functional, rand(2, 12, 3, 4)
    close(lambda t: F.pixel_shuffle(t, 2), lambda t: tf.pixel_shuffle(t, 2), x)
    close(lambda t: F.pixel_unshuffle(t, 1), lambda t: tf.pixel_unshuffle(t, 1), x)
    close(lambda t: F.channel_shuffle(t, 4), lambda t: tf.channel_shuffle(t, 4), x)
    close(lambda t: F.interpolate(t, scale_factor=0.5, mode="area"),
          lambda t: tf.interpolate(t, scale_factor=0.5, mode="area"), x)


# ---- interpolate ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kwargs", [
    ((2, 3, 11), dict(size=4)), ((2, 3, 11), dict(scale_factor=0.5)), ((2, 3, 8), dict(size=16)),
    ((2, 3, 9, 10), dict(size=(4, 3))), ((2, 3, 9, 10), dict(scale_factor=(0.7, 0.5))), ((2, 3, 4, 4), dict(size=8)),
    ((1, 2, 5, 6, 7), dict(size=(2, 4, 3))), ((1, 2, 4, 6, 8), dict(scale_factor=0.5)),
])
def test_interpolate_area(shape, kwargs) -> None:
    matches(lambda m: m.Upsample(mode="area", **kwargs), shape)


@pytest.mark.parametrize("shape,kwargs", [
    ((2, 3, 7), dict(scale_factor=2, mode="nearest")), ((2, 3, 7), dict(size=10, mode="nearest-exact")),
    ((2, 3, 7), dict(scale_factor=3, mode="linear")), ((2, 3, 7), dict(size=12, mode="linear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="nearest")), ((1, 2, 3, 4, 5), dict(size=(4, 6, 7), mode="nearest")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(2, 1.5, 2), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(5, 5, 9), mode="trilinear", align_corners=True)),
])
def test_interpolate_3d_and_5d(shape, kwargs) -> None:
    matches(lambda m: m.Upsample(**kwargs), shape)


@pytest.mark.parametrize("fn,spec,shapes", [
    (lambda f, t: f.interpolate(t, scale_factor=2), (-1, 3, -1, -1), [(2, 3, 8, 8), (1, 3, 5, 7), (4, 3, 16, 9)]),
    (lambda f, t: f.interpolate(t, scale_factor=0.5, mode="bilinear"), (-1, 3, -1, -1), [(2, 3, 8, 8), (1, 3, 5, 7)]),
    (lambda f, t: f.interpolate(t, scale_factor=2, mode="bilinear", align_corners=True), (2, 3, -1, -1),
     [(2, 3, 8, 8), (2, 3, 5, 7)]),
    (lambda f, t: f.interpolate(t, scale_factor=3, mode="linear", recompute_scale_factor=True), (2, 3, -1),
     [(2, 3, 8), (2, 3, 5)]),
    (lambda f, t: f.interpolate(t, size=(t.shape[2] * 2, 5), mode="bilinear"), (2, 3, -1, 6), [(2, 3, 8, 6), (2, 3, 5, 6)]),
], ids=["nearest-x2", "bilinear-x0.5", "align-corners-x2", "linear-recompute-x3", "size-from-shape"])
def test_interpolate_dynamic_spatial_dims(fn, spec, shapes) -> None:
    low = tuple(min(s[d] for s in shapes) if n == -1 else n for d, n in enumerate(spec))
    high = tuple(max(s[d] for s in shapes) if n == -1 else n for d, n in enumerate(spec))
    net = trtnet.trace(Fn(lambda t: fn(F, t)), [trtnet.Input("x", spec, min=low, opt=shapes[0], max=high)])
    assert len(serialize(net, BuildConfig())) > 0
    for shape in shapes:
        x = rand(*shape, seed=sum(shape))
        got = execute(net.network, {"x": x})[net.outputs[0]]
        torch.testing.assert_close(got, fn(torch.nn.functional, torch.from_numpy(x)), atol=2e-5, rtol=2e-5)


def test_interpolate_dynamic_inexact_factor_is_refused() -> None:
    """float32(0.7) * 10 floors to 6 where PyTorch gets 7: only size= can say what PyTorch computes."""
    with pytest.raises(trtnet.ShapeError, match="pass size="):
        trtnet.trace(Fn(lambda t: F.interpolate(t, scale_factor=0.7)),
                     [trtnet.Input("x", (2, 3, -1), min=(2, 3, 4), opt=(2, 3, 8), max=(2, 3, 16))])


def test_deprecated_upsample_aliases() -> None:
    tf, x = torch.nn.functional, rand(2, 3, 5, 6)
    with pytest.warns(UserWarning):
        close(lambda t: F.upsample_bilinear(t, scale_factor=2), lambda t: tf.upsample_bilinear(t, scale_factor=2), x)
        close(lambda t: F.upsample_nearest(t, size=(7, 9)), lambda t: tf.upsample_nearest(t, size=(7, 9)), x)


def test_interpolate_area_fp16() -> None:
    matches(lambda m: m.Upsample(size=(4, 3), mode="area"), (2, 3, 9, 10), dtype="fp16")


# ---- dynamic batch ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Conv1d(3, 4, 3, padding=1, padding_mode="circular"), (2, 3, 9)),
    (lambda m: m.ConvTranspose1d(3, 4, 3, stride=3, output_padding=2), (2, 3, 5)),
    (lambda m: m.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True), (2, 3, 11)),
    (lambda m: m.AvgPool3d(2, ceil_mode=True), (2, 3, 5, 5, 3)),
    (lambda m: m.AdaptiveAvgPool2d((4, 3)), (2, 3, 9, 10)), (lambda m: m.AdaptiveMaxPool1d(4), (2, 3, 11)),
    (lambda m: m.PixelShuffle(2), (2, 8, 3, 4)), (lambda m: m.ChannelShuffle(2), (2, 4, 3)),
    (lambda m: m.Upsample(size=4, mode="area"), (2, 3, 11)),
], ids=["conv1d", "deconv1d", "maxpool1d-dilated", "avgpool3d", "adaptive-avg-uneven", "adaptive-max-uneven",
        "pixel-shuffle", "channel-shuffle", "area"])
def test_dynamic_batch(make, shape) -> None:
    torch.manual_seed(0)
    reference = make(T).eval()
    ours = make(nn)
    ours.load_state_dict(reference.state_dict())
    for batch in (1, 5):
        feed = rand(batch, *shape[1:], seed=batch)
        got = run(ours, [rand(*shape)], dynamic=1, feeds=[feed])[0][0]
        with torch.no_grad():
            torch.testing.assert_close(got, reference(torch.from_numpy(feed)), atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("make,shape,dynamic", [
    (lambda m: m.Conv1d(3, 4, 3, stride=2, dilation=2), (3, 3, 16), (0, 2)),
    (lambda m: m.Conv1d(3, 4, 3, padding="same"), (3, 3, 16), (0, 2)),
    (lambda m: m.ConvTranspose1d(3, 4, 3, stride=2), (3, 3, 16), (0, 2)),
    (lambda m: m.MaxPool1d(3, 2, 1, ceil_mode=True), (3, 3, 16), (0, 2)),
    (lambda m: m.AvgPool1d(3, 2, 1), (3, 3, 16), (0, 2)),
    (lambda m: m.AdaptiveMaxPool1d(1), (3, 3, 16), (0, 2)),
    (lambda m: m.Conv2d(3, 4, 3, padding=1), (3, 3, 8, 16), (0, 2, 3)),
    (lambda m: m.PixelShuffle(2), (3, 8, 8, 16), (0, 2, 3)),
    (lambda m: m.ChannelShuffle(3), (3, 6, 8, 16), (0, 2, 3)),
], ids=["conv1d", "conv1d-same", "deconv1d", "maxpool1d", "avgpool1d", "global-max", "conv2d", "pixel-shuffle",
        "channel-shuffle"])
def test_dynamic_batch_and_length(make, shape, dynamic) -> None:
    """Batch and spatial dims dynamic at once (profile 1..opt..2*opt), run at min, a middle size and max."""
    torch.manual_seed(0)
    reference = make(T).eval()
    ours = make(nn)
    ours.load_state_dict(reference.state_dict())
    low = tuple(1 if d == 0 else n // 2 if d in dynamic else n for d, n in enumerate(shape))
    high = tuple(2 * n if d in dynamic else n for d, n in enumerate(shape))
    spec = tuple(-1 if d in dynamic else n for d, n in enumerate(shape))
    net = trtnet.trace(ours, [trtnet.Input("x", spec, min=low, opt=shape, max=high)])
    assert len(serialize(net, BuildConfig())) > 0
    middle = tuple(n + 1 if d in dynamic else n for d, n in enumerate(shape))
    for run_shape in (low, middle, high):
        x = rand(*run_shape, seed=sum(run_shape))
        got = execute(net.network, {"x": x})[net.outputs[0]]
        with torch.no_grad():
            torch.testing.assert_close(got, reference(torch.from_numpy(x)), atol=2e-5, rtol=2e-5)


LENGTH = trtnet.Input("x", (2, 4, -1), min=(2, 4, 8), opt=(2, 4, 12), max=(2, 4, 16))
HEIGHT = trtnet.Input("x", (2, 4, -1, 8), min=(2, 4, 8, 8), opt=(2, 4, 12, 8), max=(2, 4, 16, 8))


@pytest.mark.parametrize("make,spec,words", [
    (lambda m: m.MaxPool1d(3, dilation=2), LENGTH, "dilation needs static spatial dims"),
    (lambda m: m.AdaptiveAvgPool1d(3), LENGTH, "needs static spatial dims"),
    (lambda m: m.PixelUnshuffle(2), HEIGHT, "height and width of (2, 4, -1, 8) must be static"),
], ids=["dilated-max", "adaptive-uneven", "pixel-unshuffle"])
def test_dynamic_spatial_dims_trtnet_cannot_size_are_refused(make, spec, words) -> None:
    """Sizes these compositions fix at build time: a clear ShapeError, not a wrong engine."""
    with pytest.raises(trtnet.ShapeError) as info:
        trtnet.trace(make(nn), [spec])
    assert words in str(info.value)


# ---- refusals: what torch refuses, trtnet refuses with a trtnet error naming the argument -------------
REFUSED = [
    ("conv1d rank", lambda m: m.Conv1d(3, 4, 3), (1, 3, 4, 9), "Expected 2D (unbatched) or 3D (batched) input to conv1d"),
    ("conv3d rank", lambda m: m.Conv3d(3, 4, 3), (3, 9, 9), "Expected 4D (unbatched) or 5D (batched) input to conv3d"),
    ("conv1d stride 0", lambda m: m.Conv1d(3, 4, 3, stride=0), (1, 3, 9), "stride=(0,)"),
    ("conv3d padding -1", lambda m: m.Conv3d(3, 4, 3, padding=-1), (1, 3, 5, 5, 5), "negative padding"),
    ("conv1d dilation 0", lambda m: m.Conv1d(3, 4, 3, dilation=0), (1, 3, 9), "dilation should be greater than zero"),
    ("conv1d kernel > input", lambda m: m.Conv1d(3, 4, 10), (1, 3, 9), "Kernel size can't be greater"),
    ("conv3d dilated kernel > input", lambda m: m.Conv3d(3, 4, 3, dilation=3), (1, 3, 6, 9, 9),
     "Kernel size can't be greater"),
    ("conv1d same strided", lambda m: m.Conv1d(3, 4, 3, stride=2, padding="same"), (1, 3, 9), "padding='same'"),
    ("conv1d same strided reflect", lambda m: m.Conv1d(3, 4, 3, stride=2, padding="same", padding_mode="reflect"),
     (1, 3, 9), "padding='same'"),
    ("conv1d padding string", lambda m: m.Conv1d(3, 4, 3, padding="full"), (1, 3, 9), "'full'"),
    ("conv padding_mode", lambda m: m.Conv1d(3, 4, 3, padding_mode="mirror"), (1, 3, 9), "padding_mode"),
    ("conv reflect pad >= size", lambda m: m.Conv1d(3, 4, 3, padding=9, padding_mode="reflect"), (1, 3, 9),
     "reflect padding"),
    ("conv1d groups", lambda m: m.Conv1d(3, 4, 3, groups=2), (1, 3, 9), "divisible by groups"),
    ("conv3d groups 0", lambda m: m.Conv3d(3, 3, 3, groups=0), (1, 3, 5, 5, 5), "groups must be a positive integer"),
    ("deconv1d padding_mode", lambda m: m.ConvTranspose1d(3, 4, 3, padding_mode="reflect"), (1, 3, 9),
     "padding_mode='zeros'"),
    ("deconv3d output_padding", lambda m: m.ConvTranspose3d(3, 4, 3, stride=2, output_padding=2), (1, 3, 4, 4, 4),
     "output_padding"),
    ("deconv1d rank", lambda m: m.ConvTranspose1d(3, 4, 3), (1, 1, 3, 9), "input to conv_transpose1d"),
    ("deconv1d stride 0", lambda m: m.ConvTranspose1d(3, 4, 3, stride=0), (1, 3, 9), "non-positive stride"),
    ("maxpool1d pad > k/2", lambda m: m.MaxPool1d(3, padding=2), (1, 3, 9), "at most half"),
    ("maxpool1d dilated pad > k/2", lambda m: m.MaxPool1d(3, padding=2, dilation=2), (1, 3, 9), "at most half"),
    ("maxpool2d dilation 0", lambda m: m.MaxPool2d(3, dilation=0), (1, 3, 9, 9), "dilation should be greater"),
    ("maxpool1d too small", lambda m: m.MaxPool1d(3, dilation=2), (1, 3, 4), "output size is too small"),
    ("maxpool3d rank", lambda m: m.MaxPool3d(2), (3, 8, 8), "Expected 4D or 5D"),
    ("maxpool1d rank", lambda m: m.MaxPool1d(2), (8,), "Expected 2D or 3D"),
    ("avgpool1d stride 0", lambda m: m.AvgPool1d(2, stride=0), (1, 3, 8), "non-positive stride"),
    ("avgpool3d pad > k/2", lambda m: m.AvgPool3d(3, padding=2), (1, 3, 8, 8, 8), "at most half"),
    ("avgpool3d divisor 0", lambda m: m.AvgPool3d(2, divisor_override=0), (1, 3, 4, 4, 4), "divisor must be not zero"),
    ("avgpool1d too small", lambda m: m.AvgPool1d(3), (1, 3, 2), "output size is too small"),
    ("adaptive 1d two sizes", lambda m: m.AdaptiveAvgPool1d((2, 2)), (1, 3, 8), "should contain 1 int"),
    ("adaptive 3d rank", lambda m: m.AdaptiveMaxPool3d(2), (3, 8), "Expected 4D or 5D"),
    ("pixel shuffle channels", lambda m: m.PixelShuffle(2), (1, 5, 4, 4), "divisible by the square of upscale_factor"),
    ("pixel shuffle rank", lambda m: m.PixelShuffle(2), (4, 4), "at least 3 dimensions"),
    ("pixel unshuffle height", lambda m: m.PixelUnshuffle(2), (1, 5, 5, 4), "height to be divisible"),
    ("pixel unshuffle width", lambda m: m.PixelUnshuffle(2), (1, 5, 4, 5), "width to be divisible"),
    ("channel shuffle channels", lambda m: m.ChannelShuffle(2), (1, 5, 4, 4), "Number of channels must be divisible"),
    ("channel shuffle groups 0", lambda m: m.ChannelShuffle(0), (1, 6, 4), "must be positive"),
    ("channel shuffle rank", lambda m: m.ChannelShuffle(2), (1, 6), "> 2 dims"),
    ("area align_corners", lambda m: m.Upsample(size=3, mode="area", align_corners=False), (1, 3, 8),
     "align_corners option can only be set"),
]


@pytest.mark.parametrize("case,make,shape,words", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_as_torch_refuses(case, make, shape, words) -> None:
    with pytest.raises(Exception):  # the independent reference: torch refuses these too
        torch.manual_seed(0)
        make(T)(torch.randn(*shape))
    with pytest.raises((TrtnetError, ValueError)) as info:
        module = make(nn)
        module.load_state_dict({k: np.ones(p.shape, np.float32) for k, p in module.named_parameters()})
        trtnet.trace(module, [trtnet.Input("x", shape)])
    assert words in str(info.value)
    assert "Traceback" not in str(info.value) and "Error Code" not in str(info.value)


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.MaxPool2d(3, 2, 1, return_indices=True), (2, 3, 9, 10)),
    (lambda m: m.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True), (2, 3, 11)),
    (lambda m: m.MaxPool3d(2, ceil_mode=True, return_indices=True), (3, 5, 6, 7)),
    (lambda m: m.AdaptiveMaxPool2d((4, 3), return_indices=True), (2, 3, 9, 10)),
    (lambda m: m.AdaptiveMaxPool1d(4, return_indices=True), (3, 11)),
    (lambda m: m.AdaptiveMaxPool3d((1, 2, 5), return_indices=True), (1, 2, 3, 4, 5)),
], ids=["max2d-padded", "max1d-dilated-ceil", "max3d-unbatched-ceil", "adaptive2d-uneven", "adaptive1d-unbatched",
        "adaptive3d"])
@pytest.mark.parametrize("values", ["random", "ties"])
def test_return_indices(make, shape, values) -> None:
    """Indices flat over the input's spatial dims, int64, the first maximum of a window on ties (as torch)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(*shape, generator=gen) if values == "random" else torch.randint(0, 3, shape, generator=gen).float()
    got_values, got_indices = run(make(nn), [x.numpy()])[0]
    expected_values, expected_indices = make(T)(x)
    assert got_indices.dtype == torch.int64 and torch.equal(got_indices, expected_indices)
    assert torch.equal(got_values, expected_values)


def test_return_indices_fp16_and_dynamic_batch() -> None:
    x = rand(2, 3, 8, 8)
    got = run(Fn(lambda t: F.max_pool2d(t, 2, return_indices=True)), [x], dynamic=1, feeds=[rand(5, 3, 8, 8)])[0]
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(rand(5, 3, 8, 8)), 2, return_indices=True)
    assert torch.equal(got[1], expected[1]) and torch.equal(got[0], expected[0])
    half = rand(2, 3, 8, 8).astype(np.float16)
    got = run(Fn(lambda t: F.adaptive_max_pool2d(t, 3, return_indices=True)), [half])[0]
    expected = torch.nn.functional.adaptive_max_pool2d(torch.from_numpy(half), 3, return_indices=True)
    assert torch.equal(got[1], expected[1]) and torch.equal(got[0], expected[0])
