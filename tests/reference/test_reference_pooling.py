"""Pooling against torch (and a loop-per-window reference), incl. TensorRT's defaults that differ from PyTorch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt


def _pool(net: RawNet, x, kind: str, window, stride=None, mode=None, pre=None, post=None, excludes=None):
    layer = net.network.add_pooling_nd(x, getattr(trt.PoolingType, kind), window)
    if stride is not None:
        layer.stride_nd = stride
    if pre is not None:
        layer.pre_padding, layer.post_padding = pre, post
    if mode is not None:
        layer.padding_mode = getattr(trt.PaddingMode, mode)
    if excludes is not None:
        layer.average_count_excludes_padding = excludes
    return layer


def _windows_reference(x: np.ndarray, window, stride, pre, post, out_size, kind: str, excludes: bool) -> np.ndarray:
    """Pool [N, C, H, W] window by window: max over the window's overlap with the input; average divided by the
    overlap with the input (excludes) or with the explicitly padded input."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, *out_size))
    for oy, ox in itertools.product(range(out_size[0]), range(out_size[1])):
        y0, x0 = oy * stride[0] - pre[0], ox * stride[1] - pre[1]
        y1, x1 = y0 + window[0], x0 + window[1]
        values = x[:, :, max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        if kind == "MAX":
            out[:, :, oy, ox] = values.max(axis=(2, 3))
            continue
        if excludes:
            count = values.shape[2] * values.shape[3]
        else:
            count = (min(y1, h + post[0]) - max(y0, -pre[0])) * (min(x1, w + post[1]) - max(x0, -pre[1]))
        out[:, :, oy, ox] = values.sum(axis=(2, 3)) / count
    return out


def test_stride_defaults_to_one_not_to_the_window():
    net = RawNet()
    x_val = randn(1, 2, 6, 7)
    layer = _pool(net, net.input("x", x_val.shape), "MAX", (3, 2))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.max_pool2d(torch.from_numpy(x_val), (3, 2), stride=1))


@pytest.mark.parametrize("excludes", [None, True, False], ids=["default", "excludes", "includes"])
def test_average_padding_count(excludes):
    net = RawNet()
    x_val = randn(2, 3, 7, 6)
    layer = _pool(net, net.input("x", x_val.shape), "AVERAGE", (3, 3), (2, 2), pre=(1, 1), post=(1, 1), excludes=excludes)
    got = single(net, layer.get_output(0), {"x": x_val})
    include = excludes is False  # TensorRT excludes padding by default
    close(got, F.avg_pool2d(torch.from_numpy(x_val), 3, 2, 1, count_include_pad=include))


@pytest.mark.parametrize("kind", ["MAX", "AVERAGE"])
@pytest.mark.parametrize("excludes", [True, False])
@pytest.mark.parametrize("size,window,stride,pad", [(7, 3, 2, 1), (8, 3, 2, 1), (6, 2, 2, 0), (9, 4, 3, 1)])
def test_round_up_is_ceil_mode(kind, excludes, size, window, stride, pad):
    net = RawNet()
    x_val = randn(1, 2, size, size + 1, seed=size)
    x = net.input("x", x_val.shape)
    layer = _pool(net, x, kind, (window, window), (stride, stride), "EXPLICIT_ROUND_UP", (pad, pad), (pad, pad), excludes)
    got = single(net, layer.get_output(0), {"x": x_val})
    x_t = torch.from_numpy(x_val)
    if kind == "MAX":
        expected = F.max_pool2d(x_t, window, stride, pad, ceil_mode=True)
    else:
        expected = F.avg_pool2d(x_t, window, stride, pad, ceil_mode=True, count_include_pad=not excludes)
    close(got, expected)


def test_round_up_keeps_a_window_starting_in_the_post_padding():
    """PyTorch's ceil_mode drops such a window; TensorRT keeps it (its values are all padding)."""
    net = RawNet()
    layer = _pool(net, net.input("x", (1, 1, 10, 10)), "MAX", (4, 4), (3, 3), "EXPLICIT_ROUND_UP", (2, 2), (2, 2))
    assert tuple(layer.get_output(0).shape) == (1, 1, 5, 5)
    got = single(net, layer.get_output(0), {"x": randn(1, 1, 10, 10)})
    expected = F.max_pool2d(torch.from_numpy(randn(1, 1, 10, 10)), 4, 3, 2, ceil_mode=True)
    assert tuple(expected.shape) == (1, 1, 4, 4)
    close(got[:, :, :4, :4], expected)


@pytest.mark.parametrize("kind", ["MAX", "AVERAGE"])
@pytest.mark.parametrize("excludes", [True, False])
@pytest.mark.parametrize(
    "mode,pre,post",
    [("EXPLICIT_ROUND_DOWN", (0, 2), (1, 0)), ("SAME_UPPER", (0, 0), (0, 0)), ("SAME_LOWER", (0, 0), (0, 0))],
)
def test_asymmetric_and_same_padding(kind, excludes, mode, pre, post):
    net = RawNet()
    x_val = randn(2, 3, 7, 8, seed=3)
    window, stride = (2, 3), (2, 2)
    layer = _pool(net, net.input("x", x_val.shape), kind, window, stride, mode, pre, post, excludes)
    got = single(net, layer.get_output(0), {"x": x_val})
    if mode.startswith("SAME"):
        sizes = x_val.shape[2:]
        totals = [max(0, (math.ceil(i / s) - 1) * s + k - i) for i, k, s in zip(sizes, window, stride)]
        halves = [t // 2 for t in totals]
        rest = [t - h for t, h in zip(totals, halves)]
        pre, post = (halves, rest) if mode == "SAME_UPPER" else (rest, halves)
    out_size = [(i + b + a - k) // s + 1 for i, b, a, k, s in zip(x_val.shape[2:], pre, post, window, stride)]
    close(got, _windows_reference(x_val, window, stride, pre, post, out_size, kind, excludes))


def test_max_average_blend():
    net = RawNet()
    x_val = randn(1, 4, 6, 6, seed=4)
    layer = _pool(net, net.input("x", x_val.shape), "MAX_AVERAGE_BLEND", (2, 2), (2, 2))
    layer.blend_factor = 0.25
    got = single(net, layer.get_output(0), {"x": x_val})
    x_t = torch.from_numpy(x_val)
    close(got, 0.75 * F.max_pool2d(x_t, 2) + 0.25 * F.avg_pool2d(x_t, 2))


@pytest.mark.parametrize("kind", ["MAX", "AVERAGE"])
def test_3d_pooling(kind):
    net = RawNet()
    x_val = randn(1, 2, 5, 6, 7, seed=5)
    layer = _pool(net, net.input("x", x_val.shape), kind, (2, 3, 2), (2, 2, 2), pre=(1, 1, 0), post=(1, 1, 0), excludes=False)
    got = single(net, layer.get_output(0), {"x": x_val})
    x_t = torch.from_numpy(x_val)
    if kind == "MAX":
        expected = F.max_pool3d(x_t, (2, 3, 2), 2, (1, 1, 0))
    else:
        expected = F.avg_pool3d(x_t, (2, 3, 2), 2, (1, 1, 0), count_include_pad=True)
    close(got, expected)


def test_pooling_flattens_leading_dims():
    net = RawNet()
    x_val = randn(2, 3, 2, 6, 6, seed=6)
    layer = _pool(net, net.input("x", x_val.shape), "MAX", (2, 2), (2, 2))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.max_pool2d(torch.from_numpy(x_val).reshape(6, 2, 6, 6), 2).reshape(2, 3, 2, 3, 3))
