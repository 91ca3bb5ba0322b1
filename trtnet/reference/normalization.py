"""Normalization (layer/instance/group, add_normalization and add_normalization_v2), scale, LRN.

Normalization: Y = (X - mean) / sqrt(var + eps) * S + B, mean and (biased) variance over the axes bitmask.
With ``num_groups`` G > 1 the channels (dim 1) split into G groups and the statistics also span each group's
channels. Scale and bias are [1, G, 1, ...] (one per group) for ``add_normalization`` but [1, C, 1, ...]
(one per channel) for ``add_normalization_v2`` (``layer.is_v2``), as TensorRT's builder enforces.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from trtnet.errors import TrtnetError
from trtnet.reference import dtypes
from trtnet.reference.reduce import axes_of
from trtnet.reference.registry import Inputs, register


def _normalized(x: torch.Tensor, axes: list[int], epsilon: float) -> torch.Tensor:
    variance, mean = torch.var_mean(x, axes, correction=0, keepdim=True)
    return (x - mean) * torch.rsqrt(variance + epsilon)


@register("NORMALIZATION")
def normalization(layer: Any, inputs: Inputs) -> torch.Tensor:
    x, scale, bias = inputs
    axes, groups, epsilon = axes_of(layer.axes, x.dim()), layer.num_groups, layer.epsilon
    if groups == 1:
        return _normalized(x, axes, epsilon) * scale + bias
    if any(a < 2 for a in axes):
        raise TrtnetError(f"layer {layer.name!r}: group normalization over axes {axes} (expected axes >= 2)")
    grouped = x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])
    normalized = _normalized(grouped, [2] + [a + 1 for a in axes], epsilon)
    if layer.is_v2:
        return normalized.reshape(x.shape) * scale + bias
    return (normalized * scale.unsqueeze(2) + bias.unsqueeze(2)).reshape(x.shape)


def _coefficient(values: Any, x: torch.Tensor, mode: str, axis: int) -> torch.Tensor | None:
    """Scale-layer weights shaped to broadcast: a scalar, one per channel of ``axis``, or x.shape[axis:]."""
    flat = dtypes.weights(values)
    if flat is None:
        return None
    if mode == "UNIFORM":
        return flat.reshape(())
    if mode == "CHANNEL":
        return flat.reshape(-1, *([1] * (x.dim() - axis - 1)))
    return flat.reshape(x.shape[axis:])


@register("SCALE")
def scale(layer: Any, inputs: Inputs) -> torch.Tensor:
    """(x * scale + shift) ** power; empty weights mean 1, 0 and 1."""
    x = inputs[0]
    mode, axis = layer.mode.name, layer.channel_axis
    factor = _coefficient(layer.scale, x, mode, axis)
    shift = _coefficient(layer.shift, x, mode, axis)
    power = _coefficient(layer.power, x, mode, axis)
    if mode == "CHANNEL" and axis == 1 and power is None and x.dtype == torch.float32:
        return _channel_affine(x, factor, shift)
    if factor is not None:
        y = x * factor
        if shift is not None:
            y.add_(shift)
    else:
        y = x if shift is None else x + shift
    return y if power is None else y.pow(power)


def _channel_affine(x: torch.Tensor, factor: torch.Tensor | None, shift: torch.Tensor | None) -> torch.Tensor:
    """x * factor + shift per channel of dim 1, as one fused kernel: batch norm with mean 0, variance 1, eps 0
    (its normalization factor is exactly 1, leaving x * weight + bias)."""
    channels = x.shape[1]
    weight = factor.reshape(channels) if factor is not None else None
    bias = shift.reshape(channels) if shift is not None else None
    mean, variance = torch.zeros(channels), torch.ones(channels)
    return F.batch_norm(x, mean, variance, weight, bias, False, 0.0, 0.0)


@register("LRN")
def lrn(layer: Any, inputs: Inputs) -> torch.Tensor:
    """Cross-channel LRN: x / (k + alpha / window * sum of squares over the window) ** beta."""
    return F.local_response_norm(inputs[0], layer.window_size, layer.alpha, layer.beta, layer.k)
