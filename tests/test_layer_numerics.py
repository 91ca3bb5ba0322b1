"""Every layer of the core DSL and its options, in fp32 and fp16, against eager PyTorch with
:func:`trtnet.testing.assert_matches_torch` (which builds each engine and runs it on the GPU, or on the CPU
reference executor where no GPU can run it).

Each case is ``(trtnet module factory, torch module factory, input shape)``; weights come from the torch module's
seeded default initialisation (BatchNorm gets random statistics) and are copied by name.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import pytest

torch = pytest.importorskip("torch")

import trtnet.nn as nn  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402
from trtnet.testing import assert_matches_torch  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

T = torch.nn
DTYPES = ["fp32", "fp16"]
Case = tuple[str, Callable[[], Any], Callable[[], Any], tuple[int, ...]]


def case(ident: str, port: Callable[[], Any], ref: Callable[[], Any], shape: tuple[int, ...], scale: float = 1.0) -> Any:
    return pytest.param(port, ref, shape, scale, id=ident)


def randomize_batchnorm(module: Any) -> Any:
    for sub in module.modules():
        if isinstance(sub, T.BatchNorm2d):
            with torch.no_grad():
                if sub.weight is not None:
                    sub.weight.uniform_(0.5, 1.5)
                    sub.bias.normal_(0.0, 0.3)
                sub.running_mean.normal_(0.0, 0.5)
                sub.running_var.uniform_(0.3, 2.0)
    return module


def run(port: Callable[[], Any], ref: Callable[[], Any], shape: tuple[int, ...], scale: float, dtype: str) -> None:
    torch.manual_seed(0)
    reference = randomize_batchnorm(ref()).eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1)) * scale
    assert_matches_torch(port(), reference, [x], dtype=dtype)


# ---- Conv2d ----------------------------------------------------------------------------------
# (in, out, kernel, stride, padding, dilation, groups, bias, H, W)
CONVS = [
    (3, 8, 3, 1, 0, 1, 1, True, 10, 10),
    (3, 8, 3, 1, 1, 1, 1, False, 10, 10),
    (3, 8, 1, 1, 0, 1, 1, True, 7, 9),
    (4, 6, 5, 1, 2, 1, 1, True, 11, 11),
    (3, 8, 3, 2, 1, 1, 1, True, 9, 9),  # odd size, stride 2: floor rounding
    (3, 8, 3, 2, 0, 1, 1, True, 10, 10),
    (3, 4, 7, 2, 3, 1, 1, False, 16, 16),  # ResNet stem
    (3, 4, 1, 2, 0, 1, 1, False, 9, 9),  # strided 1x1 (downsample)
    (2, 4, (3, 1), 1, (1, 0), 1, 1, True, 8, 6),  # rectangular kernel and padding
    (2, 4, (1, 5), (2, 1), (0, 2), 1, 1, True, 8, 8),  # rectangular stride
    (2, 4, 3, (1, 3), (2, 1), 1, 1, True, 9, 12),
    (3, 5, 3, 1, 2, 2, 1, True, 12, 12),  # dilation 2
    (3, 5, 3, 1, 0, (2, 3), 1, True, 13, 13),  # rectangular dilation
    (3, 5, 3, 2, 2, 2, 1, True, 13, 13),  # dilation + stride
    (4, 8, 3, 1, 1, 1, 2, True, 8, 8),  # groups 2
    (4, 4, 3, 1, 1, 1, 4, True, 8, 8),  # depthwise
    (4, 8, 3, 2, 1, 1, 4, False, 9, 9),  # depthwise multiplier 2, strided
    (6, 9, 1, 1, 0, 1, 3, True, 5, 5),  # grouped 1x1
    (3, 4, 3, 1, "same", 1, 1, True, 9, 9),
    (3, 4, 4, 1, "same", 1, 1, True, 9, 10),  # even kernel: odd total padding goes after
    (3, 4, (2, 5), 1, "same", 1, 1, True, 7, 8),
    (3, 4, 3, 1, "same", 3, 1, True, 12, 12),  # same + dilation
    (3, 4, 2, 1, "same", 3, 1, False, 12, 12),  # even dilated kernel: total 3
    (4, 4, 3, 1, "same", 2, 2, True, 8, 8),  # same + dilation + groups
    (3, 4, 3, 1, "valid", 1, 1, True, 9, 9),
    (2, 3, 3, 1, 3, 1, 1, True, 6, 6),  # padding larger than the kernel
    (2, 3, 2, 3, 1, 1, 1, True, 8, 7),  # stride larger than the kernel
    (2, 3, 3, 1, 1, 1, 1, True, 1, 1),  # 1x1 input, all but the centre tap in the padding
]


def _conv_id(c: tuple) -> str:
    i, o, k, s, p, d, g, b, h, w = c
    return f"k{k}-s{s}-p{p}-d{d}-g{g}-{'bias' if b else 'nobias'}-{h}x{w}".replace(" ", "")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conv", CONVS, ids=[_conv_id(c) for c in CONVS])
def test_conv2d(conv: tuple, dtype: str) -> None:
    i, o, k, s, p, d, g, b, h, w = conv
    kwargs = dict(stride=s, padding=p, dilation=d, groups=g, bias=b)
    run(lambda: nn.Conv2d(i, o, k, **kwargs), lambda: T.Conv2d(i, o, k, **kwargs), (2, i, h, w), 1.0, dtype)


def test_conv2d_same_with_stride_is_refused_like_pytorch() -> None:
    with pytest.raises(TrtnetError, match="padding='same' is not supported for strided"):
        assert_matches_torch(nn.Conv2d(1, 1, 3, stride=2, padding="same"), T.Conv2d(1, 1, 3), [torch.randn(1, 1, 5, 5)])


# ---- pooling ---------------------------------------------------------------------------------
# (kernel, stride, padding, ceil_mode, H, W)
POOLS = [
    (2, None, 0, False, 8, 8),
    (2, None, 0, False, 7, 9),  # odd sizes drop the last row/column
    (3, 2, 1, False, 16, 16),  # ResNet's max pool
    (3, 2, 1, False, 15, 15),
    (3, 1, 1, False, 6, 6),
    (3, 2, 0, True, 8, 8),  # ceil: a partial last window
    (3, 2, 1, True, 8, 8),
    (2, 2, 0, True, 7, 7),
    (2, 2, 1, True, 5, 5),  # ceil: the last window would start in the padding -> PyTorch drops it
    (2, 3, 1, True, 4, 4),  # idem, stride > kernel
    ((2, 3), (1, 2), (1, 1), False, 7, 8),  # rectangular
    ((3, 2), (2, 1), (1, 0), True, 8, 7),
]


def _pool_id(c: tuple) -> str:
    k, s, p, ceil, h, w = c
    return f"k{k}-s{s}-p{p}-{'ceil' if ceil else 'floor'}-{h}x{w}".replace(" ", "")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", POOLS, ids=[_pool_id(c) for c in POOLS])
def test_max_pool2d(pool: tuple, dtype: str) -> None:
    k, s, p, ceil, h, w = pool
    run(lambda: nn.MaxPool2d(k, s, p, ceil_mode=ceil), lambda: T.MaxPool2d(k, s, p, ceil_mode=ceil), (2, 3, h, w), 1.0, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("include_pad", [True, False], ids=["count_include_pad", "exclude_pad"])
@pytest.mark.parametrize("pool", POOLS, ids=[_pool_id(c) for c in POOLS])
def test_avg_pool2d(pool: tuple, include_pad: bool, dtype: str) -> None:
    k, s, p, ceil, h, w = pool
    kwargs = dict(ceil_mode=ceil, count_include_pad=include_pad)
    run(lambda: nn.AvgPool2d(k, s, p, **kwargs), lambda: T.AvgPool2d(k, s, p, **kwargs), (2, 3, h, w), 1.0, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("size", "hw"), [(1, (7, 7)), ((1, 1), (5, 9)), (2, (8, 8)), ((2, 4), (8, 8)),
                                          ((None, 3), (5, 9)), (4, (4, 4))],
                         ids=["1-7x7", "1x1-5x9", "2-8x8", "2x4-8x8", "Nonex3-5x9", "identity-4x4"])
def test_adaptive_avg_pool2d(size: Any, hw: tuple[int, int], dtype: str) -> None:
    run(lambda: nn.AdaptiveAvgPool2d(size), lambda: T.AdaptiveAvgPool2d(size), (2, 3, *hw), 1.0, dtype)


def test_pooling_options_tensorrt_lacks_are_refused() -> None:
    x = [torch.randn(1, 1, 6, 6)]
    # composed where TensorRT's pooling lacks the option (tests/test_vocab_convpool.py)
    assert_matches_torch(nn.MaxPool2d(2, dilation=2), T.MaxPool2d(2, dilation=2), [torch.randn(1, 1, 9, 9)])
    assert_matches_torch(nn.AvgPool2d(2, divisor_override=3), T.AvgPool2d(2, divisor_override=3), x)  # supported
    with pytest.raises(TrtnetError, match="at most half of effective kernel size"):
        assert_matches_torch(nn.MaxPool2d(2, padding=2), T.MaxPool2d(3, padding=1), x)


def test_adaptive_avg_pool2d_uneven_windows() -> None:  # torch's start/end formula; more in test_vocab_convpool.py
    assert_matches_torch(nn.AdaptiveAvgPool2d(3), T.AdaptiveAvgPool2d(3), [torch.randn(1, 1, 7, 7)])


# ---- activations -----------------------------------------------------------------------------
ACTIVATIONS = [
    case("relu", nn.ReLU, T.ReLU, (2, 3, 5, 5), 3.0),
    case("relu-inplace", lambda: nn.ReLU(inplace=True), lambda: T.ReLU(inplace=True), (4, 7), 3.0),
    case("relu6", nn.ReLU6, T.ReLU6, (2, 3, 5, 5), 5.0),
    case("leaky_relu-default", nn.LeakyReLU, T.LeakyReLU, (2, 3, 5, 5), 3.0),
    case("leaky_relu-0.2", lambda: nn.LeakyReLU(0.2), lambda: T.LeakyReLU(0.2), (4, 7), 3.0),
    case("hardtanh-default", nn.Hardtanh, T.Hardtanh, (2, 3, 5, 5), 3.0),
    case("hardtanh--2-3", lambda: nn.Hardtanh(-2.0, 3.0), lambda: T.Hardtanh(-2.0, 3.0), (4, 7), 4.0),
    case("elu-default", nn.ELU, T.ELU, (2, 3, 5, 5), 3.0),
    case("elu-0.5", lambda: nn.ELU(0.5), lambda: T.ELU(0.5), (4, 7), 3.0),
    case("sigmoid", nn.Sigmoid, T.Sigmoid, (2, 3, 5, 5), 5.0),
    case("tanh", nn.Tanh, T.Tanh, (2, 3, 5, 5), 3.0),
    case("gelu-erf", nn.GELU, T.GELU, (2, 3, 5, 5), 3.0),
    case("gelu-none", lambda: nn.GELU("none"), lambda: T.GELU("none"), (4, 7), 3.0),
    case("gelu-tanh", lambda: nn.GELU("tanh"), lambda: T.GELU("tanh"), (2, 3, 5, 5), 3.0),
    case("gelu-tanh-3d", lambda: nn.GELU(approximate="tanh"), lambda: T.GELU(approximate="tanh"), (2, 4, 6), 3.0),
    case("silu", nn.SiLU, T.SiLU, (2, 3, 5, 5), 5.0),
    case("hardsigmoid", nn.Hardsigmoid, T.Hardsigmoid, (2, 3, 5, 5), 5.0),
    case("hardswish", nn.Hardswish, T.Hardswish, (2, 3, 5, 5), 5.0),
    case("hardswish-1d", nn.Hardswish, T.Hardswish, (17,), 5.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("port", "ref", "shape", "scale"), ACTIVATIONS)
def test_activation(port: Any, ref: Any, shape: tuple[int, ...], scale: float, dtype: str) -> None:
    run(port, ref, shape, scale, dtype)


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(TrtnetError, match="approximate must be 'none' or 'tanh'"):
        assert_matches_torch(nn.GELU("fast"), T.GELU(), [torch.randn(2, 2)])


# ---- Linear, BatchNorm, shapes, containers ---------------------------------------------------
LINEARS = [
    case("2d", lambda: nn.Linear(5, 7), lambda: T.Linear(5, 7), (3, 5)),
    case("2d-nobias", lambda: nn.Linear(5, 7, bias=False), lambda: T.Linear(5, 7, bias=False), (3, 5)),
    case("3d", lambda: nn.Linear(5, 7), lambda: T.Linear(5, 7), (4, 2, 5)),
    case("4d", lambda: nn.Linear(6, 3), lambda: T.Linear(6, 3), (2, 3, 4, 6)),
    case("1d-vector", lambda: nn.Linear(5, 7), lambda: T.Linear(5, 7), (5,)),
    case("1d-vector-nobias", lambda: nn.Linear(5, 7, bias=False), lambda: T.Linear(5, 7, bias=False), (5,)),
    case("one-output", lambda: nn.Linear(64, 1), lambda: T.Linear(64, 1), (8, 64)),
    case("wide", lambda: nn.Linear(512, 100), lambda: T.Linear(512, 100), (2, 512)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("port", "ref", "shape", "scale"), LINEARS)
def test_linear(port: Any, ref: Any, shape: tuple[int, ...], scale: float, dtype: str) -> None:
    run(port, ref, shape, scale, dtype)


BATCHNORMS = [
    case("c3", lambda: nn.BatchNorm2d(3), lambda: T.BatchNorm2d(3), (2, 3, 5, 5)),
    case("c8-eps1e-3", lambda: nn.BatchNorm2d(8, eps=1e-3), lambda: T.BatchNorm2d(8, eps=1e-3), (2, 8, 4, 6)),
    case("c4-no-affine", lambda: nn.BatchNorm2d(4, affine=False), lambda: T.BatchNorm2d(4, affine=False), (1, 4, 3, 3)),
    case("c16-momentum-none", lambda: nn.BatchNorm2d(16, momentum=None), lambda: T.BatchNorm2d(16, momentum=None),
         (2, 16, 2, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("port", "ref", "shape", "scale"), BATCHNORMS)
def test_batch_norm2d(port: Any, ref: Any, shape: tuple[int, ...], scale: float, dtype: str) -> None:
    run(port, ref, shape, scale, dtype)


SHAPES = [
    case("flatten-default", nn.Flatten, T.Flatten, (2, 3, 4, 5)),
    case("flatten-0", lambda: nn.Flatten(0), lambda: T.Flatten(0), (2, 3, 4, 5)),
    case("flatten-2-3", lambda: nn.Flatten(2, 3), lambda: T.Flatten(2, 3), (2, 3, 4, 5)),
    case("flatten-1-2", lambda: nn.Flatten(1, 2), lambda: T.Flatten(1, 2), (2, 3, 4, 5)),
    case("flatten--3--2", lambda: nn.Flatten(-3, -2), lambda: T.Flatten(-3, -2), (2, 3, 4, 5)),
    case("flatten-3d", nn.Flatten, T.Flatten, (2, 3, 4)),
    case("identity", nn.Identity, T.Identity, (2, 3, 4)),
    case("identity-args", lambda: nn.Identity(54, unused="x"), lambda: T.Identity(54, unused="x"), (3, 3)),
    case("dropout", nn.Dropout, T.Dropout, (2, 3, 4)),
    case("dropout-0.9", lambda: nn.Dropout(0.9), lambda: T.Dropout(0.9), (4, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("port", "ref", "shape", "scale"), SHAPES)
def test_shape_and_passthrough_layers(port: Any, ref: Any, shape: tuple[int, ...], scale: float, dtype: str) -> None:
    run(port, ref, shape, scale, dtype)


def _small_cnn(lib: Any) -> Any:
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.ReLU(inplace=True),
        lib.MaxPool2d(2), lib.Conv2d(8, 8, 3, padding="same", groups=8), lib.Hardswish(),
        lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Dropout(0.1), lib.Linear(8, 4),
    )


def _named(lib: Any) -> Any:
    return lib.Sequential(OrderedDict([
        ("stem", lib.Sequential(lib.Conv2d(2, 4, 3, stride=2), lib.ELU())),
        ("pool", lib.AvgPool2d(2, ceil_mode=True, count_include_pad=False)),
        ("head", lib.Sequential(lib.Flatten(), lib.Linear(4 * 2 * 2, 3), lib.Sigmoid())),
    ]))


def _nested_identity(lib: Any) -> Any:
    return lib.Sequential(lib.Identity(), lib.Sequential(lib.Sequential(lib.Linear(3, 3), lib.GELU("tanh"))),
                          lib.Sequential(), lib.Dropout())


class TorchStack(T.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = T.ModuleList([T.Linear(6, 6) for _ in range(3)])
        self.act = T.SiLU()

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = self.act(layer(x))  # the same SiLU called three times
        return x


class Stack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(6, 6) for _ in range(3)])
        self.act = nn.SiLU()

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = self.act(layer(x))
        return x


CONTAINERS = [
    case("small-cnn", lambda: _small_cnn(nn), lambda: _small_cnn(T), (2, 3, 12, 12)),
    case("ordered-dict-names", lambda: _named(nn), lambda: _named(T), (1, 2, 9, 9)),
    case("nested-empty-identity", lambda: _nested_identity(nn), lambda: _nested_identity(T), (2, 3)),
    case("module-list-shared-activation", Stack, TorchStack, (4, 6)),
]


@pytest.mark.parametrize("dtype", [*DTYPES, "bf16"])
@pytest.mark.parametrize(("port", "ref", "shape", "scale"), CONTAINERS)
def test_containers(port: Any, ref: Any, shape: tuple[int, ...], scale: float, dtype: str) -> None:
    run(port, ref, shape, scale, dtype)
