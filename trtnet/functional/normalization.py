"""Layer and group normalisation through ``INormalizationLayer`` (``add_normalization_v2`` when this TensorRT
has it, else the deprecated ``add_normalization``).

TensorRT computes ``(x - mean) / sqrt(var + eps) * scale + bias`` over an axes bitmask; with ``num_groups`` G > 1
the channel dim 1 is split into G groups whose statistics also span their channels. What the builder demands
(checked on TensorRT-RTX 1.7, fp32 and fp16):

- G > 1: the axes must not contain dim 1 ("reduction dimension 1 must be 0 when nbGroups != 1"); scale and bias
  are ``[1, C, 1, ...]`` for v2 (one per channel, PyTorch's affine) but ``[1, G, 1, ...]`` for the old layer (one
  per group; trtnet then applies the per-channel affine with two elementwise layers).
- G == 1 (also GroupNorm(1, C)): an ordinary normalisation over the axes given, so GroupNorm(1, C) must include
  dim 1 in its axes (with only the spatial axes it would be an instance norm).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_same_dtype, out, parameter_values
from trtnet.functional.elementwise import add, mul
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

Weight = Parameter | np.ndarray


def _affine(weight: Weight | None, default: float, count: int, dtype, arg: str) -> np.ndarray:
    if weight is None:
        return np.full((count,), default, dtype=dtype.carrier)
    values, weight_dtype = parameter_values(weight, arg)
    check_same_dtype(weight_dtype, dtype, arg)
    if values.size != count:
        raise ShapeError(f"{arg} has {values.size} values, expected {count}")
    return values


def normalization(op: str, x: Tensor, scale: np.ndarray, bias: np.ndarray, axes: int, eps: float,
                  num_groups: int = 1) -> Tensor:
    """Lower one normalisation of ``x`` over the ``axes`` bitmask. ``scale``/``bias`` are broadcastable to ``x``:
    ``(1,)*k + normalized_shape`` for layer norm, ``[1, C, 1, ...]`` (per channel) for group norm."""
    g = graph.current()
    v2 = hasattr(g.network, "add_normalization_v2")
    per_group_affine = num_groups > 1 and not v2
    if per_group_affine:  # old layer: one scale per group; apply PyTorch's per-channel affine afterwards
        shape = (1, num_groups) + (1,) * (x.ndim - 2)
        s, b = g.constant(np.ones(shape), x.dtype), g.constant(np.zeros(shape), x.dtype)
    else:
        s, b = g.constant(scale, x.dtype), g.constant(bias, x.dtype)
    add_layer = g.network.add_normalization_v2 if v2 else g.network.add_normalization
    layer = add_layer(x.itensor, s.itensor, b.itensor, axes)
    layer.epsilon = float(eps)
    layer.num_groups = int(num_groups)
    result = out(g.add(op, layer))
    if per_group_affine:
        result = add(mul(result, g.constant(scale, x.dtype)), g.constant(bias, x.dtype))
    return result


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Weight | None = None,
               bias: Weight | None = None, eps: float = 1e-5) -> Tensor:
    """``torch.nn.functional.layer_norm`` over the trailing ``normalized_shape`` dims."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(d) for d in normalized_shape)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.static_shape[input.ndim - k:]) != shape:
        raise ShapeError(f"layer_norm: normalized_shape {shape} doesn't match the trailing dims of {input.static_shape}")
    count = int(np.prod(shape))
    full = (1,) * (input.ndim - k) + shape
    scale = _affine(weight, 1.0, count, input.dtype, "weight").reshape(full)
    shift = _affine(bias, 0.0, count, input.dtype, "bias").reshape(full)
    axes = sum(1 << d for d in range(input.ndim - k, input.ndim))
    return normalization("layer_norm", input, scale, shift, axes, eps)


def group_norm(input: Tensor, num_groups: int, weight: Weight | None = None, bias: Weight | None = None,
               eps: float = 1e-5) -> Tensor:
    """``torch.nn.functional.group_norm`` on ``(N, C, *)``: statistics per sample and group of C/G channels,
    affine per channel."""
    if input.ndim < 2:
        raise ShapeError(f"group_norm expects an input of shape (N, C, *), got {input.static_shape}")
    channels = input.static_shape[1]
    if channels == -1:
        raise ShapeError("group_norm: the channel dim must be static")
    if num_groups <= 0 or channels % num_groups:
        raise TrtnetError(f"group_norm: {channels} channels are not divisible into {num_groups} groups")
    x = input
    if x.ndim == 2:  # (N, C): give TensorRT a spatial axis to reduce over
        from trtnet.functional.dims import unsqueeze

        x = unsqueeze(x, -1)
    shape = (1, channels) + (1,) * (x.ndim - 2)
    scale = _affine(weight, 1.0, channels, x.dtype, "weight").reshape(shape)
    shift = _affine(bias, 0.0, channels, x.dtype, "bias").reshape(shape)
    first = 1 if num_groups == 1 else 2
    axes = sum(1 << d for d in range(first, x.ndim))
    result = normalization("group_norm", x, scale, shift, axes, eps, num_groups)
    if input.ndim == 2:
        from trtnet.functional.dims import squeeze

        result = squeeze(result, -1)
    return result
