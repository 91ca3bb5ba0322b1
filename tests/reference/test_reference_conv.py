"""Convolution and deconvolution against torch.nn.functional, over TensorRT's padding modes and options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt

# (mode, pre, post): explicit paddings are ignored by the SAME modes, which derive their own.
PADDINGS = [
    ("EXPLICIT_ROUND_DOWN", (0, 0), (0, 0)),
    ("EXPLICIT_ROUND_DOWN", (1, 1), (1, 1)),
    ("EXPLICIT_ROUND_DOWN", (0, 2), (1, 0)),
    ("EXPLICIT_ROUND_UP", (1, 0), (0, 1)),
    ("SAME_UPPER", (5, 5), (5, 5)),
    ("SAME_LOWER", (0, 0), (0, 0)),
]


def _reference_pads(mode: str, pre, post, sizes, extents, strides):
    """(pre, post) per spatial dim as NvInfer.h's PaddingMode formulas define them for convolution."""
    if mode.startswith("SAME"):
        totals = [max(0, (math.ceil(i / s) - 1) * s + k - i) for i, k, s in zip(sizes, extents, strides)]
        small = [t // 2 for t in totals]
        big = [t - h for t, h in zip(totals, small)]
        return (small, big) if mode == "SAME_UPPER" else (big, small)
    if mode == "EXPLICIT_ROUND_UP":
        outs = [math.ceil((i + b + a - k) / s) + 1 for i, b, a, k, s in zip(sizes, pre, post, extents, strides)]
        post = [(o - 1) * s + k - i - b for o, i, b, k, s in zip(outs, sizes, pre, extents, strides)]
    return list(pre), list(post)


def _torch_pad(pre, post):
    pads = []
    for b, a in zip(reversed(pre), reversed(post)):
        pads += [b, a]
    return pads


@pytest.mark.parametrize("mode,pre,post", PADDINGS, ids=[f"{m}-{p}-{q}" for m, p, q in PADDINGS])
@pytest.mark.parametrize("stride,dilation,groups", [(1, 1, 1), (2, 1, 1), (2, 2, 2), (3, 1, 4)])
def test_convolution_2d(mode, pre, post, stride, dilation, groups):
    net = RawNet()
    x_val = randn(2, 8, 11, 10, seed=1)
    kernel = net.keep(randn(12, 8 // groups, 3, 4, seed=2))
    bias = net.keep(randn(12, seed=3))
    x = net.input("x", x_val.shape)
    conv = net.network.add_convolution_nd(x, 12, (3, 4), kernel, bias)
    conv.stride_nd, conv.dilation_nd, conv.num_groups = (stride, stride), (dilation, dilation), groups
    conv.pre_padding, conv.post_padding = pre, post
    conv.padding_mode = getattr(trt.PaddingMode, mode)
    got = single(net, conv.get_output(0), {"x": x_val})

    extents = [1 + dilation * (k - 1) for k in (3, 4)]
    ref_pre, ref_post = _reference_pads(mode, pre, post, x_val.shape[2:], extents, (stride, stride))
    padded = F.pad(torch.from_numpy(x_val), _torch_pad(ref_pre, ref_post))
    expected = F.conv2d(padded, torch.from_numpy(kernel), torch.from_numpy(bias), stride, 0, dilation, groups)
    close(got, expected, atol=1e-4)


def test_convolution_3d_without_bias():
    net = RawNet()
    x_val = randn(1, 3, 5, 6, 7, seed=4)
    kernel = net.keep(randn(4, 3, 2, 3, 3, seed=5))
    x = net.input("x", x_val.shape)
    conv = net.network.add_convolution_nd(x, 4, (2, 3, 3), kernel, trt.Weights())
    conv.padding_nd = (1, 1, 0)
    conv.stride_nd = (1, 2, 1)
    got = single(net, conv.get_output(0), {"x": x_val})
    expected = F.conv3d(torch.from_numpy(x_val), torch.from_numpy(kernel), None, (1, 2, 1), (1, 1, 0))
    close(got, expected, atol=1e-4)


@pytest.mark.parametrize("bias_as_input", [False, True])
def test_convolution_kernel_and_bias_as_input_tensors(bias_as_input):
    net = RawNet()
    x_val, k_val, b_val = randn(2, 4, 6, 6, seed=6), randn(6, 2, 3, 3, seed=7), randn(6, seed=8)
    x = net.input("x", x_val.shape)
    kernel = net.input("kernel", k_val.shape)
    bias_weights = trt.Weights() if bias_as_input else net.keep(b_val)
    conv = net.network.add_convolution_nd(x, 6, (3, 3), trt.Weights(), bias_weights)
    conv.set_input(1, kernel)
    if bias_as_input:
        conv.set_input(2, net.const(b_val))
    conv.num_groups = 2
    got = single(net, conv.get_output(0), {"x": x_val, "kernel": k_val})
    expected = F.conv2d(torch.from_numpy(x_val), torch.from_numpy(k_val), torch.from_numpy(b_val), groups=2)
    close(got, expected, atol=1e-4)


DECONV_PADDINGS = [
    ("EXPLICIT_ROUND_DOWN", (0, 0), (0, 0)),
    ("EXPLICIT_ROUND_DOWN", (1, 1), (1, 1)),
    ("EXPLICIT_ROUND_DOWN", (1, 0), (0, 2)),
    ("SAME_UPPER", (0, 0), (0, 0)),
    ("SAME_LOWER", (0, 0), (0, 0)),
]


@pytest.mark.parametrize("mode,pre,post", DECONV_PADDINGS, ids=[f"{m}-{p}-{q}" for m, p, q in DECONV_PADDINGS])
# TensorRT-RTX refuses deconvolutions both strided and dilated ("Strided & Dilated Deconv are not supported").
@pytest.mark.parametrize("stride,dilation,groups", [(1, 1, 1), (2, 1, 1), (2, 1, 3), (1, 2, 3), (3, 1, 1)])
def test_deconvolution_2d(mode, pre, post, stride, dilation, groups):
    net = RawNet()
    x_val = randn(2, 6, 5, 4, seed=9)
    kernel = net.keep(randn(6, 9 // groups, 3, 4, seed=10))  # [C, K/groups, R, S]
    bias = net.keep(randn(9, seed=11))
    x = net.input("x", x_val.shape)
    deconv = net.network.add_deconvolution_nd(x, 9, (3, 4), kernel, bias)
    deconv.stride_nd, deconv.dilation_nd, deconv.num_groups = (stride, stride), (dilation, dilation), groups
    deconv.pre_padding, deconv.post_padding = pre, post
    deconv.padding_mode = getattr(trt.PaddingMode, mode)
    got = single(net, deconv.get_output(0), {"x": x_val})

    full = F.conv_transpose2d(
        torch.from_numpy(x_val), torch.from_numpy(kernel), torch.from_numpy(bias), stride, 0, 0, groups, dilation
    )
    if mode.startswith("SAME"):  # NvInfer.h: P = max(DK - S, 0), split like convolution
        totals = [max(1 + dilation * (k - 1) - stride, 0) for k in (3, 4)]
        small = [t // 2 for t in totals]
        big = [t - h for t, h in zip(totals, small)]
        pre, post = (small, big) if mode == "SAME_UPPER" else (big, small)
    h, w = full.shape[2:]
    expected = full[:, :, pre[0] : h - post[0], pre[1] : w - post[1]]
    close(got, expected, atol=1e-4)


def test_deconvolution_3d_kernel_as_input():
    net = RawNet()
    x_val, k_val = randn(1, 2, 3, 4, 3, seed=12), randn(2, 3, 2, 2, 2, seed=13)
    x = net.input("x", x_val.shape)
    kernel = net.input("kernel", k_val.shape)
    deconv = net.network.add_deconvolution_nd(x, 3, (2, 2, 2), trt.Weights(), trt.Weights())
    deconv.set_input(1, kernel)
    deconv.stride_nd = (2, 2, 2)
    got = single(net, deconv.get_output(0), {"x": x_val, "kernel": k_val})
    close(got, F.conv_transpose3d(torch.from_numpy(x_val), torch.from_numpy(k_val), stride=2), atol=1e-4)


def test_convolution_with_dynamic_batch():
    net = RawNet()
    kernel = net.keep(randn(3, 3, 1, 1, seed=14))
    x = net.input("x", (-1, 3, 4, 4))
    conv = net.network.add_convolution_nd(x, 3, (1, 1), kernel, trt.Weights())
    profile = net.builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 4, 4), (2, 3, 4, 4), (4, 3, 4, 4))
    net.mark(conv.get_output(0))
    config = net.builder.create_builder_config()
    config.add_optimization_profile(profile)
    assert net.builder.build_serialized_network(net.network, config) is not None
    for batch in (1, 3):
        x_val = randn(batch, 3, 4, 4, seed=batch)
        got = net.run({"x": x_val}, build=False)[conv.get_output(0).name]
        close(got, F.conv2d(torch.from_numpy(x_val), torch.from_numpy(kernel)), atol=1e-5)
    np.testing.assert_equal(kernel.shape, (3, 3, 1, 1))
