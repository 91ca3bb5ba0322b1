"""Slice: start/shape/stride (static or inputs 1-3), optional axes (input 5), out-of-bounds SampleMode.

Sample modes (NvInfer.h): STRICT_BOUNDS errors, WRAP is periodic, CLAMP clamps to the edge, FILL uses input 4
(default 0), REFLECT mirrors about the middle of the edge element, repeating indefinitely.
"""

from __future__ import annotations

from typing import Any

import torch

from trtnet.errors import TrtnetError
from trtnet.reference.registry import Inputs, register


def _parameter(inputs: Inputs, index: int, layer: Any, attribute: str) -> list[int] | None:
    """Input ``index`` when set, else the layer's static ``attribute`` (read only then: reading a dynamic
    slice's static ``shape`` makes TensorRT log a warning)."""
    if len(inputs) > index and inputs[index] is not None:
        return [int(v) for v in inputs[index].reshape(-1).tolist()]
    static = getattr(layer, attribute)
    return None if static is None else list(static)


def _source_indices(mode: str, wanted: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(indices into a dim of ``size``, mask of in-bounds positions for FILL or None)."""
    if size == 0 and mode != "FILL":
        raise TrtnetError(f"slice ({mode}) reads {len(wanted)} positions of an empty dim")
    if mode == "WRAP":
        return torch.remainder(wanted, size), None
    if mode == "CLAMP":
        return wanted.clamp(0, size - 1), None
    if mode == "REFLECT":
        if size == 1:
            return torch.zeros_like(wanted), None
        period = 2 * (size - 1)
        folded = torch.remainder(wanted, period)
        return torch.where(folded >= size, period - folded, folded), None
    inside = (wanted >= 0) & (wanted < size)
    if mode == "FILL":
        return wanted.clamp(0, max(size - 1, 0)), inside
    if not bool(inside.all()):
        raise TrtnetError(f"slice reads indices {wanted.tolist()} outside a dim of size {size} (STRICT_BOUNDS)")
    return wanted, None


@register("SLICE")
def slice_(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    starts = _parameter(inputs, 1, layer, "start")
    sizes = _parameter(inputs, 2, layer, "shape")
    strides = _parameter(inputs, 3, layer, "stride")
    axes = _parameter(inputs, 5, layer, "axes")
    fill = inputs[4] if len(inputs) > 4 and inputs[4] is not None else None
    axes = list(range(x.dim())) if axes is None else [a + x.dim() if a < 0 else a for a in axes]
    mode = layer.mode.name
    mask = None
    for axis, start, size, stride in zip(axes, starts, sizes, strides):
        extent = x.shape[axis]
        if size == 0:
            x = x.narrow(axis, 0, 0)
            continue
        if mode == "STRICT_BOUNDS" and stride > 0 and start >= 0 and start + (size - 1) * stride < extent:
            x = x.narrow(axis, start, (size - 1) * stride + 1)[(slice(None),) * axis + (slice(None, None, stride),)]
            continue
        wanted = start + torch.arange(size, dtype=torch.int64) * stride
        indices, inside = _source_indices(mode, wanted, extent)
        if extent == 0:  # only FILL reads outside an empty dim: every position is filled
            x = x.new_zeros((*x.shape[:axis], size, *x.shape[axis + 1:]))
        else:
            x = x.index_select(axis, indices)
        if inside is not None:
            shape = [1] * x.dim()
            shape[axis] = size
            inside = inside.reshape(shape)
            mask = inside if mask is None else mask & inside
    if mask is not None:
        value = fill.reshape(()) if fill is not None else torch.zeros((), dtype=x.dtype)
        x = torch.where(mask, x, value.to(x.dtype))
    return x
