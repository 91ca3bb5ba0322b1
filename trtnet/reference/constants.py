"""Layers that make tensors: constant, shape, fill."""

from __future__ import annotations

from typing import Any

import torch

from trtnet.errors import TrtnetError
from trtnet.reference import dtypes
from trtnet.reference.registry import Inputs, register


@register("CONSTANT", weight_views=True)
def constant(layer: Any, inputs: Inputs) -> torch.Tensor:
    shape = tuple(layer.shape)
    values = dtypes.weights(layer.weights)
    return torch.empty(shape) if values is None else values.reshape(shape)


@register("SHAPE")
def shape(layer: Any, inputs: Inputs) -> torch.Tensor:
    return torch.tensor(inputs[0].shape, dtype=torch.int64)


def _linspace(shape: list[int], alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """alpha + sum_k beta[k] * index_k."""
    out = alpha.reshape(()).to(torch.float64).expand(shape).clone()
    deltas = beta.reshape(-1).to(torch.float64)
    for axis, size in enumerate(shape):
        steps = torch.arange(size, dtype=torch.float64) * deltas[axis]
        out += steps.reshape([size if i == axis else 1 for i in range(len(shape))])
    return out


@register("FILL")
def fill(layer: Any, inputs: Inputs) -> torch.Tensor:
    """LINSPACE, RANDOM_UNIFORM (alpha=low, beta=high), RANDOM_NORMAL (alpha=mean, beta=std); inputs 0-2 override."""
    shape_input = inputs[0] if len(inputs) > 0 and inputs[0] is not None else None
    out_shape = shape_input.tolist() if shape_input is not None else list(layer.shape)
    alpha = inputs[1] if len(inputs) > 1 and inputs[1] is not None else torch.tensor(float(layer.alpha))
    beta = inputs[2] if len(inputs) > 2 and inputs[2] is not None else torch.tensor(float(layer.beta))
    operation = layer.operation.name
    if operation == "LINSPACE":
        if beta.numel() != len(out_shape):
            raise TrtnetError(f"layer {layer.name!r}: LINSPACE of rank {len(out_shape)} needs {len(out_shape)} deltas (beta input)")
        return _linspace(out_shape, alpha, beta)
    if operation == "RANDOM_UNIFORM":
        return torch.rand(out_shape) * (beta - alpha) + alpha
    return torch.randn(out_shape) * beta + alpha
