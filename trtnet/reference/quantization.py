"""Explicit quantization (per-tensor or per-axis scales) and assertions.

Quantize: clamp(round_half_even(x / scale) + zero_point) to int8 [-128, 127], or x / scale saturated to FP8 E4M3
(+-448). Dequantize: (q - zero_point) * scale. Block quantization (``block_shape``) is not supported.
"""

from __future__ import annotations

from typing import Any

import torch

from trtnet.errors import TrtnetError
from trtnet.reference import dtypes
from trtnet.reference.registry import Inputs, register

_FP8_MAX = 448.0


def _along_axis(layer: Any, coefficients: torch.Tensor | None, rank: int) -> torch.Tensor | None:
    """A scalar or a 1-D per-axis coefficient tensor shaped to broadcast over the data."""
    if coefficients is None or coefficients.numel() == 1:
        return None if coefficients is None else coefficients.reshape(())
    if coefficients.dim() > 1:
        raise TrtnetError(f"layer {layer.name!r}: block quantization is not supported by the reference executor")
    shape = [1] * rank
    shape[layer.axis] = -1
    return coefficients.reshape(shape)


def _scale_and_zero_point(layer: Any, inputs: Inputs, rank: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    zero_point = inputs[2] if len(inputs) > 2 else None
    return _along_axis(layer, inputs[1], rank), _along_axis(layer, zero_point, rank)


@register("QUANTIZE")
def quantize(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    scale, zero_point = _scale_and_zero_point(layer, inputs, x.dim())
    scaled = x / scale
    if dtypes.to_torch(layer.to_type) == torch.int8:
        quantized = torch.round(scaled) + (0 if zero_point is None else zero_point)
        return quantized.clamp(-128, 127)
    return scaled.clamp(-_FP8_MAX, _FP8_MAX)


@register("DEQUANTIZE")
def dequantize(layer: Any, inputs: Inputs) -> torch.Tensor:
    q = inputs[0].float()
    scale, zero_point = _scale_and_zero_point(layer, inputs, q.dim())
    return (q - (0 if zero_point is None else zero_point)) * scale


@register("ASSERTION")
def assertion(layer: Any, inputs: Inputs) -> tuple[()]:
    if not bool(inputs[0].all()):
        raise TrtnetError(f"layer {layer.name!r}: assertion failed: {layer.message}")
    return ()
