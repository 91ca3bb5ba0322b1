"""Scatter (ELEMENT along ``axis``, ND with coordinates in the last dim of the indices), as ONNX ScatterElements /
ScatterND: a copy of the data with the updates written at the indices; negative indices count from the end."""

from __future__ import annotations

from typing import Any

import torch

from trtnet.reference.registry import Inputs, register


def _wrapped(indices: torch.Tensor, size: int) -> torch.Tensor:
    indices = indices.long()
    return torch.where(indices < 0, indices + size, indices)


@register("SCATTER")
def scatter(layer: Any, inputs: Inputs) -> torch.Tensor:
    data, indices, updates = inputs
    if layer.mode.name == "ELEMENT":
        return data.scatter(layer.axis, _wrapped(indices, data.shape[layer.axis]), updates)
    depth = indices.shape[-1]
    result = data.clone()
    coords = tuple(_wrapped(indices[..., j], data.shape[j]) for j in range(depth))
    result[coords] = updates
    return result
