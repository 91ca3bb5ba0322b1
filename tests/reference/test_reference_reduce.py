"""Reduce (axes bitmask, keep_dims, every operation), softmax (default axis), top-k and cumulative."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _raw import RawNet, close, randn, single, trt

REDUCTIONS = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("mask,axes", [(0b0001, (0,)), (0b0110, (1, 2)), (0b1010, (1, 3)), (0b1111, (0, 1, 2, 3))])
@pytest.mark.parametrize("keep_dims", [True, False])
def test_reduce(op, mask, axes, keep_dims):
    x_val = randn(2, 3, 4, 5, seed=1) * 0.9 + 0.2
    net = RawNet()
    layer = net.network.add_reduce(net.input("x", x_val.shape), getattr(trt.ReduceOperation, op), mask, keep_dims)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, REDUCTIONS[op](x_val.astype(np.float64), axis=axes, keepdims=keep_dims), atol=1e-5)


def test_reduce_int32_sum():
    net = RawNet()
    layer = net.network.add_reduce(net.input("x", (2, 3), trt.int32), trt.ReduceOperation.SUM, 0b10, False)
    got = single(net, layer.get_output(0), {"x": np.array([[1, 2, 3], [4, 5, -6]], np.int32)})
    assert got.dtype == torch.int32 and got.tolist() == [6, 3]


@pytest.mark.parametrize("shape,mask,axis", [((2, 3, 4, 5), None, 1), ((3, 4, 5), None, 0), ((4, 5), None, 0), ((2, 3, 4, 5), 0b1000, 3)])
def test_softmax_axis(shape, mask, axis):
    """Without an explicit axes mask TensorRT uses axis max(0, rank - 3), not the last axis."""
    x_val = randn(*shape, seed=2)
    net = RawNet()
    layer = net.network.add_softmax(net.input("x", shape))
    if mask is not None:
        layer.axes = mask
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, torch.softmax(torch.from_numpy(x_val).double(), axis))


@pytest.mark.parametrize("op", ["MAX", "MIN"])
@pytest.mark.parametrize("indices_type", [None, "int64"])
def test_topk_two_outputs(op, indices_type):
    x_val = np.random.default_rng(3).permutation(60).astype(np.float32).reshape(3, 4, 5)
    net = RawNet()
    x = net.input("x", x_val.shape)
    if indices_type is None:
        layer = net.network.add_topk(x, getattr(trt.TopKOperation, op), 3, 0b100)
    else:
        layer = net.network.add_topk(x, getattr(trt.TopKOperation, op), 3, 0b100, getattr(trt, indices_type))
    net.mark(layer.get_output(0), layer.get_output(1))
    got = net.run({"x": x_val})
    values, indices = got[layer.get_output(0).name], got[layer.get_output(1).name]
    order = np.argsort(-x_val if op == "MAX" else x_val, axis=2)[:, :, :3]
    assert indices.dtype == (torch.int64 if indices_type else torch.int32)
    assert indices.tolist() == order.tolist()
    close(values, np.take_along_axis(x_val, order, axis=2))


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_cumulative_sum(exclusive, reverse, axis):
    x_val = randn(3, 4, seed=4)
    net = RawNet()
    layer = net.network.add_cumulative(
        net.input("x", x_val.shape), net.const(np.array(axis, np.int32)), trt.CumulativeOperation.SUM, exclusive, reverse
    )
    got = single(net, layer.get_output(0), {"x": x_val})
    data = np.flip(x_val, axis) if reverse else x_val
    sums = np.cumsum(data, axis) - (data if exclusive else 0)
    close(got, np.flip(sums, axis).copy() if reverse else sums, atol=1e-5)
