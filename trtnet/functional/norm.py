"""Normalisation layers. BatchNorm (inference) is one ``IScaleLayer`` over the channel axis."""

from __future__ import annotations

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_same_dtype, out, parameter_values, trt
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

Weight = Parameter | np.ndarray


def batch_norm(input: Tensor, running_mean: Weight, running_var: Weight, weight: Weight | None = None,
               bias: Weight | None = None, training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5) -> Tensor:
    """``torch.nn.functional.batch_norm`` in inference (``training=False``; ``momentum`` only updates running
    statistics in training, so it is unused): ``x * scale + shift`` per channel (axis 1), with
    ``scale = weight / sqrt(var + eps)`` and ``shift = bias - mean * scale`` folded in float64 from the
    loaded values and rounded once to the input's dtype."""
    if training:
        raise TrtnetError("batch_norm: training=True normalises with batch statistics; TensorRT builds inference "
                          "engines, so trtnet uses the running statistics (training=False)")
    if input.static_shape == (0,):  # torch's channels of a 1-D input are dim 1's: none, so nothing to normalise
        return input
    if input.ndim < 2:
        raise ShapeError(f"batch_norm wants an input of rank >= 2 (N, C, ...), got {input.static_shape}")
    check_same_dtype(parameter_values(running_mean, "running_mean")[1], input.dtype, "running_mean")
    mean, var = _loaded(running_mean, "running_mean"), _loaded(running_var, "running_var")
    channels = input.static_shape[1]
    for arg, values in (("running_mean", mean), ("running_var", var)):
        if values.size != channels:
            raise ShapeError(f"{arg} should contain {channels} elements not {values.size}")
    gamma = _loaded(weight, "weight") if weight is not None else np.ones_like(var)
    beta = _loaded(bias, "bias") if bias is not None else np.zeros_like(var)
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    g = graph.current()
    layer = g.network.add_scale_nd(input.itensor, trt().ScaleMode.CHANNEL, g.weights(shift, input.dtype),
                                   g.weights(scale, input.dtype), trt().Weights(input.dtype.to_trt()), 1)
    return out(g.add("batch_norm", layer))


def _loaded(value: Weight, arg: str) -> np.ndarray:
    """float64 values as loaded: a half-precision model folds from the source and rounds only the result
    (folding already-rounded parameters loses accuracy, badly where ``bias - mean * scale`` cancels)."""
    values = parameter_values(value, arg)[0]
    if isinstance(value, Parameter):
        values = np.reshape(value.source, value.shape)
    return np.asarray(values, dtype=np.float64)
