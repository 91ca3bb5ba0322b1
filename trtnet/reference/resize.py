"""Resize: NEAREST, LINEAR and CUBIC, separably along every dim whose size changes.

Output size: input 1 (shape tensor; TensorRT-RTX refuses a float scales tensor there), else ``scales``
(floor(in * scale), computed in float32 as TensorRT does), else ``shape``. A resized coordinate x maps to the input (NvInfer.h) as ALIGN_CORNERS
x*(in-1)/(out-1), ASYMMETRIC x/s, HALF_PIXEL (x+0.5)/s - 0.5, with s = out/in, or the given scale when ``scales``
are set (as ONNX Resize; NvInfer.h only states the size ratio, identical for integer scales). A single-pixel
output reads pixel 0 under ResizeSelector.UPPER. NEAREST rounds the coordinate per ``nearest_rounding`` and
clamps to the input; LINEAR clamps the coordinate to the input (edge values beyond it); CUBIC uses ``cubic_coeff``
with edge-clamped neighbours, zero-weighting and renormalizing the outside ones when ``exclude_outside``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from trtnet.reference.registry import Inputs, register


def _output_shape(layer: Any, inputs: Inputs, x: torch.Tensor) -> tuple[list[int], list[float] | None]:
    """(output dims, the scales when the size comes from scales)."""
    if len(inputs) > 1 and inputs[1] is not None:
        return [int(v) for v in inputs[1].tolist()], None
    scales = list(layer.scales)
    if scales:
        # TensorRT's shape inference multiplies in float32: 10 * float32(0.7) is 7, not float64's 6.99... -> 6
        return [math.floor(np.float32(n) * np.float32(s)) for n, s in zip(x.shape, scales)], scales
    return list(layer.shape), None


def _source_coordinates(layer: Any, n_in: int, n_out: int, scale: float | None) -> torch.Tensor:
    resized = torch.arange(n_out, dtype=torch.float64)
    if n_out == 1 and layer.selector_for_single_pixel.name == "UPPER":
        return torch.zeros(1, dtype=torch.float64)
    transform = layer.coordinate_transformation.name
    if transform == "ALIGN_CORNERS":
        return resized * ((n_in - 1) / (n_out - 1)) if n_out > 1 else torch.zeros(1, dtype=torch.float64)
    ratio = 1 / scale if scale else n_in / n_out
    if transform == "ASYMMETRIC":
        return resized * ratio
    return (resized + 0.5) * ratio - 0.5


def _nearest(x: torch.Tensor, axis: int, source: torch.Tensor, rounding: str) -> torch.Tensor:
    if rounding == "FLOOR":
        index = torch.floor(source)
    elif rounding == "CEIL":
        index = torch.ceil(source)
    elif rounding == "HALF_UP":
        index = torch.floor(source + 0.5)
    else:  # HALF_DOWN
        index = torch.ceil(source - 0.5)
    return x.index_select(axis, index.long().clamp(0, x.shape[axis] - 1))


def _along(weights: torch.Tensor, axis: int, rank: int, dtype: torch.dtype) -> torch.Tensor:
    return weights.to(dtype).reshape([-1 if i == axis else 1 for i in range(rank)])


def _linear(x: torch.Tensor, axis: int, source: torch.Tensor) -> torch.Tensor:
    last = x.shape[axis] - 1
    source = source.clamp(0, last)
    low = source.floor().long()
    high = (low + 1).clamp(max=last)
    weight = _along(source - low, axis, x.dim(), x.dtype)
    a, b = x.index_select(axis, low), x.index_select(axis, high)
    return a + (b - a) * weight


def _cubic_weight(distance: torch.Tensor, a: float) -> torch.Tensor:
    d = distance.abs()
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return torch.where(d <= 1, near, torch.where(d < 2, far, torch.zeros_like(d)))


def _cubic(x: torch.Tensor, axis: int, source: torch.Tensor, coefficient: float, exclude_outside: bool) -> torch.Tensor:
    size = x.shape[axis]
    base = source.floor()
    neighbours = [base + offset for offset in (-1, 0, 1, 2)]
    weights = [_cubic_weight(source - n, coefficient) for n in neighbours]
    if exclude_outside:
        weights = [torch.where((n >= 0) & (n < size), w, torch.zeros_like(w)) for n, w in zip(neighbours, weights)]
        total = sum(weights)
        weights = [w / total for w in weights]
    out = None
    for n, w in zip(neighbours, weights):
        term = x.index_select(axis, n.long().clamp(0, size - 1)) * _along(w, axis, x.dim(), x.dtype)
        out = term if out is None else out + term
    return out


@register("RESIZE")
def resize(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    out_shape, scales = _output_shape(layer, inputs, x)
    mode = layer.resize_mode.name
    for axis, n_out in enumerate(out_shape):
        n_in = x.shape[axis]
        if n_in == n_out:
            continue
        source = _source_coordinates(layer, n_in, n_out, scales[axis] if scales else None)
        if mode == "NEAREST":
            x = _nearest(x, axis, source, layer.nearest_rounding.name)
        elif mode == "LINEAR":
            x = _linear(x, axis, source)
        else:
            x = _cubic(x, axis, source, layer.cubic_coeff, bool(layer.exclude_outside))
    return x
