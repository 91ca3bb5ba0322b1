"""Normalization (layer / instance / group; add_normalization and _v2), scale and scale_nd modes, LRN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt


@pytest.mark.parametrize("v2", [False, True])
def test_layer_norm_over_the_last_dim(v2):
    x_val, gamma, beta = randn(2, 5, 8, seed=1), randn(1, 1, 8, seed=2), randn(1, 1, 8, seed=3)
    net = RawNet()
    add = net.network.add_normalization_v2 if v2 else net.network.add_normalization
    layer = add(net.input("x", x_val.shape), net.const(gamma), net.const(beta), 1 << 2)
    layer.epsilon = 1e-3
    got = single(net, layer.get_output(0), {"x": x_val})
    expected = F.layer_norm(torch.from_numpy(x_val), (8,), torch.from_numpy(gamma.reshape(8)), torch.from_numpy(beta.reshape(8)), 1e-3)
    close(got, expected, atol=1e-5)


def test_instance_norm_over_spatial_dims():
    x_val, gamma, beta = randn(2, 3, 4, 5, seed=4), randn(1, 3, 1, 1, seed=5), randn(1, 3, 1, 1, seed=6)
    net = RawNet()
    layer = net.network.add_normalization_v2(net.input("x", x_val.shape), net.const(gamma), net.const(beta), 0b1100)
    got = single(net, layer.get_output(0), {"x": x_val})
    expected = F.instance_norm(torch.from_numpy(x_val), weight=torch.from_numpy(gamma.reshape(3)), bias=torch.from_numpy(beta.reshape(3)))
    close(got, expected, atol=1e-5)


def test_group_norm_v2_has_one_scale_per_channel():
    x_val, gamma, beta = randn(2, 6, 4, 5, seed=7), randn(1, 6, 1, 1, seed=8), randn(1, 6, 1, 1, seed=9)
    net = RawNet()
    layer = net.network.add_normalization_v2(net.input("x", x_val.shape), net.const(gamma), net.const(beta), 0b1100)
    layer.num_groups = 3
    got = single(net, layer.get_output(0), {"x": x_val})
    expected = F.group_norm(torch.from_numpy(x_val), 3, torch.from_numpy(gamma.reshape(6)), torch.from_numpy(beta.reshape(6)))
    close(got, expected, atol=1e-5)


def test_group_norm_v1_has_one_scale_per_group():
    x_val, gamma, beta = randn(2, 6, 4, 5, seed=10), randn(1, 3, 1, 1, seed=11), randn(1, 3, 1, 1, seed=12)
    net = RawNet()
    layer = net.network.add_normalization(net.input("x", x_val.shape), net.const(gamma), net.const(beta), 0b1100)
    layer.num_groups = 3
    got = single(net, layer.get_output(0), {"x": x_val})
    per_channel = lambda v: torch.from_numpy(np.repeat(v.reshape(3), 2))  # noqa: E731
    expected = F.group_norm(torch.from_numpy(x_val), 3, per_channel(gamma), per_channel(beta))
    close(got, expected, atol=1e-5)


def _reference_scale(x, mode, axis, shift, scale, power):
    if mode == "CHANNEL":
        shape = [1] * x.ndim
        shape[axis] = -1
        shift, scale, power = (None if v is None else v.reshape(shape) for v in (shift, scale, power))
    elif mode == "ELEMENTWISE":
        shift, scale, power = (None if v is None else v.reshape(x.shape[axis:]) for v in (shift, scale, power))
    y = x * (1 if scale is None else scale) + (0 if shift is None else shift)
    return y if power is None else y**power


@pytest.mark.parametrize("mode", ["UNIFORM", "CHANNEL", "ELEMENTWISE"])
@pytest.mark.parametrize("axis", [None, 0, 2])
@pytest.mark.parametrize("given", ["shift", "scale", "power", "all"])
def test_scale(mode, axis, given):
    x_val = np.abs(randn(2, 3, 4, 5, seed=13)) + 0.5
    channel_axis = 1 if axis is None else axis
    count = {"UNIFORM": 1, "CHANNEL": x_val.shape[channel_axis], "ELEMENTWISE": int(np.prod(x_val.shape[channel_axis:]))}[mode]
    coefficients = {
        "shift": np.abs(randn(count, seed=14)),  # keeps the base of the power positive
        "scale": np.abs(randn(count, seed=15)) + 0.5,
        "power": np.abs(randn(count, seed=16)) + 0.5,
    }
    coefficients = {k: (v if given in (k, "all") else None) for k, v in coefficients.items()}
    net = RawNet()
    weights = {k: (net.keep(v) if v is not None else trt.Weights()) for k, v in coefficients.items()}
    x = net.input("x", x_val.shape)
    scale_mode = getattr(trt.ScaleMode, mode)
    if axis is None:
        layer = net.network.add_scale(x, scale_mode, weights["shift"], weights["scale"], weights["power"])
    else:
        layer = net.network.add_scale_nd(x, scale_mode, weights["shift"], weights["scale"], weights["power"], axis)
    got = single(net, layer.get_output(0), {"x": x_val})
    expected = _reference_scale(x_val.astype(np.float64), mode, channel_axis, coefficients["shift"], coefficients["scale"], coefficients["power"])
    close(got, expected, atol=1e-5, rtol=1e-4)


def test_lrn_matches_torch_local_response_norm():
    x_val = randn(2, 7, 3, 3, seed=17)
    net = RawNet()
    layer = net.network.add_lrn(net.input("x", x_val.shape), 5, 0.01, 0.75, 2.0)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.local_response_norm(torch.from_numpy(x_val), 5, 0.01, 0.75, 2.0), atol=1e-5)
