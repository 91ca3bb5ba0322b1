"""Explicit quantization (per-tensor, per-axis or block scales) and assertions, as TensorRT computes them.

Quantize: ``clamp(round_half_even(float32(x) / float32(scale)) + zero_point)`` to int8 [-128, 127] or int4 [-8, 7]
(carried in int8), or ``float32(x) / float32(scale)`` saturated to +-448 and rounded (half to even) onto the FP8 E4M3
grid. Dequantize: ``(q - zero_point) * scale``. A scale of the data's rank holds one coefficient per block: a dim
where the scale is smaller than the data is split into equal blocks (TensorRT's blocks from a 2-D scale).
"""

from __future__ import annotations

from typing import Any

import torch

from trtnet.errors import TrtnetError
from trtnet.reference.registry import Inputs, register

_FP8_MAX = 448.0
_INTEGER_RANGES = {"INT8": (-128, 127), "INT4": (-8, 7)}


def _broadcastable(layer: Any, coefficients: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    """A scale or zero-point tensor shaped to broadcast over data of ``shape``: a scalar (per tensor), a 1-D
    tensor along ``layer.axis`` (per axis), or a tensor of the data's rank repeated over its blocks."""
    if coefficients is None or coefficients.numel() == 1 and coefficients.dim() <= 1:
        return None if coefficients is None else coefficients.reshape(())
    if coefficients.dim() == 1:
        view = [1] * len(shape)
        view[layer.axis] = -1
        return coefficients.reshape(view)
    if coefficients.dim() != len(shape):
        raise TrtnetError(f"layer {layer.name!r}: a block scale of shape {list(coefficients.shape)} does not match "
                          f"the data's rank {len(shape)}")
    for dim, (size, blocks) in enumerate(zip(shape, coefficients.shape)):
        if size % blocks:
            raise TrtnetError(f"layer {layer.name!r}: dim {dim} of size {size} does not split into {blocks} blocks")
        coefficients = coefficients.repeat_interleave(size // blocks, dim=dim)
    return coefficients


def _scale_and_zero_point(layer: Any, inputs: Inputs, shape: torch.Size) -> tuple[torch.Tensor, torch.Tensor | None]:
    zero_point = inputs[2] if len(inputs) > 2 else None
    return _broadcastable(layer, inputs[1].float(), shape), _broadcastable(layer, zero_point, shape)


@register("QUANTIZE")
def quantize(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0].float()
    scale, zero_point = _scale_and_zero_point(layer, inputs, x.shape)
    scaled = x / scale
    to_type = layer.to_type.name
    if to_type in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[to_type]
        quantized = torch.round(scaled) + (0 if zero_point is None else zero_point)
        return quantized.clamp(low, high)
    if to_type == "FP8":
        return scaled.clamp(-_FP8_MAX, _FP8_MAX)  # the executor rounds onto the E4M3 grid (half to even)
    raise TrtnetError(f"layer {layer.name!r}: the reference executor does not quantize to {to_type}")


@register("DEQUANTIZE")
def dequantize(layer: Any, inputs: Inputs) -> torch.Tensor:
    q = inputs[0].float()
    scale, zero_point = _scale_and_zero_point(layer, inputs, q.shape)
    return (q - (0 if zero_point is None else zero_point)) * scale


@register("ASSERTION")
def assertion(layer: Any, inputs: Inputs) -> tuple[()]:
    if not bool(inputs[0].all()):
        raise TrtnetError(f"layer {layer.name!r}: assertion failed: {layer.message}")
    return ()
