"""Gather (DEFAULT / ELEMENT / ND, with ``num_elementwise_dims``) and one-hot. Negative indices count from the end."""

from __future__ import annotations

import math
from typing import Any

import torch

from trtnet.reference.registry import Inputs, register


def _wrapped(indices: torch.Tensor, size: int) -> torch.Tensor:
    indices = indices.long()
    return torch.where(indices < 0, indices + size, indices)


def _gather_default(x: torch.Tensor, indices: torch.Tensor, axis: int, elementwise_dims: int) -> torch.Tensor:
    """ONNX Gather; with one elementwise dim, dim 0 of data and indices is a shared (broadcast) batch."""
    indices = _wrapped(indices, x.shape[axis])
    if elementwise_dims == 0:
        picked = x.index_select(axis, indices.reshape(-1))
        return picked.reshape((*x.shape[:axis], *indices.shape, *x.shape[axis + 1 :]))  # () for a 0-D result
    batch = max(x.shape[0], indices.shape[0])
    x = x.expand(batch, *x.shape[1:])
    indices = indices.expand(batch, *indices.shape[1:])
    moved = x.movedim(axis, 1)  # [B, n, x.shape[1:axis]..., x.shape[axis+1:]...]
    batch_index = torch.arange(batch).reshape(batch, *([1] * (indices.dim() - 1)))
    picked = moved[batch_index, indices]  # [B, idx.shape[1:]..., x.shape[1:axis]..., x.shape[axis+1:]...]
    index_rank, before = indices.dim() - 1, axis - 1
    order = [0, *range(1 + index_rank, 1 + index_rank + before), *range(1, 1 + index_rank)]
    order += list(range(1 + index_rank + before, picked.dim()))
    return picked.permute(order)


def _gather_nd(x: torch.Tensor, indices: torch.Tensor, batch_dims: int) -> torch.Tensor:
    """ONNX GatherND: the last dim of ``indices`` holds coordinates into ``x`` after its ``batch_dims`` leading dims."""
    depth = indices.shape[-1]
    batch = math.prod(x.shape[:batch_dims])
    data = x.reshape(batch, *x.shape[batch_dims:])
    coords = indices.long().reshape(batch, -1, depth)
    batch_index = torch.arange(batch).reshape(batch, 1)
    picked = data[(batch_index, *(_wrapped(coords[..., j], data.shape[1 + j]) for j in range(depth)))]
    return picked.reshape(*indices.shape[:-1], *x.shape[batch_dims + depth :])


@register("GATHER")
def gather(layer: Any, inputs: Inputs) -> torch.Tensor:
    x, indices = inputs[0], inputs[1]
    mode = layer.mode.name
    if mode == "ELEMENT":
        return torch.gather(x, layer.axis, _wrapped(indices, x.shape[layer.axis]))
    if mode == "ND":
        return _gather_nd(x, indices, layer.num_elementwise_dims)
    return _gather_default(x, indices, layer.axis, layer.num_elementwise_dims)


@register("ONE_HOT")
def one_hot(layer: Any, inputs: Inputs) -> torch.Tensor:
    """values = [off, on]; the one-hot dim is inserted at ``axis`` (negative counts from the end of the output)."""
    indices, values, depth_tensor = inputs
    depth = int(depth_tensor.reshape(()))
    hot = _wrapped(indices, depth).unsqueeze(-1) == torch.arange(depth)
    axis = layer.axis if layer.axis >= 0 else layer.axis + indices.dim() + 1
    off, on = values.reshape(-1)[0], values.reshape(-1)[1]
    return torch.where(hot.movedim(-1, axis), on, off)
