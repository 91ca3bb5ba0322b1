"""Shuffle, concatenation, slice, squeeze/unsqueeze, padding, gather, one-hot, constant, shape and fill."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt


def _arange(*shape: int) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


@pytest.mark.parametrize(
    "first,dims,second,expected",
    [
        ((0, 2, 1, 3), None, None, lambda x: x.transpose(0, 2, 1, 3)),
        (None, (0, -1), None, lambda x: x.reshape(2, 60)),  # 0 copies dim 0, -1 is inferred
        (None, (0, 0, 20), None, lambda x: x.reshape(2, 3, 20)),
        (None, (4, 0, 10), None, lambda x: x.reshape(4, 3, 10)),  # 0 copies the dim at the same index
        ((3, 1, 2, 0), (5, 0, -1), (2, 0, 1), lambda x: x.transpose(3, 1, 2, 0).reshape(5, 3, 8).transpose(2, 0, 1)),
    ],
)
def test_shuffle(first, dims, second, expected):
    x_val = _arange(2, 3, 4, 5)
    net = RawNet()
    layer = net.network.add_shuffle(net.input("x", x_val.shape))
    if first is not None:
        layer.first_transpose = first
    if dims is not None:
        layer.reshape_dims = dims
    if second is not None:
        layer.second_transpose = second
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, expected(x_val))


def test_shuffle_zero_is_not_a_placeholder_when_disabled():
    net = RawNet()
    layer = net.network.add_shuffle(net.input("x", (2, 0, 3)))
    layer.zero_is_placeholder = False
    layer.reshape_dims = (0, 5)
    got = single(net, layer.get_output(0), {"x": np.zeros((2, 0, 3), np.float32)})
    assert tuple(got.shape) == (0, 5)


def test_shuffle_reshape_from_a_shape_tensor_input():
    x_val = _arange(2, 3, 4)
    net = RawNet()
    x = net.input("x", x_val.shape)
    layer = net.network.add_shuffle(x)
    layer.set_input(1, net.shape_const([0, 12]))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, x_val.reshape(2, 12))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_concatenation(axis):
    a_val, b_val = randn(2, 3, 4, seed=1), randn(2, 3, 4, seed=2)
    net = RawNet()
    layer = net.network.add_concatenation([net.input("a", a_val.shape), net.const(b_val), net.input("c", a_val.shape)])
    layer.axis = axis
    got = single(net, layer.get_output(0), {"a": a_val, "c": a_val * 2})
    close(got, np.concatenate([a_val, b_val, a_val * 2], axis))


def test_concatenation_default_axis_is_rank_minus_three():
    net = RawNet()
    layer = net.network.add_concatenation([net.input("a", (1, 2, 3, 4)), net.input("b", (1, 2, 3, 4))])
    got = single(net, layer.get_output(0), {"a": _arange(1, 2, 3, 4), "b": -_arange(1, 2, 3, 4)})
    close(got, np.concatenate([_arange(1, 2, 3, 4), -_arange(1, 2, 3, 4)], 1))


@pytest.mark.parametrize(
    "start,shape,stride",
    [((0, 1, 0), (2, 2, 5), (1, 1, 1)), ((1, 0, 4), (1, 3, 3), (1, 2, -2)), ((0, 2, 1), (2, 2, 2), (1, 0, 3))],
)
def test_static_slice(start, shape, stride):
    x_val = _arange(2, 5, 6)
    net = RawNet()
    layer = net.network.add_slice(net.input("x", x_val.shape), start, shape, stride)
    got = single(net, layer.get_output(0), {"x": x_val})
    index = [np.array([s + i * d for i in range(n)]) for s, n, d in zip(start, shape, stride)]
    close(got, x_val[np.ix_(*index)])


def _reference_sample(mode: str, indices: np.ndarray, size: int) -> np.ndarray:
    if mode == "WRAP":
        return indices % size
    if mode == "CLAMP":
        return np.clip(indices, 0, size - 1)
    period = 2 * (size - 1)  # REFLECT: mirror about the edge elements, repeated
    return np.array([min(i % period, period - i % period) for i in indices])


@pytest.mark.parametrize("mode", ["WRAP", "CLAMP", "REFLECT", "FILL"])
def test_slice_out_of_bounds_modes(mode):
    x_val = _arange(3, 4)
    start, shape, stride = (-2, -5), (7, 6), (1, 2)
    net = RawNet()
    layer = net.network.add_slice(net.input("x", x_val.shape), start, shape, stride)
    layer.mode = getattr(trt.SampleMode, mode)
    if mode == "FILL":
        layer.set_input(4, net.const(np.array(-9.0, np.float32)))
    got = single(net, layer.get_output(0), {"x": x_val})
    wanted = [s + np.arange(n) * d for s, n, d in zip(start, shape, stride)]
    if mode == "FILL":
        inside = [(w >= 0) & (w < n) for w, n in zip(wanted, x_val.shape)]
        clipped = [np.clip(w, 0, n - 1) for w, n in zip(wanted, x_val.shape)]
        expected = np.where(np.outer(*inside), x_val[np.ix_(*clipped)], -9.0)
    else:
        expected = x_val[np.ix_(*[_reference_sample(mode, w, n) for w, n in zip(wanted, x_val.shape)])]
    close(got, expected)


def test_slice_with_dynamic_start_size_stride_inputs():
    x_val = _arange(4, 6)
    net = RawNet()
    layer = net.network.add_slice(net.input("x", x_val.shape), (0, 0), (1, 1), (1, 1))
    layer.set_input(1, net.shape_const([1, 5]))
    layer.set_input(2, net.shape_const([2, 3]))
    layer.set_input(3, net.shape_const([2, -2]))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, x_val[1::2, 5::-2][:2, :3].copy())


def test_slice_on_selected_axes():
    x_val = _arange(2, 3, 4)
    net = RawNet()
    layer = net.network.add_slice(net.input("x", x_val.shape), (1,), (2,), (2,))
    layer.set_input(5, net.shape_const([2]))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, x_val[:, :, 1:4:2])


@pytest.mark.parametrize("axes,expected_shape", [([1], (2, 3, 1)), ([-1, 1], (2, 3)), (None, (2, 3))])
def test_squeeze(axes, expected_shape):
    x_val = _arange(2, 1, 3, 1)
    net = RawNet()
    axes_tensor = net.shape_const(axes) if axes is not None else None
    layer = net.network.add_squeeze(net.input("x", x_val.shape), axes_tensor)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, x_val.reshape(expected_shape))


@pytest.mark.parametrize("axes,expected_shape", [([0], (1, 2, 3)), ([-1, 1], (2, 1, 3, 1)), ([0, 3], (1, 2, 3, 1))])
def test_unsqueeze(axes, expected_shape):
    x_val = _arange(2, 3)
    net = RawNet()
    layer = net.network.add_unsqueeze(net.input("x", x_val.shape), net.shape_const(axes))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, x_val.reshape(expected_shape))


@pytest.mark.parametrize("pre,post", [((1, 2), (0, 3)), ((-1, 0), (2, -2)), ((0, 0), (0, 0))])
def test_padding(pre, post):
    x_val = randn(2, 3, 5, 6)
    net = RawNet()
    layer = net.network.add_padding_nd(net.input("x", x_val.shape), pre, post)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.pad(torch.from_numpy(x_val), (pre[1], post[1], pre[0], post[0])))


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gather_default(axis, index_dtype):
    x_val = _arange(3, 4, 5)
    indices = np.array([[0, 2], [1, -1]], index_dtype)
    net = RawNet()
    layer = net.network.add_gather(net.input("x", x_val.shape), net.const(indices), axis)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, np.take(x_val, indices, axis=axis))


def test_gather_default_with_an_elementwise_batch_dim():
    x_val = _arange(3, 4, 5)
    indices = np.array([[0, 4], [1, 1], [3, 2]], np.int32)
    net = RawNet()
    layer = net.network.add_gather(net.input("x", x_val.shape), net.const(indices), 2)
    layer.num_elementwise_dims = 1
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, np.stack([np.take(x_val[b], indices[b], axis=1) for b in range(3)]))


def test_gather_element():
    x_val = _arange(3, 4)
    indices = np.array([[2, 0, 1, 2], [0, 0, 0, 1]], np.int32)
    net = RawNet()
    layer = net.network.add_gather_v2(net.input("x", x_val.shape), net.const(indices), trt.GatherMode.ELEMENT)
    layer.axis = 0
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, np.take_along_axis(x_val, indices, axis=0))


@pytest.mark.parametrize("batch_dims", [0, 1])
def test_gather_nd(batch_dims):
    x_val = _arange(2, 3, 4)
    net = RawNet()
    if batch_dims == 0:
        indices = np.array([[[0, 1], [1, 2]], [[1, 0], [0, 2]]], np.int32)  # -> x[i, j] of shape [2, 2, 4]
        expected = x_val[indices[..., 0], indices[..., 1]]
    else:
        indices = np.array([[[2, 1], [0, 0]], [[1, 3], [2, 2]]], np.int32)  # per batch b: x[b, i, j]
        expected = np.stack([x_val[b][indices[b, :, 0], indices[b, :, 1]] for b in range(2)])
    layer = net.network.add_gather_v2(net.input("x", x_val.shape), net.const(indices), trt.GatherMode.ND)
    layer.num_elementwise_dims = batch_dims
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, expected)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    indices = np.array([[0, 2, 1], [3, -1, 1]], np.int32)
    net = RawNet()
    layer = net.network.add_one_hot(
        net.input("i", indices.shape, trt.int32), net.const(np.array([-1.0, 5.0], np.float32)), net.const(np.array(4, np.int32)), axis
    )
    got = single(net, layer.get_output(0), {"i": indices})
    hot = np.eye(4, dtype=np.float32)[indices % 4] * 6 - 1  # [..., depth]
    close(got, np.moveaxis(hot, -1, axis))


# (int8 constants only build as the input of a dequantize layer.)
@pytest.mark.parametrize("values", [np.arange(6, dtype=np.int64).reshape(2, 3), randn(2, 3).astype(np.float16), np.array([[1, -2, 3]], np.int32)])
def test_constant(values):
    net = RawNet()
    got = single(net, net.const(values))
    assert got.dtype == torch.from_numpy(values).dtype
    close(got, values)


def test_shape_of_a_dynamic_input():
    net = RawNet()
    x = net.input("x", (-1, 3, -1))
    layer = net.network.add_shape(x)
    net.mark(layer.get_output(0))
    profile = net.builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 1), (2, 3, 4), (4, 3, 8))
    config = net.builder.create_builder_config()
    config.add_optimization_profile(profile)
    assert net.builder.build_serialized_network(net.network, config) is not None
    got = net.run({"x": np.zeros((2, 3, 5), np.float32)}, build=False)[layer.get_output(0).name]
    assert got.dtype == torch.int64 and got.tolist() == [2, 3, 5]


def test_fill_linspace_static_and_dynamic():
    net = RawNet()
    static = net.network.add_fill((5,), trt.FillOperation.LINSPACE, trt.float32)
    static.alpha, static.beta = 1.5, -0.5
    dynamic = net.network.add_fill((2, 3), trt.FillOperation.LINSPACE, trt.int32)
    dynamic.set_input(1, net.const(np.array(4, np.int32)))
    dynamic.set_input(2, net.const(np.array([10, 1], np.int32)))
    net.mark(static.get_output(0), dynamic.get_output(0))
    got = net.run()
    close(got[static.get_output(0).name], 1.5 - 0.5 * np.arange(5))
    assert got[dynamic.get_output(0).name].tolist() == [[4, 5, 6], [14, 15, 16]]
    assert got[dynamic.get_output(0).name].dtype == torch.int32


def test_fill_random_uniform_stays_in_range():
    net = RawNet()
    layer = net.network.add_fill((1000,), trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    layer.alpha, layer.beta = -2.0, 3.0
    got = single(net, layer.get_output(0))
    assert got.min() >= -2.0 and got.max() <= 3.0 and got.std() > 1.0
