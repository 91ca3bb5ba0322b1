"""Explicit quantization: ``quantize`` (``IQuantizeLayer``), ``dequantize`` (``IDequantizeLayer``), ``fake_quantize``,
and the one place where convolutions, matrix multiplies and residual adds get Q/DQ on their operands while a
quantization plan is active (``graph.current().quantization``, set by :func:`trtnet.quantize`).

Scales are float32: TensorRT computes ``q = clamp(round_half_even(fp32(x) / fp32(scale)))``. A scalar scale
quantizes per tensor, a 1-D scale per channel along ``axis``, a scale of the input's rank per block (INT4 weights:
TensorRT takes the block size from the scale's shape).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import TrtnetError
from trtnet.functional._util import normalize_dim, out, parameter_values, trt, weights_for
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

_RANGES = {"int8": 127.0, "float8_e4m3fn": 448.0, "int4": 7.0}  # largest magnitude of each quantized type


def quantized_max(dtype: dtypes.DType | str) -> float:
    """The largest magnitude ``dtype`` holds (127 for int8, 448 for FP8 E4M3, 7 for int4)."""
    dtype = dtypes.get(dtype)
    if dtype not in dtypes.QUANTIZED:
        raise TrtnetError(f"{dtype.name} is not a quantized type; use int8, float8_e4m3fn (fp8) or int4")
    return _RANGES[dtype.name]


def _scale(input: Tensor, scale: float | Sequence[float] | np.ndarray | Tensor, axis: int | None, op: str) -> Tensor:
    """The scale as a float32 tensor: 0-d (per tensor), 1-D along ``axis`` or of the input's rank (blocks)."""
    if isinstance(scale, Tensor):
        return scale
    values = np.asarray(scale, dtype=np.float32)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise TrtnetError(f"{op}: scale must be positive and finite, got {scale!r}")
    if axis is not None:
        length = input.static_shape[normalize_dim(axis, input.ndim, "axis")]
        if values.ndim != 1 or length not in (-1, values.size):
            raise TrtnetError(f"{op}: a per-channel scale along axis {axis} needs {length} values, got shape "
                              f"{list(values.shape)}")
    elif values.size == 1:
        values = values.reshape(())
    elif values.ndim != input.ndim:
        raise TrtnetError(f"{op}: a scale of shape {list(values.shape)} needs axis= (per channel) or the input's "
                          f"rank {input.ndim} (blocks)")
    return graph.current().constant(values, dtypes.float32)


def quantize(input: Tensor, scale: float | Sequence[float] | np.ndarray | Tensor, dtype: dtypes.DType | str = "int8",
             axis: int | None = None) -> Tensor:
    """``round(input / scale)`` saturated to ``dtype`` (int8, float8_e4m3fn or int4): an ``IQuantizeLayer``."""
    dtype = dtypes.get(dtype)
    quantized_max(dtype)
    if input.dtype not in (dtypes.float32, dtypes.float16, dtypes.bfloat16):
        raise TrtnetError(f"quantize: input must be float32, float16 or bfloat16, got {input.dtype.name}")
    scale_tensor = _scale(input, scale, axis, "quantize")
    g = graph.current()
    layer = g.network.add_quantize(input.itensor, scale_tensor.itensor, dtype.to_trt())
    if axis is not None:
        layer.axis = normalize_dim(axis, input.ndim, "axis")
    return out(g.add("quantize", layer))


def dequantize(input: Tensor, scale: float | Sequence[float] | np.ndarray | Tensor,
               dtype: dtypes.DType | str = "float32", axis: int | None = None) -> Tensor:
    """``input * scale`` in ``dtype`` (float32, float16 or bfloat16) from a quantized tensor: an ``IDequantizeLayer``."""
    dtype = dtypes.get(dtype)
    if input.dtype not in dtypes.QUANTIZED:
        raise TrtnetError(f"dequantize: input must be int8, float8_e4m3fn or int4, got {input.dtype.name}")
    if dtype not in (dtypes.float32, dtypes.float16, dtypes.bfloat16):
        raise TrtnetError(f"dequantize: dtype must be float32, float16 or bfloat16, got {dtype.name}")
    scale_tensor = _scale(input, scale, axis, "dequantize")
    g = graph.current()
    layer = g.network.add_dequantize(input.itensor, scale_tensor.itensor, dtype.to_trt())
    if axis is not None:
        layer.axis = normalize_dim(axis, input.ndim, "axis")
    return out(g.add("dequantize", layer))


def fake_quantize(x: Tensor, scale: float | Sequence[float] | np.ndarray | Tensor, dtype: dtypes.DType | str = "int8",
                  axis: int | None = None) -> Tensor:
    """``dequantize(quantize(x))`` back to ``x``'s dtype, sharing one scale constant: the Q/DQ pair TensorRT fuses."""
    scale_tensor = _scale(x, scale, axis, "fake_quantize")
    return dequantize(quantize(x, scale_tensor, dtype, axis), scale_tensor, x.dtype, axis)


# ---- Q/DQ on the operands of convolutions and matrix multiplies -------------------------------------------------
class Plan(Protocol):
    """What the lowerings ask an active quantization (see :mod:`trtnet.quantize`)."""

    dtype: dtypes.DType | None  # None while calibrating: activations are recorded, nothing is inserted
    residual_adds: bool  # Q/DQ on the identity branch of residual adds

    def skips(self, scope: str) -> bool:
        """Whether ops of the module call ``scope`` stay in higher precision."""

    def activation(self, key: str, tensor: Tensor) -> Tensor:
        """The tensor to use for the activation operand ``key`` (fake-quantized, or recorded while calibrating)."""


def _plan_and_key(op: str) -> tuple[Plan | None, str]:
    """The active plan (None when there is none or it skips this scope) and this op's key: the module path for a
    module's first quantized op, ``path/op#N`` for later ones (``op#N`` at the root)."""
    g = graph.current()
    plan = g.quantization
    if plan is None or plan.skips(g.scope):
        return None, ""
    number = int(g.unique_name("quantized").rsplit("_", 1)[1])
    if g.scope and number == 1:
        return plan, g.scope
    return plan, f"{g.scope}/{op}#{number}" if g.scope else f"{op}#{number}"


def _fake_quantized_weight(values: np.ndarray, tensor: Tensor, axis: int, dtype: dtypes.DType) -> Tensor:
    """A weight tensor fake-quantized per output channel (``axis``), scales from the values' max magnitudes."""
    moved = np.moveaxis(np.abs(values.astype(np.float32)), axis, 0).reshape(values.shape[axis], -1)
    amax = moved.max(axis=1) if moved.size else np.zeros(values.shape[axis], np.float32)
    scale = np.where(amax > 0, amax / np.float32(quantized_max(dtype)), np.float32(1)).astype(np.float32)
    return fake_quantize(tensor, scale, dtype, axis=axis)


def quantized_convolution(op: str, input: Tensor, weight: Parameter | np.ndarray,
                          make: Callable[[Tensor, Any], Any]) -> Any:
    """The convolution layer ``make(input, kernel_weights)`` creates; under an active plan its input and its
    weight (per output channel, axis 0) pass through Q/DQ, the weight as the layer's input 1."""
    plan, key = _plan_and_key(op)
    if plan is None or plan.dtype is None:
        if plan is not None:
            plan.activation(key, input)
        return make(input, weights_for(weight, input.dtype, "weight"))
    quantized_input = plan.activation(key, input)
    values, weight_dtype = parameter_values(weight, "weight")
    if values.ndim == 3:  # conv1d runs as 2-D: [K, C/groups, 1, k]
        values = values.reshape(values.shape[0], values.shape[1], 1, values.shape[2])
    g = graph.current()
    kernel = _fake_quantized_weight(values, g.constant(values, weight_dtype, name=g.parameter_names.get(id(weight))),
                                    0, plan.dtype)
    layer = make(quantized_input, trt().Weights(input.dtype.to_trt()))
    layer.set_input(1, kernel.itensor)
    return layer


def quantized_matmul_operands(a: Tensor, b: Tensor, transpose_b: bool) -> tuple[Tensor, Tensor]:
    """The operands of a matrix multiply under an active plan: a constant operand (a linear's weight) fake-quantized
    per output channel, activations per tensor (keys ``key`` and ``key:1``); unchanged without a plan."""
    if graph.current().quantization is None:
        return a, b
    plan, key = _plan_and_key("matmul")
    if plan is None:
        return a, b
    operands = []
    for index, (tensor, out_axis) in enumerate(((a, a.ndim - 2), (b, b.ndim - (2 if transpose_b else 1)))):
        layer = graph.current().producer(tensor.name)
        if layer is None or layer.type != trt().LayerType.CONSTANT:
            operands.append(plan.activation(key if index == 0 else f"{key}:1", tensor))
        elif plan.dtype is None or tensor.ndim < 2:
            operands.append(tensor)
        else:
            operands.append(_fake_quantized_weight(_constant_values(layer, tensor), tensor, out_axis, plan.dtype))
    return operands[0], operands[1]


def _constant_values(layer: Any, tensor: Tensor) -> np.ndarray:
    """The values of the constant ``layer`` producing ``tensor``."""
    values = layer.weights
    if not isinstance(values, np.ndarray):
        raise TrtnetError(f"cannot quantize the {tensor.dtype.name} constant {tensor.name!r}: its values are not "
                          "readable here; quantize the float32 or float16 model")
    return values.reshape(tuple(layer.shape))


def quantized_add_operands(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """The operands of an add under an active plan. A residual add (float operands of one shape, at least one the
    output of a convolution, directly or through a BatchNorm's scale layer) gets Q/DQ on its identity branch (the
    operand not from a convolution; the second when both are, as ``out + identity``), so TensorRT fuses the add into
    the convolution (its explicit-quantization guide). Key: the op's, as a convolution's activation."""
    g = graph.current()
    plan = g.quantization
    if (plan is None or not plan.residual_adds or not a.dtype.is_float or a.static_shape != b.static_shape
            or plan.skips(g.scope)):
        return a, b
    from_conv = [_from_convolution(t) for t in (a, b)]
    if not any(from_conv):
        return a, b
    _, key = _plan_and_key("add")
    if from_conv[1] and not from_conv[0]:
        return plan.activation(key, a), b
    return a, plan.activation(key, b)


def _from_convolution(tensor: Tensor) -> bool:
    """Whether ``tensor`` is a convolution's output, directly or through one scale layer (a BatchNorm)."""
    g = graph.current()
    layer = g.producer(tensor.name)
    if layer is not None and layer.type == trt().LayerType.SCALE:
        layer = g.producer(layer.get_input(0).name)
    return layer is not None and layer.type == trt().LayerType.CONVOLUTION
