"""Quantize/dequantize in the reference executor, bit-exact against numpy, on networks built with raw
``add_quantize``/``add_dequantize`` (3-argument forms): ties, saturation, per-axis scales, the FP8 E4M3 grid, INT4
blocks. The numpy references follow TensorRT's definition: ``clamp(round_half_even(fp32(x) / fp32(scale)))``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _raw import RawNet, randn, trt


def _quantize_net(x_val: np.ndarray, scale: np.ndarray, to_type, axis: int | None = None, input_type=None):
    """x -> Q(scale) -> DQ(scale), both outputs marked; returns (q, dq) as computed by the executor."""
    net = RawNet()
    x = net.input("x", x_val.shape, input_type)
    s = net.const(scale)
    q = net.network.add_quantize(x, s, to_type)
    dq = net.network.add_dequantize(q.get_output(0), s, input_type or trt.float32)
    if axis is not None:
        q.axis = dq.axis = axis
    net.mark(q.get_output(0), dq.get_output(0))
    result = net.run({"x": x_val})
    return result[q.get_output(0).name], result[dq.get_output(0).name]


def _int_reference(x: np.ndarray, scale: np.ndarray, low: int, high: int) -> np.ndarray:
    quotient = x.astype(np.float32) / scale.astype(np.float32)  # a true fp32 division, as TensorRT
    return np.clip(np.round(quotient), low, high).astype(np.int8)  # numpy rounds half to even


def test_int8_ties_round_half_to_even():
    scale = np.array(0.25, np.float32)
    ks = np.arange(-6, 6, dtype=np.float32)
    x_val = ((ks + 0.5) * scale).reshape(1, -1)  # x / scale = k + 0.5 exactly
    q, dq = _quantize_net(x_val, scale, trt.int8)
    assert q.dtype == torch.int8
    expected = [-6, -4, -4, -2, -2, 0, 0, 2, 2, 4, 4, 6]  # -5.5 -> -6, -4.5 -> -4, ..., 0.5 -> 0, 5.5 -> 6
    assert q.tolist() == [expected]
    np.testing.assert_array_equal(dq.numpy(), np.array([expected], np.float32) * scale)


def test_int8_divides_in_fp32_rather_than_multiplying_by_the_reciprocal():
    scale = np.array(0.1, np.float32)
    x_val = (np.arange(-200, 200, dtype=np.float32) * np.float32(0.1) + np.float32(0.05)).reshape(4, 100)
    by_division = _int_reference(x_val, scale, -128, 127)
    by_reciprocal = np.clip(np.round(x_val * (np.float32(1) / scale)), -128, 127).astype(np.int8)
    assert (by_division != by_reciprocal).any(), "the data must tell division from reciprocal multiplication"
    q, _ = _quantize_net(x_val, scale, trt.int8)
    np.testing.assert_array_equal(q.numpy(), by_division)


@pytest.mark.parametrize("to_type, low, high", [("int8", -128, 127), ("int4", -8, 7)])
def test_integer_quantize_saturates(to_type, low, high):
    scale = np.array(0.5, np.float32)
    x_val = np.array([[-1e6, -300.0, -64.2, -4.3, -4.2, 0.0, 3.7, 3.8, 63.4, 63.8, 500.0, 1e6]], np.float32)
    q, dq = _quantize_net(x_val, scale, getattr(trt, to_type))
    expected = _int_reference(x_val, scale, low, high)
    assert q.min().item() == low and q.max().item() == high
    np.testing.assert_array_equal(q.numpy(), expected)
    np.testing.assert_array_equal(dq.numpy(), expected.astype(np.float32) * scale)


@pytest.mark.parametrize("axis", [0, 1, 3])
def test_int8_per_axis_scales(axis):
    x_val = randn(2, 3, 4, 5, seed=axis) * 4
    scale = np.linspace(0.01, 0.05, x_val.shape[axis]).astype(np.float32)
    q, dq = _quantize_net(x_val, scale, trt.int8, axis=axis)
    view = [1] * 4
    view[axis] = -1
    expected = _int_reference(x_val, scale.reshape(view), -128, 127)
    assert (np.abs(expected) == 128).any() or (expected == 127).any(), "some values saturate"
    np.testing.assert_array_equal(q.numpy(), expected)
    np.testing.assert_array_equal(dq.numpy(), expected.astype(np.float32) * scale.reshape(view))


def test_int8_quantize_of_fp16_input_divides_the_widened_value():
    x16 = (randn(3, 7, seed=5) * 2).astype(np.float16)
    scale = np.array(0.03, np.float32)
    q, dq = _quantize_net(x16, scale, trt.int8, input_type=trt.float16)
    expected = _int_reference(x16.astype(np.float32), scale, -128, 127)
    np.testing.assert_array_equal(q.numpy(), expected)
    assert dq.dtype == torch.float16
    np.testing.assert_array_equal(dq.numpy(), (expected.astype(np.float32) * scale).astype(np.float16))


def _e4m3_grid() -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..126 (positive finite E4M3FN values; 127 is NaN) and their values, built from the bit layout."""
    codes = np.arange(127)
    exponent, mantissa = codes >> 3, codes & 7
    values = np.where(exponent == 0, mantissa / 8 * 2.0**-6, (1 + mantissa / 8) * 2.0 ** (exponent - 7))
    return codes, values


def _e4m3_reference_codes(quotient: np.ndarray) -> np.ndarray:
    """Sign-magnitude E4M3FN codes of saturate(quotient), rounded to the nearest grid value, ties to the even code."""
    codes, values = _e4m3_grid()
    magnitude = np.minimum(np.abs(quotient.astype(np.float64)), 448.0)
    upper = np.clip(np.searchsorted(values, magnitude), 1, len(values) - 1)
    lower = upper - 1
    below, above = magnitude - values[lower], values[upper] - magnitude
    pick = np.where(below < above, lower, np.where(above < below, upper, np.where(codes[lower] % 2 == 0, lower, upper)))
    return (codes[pick] | np.where(np.signbit(quotient), 0x80, 0)).astype(np.uint8)


def test_fp8_rounds_onto_the_e4m3_grid_ties_to_even_and_saturates():
    _, values = _e4m3_grid()
    midpoints = (values[:-1] + values[1:]) / 2  # exact ties between neighbours
    rng = np.random.default_rng(0)
    data = np.concatenate([values, midpoints, -midpoints, rng.standard_normal(500) * 100, [449.0, 470.0, -1e5, 1e9]])
    scale = np.array(2.0, np.float32)  # a power of two keeps the ties exact after the division
    x_val = (data * 2.0).astype(np.float32).reshape(1, -1)
    q, dq = _quantize_net(x_val, scale, trt.fp8)
    assert q.dtype == torch.float8_e4m3fn
    expected = _e4m3_reference_codes(x_val / scale)
    np.testing.assert_array_equal(q.view(torch.uint8).numpy(), expected)
    assert dq.abs().max().item() == 448.0 * 2.0 and not torch.isnan(dq).any()


def test_fp8_per_channel_with_an_irregular_scale():
    x_val = randn(4, 6, seed=9) * 50
    scale = np.array([0.3, 0.07, 1.1, 0.013], np.float32)
    q, _ = _quantize_net(x_val, scale, trt.fp8, axis=0)
    expected = _e4m3_reference_codes(x_val / scale.reshape(4, 1))
    np.testing.assert_array_equal(q.view(torch.uint8).numpy(), expected)


@pytest.mark.parametrize("scale_shape, transposed", [((4, 16), False), ((16, 4), True)])
def test_int4_weight_blocks_from_a_2d_scale(scale_shape, transposed):
    """INT4 weight-only blocks of 16 along the reduction dim (TensorRT takes the block from the 2-D scale)."""
    weight = randn(*((16, 64) if transposed else (64, 16)), seed=11)
    rng = np.random.default_rng(12)
    scale = (rng.uniform(0.05, 0.3, scale_shape)).astype(np.float32)
    net = RawNet()
    x = net.input("x", (2, 64))
    s = net.const(scale)
    q = net.network.add_quantize(net.const(weight), s, trt.int4)
    dq = net.network.add_dequantize(q.get_output(0), s, trt.float32)
    operation = trt.MatrixOperation.TRANSPOSE if transposed else trt.MatrixOperation.NONE
    mm = net.network.add_matrix_multiply(x, trt.MatrixOperation.NONE, dq.get_output(0), operation)
    net.mark(mm.get_output(0))
    x_val = randn(2, 64, seed=13)
    result = net.run({"x": x_val}, intermediates=True)
    blocks = np.repeat(scale, 16, axis=1 if transposed else 0)
    expected_q = _int_reference(weight, blocks, -8, 7)
    assert result[q.get_output(0).name].dtype == torch.int8  # int4 values, carried unpacked
    np.testing.assert_array_equal(result[q.get_output(0).name].numpy(), expected_q)
    expected_w = expected_q.astype(np.float32) * blocks
    np.testing.assert_array_equal(result[dq.get_output(0).name].numpy(), expected_w)
    product = x_val.astype(np.float64) @ (expected_w.T if transposed else expected_w)
    np.testing.assert_allclose(result[mm.get_output(0).name].numpy(), product, rtol=1e-5, atol=1e-5)
