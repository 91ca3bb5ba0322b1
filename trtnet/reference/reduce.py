"""Reductions along axes bitmasks: reduce, softmax, top-k, cumulative."""

from __future__ import annotations

from typing import Any

import torch

from trtnet.errors import TrtnetError
from trtnet.reference.registry import Inputs, register


def axes_of(mask: int, rank: int) -> list[int]:
    """The dims whose bits are set in a TensorRT axes bitmask (bit i = dim i)."""
    return [axis for axis in range(rank) if mask >> axis & 1]


def _single_axis(layer: Any, mask: int, rank: int) -> int:
    axes = axes_of(mask, rank)
    if len(axes) != 1:
        raise TrtnetError(f"layer {layer.name!r}: axes bitmask {mask:#b} must select exactly one of {rank} dims")
    return axes[0]


def _product(x: torch.Tensor, axes: list[int], keep_dims: bool) -> torch.Tensor:
    for axis in sorted(axes, reverse=True):
        x = x.prod(axis, keepdim=keep_dims)
    return x


@register("REDUCE")
def reduce(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    axes, keep = axes_of(layer.axes, x.dim()), layer.keep_dims
    if not axes:
        return x
    op = layer.op.name
    if op == "SUM":
        return x.sum(axes, keepdim=keep)
    if op == "AVG":
        return x.mean(axes, keepdim=keep) if x.dtype.is_floating_point else x.double().mean(axes, keepdim=keep)
    if op == "MAX":
        return x.amax(axes, keepdim=keep)
    if op == "MIN":
        return x.amin(axes, keepdim=keep)
    if op == "PROD":
        return _product(x, axes, keep)
    raise TrtnetError(f"layer {layer.name!r}: reduce operation {op} is not supported")


@register("SOFTMAX")
def softmax(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    return torch.softmax(x, _single_axis(layer, layer.axes, x.dim()))


@register("TOPK")
def topk(layer: Any, inputs: Inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Values and indices, sorted largest first (MAX) or smallest first (MIN); k may be input 1."""
    x = inputs[0]
    k = int(inputs[1].reshape(())) if len(inputs) > 1 and inputs[1] is not None else layer.k
    values, indices = torch.topk(x, k, _single_axis(layer, layer.axes, x.dim()), largest=layer.op.name == "MAX")
    return values, indices


@register("CUMULATIVE")
def cumulative(layer: Any, inputs: Inputs) -> torch.Tensor:
    """Inclusive/exclusive, forward/reverse cumulative sum along the axis given by the scalar input 1."""
    x = inputs[0]
    axis = int(inputs[1].reshape(()))
    axis = axis + x.dim() if axis < 0 else axis
    if layer.op.name != "SUM":
        raise TrtnetError(f"layer {layer.name!r}: cumulative operation {layer.op.name} is not supported")
    if layer.reverse:
        x = x.flip(axis)
    y = x.cumsum(axis)
    if layer.exclusive:
        y = torch.cat([torch.zeros_like(y.narrow(axis, 0, 1)), y.narrow(axis, 0, y.shape[axis] - 1)], axis)
    return y.flip(axis) if layer.reverse else y
