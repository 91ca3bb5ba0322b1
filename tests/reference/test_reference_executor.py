"""The executor itself: feeds validation, errors, intermediates, dtype handling (fp16, bf16, integers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt
from trtnet.errors import TrtnetError
from trtnet.reference import execute, supported_layer_types


def _relu_net() -> tuple[RawNet, str]:
    net = RawNet()
    layer = net.network.add_activation(net.input("images", (-1, 3, 4)), trt.ActivationType.RELU)
    net.mark(layer.get_output(0))
    return net, layer.get_output(0).name


def test_missing_feed_names_the_input():
    net, _ = _relu_net()
    with pytest.raises(TrtnetError, match="no feed for network input.*images"):
        execute(net.network, {})


def test_unknown_feed_suggests_the_closest_input():
    net, _ = _relu_net()
    with pytest.raises(TrtnetError, match="'image' is not an input of the network.*did you mean 'images'"):
        execute(net.network, {"image": np.zeros((1, 3, 4), np.float32), "images": np.zeros((1, 3, 4), np.float32)})


@pytest.mark.parametrize("shape", [(3, 4), (1, 4, 4), (2, 3, 4, 1)])
def test_feed_of_the_wrong_shape(shape):
    net, _ = _relu_net()
    with pytest.raises(TrtnetError, match=r"feed 'images' has shape .* declared \[-1, 3, 4\]"):
        execute(net.network, {"images": np.zeros(shape, np.float32)})


def test_dynamic_dims_accept_any_size_and_feeds_convert_to_the_declared_dtype():
    net, name = _relu_net()
    x_val = np.random.default_rng(0).standard_normal((5, 3, 4))  # float64 for a float32 input
    got = execute(net.network, {"images": x_val})[name]
    assert got.dtype == torch.float32
    close(got, np.maximum(x_val, 0).astype(np.float32))


def test_float_feed_for_an_integer_input_is_refused():
    net = RawNet()
    net.mark(net.network.add_identity(net.input("ids", (2,), trt.int32)).get_output(0))
    with pytest.raises(TrtnetError, match="feed 'ids' holds torch.float32 values, but the input is"):
        execute(net.network, {"ids": torch.tensor([1.0, 2.0])})


def test_unsupported_layer_type_names_layer_and_type():
    net = RawNet()
    x = net.input("x", (1, 1, 4, 4))
    layer = net.network.add_grid_sample(x, net.const(np.zeros((1, 4, 4, 2), np.float32)))
    layer.name = "warp"
    net.mark(layer.get_output(0))
    with pytest.raises(TrtnetError, match="layer 'warp'.*layer type GRID_SAMPLE"):
        net.run({"x": np.zeros((1, 1, 4, 4), np.float32)})
    assert "GRID_SAMPLE" not in supported_layer_types() and "CONVOLUTION" in supported_layer_types()


def test_runtime_failure_names_the_layer():
    net = RawNet()
    layer = net.network.add_elementwise(net.input("a", (-1,)), net.input("b", (-1,)), trt.ElementWiseOperation.SUM)
    layer.name = "add"
    net.mark(layer.get_output(0))
    with pytest.raises(TrtnetError, match="layer 'add' \\(ELEMENTWISE\\) failed"):
        execute(net.network, {"a": np.zeros(3, np.float32), "b": np.zeros(4, np.float32)})


def test_intermediates_hold_every_layer_output():
    net = RawNet()
    x = net.input("x", (2, 3))
    doubled = net.network.add_elementwise(x, net.const(np.full((1, 1), 2.0, np.float32)), trt.ElementWiseOperation.PROD)
    relu = net.network.add_activation(doubled.get_output(0), trt.ActivationType.RELU)
    net.mark(relu.get_output(0))
    x_val = randn(2, 3)
    everything = net.run({"x": x_val}, intermediates=True)
    layer_outputs = [net.network.get_layer(i).get_output(0).name for i in range(net.network.num_layers)]
    assert sorted(everything) == sorted(layer_outputs) and "x" not in everything
    close(everything[doubled.get_output(0).name], 2 * x_val)
    close(everything[relu.get_output(0).name], np.maximum(2 * x_val, 0))
    assert list(execute(net.network, {"x": x_val})) == [relu.get_output(0).name]


def test_fp16_network_keeps_fp16_and_matches_float32_math():
    x_val = randn(1, 4, 6, 6, seed=1).astype(np.float16)
    net = RawNet()
    kernel, bias = net.keep(randn(8, 4, 3, 3, seed=2).astype(np.float16)), net.keep(randn(8, seed=3).astype(np.float16))
    gamma, beta = net.keep(np.linspace(0.5, 1.5, 8).astype(np.float16)), net.keep(np.linspace(-1, 1, 8).astype(np.float16))
    conv = net.network.add_convolution_nd(net.input("x", x_val.shape, trt.float16), 8, (3, 3), kernel, bias)
    bn = net.network.add_scale(conv.get_output(0), trt.ScaleMode.CHANNEL, beta, gamma, trt.Weights(trt.float16))
    softmax = net.network.add_softmax(bn.get_output(0))
    softmax.axes = 1 << 1
    net.mark(softmax.get_output(0))
    everything = net.run({"x": x_val}, intermediates=True)
    assert all(v.dtype == torch.float16 for v in everything.values())
    conv_ref = F.conv2d(*(torch.from_numpy(a).float() for a in (x_val, kernel, bias))).half().float()
    bn_ref = (conv_ref * torch.from_numpy(gamma).float().reshape(8, 1, 1) + torch.from_numpy(beta).float().reshape(8, 1, 1)).half()
    close(everything[softmax.get_output(0).name], torch.softmax(bn_ref.float(), 1), atol=2e-3, rtol=1e-2)


def test_fp16_rounds_between_layers():
    """(x + 1e-4) - x is 0 once the sum is stored as fp16 (for x near 1), though float32 math would keep 1e-4."""
    net = RawNet()
    x = net.input("x", (4,), trt.float16)
    tiny = net.const(np.full(4, 1e-4, np.float16))
    total = net.network.add_elementwise(x, tiny, trt.ElementWiseOperation.SUM)
    diff = net.network.add_elementwise(total.get_output(0), x, trt.ElementWiseOperation.SUB)
    got = single(net, diff.get_output(0), {"x": np.array([1.0, 1.5, 0.75, 1.25], np.float16)})
    assert got.dtype == torch.float16 and got.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_bf16_network_with_raw_bf16_kernel_and_cast_constants():
    x_val = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(4)).to(torch.bfloat16)
    kernel = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(5))
    weight = randn(4, 6, seed=6)  # float32 constant cast to bf16 inside the network
    net = RawNet()
    conv = net.network.add_convolution_nd(net.input("x", tuple(x_val.shape), trt.bfloat16), 4, (3, 3), net.bf16_weights(kernel), trt.Weights())
    flat = net.network.add_shuffle(conv.get_output(0))
    flat.reshape_dims = (2, 4, 9)
    w16 = net.network.add_cast(net.const(weight.reshape(1, 4, 6)), trt.bfloat16)
    mm = net.network.add_matrix_multiply(
        flat.get_output(0), trt.MatrixOperation.TRANSPOSE, w16.get_output(0), trt.MatrixOperation.NONE
    )
    got = single(net, mm.get_output(0), {"x": x_val})
    assert got.dtype == torch.bfloat16 and tuple(got.shape) == (2, 9, 6)
    conv_ref = F.conv2d(x_val.float(), kernel.bfloat16().float()).bfloat16().float().reshape(2, 4, 9)
    expected = conv_ref.transpose(1, 2) @ torch.from_numpy(weight).bfloat16().float()
    close(got, expected, atol=0.1, rtol=2e-2)


def test_integer_chain_stays_exact():
    net = RawNet()
    ids = net.input("ids", (3,), trt.int64)
    table = net.const(np.arange(10, dtype=np.int64) * 1_000_000_007)
    gathered = net.network.add_gather(table, ids, 0)
    plus = net.network.add_elementwise(gathered.get_output(0), net.const(np.array([1], np.int64)), trt.ElementWiseOperation.SUM)
    got = single(net, plus.get_output(0), {"ids": np.array([9, 0, 4], np.int64)})
    assert got.dtype == torch.int64 and got.tolist() == [9_000_000_064, 1, 4_000_000_029]


def test_in_place_computing_never_overwrites_feeds_weights_or_tensors_still_needed():
    """ReLU and SUM compute in place into a tensor no later layer reads; every case below must stay intact."""
    x_val = randn(2, 3, 4, seed=7)
    bias_val = randn(1, 3, 4, seed=8)
    net = RawNet()
    x = net.input("x", x_val.shape)
    bias = net.const(bias_val)
    relu_of_feed = net.network.add_activation(x, trt.ActivationType.RELU).get_output(0)
    shifted = net.network.add_elementwise(bias, x, trt.ElementWiseOperation.SUM).get_output(0)  # constant operand
    flat = net.network.add_shuffle(shifted)  # a view of `shifted`, which is read again below
    flat.reshape_dims = (2, 12)
    relu_of_view = net.network.add_activation(flat.get_output(0), trt.ActivationType.RELU).get_output(0)
    unflat = net.network.add_shuffle(relu_of_view)
    unflat.reshape_dims = (2, 3, 4)
    relu_of_view = unflat.get_output(0)
    twice = net.network.add_elementwise(relu_of_view, shifted, trt.ElementWiseOperation.SUM).get_output(0)
    again = net.network.add_elementwise(twice, relu_of_feed, trt.ElementWiseOperation.SUM).get_output(0)
    net.mark(again, relu_of_feed)
    net.build()
    feed = torch.from_numpy(x_val.copy())
    first = execute(net.network, {"x": feed})
    second = execute(net.network, {"x": feed})
    assert torch.equal(feed, torch.from_numpy(x_val))  # the caller's array
    x_t, b_t = torch.from_numpy(x_val), torch.from_numpy(bias_val)
    s = x_t + b_t
    expected = torch.relu(s) + s + torch.relu(x_t)
    for result in (first, second):  # the second run sees the same weights
        close(result[again.name], expected)
        close(result[relu_of_feed.name], torch.relu(x_t))
