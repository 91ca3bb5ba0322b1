"""Layers that move data without arithmetic: shuffle, concatenation, squeeze, unsqueeze, padding."""

from __future__ import annotations

from typing import Any

import torch

from trtnet.reference import padding as spatial
from trtnet.reference.registry import Inputs, register


def _optional(inputs: Inputs, index: int) -> torch.Tensor | None:
    return inputs[index] if len(inputs) > index else None


def _axes(values: torch.Tensor, rank: int) -> list[int]:
    return [a + rank if a < 0 else a for a in values.reshape(-1).tolist()]


@register("SHUFFLE")
def shuffle(layer: Any, inputs: Inputs) -> torch.Tensor:
    """first_transpose -> reshape (0 copies the dim while zero_is_placeholder, -1 is inferred) -> second_transpose."""
    x = inputs[0]
    x = x.permute(tuple(layer.first_transpose)[: x.dim()])
    shape_input = _optional(inputs, 1)
    dims = shape_input.tolist() if shape_input is not None else layer.reshape_dims
    if dims is not None:
        dims = list(dims)
        if layer.zero_is_placeholder:
            dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        x = x.reshape(dims)
    return x.permute(tuple(layer.second_transpose)[: x.dim()])


@register("CONCATENATION")
def concatenation(layer: Any, inputs: Inputs) -> torch.Tensor:
    return torch.cat(list(inputs), dim=layer.axis)


@register("SQUEEZE")
def squeeze(layer: Any, inputs: Inputs) -> torch.Tensor:
    """Without an axes input, removes the dims the network declares as size 1."""
    x, axes_input = inputs[0], _optional(inputs, 1)
    if axes_input is None:
        axes = [i for i, d in enumerate(layer.get_input(0).shape) if d == 1]
    else:
        axes = _axes(axes_input, x.dim())
    return x.squeeze(tuple(axes)) if axes else x


@register("UNSQUEEZE")
def unsqueeze(layer: Any, inputs: Inputs) -> torch.Tensor:
    """Axes index the output, whose rank is rank(input) + len(axes)."""
    x, axes_input = inputs[0], inputs[1]
    for axis in sorted(_axes(axes_input, x.dim() + axes_input.numel())):
        x = x.unsqueeze(axis)
    return x


@register("PADDING")
def padding(layer: Any, inputs: Inputs) -> torch.Tensor:
    """Zero padding of the trailing dims; negative padding crops."""
    return spatial.pad_spatial(inputs[0], tuple(layer.pre_padding_nd), tuple(layer.post_padding_nd))
