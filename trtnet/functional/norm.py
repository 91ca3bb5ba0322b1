"""Normalisation layers. BatchNorm (inference) is one ``IScaleLayer`` over the channel axis."""

from __future__ import annotations

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError
from trtnet.functional._util import check_same_dtype, out, parameter_values, trt
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

Weight = Parameter | np.ndarray


def batch_norm(input: Tensor, running_mean: Weight, running_var: Weight, weight: Weight | None = None,
               bias: Weight | None = None, eps: float = 1e-5) -> Tensor:
    """Inference BatchNorm: ``x * scale + shift`` per channel (axis 1), with
    ``scale = weight / sqrt(var + eps)`` and ``shift = bias - mean * scale`` folded in float64."""
    if input.ndim < 3:
        raise ShapeError(f"batch_norm wants an input of rank >= 3 (N, C, ...), got {input.shape}")
    mean, dtype = parameter_values(running_mean, "running_mean")
    check_same_dtype(dtype, input.dtype, "running_mean")
    var = parameter_values(running_var, "running_var")[0].astype(np.float64)
    gamma = parameter_values(weight, "weight")[0] if weight is not None else np.ones_like(var)
    beta = parameter_values(bias, "bias")[0] if bias is not None else np.zeros_like(var)
    scale = gamma.astype(np.float64) / np.sqrt(var + eps)
    shift = beta.astype(np.float64) - mean.astype(np.float64) * scale
    g = graph.current()
    layer = g.network.add_scale_nd(input.itensor, trt().ScaleMode.CHANNEL, g.weights(shift, input.dtype),
                                   g.weights(scale, input.dtype), trt().Weights(input.dtype.to_trt()), 1)
    return out(g.add("batch_norm", layer))
