"""Explicit quantize / dequantize (int8 per-tensor and per-channel, FP8) and assertion layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, trt
from trtnet.errors import TrtnetError


@pytest.mark.parametrize("per_channel", [False, True])
def test_int8_quantize_dequantize_around_a_convolution(per_channel):
    x_val = randn(1, 3, 5, 5, seed=1) * 3
    kernel = randn(4, 3, 3, 3, seed=2)
    x_scale = np.array(0.05, np.float32)
    k_scale = (np.abs(kernel).reshape(4, -1).max(1) / 127).astype(np.float32) if per_channel else np.array(0.02, np.float32)
    net = RawNet()
    x = net.input("x", x_val.shape)
    qx = net.network.add_quantize(x, net.const(x_scale), trt.int8)
    dqx = net.network.add_dequantize(qx.get_output(0), net.const(x_scale), trt.float32)
    qk = net.network.add_quantize(net.const(kernel), net.const(k_scale), trt.int8)
    dqk = net.network.add_dequantize(qk.get_output(0), net.const(k_scale), trt.float32)
    if per_channel:
        qk.axis = dqk.axis = 0
    conv = net.network.add_convolution_nd(dqx.get_output(0), 4, (3, 3), trt.Weights(), trt.Weights())
    conv.set_input(1, dqk.get_output(0))
    net.mark(conv.get_output(0))
    everything = net.run({"x": x_val}, intermediates=True)

    def fake_quant(v: np.ndarray, s: np.ndarray) -> torch.Tensor:
        q = np.clip(np.round(v / s), -128, 127)  # numpy rounds half to even, like TensorRT
        return torch.from_numpy((q * s).astype(np.float32))

    assert everything[qx.get_output(0).name].dtype == torch.int8
    k_s = k_scale.reshape(4, 1, 1, 1) if per_channel else k_scale
    expected = F.conv2d(fake_quant(x_val, x_scale), fake_quant(kernel, k_s))
    close(everything[conv.get_output(0).name], expected, atol=1e-4)


def test_assertion_passes_and_fails_at_run_time():
    net = RawNet()
    x = net.input("x", (-1, 4))
    batch = net.network.add_slice(net.network.add_shape(x).get_output(0), (0,), (1,), (1,)).get_output(0)
    two = net.network.add_elementwise(batch, net.shape_const([2]), trt.ElementWiseOperation.EQUAL).get_output(0)
    check = net.network.add_assertion(two, "batch must be 2")
    check.name = "batch_is_two"
    relu = net.network.add_activation(x, trt.ActivationType.RELU)
    net.mark(relu.get_output(0))
    profile = net.builder.create_optimization_profile()
    profile.set_shape("x", (1, 4), (2, 4), (3, 4))
    config = net.builder.create_builder_config()
    config.add_optimization_profile(profile)
    assert net.builder.build_serialized_network(net.network, config) is not None
    ok = net.run({"x": -np.ones((2, 4), np.float32)}, build=False)[relu.get_output(0).name]
    assert ok.tolist() == [[0.0] * 4] * 2
    with pytest.raises(TrtnetError, match="'batch_is_two': assertion failed: batch must be 2"):
        net.run({"x": np.ones((3, 4), np.float32)}, build=False)


def test_fp8_quantize_saturates_and_rounds_to_e4m3():
    x_val = randn(2, 8, seed=3) * 300  # some values beyond the E4M3 range (+-448) once scaled
    net = RawNet()
    scale = net.const(np.array(0.5, np.float32))
    q = net.network.add_quantize(net.input("x", x_val.shape), scale, trt.fp8)
    dq = net.network.add_dequantize(q.get_output(0), scale, trt.float32)
    net.mark(dq.get_output(0))
    everything = net.run({"x": x_val}, intermediates=True)
    assert everything[q.get_output(0).name].dtype == torch.float8_e4m3fn
    expected = (torch.from_numpy(x_val) / 0.5).clamp(-448, 448).to(torch.float8_e4m3fn).float() * 0.5
    assert expected.abs().max() == 224.0
    close(everything[dq.get_output(0).name], expected)
