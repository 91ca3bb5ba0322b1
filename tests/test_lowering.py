"""Every layer and option of the DSL, read back from TensorRT's real INetworkDefinition.

Each case builds the trtnet module and the equivalent ``torch.nn`` module with seeded random weights,
loads torch's state_dict into trtnet, traces, and checks what TensorRT holds against expectations taken
from torch (weights, output shapes, torch's own normalised arguments) or hand arithmetic. Every traced
network is also built into an engine.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet.build import serialize
from _netinspect import (input_names, layer_named, layer_type, layers, output_names, summary, trt, weights_dtype,
                         weights_values)

TRT = trt()
ACT = TRT.ActivationType
EW = TRT.ElementWiseOperation
MM = TRT.MatrixOperation


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# ---- helpers ---------------------------------------------------------------------------------------
def pair(ours: trtnet.Module, theirs: torch.nn.Module) -> tuple[trtnet.Module, torch.nn.Module]:
    """Both modules wrapped as ``features.0`` (so layers are named by that path), torch's weights loaded."""
    ref = torch.nn.Sequential(OrderedDict(features=torch.nn.Sequential(theirs))).eval()
    randomize_batchnorm(ref)
    model = nn.Sequential(OrderedDict(features=nn.Sequential(ours)))
    model.load_state_dict(ref.state_dict())
    return model, ref


def randomize_batchnorm(module: torch.nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.normal_()
                m.running_var.uniform_(0.25, 4.0)
                m.num_batches_tracked.fill_(7)
                if m.affine:
                    m.weight.normal_()
                    m.bias.normal_()


def trace(model: trtnet.Module, *shapes: tuple[int, ...], names: tuple[str, ...] = ("input",)) -> trtnet.Network:
    """Trace ``model`` and check the network really builds."""
    net = trtnet.trace(model, [trtnet.Input(n, s) for n, s in zip(names, shapes)])
    engine = bytes(serialize(net))
    assert len(engine) > 0
    return net


def torch_out_shape(ref: torch.nn.Module, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(ref(*[torch.randn(s) for s in shapes]).shape)


def net_out_shape(net: trtnet.Network, index: int = 0) -> tuple[int, ...]:
    return tuple(net.network.get_output(index).shape)


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().numpy()


def assert_weights(w, expected: np.ndarray) -> None:
    got = weights_values(w)
    np.testing.assert_array_equal(got, np.asarray(expected).reshape(-1))


def layer_types(net: trtnet.Network) -> list[str]:
    return [t for _, t in summary(net)]


# ---- Conv2d ----------------------------------------------------------------------------------------
CONV_CASES = [
    # (Conv2d args, kwargs, input shape, expected pre padding, expected post padding)  -- hand arithmetic
    ((3, 4, 3), {}, (1, 3, 9, 9), (0, 0), (0, 0)),
    ((3, 4, 3), dict(stride=2, padding=1), (1, 3, 9, 9), (1, 1), (1, 1)),
    ((3, 4, (3, 5)), dict(stride=(2, 1), padding=(1, 2)), (1, 3, 9, 10), (1, 2), (1, 2)),
    ((3, 4, 3), dict(padding="same", dilation=2), (1, 3, 9, 9), (2, 2), (2, 2)),     # total 2*(3-1)=4
    ((3, 4, (4, 2)), dict(padding="same"), (1, 3, 9, 9), (1, 0), (2, 1)),           # total (3, 1): odd pixel after
    ((3, 4, (2, 3)), dict(padding="same", dilation=(3, 1)), (1, 3, 9, 9), (1, 1), (2, 1)),  # total (3, 2)
    ((3, 4, 3), dict(padding="valid"), (1, 3, 9, 9), (0, 0), (0, 0)),
    ((3, 4, 3), dict(dilation=(2, 3), padding=(2, 3)), (1, 3, 11, 12), (2, 3), (2, 3)),
    ((4, 6, 3), dict(groups=2, padding=1), (1, 4, 8, 8), (1, 1), (1, 1)),
    ((4, 4, 3), dict(groups=4, padding=1), (1, 4, 8, 8), (1, 1), (1, 1)),            # depthwise
    ((4, 8, 3), dict(groups=4, stride=2), (1, 4, 8, 8), (0, 0), (0, 0)),             # depthwise, multiplier 2
    ((3, 4, 1), dict(bias=False), (2, 3, 5, 5), (0, 0), (0, 0)),
    ((3, 4, 3), dict(bias=False, padding=1, stride=(1, 2)), (1, 3, 6, 6), (1, 1), (1, 1)),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize(("args", "kwargs", "shape", "pre", "post"), CONV_CASES)
def test_conv2d(args, kwargs, shape, pre, post) -> None:
    model, ref = pair(nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs))
    tconv = ref.features[0]
    net = trace(model, shape)
    assert summary(net) == [("features.0", "CONVOLUTION")]
    conv = layer_named(net, "features.0")
    assert output_names(conv) == ["output"]
    assert input_names(conv) == ["input"]
    assert_weights(conv.kernel, np_(tconv.weight))
    if tconv.bias is None:
        assert weights_values(conv.bias).size == 0
    else:
        assert_weights(conv.bias, np_(tconv.bias))
    assert conv.num_output_maps == tconv.out_channels
    assert tuple(conv.kernel_size_nd) == tconv.kernel_size
    assert tuple(conv.stride_nd) == tconv.stride
    assert tuple(conv.dilation_nd) == tconv.dilation
    assert conv.num_groups == tconv.groups
    assert conv.padding_mode == TRT.PaddingMode.EXPLICIT_ROUND_DOWN
    assert (tuple(conv.pre_padding), tuple(conv.post_padding)) == (pre, post)
    assert net_out_shape(net) == torch_out_shape(ref, shape)


def test_conv2d_rejects_strided_same_padding_like_torch() -> None:
    with pytest.raises(ValueError):
        torch.nn.Conv2d(3, 4, 3, stride=2, padding="same")
    model = nn.Conv2d(3, 4, 3, stride=2, padding="same")
    model.load_state_dict({"weight": np.zeros((4, 3, 3, 3), np.float32), "bias": np.zeros(4, np.float32)})
    with pytest.raises(trtnet.TrtnetError, match="same"):
        trtnet.trace(model, [trtnet.Input("input", (1, 3, 8, 8))])


# ---- pooling ---------------------------------------------------------------------------------------
def pooled(size: int, window: int, stride: int, pre: int, post: int, mode) -> int:
    """TensorRT's output size for a padding mode (TRT-NOTES: ROUND_DOWN floors, ROUND_UP ceils)."""
    span = (size + pre + post - window) / stride
    rounding = math.ceil if mode == TRT.PaddingMode.EXPLICIT_ROUND_UP else math.floor
    return rounding(span) + 1


POOL_CASES = [
    # (torch class, kwargs, input shape, window, stride, padding)
    ("MaxPool2d", dict(kernel_size=2), (1, 3, 8, 8), (2, 2), (2, 2), (0, 0)),            # stride = kernel
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1), (1, 3, 9, 9), (3, 3), (2, 2), (1, 1)),
    ("MaxPool2d", dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)), (1, 3, 7, 8), (3, 2), (1, 2), (1, 0)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (1, 3, 8, 8), (3, 3), (2, 2), (0, 0)),
    ("MaxPool2d", dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), (1, 3, 5, 5), (2, 2), (2, 2), (1, 1)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 3, 8, 9), (3, 3), (2, 2), (1, 1)),
    ("AvgPool2d", dict(kernel_size=2), (1, 3, 8, 8), (2, 2), (2, 2), (0, 0)),
    ("AvgPool2d", dict(kernel_size=3, stride=1, padding=1), (1, 3, 6, 6), (3, 3), (1, 1), (1, 1)),
    ("AvgPool2d", dict(kernel_size=3, stride=1, padding=1, count_include_pad=False), (1, 3, 6, 6), (3, 3), (1, 1), (1, 1)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (1, 3, 8, 8), (3, 3), (2, 2), (0, 0)),
    ("AvgPool2d", dict(kernel_size=2, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 3, 5, 5),
     (2, 2), (2, 2), (1, 1)),
]


@pytest.mark.parametrize(("cls", "kwargs", "shape", "window", "stride", "padding"), POOL_CASES)
def test_pooling(cls, kwargs, shape, window, stride, padding) -> None:
    model, ref = pair(getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs))
    net = trace(model, shape)
    assert summary(net) == [("features.0", "POOLING")]
    pool = layer_named(net, "features.0")
    assert output_names(pool) == ["output"]
    assert pool.type == (TRT.PoolingType.MAX if cls == "MaxPool2d" else TRT.PoolingType.AVERAGE)
    assert tuple(pool.window_size_nd) == window
    assert tuple(pool.stride_nd) == stride
    assert tuple(pool.pre_padding) == padding
    want = torch_out_shape(ref, shape)
    if cls == "AvgPool2d":  # a ceil-mode window overhanging the padded input must not count the overhang
        overhang = any((o - 1) * s + w > n + 2 * p for o, s, w, n, p in zip(want[2:], stride, window, shape[2:], padding))
        assert pool.average_count_excludes_padding is (not kwargs.get("count_include_pad", True) or overhang)
    assert net_out_shape(net) == want
    if not kwargs.get("ceil_mode"):
        assert pool.padding_mode == TRT.PaddingMode.EXPLICIT_ROUND_DOWN
        assert tuple(pool.post_padding) == padding
    # whichever way ceil mode is expressed, TensorRT's size rule on the layer's own numbers gives torch's size
    got = tuple(pooled(n, w, s, a, b, pool.padding_mode)
                for n, w, s, a, b in zip(shape[2:], pool.window_size_nd, pool.stride_nd, pool.pre_padding, pool.post_padding))
    assert got == want[2:]


# ---- adaptive average pooling ----------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, (1, 1)])
def test_adaptive_avg_pool_global_is_a_mean(size) -> None:
    model, ref = pair(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size))
    net = trace(model, (2, 3, 5, 7))
    assert summary(net) == [("features.0", "REDUCE")]
    reduce = layer_named(net, "features.0")
    assert reduce.op == TRT.ReduceOperation.AVG
    assert reduce.axes == 0b1100  # dims 2 and 3
    assert reduce.keep_dims is True
    assert net_out_shape(net) == torch_out_shape(ref, (2, 3, 5, 7)) == (2, 3, 1, 1)


@pytest.mark.parametrize(("size", "shape", "window"), [((2, 4), (1, 3, 8, 8), (4, 2)), ((None, 2), (1, 3, 6, 8), (1, 4)),
                                                      (3, (1, 2, 9, 6), (3, 2))])
def test_adaptive_avg_pool_divisible(size, shape, window) -> None:
    model, ref = pair(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size))
    net = trace(model, shape)
    assert summary(net) == [("features.0", "POOLING")]
    pool = layer_named(net, "features.0")
    assert tuple(pool.window_size_nd) == window
    assert tuple(pool.stride_nd) == window
    assert tuple(pool.pre_padding) == tuple(pool.post_padding) == (0, 0)
    assert net_out_shape(net) == torch_out_shape(ref, shape)


def test_adaptive_avg_pool_uneven_gathers_each_dims_windows() -> None:  # numerics: test_vocab_convpool.py
    model, ref = pair(nn.AdaptiveAvgPool2d(3), torch.nn.AdaptiveAvgPool2d(3))
    net = trace(model, (1, 3, 8, 8))
    types = [t for _, t in summary(net)]
    assert types.count("GATHER") == 2 and "POOLING" not in types
    assert net_out_shape(net) == torch_out_shape(ref, (1, 3, 8, 8)) == (1, 3, 3, 3)


# ---- activations -----------------------------------------------------------------------------------
ACTIVATION_CASES = [
    # (trtnet module, torch module, ActivationType, alpha, beta) -- None: not checked
    (nn.ReLU(), torch.nn.ReLU(), "RELU", None, None),
    (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True), "RELU", None, None),
    (nn.ReLU6(), torch.nn.ReLU6(), "CLIP", 0.0, 6.0),
    (nn.LeakyReLU(), torch.nn.LeakyReLU(), "LEAKY_RELU", 0.01, None),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2), "LEAKY_RELU", 0.2, None),
    (nn.Sigmoid(), torch.nn.Sigmoid(), "SIGMOID", None, None),
    (nn.Tanh(), torch.nn.Tanh(), "TANH", None, None),
    (nn.GELU(), torch.nn.GELU(), "GELU_ERF", None, None),
    (nn.GELU("tanh"), torch.nn.GELU("tanh"), "GELU_TANH", None, None),
    (nn.Hardtanh(-2.0, 3.0), torch.nn.Hardtanh(-2.0, 3.0), "CLIP", -2.0, 3.0),
    (nn.ELU(0.5), torch.nn.ELU(0.5), "ELU", 0.5, None),
    (nn.Hardsigmoid(), torch.nn.Hardsigmoid(), "HARD_SIGMOID", 1 / 6, 0.5),  # relu6(x + 3) / 6
]


@pytest.mark.parametrize(("ours", "theirs", "kind", "alpha", "beta"), ACTIVATION_CASES,
                         ids=[f"{type(c[0]).__name__}-{c[2]}-{c[3]}" for c in ACTIVATION_CASES])
def test_activation(ours, theirs, kind, alpha, beta) -> None:
    model, ref = pair(ours, theirs)
    net = trace(model, (2, 3, 4))
    assert summary(net) == [("features.0", "ACTIVATION")]
    act = layer_named(net, "features.0")
    assert act.get_output(0).name == "output"
    assert act.type == getattr(ACT, kind)  # IActivationLayer.type is the ActivationType
    if alpha is not None:
        assert act.alpha == pytest.approx(alpha, rel=1e-7)
    if beta is not None:
        assert act.beta == pytest.approx(beta, rel=1e-7)
    assert net_out_shape(net) == torch_out_shape(ref, (2, 3, 4))


@pytest.mark.parametrize(("ours", "theirs", "inner", "kind", "alpha", "beta"), [
    (nn.SiLU(), torch.nn.SiLU(), "features.0/sigmoid_1", "SIGMOID", None, None),              # x * sigmoid(x)
    (nn.Hardswish(), torch.nn.Hardswish(), "features.0/hardsigmoid_1", "HARD_SIGMOID", 1 / 6, 0.5),  # x * relu6(x+3)/6
])
def test_two_layer_activation(ours, theirs, inner, kind, alpha, beta) -> None:
    model, ref = pair(ours, theirs)
    net = trace(model, (2, 3, 4))
    assert summary(net) == [(inner, "ACTIVATION"), ("features.0", "ELEMENTWISE")]
    act, prod = layer_named(net, inner), layer_named(net, "features.0")
    assert act.type == getattr(ACT, kind)
    if alpha is not None:
        assert (act.alpha, act.beta) == (pytest.approx(alpha, rel=1e-7), pytest.approx(beta, rel=1e-7))
    assert input_names(act) == ["input"]
    assert prod.op == EW.PROD
    assert input_names(prod) == ["input", inner]
    assert output_names(prod) == ["output"]
    assert net_out_shape(net) == torch_out_shape(ref, (2, 3, 4))


# ---- Linear ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(8,), (2, 8), (2, 3, 8), (2, 3, 4, 8)], ids=["0lead", "1lead", "2lead", "3lead"])
def test_linear(shape, bias) -> None:
    model, ref = pair(nn.Linear(8, 5, bias=bias), torch.nn.Linear(8, 5, bias=bias))
    tlin = ref.features[0]
    net = trace(model, shape)
    rank = len(shape)
    if bias:
        assert summary(net) == [("features.0.weight", "CONSTANT"), ("features.0/matmul_1", "MATRIX_MULTIPLY"),
                                ("features.0.bias", "CONSTANT"), ("features.0", "ELEMENTWISE")]
        add = layer_named(net, "features.0")
        assert add.op == EW.SUM
        assert input_names(add) == ["features.0/matmul_1", "features.0.bias"]
        b = layer_named(net, "features.0.bias")
        assert tuple(b.shape) == (1,) * (max(rank, 1) - 1) + (5,)  # equal ranks for broadcasting
        assert_weights(b.weights, np_(tlin.bias))
        matmul = layer_named(net, "features.0/matmul_1")
    else:
        assert summary(net) == [("features.0.weight", "CONSTANT"), ("features.0", "MATRIX_MULTIPLY")]
        matmul = layer_named(net, "features.0")
    w = layer_named(net, "features.0.weight")
    assert tuple(w.shape) == (1,) * max(rank - 2, 0) + (5, 8)
    assert_weights(w.weights, np_(tlin.weight))  # stored [out, in] as in PyTorch ...
    assert matmul.op0 == (MM.VECTOR if rank == 1 else MM.NONE)
    assert matmul.op1 == MM.TRANSPOSE  # ... and transposed by the matmul: x @ W^T
    assert input_names(matmul) == ["input", "features.0.weight"]
    assert net.network.get_output(0).name == "output"
    assert net_out_shape(net) == torch_out_shape(ref, shape)


# ---- BatchNorm2d -----------------------------------------------------------------------------------
def folded_bn(bn: torch.nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """scale and shift of inference BN, computed here in float64 from torch's fp32 parameters."""
    mean = bn.running_mean.double().numpy()
    var = bn.running_var.double().numpy()
    gamma = bn.weight.detach().double().numpy() if bn.affine else np.ones_like(var)
    beta = bn.bias.detach().double().numpy() if bn.affine else np.zeros_like(var)
    scale = gamma / np.sqrt(var + bn.eps)
    return scale, beta - mean * scale


@pytest.mark.parametrize(("affine", "eps"), [(True, 1e-5), (True, 1e-3), (False, 1e-5)])
def test_batchnorm2d(affine, eps) -> None:
    model, ref = pair(nn.BatchNorm2d(6, eps=eps, affine=affine), torch.nn.BatchNorm2d(6, eps=eps, affine=affine))
    net = trace(model, (2, 6, 3, 3))
    assert summary(net) == [("features.0", "SCALE")]
    scale_layer = layer_named(net, "features.0")
    assert scale_layer.mode == TRT.ScaleMode.CHANNEL
    assert scale_layer.channel_axis == 1
    scale, shift = folded_bn(ref.features[0])
    np.testing.assert_allclose(weights_values(scale_layer.scale), scale, rtol=1e-6)
    np.testing.assert_allclose(weights_values(scale_layer.shift), shift, rtol=1e-6, atol=1e-7)
    assert weights_values(scale_layer.power).size == 0  # power 1
    assert scale_layer.get_output(0).name == "output"
    assert net_out_shape(net) == (2, 6, 3, 3)


def test_batchnorm2d_num_batches_tracked_is_loaded_but_optional() -> None:
    ref = torch.nn.BatchNorm2d(4)
    randomize_batchnorm(ref)
    state = ref.state_dict()
    model = nn.BatchNorm2d(4)
    model.load_state_dict(state)
    assert int(model.num_batches_tracked.numpy()) == 7
    without = {k: v for k, v in state.items() if k != "num_batches_tracked"}
    other = nn.BatchNorm2d(4)
    assert repr(other.load_state_dict(without)) == "<All keys matched successfully>"
    trace(other, (1, 4, 2, 2))


# ---- Flatten, Dropout, Identity ------------------------------------------------------------------
@pytest.mark.parametrize(("args", "shape"), [((), (2, 3, 4, 4)), ((2,), (2, 3, 4, 4)), ((1, 2), (2, 3, 4, 5)),
                                             ((0, -1), (2, 3, 4)), ((0, 1), (2, 3, 4))])
def test_flatten(args, shape) -> None:
    model, ref = pair(nn.Flatten(*args), torch.nn.Flatten(*args))
    net = trace(model, shape)
    assert summary(net) == [("features.0", "SHUFFLE")]
    shuffle = layer_named(net, "features.0")
    want = torch_out_shape(ref, shape)
    assert tuple(shuffle.reshape_dims) == want
    assert tuple(shuffle.first_transpose)[:len(shape)] == tuple(range(len(shape)))
    assert tuple(shuffle.second_transpose)[:len(want)] == tuple(range(len(want)))
    assert net_out_shape(net) == want


def test_flatten_dynamic_batch_copies_the_batch_dim() -> None:
    model = nn.Sequential(OrderedDict(features=nn.Sequential(nn.Flatten())))
    net = trtnet.trace(model, [trtnet.Input("input", (-1, 3, 4, 4), min=(1, 3, 4, 4), opt=(2, 3, 4, 4),
                                            max=(8, 3, 4, 4))])
    shuffle = layer_named(net, "features.0")
    assert shuffle.zero_is_placeholder is True
    assert tuple(shuffle.reshape_dims) == (0, 48)
    assert net_out_shape(net) == (-1, 48)
    assert len(serialize(net)) > 0


@pytest.mark.parametrize("noop", [nn.Dropout(), nn.Dropout(0.3, inplace=True), nn.Identity(), nn.Identity(54, x=1)])
def test_dropout_and_identity_add_no_layers(noop) -> None:
    ref = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(), torch.nn.ReLU()).eval()
    model = nn.Sequential(nn.Linear(4, 3), noop, nn.ReLU())
    model.load_state_dict(ref.state_dict())
    net = trace(model, (2, 4))
    assert summary(net) == [("0.weight", "CONSTANT"), ("0/matmul_1", "MATRIX_MULTIPLY"), ("0.bias", "CONSTANT"),
                            ("0", "ELEMENTWISE"), ("2", "ACTIVATION")]
    assert input_names(layer_named(net, "2")) == ["0"]


def test_identity_model_still_has_an_output() -> None:
    net = trace(nn.Identity(), (2, 3))
    assert summary(net) == [("identity_1", "IDENTITY")]
    assert net.network.get_output(0).name == "output"
    assert net.network.get_input(0).name == "input"


# ---- containers ------------------------------------------------------------------------------------
def test_sequential_names_and_state_dict_match_torch() -> None:
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5)).eval()
    randomize_batchnorm(ref)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5))
    assert [k for k, _ in model.state_dict_entries()] == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    assert len(model) == 6 and isinstance(model[2], nn.ReLU) and [type(m) for m in model][-1] is nn.Linear
    net = trace(model, (1, 3, 8, 8))
    assert summary(net) == [("0", "CONVOLUTION"), ("1", "SCALE"), ("2", "ACTIVATION"), ("3", "POOLING"),
                            ("4", "SHUFFLE"), ("5.weight", "CONSTANT"), ("5/matmul_1", "MATRIX_MULTIPLY"),
                            ("5.bias", "CONSTANT"), ("5", "ELEMENTWISE")]
    for name in ("0", "1", "2", "3", "4", "5/matmul_1"):
        assert output_names(layer_named(net, name)) == [name]
    assert input_names(layer_named(net, "1")) == ["0"]
    assert input_names(layer_named(net, "5/matmul_1")) == ["4", "5.weight"]
    assert_weights(layer_named(net, "0").kernel, np_(ref[0].weight))
    assert net_out_shape(net) == torch_out_shape(ref, (1, 3, 8, 8))


def test_sequential_from_ordered_dict() -> None:
    ref = torch.nn.Sequential(OrderedDict(stem=torch.nn.Conv2d(3, 4, 1), act=torch.nn.ReLU()))
    model = nn.Sequential(OrderedDict(stem=nn.Conv2d(3, 4, 1), act=nn.ReLU()))
    model.load_state_dict(ref.state_dict())
    net = trace(model, (1, 3, 4, 4))
    assert summary(net) == [("stem", "CONVOLUTION"), ("act", "ACTIVATION")]


class Tower(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4, bias=False)])
        self.blocks.append(nn.Linear(4, 2))
        self.act = nn.Tanh()

    def forward(self, x):
        for block in self.blocks:
            x = self.act(block(x))
        return x


class TorchTower(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4, bias=False)])
        self.blocks.append(torch.nn.Linear(4, 2))
        self.act = torch.nn.Tanh()

    def forward(self, x):
        for block in self.blocks:
            x = self.act(block(x))
        return x


def test_module_list() -> None:
    ref = TorchTower()
    model = Tower()
    assert [k for k, _ in model.state_dict_entries()] == list(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    assert len(model.blocks) == 3 and model.blocks[1].bias is None
    net = trace(model, (3, 4))
    assert summary(net) == [
        ("blocks.0.weight", "CONSTANT"), ("blocks.0/matmul_1", "MATRIX_MULTIPLY"), ("blocks.0.bias", "CONSTANT"),
        ("blocks.0", "ELEMENTWISE"), ("act", "ACTIVATION"),
        ("blocks.1.weight", "CONSTANT"), ("blocks.1", "MATRIX_MULTIPLY"), ("act#2", "ACTIVATION"),
        ("blocks.2.weight", "CONSTANT"), ("blocks.2/matmul_1", "MATRIX_MULTIPLY"), ("blocks.2.bias", "CONSTANT"),
        ("blocks.2", "ELEMENTWISE"), ("act#3", "ACTIVATION"),
    ]
    assert output_names(layer_named(net, "act#3")) == ["output"]
    assert input_names(layer_named(net, "act#2")) == ["blocks.1"]
    for i in range(3):
        assert_weights(layer_named(net, f"blocks.{i}.weight").weights, np_(ref.blocks[i].weight))
    assert [c.name for c in net.graph.module_calls] == ["", "blocks.0", "act", "blocks.1", "act#2", "blocks.2", "act#3"]
    assert net_out_shape(net) == torch_out_shape(ref, (3, 4))


# ---- naming: residual blocks and shared modules -----------------------------------------------------
class BasicBlock(trtnet.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)  # shared, called twice, as in torchvision
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class TorchBasicBlock(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(channels)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


def test_residual_block_names() -> None:
    ref = torch.nn.Sequential(OrderedDict(layer1=torch.nn.Sequential(TorchBasicBlock(4), TorchBasicBlock(4)))).eval()
    randomize_batchnorm(ref)
    model = nn.Sequential(OrderedDict(layer1=nn.Sequential(BasicBlock(4), BasicBlock(4))))
    model.load_state_dict(ref.state_dict())
    net = trace(model, (1, 4, 6, 6))
    block = [("conv1", "CONVOLUTION"), ("bn1", "SCALE"), ("relu", "ACTIVATION"), ("conv2", "CONVOLUTION"),
             ("bn2", "SCALE"), ("/add_1", "ELEMENTWISE"), ("relu#2", "ACTIVATION")]
    want = [(f"layer1.{i}{'' if n.startswith('/') else '.'}{n}", t) for i in range(2) for n, t in block]
    assert summary(net) == want
    add = layer_named(net, "layer1.0/add_1")
    assert add.op == EW.SUM
    assert input_names(add) == ["layer1.0.bn2", "input"]
    assert input_names(layer_named(net, "layer1.0.relu#2")) == ["layer1.0/add_1"]
    assert input_names(layer_named(net, "layer1.1.conv1")) == ["layer1.0.relu#2"]
    assert input_names(layer_named(net, "layer1.1/add_1")) == ["layer1.1.bn2", "layer1.0.relu#2"]
    assert net.network.get_output(0).name == "output"
    calls = [c.name for c in net.graph.module_calls]
    assert calls.count("layer1.0.relu") == calls.count("layer1.0.relu#2") == 1
    scale, shift = folded_bn(ref.layer1[1].bn2)
    np.testing.assert_allclose(weights_values(layer_named(net, "layer1.1.bn2").scale), scale, rtol=1e-6)
    np.testing.assert_allclose(weights_values(layer_named(net, "layer1.1.bn2").shift), shift, rtol=1e-6, atol=1e-7)
    assert_weights(layer_named(net, "layer1.1.conv2").kernel, np_(ref.layer1[1].conv2.weight))


class SharedRelu(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.relu(x) - 1.0)


def test_second_call_of_a_shared_module() -> None:
    net = trace(SharedRelu(), (2, 3))
    assert summary(net) == [("relu", "ACTIVATION"), ("constant_1", "CONSTANT"), ("sub_1", "ELEMENTWISE"),
                            ("relu#2", "ACTIVATION")]
    const = layer_named(net, "constant_1")
    assert tuple(const.shape) == (1, 1)  # same rank as the tensor
    assert_weights(const.weights, np.array([1.0], np.float32))
    assert layer_named(net, "sub_1").op == EW.SUB
    assert input_names(layer_named(net, "sub_1")) == ["relu", "constant_1"]
    assert output_names(layer_named(net, "relu#2")) == ["output"]


# ---- functional ops ----------------------------------------------------------------------------------
class Fn(trtnet.Module):
    """A module whose forward is a given function of its inputs."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def test_functional_conv2d_with_numpy_weights() -> None:
    tconv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    w, b = np_(tconv.weight), np_(tconv.bias)
    net = trace(Fn(lambda x: F.conv2d(x, w, b, stride=2, padding=1, groups=2)), (1, 4, 7, 7))
    assert summary(net) == [("conv2d_1", "CONVOLUTION")]
    conv = layer_named(net, "conv2d_1")
    assert_weights(conv.kernel, w)
    assert_weights(conv.bias, b)
    assert (tuple(conv.stride_nd), tuple(conv.pre_padding), conv.num_groups) == ((2, 2), (1, 1), 2)
    assert net_out_shape(net) == torch_out_shape(tconv, (1, 4, 7, 7))
    assert any(a is w for a in net.graph.keep_alive)  # fp32 contiguous: handed to TensorRT without a copy


def test_functional_linear_and_relu() -> None:
    tlin = torch.nn.Linear(6, 3)
    w, b = np_(tlin.weight), np_(tlin.bias)
    net = trace(Fn(lambda x: F.relu(F.linear(x, w, b))), (2, 6))
    assert summary(net) == [("constant_1", "CONSTANT"), ("matmul_1", "MATRIX_MULTIPLY"), ("constant_2", "CONSTANT"),
                            ("add_1", "ELEMENTWISE"), ("relu_1", "ACTIVATION")]
    assert_weights(layer_named(net, "constant_1").weights, w)
    assert_weights(layer_named(net, "constant_2").weights, b)
    assert layer_named(net, "matmul_1").op1 == MM.TRANSPOSE
    assert layer_named(net, "relu_1").get_output(0).name == "output"


@pytest.mark.parametrize(("fn", "shape", "kind", "window", "stride", "pad"), [
    (lambda x: F.max_pool2d(x, 3, 2, 1), (1, 2, 9, 9), "MAX", (3, 3), (2, 2), (1, 1)),
    (lambda x: F.max_pool2d(x, (2, 3)), (1, 2, 8, 9), "MAX", (2, 3), (2, 3), (0, 0)),
    (lambda x: F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False), (1, 2, 5, 5), "AVERAGE", (2, 2),
     (1, 1), (1, 1)),
])
def test_functional_pooling(fn, shape, kind, window, stride, pad) -> None:
    net = trace(Fn(fn), shape)
    (name, typ), = summary(net)
    assert typ == "POOLING" and name.endswith("_1")
    pool = layer_named(net, name)
    assert (tuple(pool.window_size_nd), tuple(pool.stride_nd), tuple(pool.pre_padding)) == (window, stride, pad)
    assert name == ("max_pool2d_1" if kind == "MAX" else "avg_pool2d_1")


@pytest.mark.parametrize(("dim", "axis"), [(1, 1), (-1, 3), (0, 0)])
def test_functional_cat(dim, axis) -> None:
    shapes = [(1, 2, 3, 3), (1, 2, 3, 3)]
    net = trace(Fn(lambda x, y: F.cat([x, y], dim=dim)), *shapes, names=("x", "y"))
    assert summary(net) == [("cat_1", "CONCATENATION")]
    cat = layer_named(net, "cat_1")
    assert cat.axis == axis
    assert input_names(cat) == ["x", "y"]
    assert net_out_shape(net) == tuple(torch.cat([torch.zeros(s) for s in shapes], dim).shape)


@pytest.mark.parametrize(("fn", "name", "op"), [
    (F.add, "add_1", "SUM"), (F.sub, "sub_1", "SUB"), (F.mul, "mul_1", "PROD"), (F.div, "div_1", "DIV"),
    (F.pow, "pow_1", "POW"), (F.maximum, "maximum_1", "MAX"), (F.minimum, "minimum_1", "MIN"),
    (lambda x, y: x + y, "add_1", "SUM"), (lambda x, y: x - y, "sub_1", "SUB"), (lambda x, y: x * y, "mul_1", "PROD"),
    (lambda x, y: x / y, "div_1", "DIV"),
])
def test_functional_elementwise(fn, name, op) -> None:
    net = trace(Fn(fn), (2, 3, 4), (2, 3, 4), names=("x", "y"))
    assert summary(net) == [(name, "ELEMENTWISE")]
    layer = layer_named(net, name)
    assert layer.op == getattr(EW, op)
    assert input_names(layer) == ["x", "y"]


def test_elementwise_broadcast_aligns_ranks() -> None:
    net = trace(Fn(lambda x, y: F.add(x, y)), (2, 3, 4), (4,), names=("x", "y"))
    assert summary(net) == [("reshape_1", "SHUFFLE"), ("add_1", "ELEMENTWISE")]
    assert tuple(layer_named(net, "reshape_1").reshape_dims) == (1, 1, 4)
    assert input_names(layer_named(net, "add_1")) == ["x", "reshape_1"]
    assert net_out_shape(net) == (2, 3, 4)


@pytest.mark.parametrize(("fn", "value"), [(lambda x: x * 2, 2.0), (lambda x: 3 - x, 3.0), (lambda x: np.float32(0.5) + x, 0.5)])
def test_scalar_operands_become_constants_of_equal_rank(fn, value) -> None:
    net = trace(Fn(fn), (2, 3))
    const = next(l for l in layers(net) if layer_type(l) == TRT.LayerType.CONSTANT)
    assert tuple(const.shape) == (1, 1)
    assert const.get_output(0).dtype == TRT.float32
    assert_weights(const.weights, np.array([value], np.float32))


@pytest.mark.parametrize(("fn", "op", "axes", "keep", "torch_fn"), [
    (lambda x: F.mean(x, (2, 3), keepdim=True), "AVG", 0b1100, True, lambda t: t.mean((2, 3), keepdim=True)),
    (lambda x: F.sum(x, 1), "SUM", 0b0010, False, lambda t: t.sum(1)),
    (lambda x: F.amax(x, -1), "MAX", 0b1000, False, lambda t: t.amax(-1)),
    (lambda x: F.amin(x, (0, -2), keepdim=True), "MIN", 0b0101, True, lambda t: t.amin((0, -2), keepdim=True)),
    (lambda x: F.sum(x), "SUM", 0b1111, False, lambda t: t.sum()),
])
def test_functional_reduce(fn, op, axes, keep, torch_fn) -> None:
    net = trace(Fn(fn), (2, 3, 4, 5))
    (name, typ), = summary(net)
    reduce = layer_named(net, name)
    assert typ == "REDUCE"
    assert reduce.op == getattr(TRT.ReduceOperation, op)
    assert reduce.axes == axes
    assert reduce.keep_dims is keep
    assert net_out_shape(net) == tuple(torch_fn(torch.zeros(2, 3, 4, 5)).shape)


@pytest.mark.parametrize(("fn", "torch_fn", "perm"), [
    (lambda x: x.permute(0, 2, 3, 1), lambda t: t.permute(0, 2, 3, 1), (0, 2, 3, 1)),
    (lambda x: F.permute(x, (3, 2, 1, 0)), lambda t: t.permute(3, 2, 1, 0), (3, 2, 1, 0)),
    (lambda x: x.transpose(1, -1), lambda t: t.transpose(1, -1), (0, 3, 2, 1)),
])
def test_functional_permute(fn, torch_fn, perm) -> None:
    net = trace(Fn(fn), (2, 3, 4, 5))
    (name, typ), = summary(net)
    shuffle = layer_named(net, name)
    assert tuple(shuffle.first_transpose)[:4] == perm
    assert net_out_shape(net) == tuple(torch_fn(torch.zeros(2, 3, 4, 5)).shape)


@pytest.mark.parametrize(("spec", "want"), [((6, -1), (6, 20)), ((-1,), (120,)), ((2, 3, 20), (2, 3, 20))])
def test_functional_reshape(spec, want) -> None:
    net = trace(Fn(lambda x: x.reshape(*spec)), (2, 3, 4, 5))
    (name, typ), = summary(net)
    shuffle = layer_named(net, name)
    assert name == "reshape_1" and typ == "SHUFFLE"
    assert tuple(shuffle.reshape_dims) == want == tuple(torch.zeros(2, 3, 4, 5).reshape(*spec).shape)
    assert shuffle.zero_is_placeholder is False  # PyTorch has no 0-placeholder


def test_functional_matmul_broadcasts_batch_dims() -> None:
    b = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    net = trace(Fn(lambda x: x @ b), (2, 3, 4))
    assert layer_types(net) == ["CONSTANT", "SHUFFLE", "MATRIX_MULTIPLY"]
    mm = next(l for l in layers(net) if layer_type(l) == TRT.LayerType.MATRIX_MULTIPLY)
    assert (mm.op0, mm.op1) == (MM.NONE, MM.NONE)
    assert net_out_shape(net) == (2, 3, 5)


def test_functional_cast_and_neg() -> None:
    net = trace(Fn(lambda x: (-x).to(trtnet.float16)), (2, 3))
    assert summary(net) == [("neg_1", "UNARY"), ("cast_1", "CAST")]
    assert layer_named(net, "neg_1").op == TRT.UnaryOperation.NEG
    assert layer_named(net, "cast_1").to_type == TRT.float16
    assert net.network.get_output(0).dtype == TRT.float16


def test_functional_activations_at_root() -> None:
    net = trace(Fn(lambda x: F.gelu(F.leaky_relu(F.relu6(x), 0.3), "tanh")), (2, 3))
    assert summary(net) == [("relu6_1", "ACTIVATION"), ("leaky_relu_1", "ACTIVATION"), ("gelu_1", "ACTIVATION")]
    assert (layer_named(net, "relu6_1").alpha, layer_named(net, "relu6_1").beta) == (0.0, 6.0)
    assert layer_named(net, "leaky_relu_1").alpha == pytest.approx(0.3)


# ---- half precision --------------------------------------------------------------------------------
HALF = [(trtnet.float16, torch.float16, "HALF"), (trtnet.bfloat16, torch.bfloat16, "BF16")]


def torch_round(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """``values`` (float32 or float64) rounded once to ``dtype`` by torch (independent of trtnet's own
    conversion), returned as float32."""
    return torch.from_numpy(np.ascontiguousarray(values)).to(dtype).float().numpy()


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                            torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class OurSmall(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


@pytest.mark.parametrize(("dtype", "torch_dtype", "trt_name"), HALF, ids=["fp16", "bf16"])
def test_half_precision_network(dtype, torch_dtype, trt_name) -> None:
    ref = Small().eval()
    randomize_batchnorm(ref)
    model = OurSmall()
    model.load_state_dict(ref.state_dict())
    assert model.to(dtype) is model
    net = trace(model, (1, 3, 8, 8))
    want = getattr(TRT.DataType, trt_name)
    assert net.network.get_input(0).dtype == want
    for layer in layers(net):
        for i in range(layer.num_outputs):
            assert layer.get_output(i).dtype == want, (layer.name, layer.get_output(i).dtype)
    conv = layer_named(net, "features.0")
    assert weights_dtype(conv.kernel) == want and weights_dtype(conv.bias) == want
    assert_weights(conv.kernel, torch_round(np_(ref.features[0].weight), torch_dtype))
    assert_weights(conv.bias, torch_round(np_(ref.features[0].bias), torch_dtype))
    bn = layer_named(net, "features.1")
    scale, shift = folded_bn(ref.features[1])  # folded in float64 from the fp32 source, rounded once
    assert weights_dtype(bn.scale) == weights_dtype(bn.shift) == want
    assert_weights(bn.scale, torch_round(scale, torch_dtype))
    assert_weights(bn.shift, torch_round(shift, torch_dtype))
    fc_w = layer_named(net, "fc.weight")
    assert weights_dtype(fc_w.weights) == want
    assert_weights(fc_w.weights, torch_round(np_(ref.fc.weight), torch_dtype))
    assert_weights(layer_named(net, "fc.bias").weights, torch_round(np_(ref.fc.bias), torch_dtype))
    assert net_out_shape(net) == torch_out_shape(ref, (1, 3, 8, 8))


@pytest.mark.parametrize(("dtype", "trt_name"), [(trtnet.float16, "HALF"), (trtnet.bfloat16, "BF16")])
def test_half_model_with_fp32_input_casts_at_the_input(dtype, trt_name) -> None:
    ref = torch.nn.Sequential(torch.nn.Linear(4, 3))
    model = nn.Sequential(nn.Linear(4, 3))
    model.load_state_dict(ref.state_dict())
    model.to(dtype)
    net = trtnet.trace(model, [trtnet.Input("input", (2, 4), dtype="float32")])
    assert net.network.get_input(0).dtype == TRT.float32
    assert summary(net)[0] == ("input/cast_1", "CAST")
    assert layer_named(net, "input/cast_1").to_type == getattr(TRT.DataType, trt_name)
    assert net.network.get_output(0).dtype == getattr(TRT.DataType, trt_name)
    assert len(serialize(net)) > 0


def test_half_scalar_constants_take_the_tensor_dtype() -> None:
    model = Fn(lambda x: x * 3.0)
    model.to(trtnet.float16)
    net = trace(model, (2, 2))
    const = layer_named(net, "constant_1")
    assert weights_dtype(const.weights) == TRT.DataType.HALF
    assert_weights(const.weights, np.array([3.0], np.float16))


@pytest.mark.parametrize(("dtype", "torch_dtype"), [(trtnet.float16, torch.float16), (trtnet.bfloat16, torch.bfloat16)],
                         ids=["fp16", "bf16"])
def test_half_batchnorm_folds_from_the_loaded_values(dtype, torch_dtype) -> None:
    """shift = bias - mean * scale cancels when bias ~ mean: folding already-rounded half parameters would be
    far off (mean 100.3 is 100.3125 in fp16 and 100.5 in bf16; the true shift is about -0.05)."""
    bn = torch.nn.BatchNorm2d(2, eps=1e-5).eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([100.3, -3.7]))
        bn.running_var.copy_(torch.tensor([1.0, 0.3]))
        bn.weight.copy_(torch.tensor([1.0, 0.7]))
        bn.bias.copy_(torch.tensor([100.25, 0.1]))
    model = nn.BatchNorm2d(2)
    model.load_state_dict(bn.state_dict())
    model.to(dtype)
    net = trace(model, (1, 2, 2, 2))
    layer = layer_named(net, "batch_norm_1")
    scale, shift = folded_bn(bn)
    assert abs(shift[0] - (-0.0495)) < 1e-3  # hand arithmetic: 100.25 - 100.3 / sqrt(1 + 1e-5)
    assert_weights(layer.scale, torch_round(scale, torch_dtype))
    assert_weights(layer.shift, torch_round(shift, torch_dtype))
    # and model.to(float32) afterwards gives the fp32 fold back, not one of half values
    model.to(trtnet.float32)
    net = trace(model, (1, 2, 2, 2))
    np.testing.assert_allclose(weights_values(layer_named(net, "batch_norm_1").shift), shift, rtol=1e-6)


class SharedLinear(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(self.fc(x))


def test_shared_linear_reuses_its_weight_constants() -> None:
    ref = torch.nn.Linear(3, 3)
    model = SharedLinear()
    model.load_state_dict({f"fc.{k}": v for k, v in ref.state_dict().items()})
    net = trace(model, (2, 3))
    assert summary(net) == [("fc.weight", "CONSTANT"), ("fc/matmul_1", "MATRIX_MULTIPLY"), ("fc.bias", "CONSTANT"),
                            ("fc", "ELEMENTWISE"), ("fc#2/matmul_1", "MATRIX_MULTIPLY"), ("fc#2", "ELEMENTWISE")]
    assert input_names(layer_named(net, "fc#2/matmul_1")) == ["fc", "fc.weight"]
    assert input_names(layer_named(net, "fc#2")) == ["fc#2/matmul_1", "fc.bias"]
    assert output_names(layer_named(net, "fc#2")) == ["output"]
