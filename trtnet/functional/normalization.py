"""Layer, group and instance normalisation through ``INormalizationLayer`` (``add_normalization_v2`` when this TensorRT
has it, else the deprecated ``add_normalization``).

TensorRT computes ``(x - mean) / sqrt(var + eps) * scale + bias`` over an axes bitmask; with ``num_groups`` G > 1
the channel dim 1 is split into G groups whose statistics also span their channels. What the builder demands
(checked on TensorRT-RTX 1.7, fp32 and fp16):

- G > 1: the axes must not contain dim 1 ("reduction dimension 1 must be 0 when nbGroups != 1"); scale and bias
  are ``[1, C, 1, ...]`` for v2 (one per channel, PyTorch's affine) but ``[1, G, 1, ...]`` for the old layer (one
  per group; trtnet then applies the per-channel affine with two elementwise layers).
- G == 1 (also GroupNorm(1, C)): an ordinary normalisation over the axes given, so GroupNorm(1, C) must include
  dim 1 in its axes (with only the spatial axes it would be an instance norm).

``rms_norm`` is composed (mean of squares, rsqrt, products): the layer always subtracts the mean.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_same_dtype, out, parameter_values
from trtnet.functional.elementwise import add, mul
from trtnet.functional.norm import batch_norm
from trtnet.functional.pointwise import rsqrt
from trtnet.functional.reduce import mean
from trtnet.functional.unary import cast
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


def instance_norm(input: Tensor, running_mean: Weight | None = None, running_var: Weight | None = None,
                  weight: Weight | None = None, bias: Weight | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``torch.nn.functional.instance_norm`` on ``(N, C, *)``: statistics per sample and channel over the spatial
    dims, affine per channel. ``use_input_stats=False`` normalises with the running statistics instead (what
    ``InstanceNorm*d(track_running_stats=True)`` does in eval): a batch norm. ``momentum`` only updates running
    statistics, which inference never does."""
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise TrtnetError("instance_norm: Expected running_mean and running_var to be defined when "
                              "use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, eps=eps)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm expects an input of shape (N, C, *) with spatial dims, got "
                         f"{input.static_shape}")
    channels = input.static_shape[1]
    if channels == -1:
        raise ShapeError("instance_norm: the channel dim must be static")
    spatial = input.static_shape[2:]
    if -1 not in spatial and int(np.prod(spatial)) == 1:
        raise ShapeError(f"Expected more than 1 spatial element when training, got input size {list(input.static_shape)}")
    shape = (1, channels) + (1,) * (input.ndim - 2)
    scale = _affine(weight, 1.0, channels, input.dtype, "weight").reshape(shape)
    shift = _affine(bias, 0.0, channels, input.dtype, "bias").reshape(shape)
    axes = sum(1 << d for d in range(2, input.ndim))
    return normalization("instance_norm", input, scale, shift, axes, eps)


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Weight | None = None,
             eps: float | None = None) -> Tensor:
    """``torch.nn.functional.rms_norm``: ``x * rsqrt(mean(x**2) + eps) * weight`` over the trailing
    ``normalized_shape`` dims, as torch computes it: in float32 for fp16/bf16 inputs (rounded back before the
    weight), ``eps=None`` meaning float32's machine epsilon (torch's for every dtype trtnet has)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(d) for d in normalized_shape)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.static_shape[input.ndim - k:]) != shape:
        raise ShapeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                         f"{', '.join(map(str, shape))}], but got input of size {list(input.static_shape)}")
    if not input.dtype.is_float:
        raise TrtnetError(f"rms_norm: expected a floating point input, got {input.dtype.name}")
    if weight is not None:
        values, weight_dtype = parameter_values(weight, "weight")
        check_same_dtype(weight_dtype, input.dtype, "weight")
        if tuple(values.shape) != shape:
            raise ShapeError(f"rms_norm: weight has shape {tuple(values.shape)}, expected {shape}")
    x = cast(input, dtypes.float32)
    eps = float(np.finfo(np.float32).eps) if eps is None else eps
    mean_square = mean(mul(x, x), list(range(input.ndim - k, input.ndim)), keepdim=True)
    result = cast(mul(x, rsqrt(add(mean_square, eps))), input.dtype)
    return result if weight is None else mul(result, weight)
