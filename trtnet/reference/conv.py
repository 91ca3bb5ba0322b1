"""Convolution and deconvolution (kernel and bias as weights or as input tensors 1 and 2)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from trtnet.errors import TrtnetError
from trtnet.reference import dtypes, padding
from trtnet.reference.registry import Inputs, register

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_DECONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _kernel_and_bias(layer: Any, inputs: Inputs, kernel_shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor | None]:
    kernel = inputs[1] if len(inputs) > 1 and inputs[1] is not None else dtypes.weights(layer.kernel)
    if kernel is None:
        raise TrtnetError(f"layer {layer.name!r} has neither kernel weights nor a kernel input")
    bias = inputs[2] if len(inputs) > 2 and inputs[2] is not None else dtypes.weights(layer.bias)
    return kernel.reshape(kernel_shape), (bias.reshape(-1) if bias is not None else None)


def _spatial_attributes(layer: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    return tuple(layer.kernel_size_nd), tuple(layer.stride_nd), tuple(layer.dilation_nd)


@register("CONVOLUTION")
def convolution(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    size, stride, dilation = _spatial_attributes(layer)
    nd, groups = len(size), layer.num_groups
    kernel, bias = _kernel_and_bias(layer, inputs, (layer.num_output_maps, x.shape[-nd - 1] // groups, *size))
    extents = tuple(1 + d * (k - 1) for k, d in zip(size, dilation))
    pad = padding.forward(layer, tuple(x.shape[-nd:]), extents, stride)
    if pad.symmetric:
        return _CONV[nd](x, kernel, bias, stride, pad.pre, dilation, groups)
    x = padding.pad_spatial(x, pad.pre, pad.total_post())
    return _CONV[nd](x, kernel, bias, stride, 0, dilation, groups)


@register("DECONVOLUTION")
def deconvolution(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    size, stride, dilation = _spatial_attributes(layer)
    nd, groups = len(size), layer.num_groups
    kernel, bias = _kernel_and_bias(layer, inputs, (x.shape[-nd - 1], layer.num_output_maps // groups, *size))
    extents = tuple(1 + d * (k - 1) for k, d in zip(size, dilation))
    pre, post = padding.transposed(layer, extents, stride)
    if pre == post:
        return _DECONV[nd](x, kernel, bias, stride, pre, 0, groups, dilation)
    full = _DECONV[nd](x, kernel, bias, stride, 0, 0, groups, dilation)
    return padding.pad_spatial(full, tuple(-b for b in pre), tuple(-a for a in post))
