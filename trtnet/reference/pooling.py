"""Pooling: MAX, AVERAGE and MAX_AVERAGE_BLEND over the trailing 2 or 3 dims.

TensorRT defaults that differ from PyTorch: stride 1, and ``average_count_excludes_padding=True``. Average pooling
divides by the window's overlap with the input (excluding padding) or with the explicitly padded input; the extra
region EXPLICIT_ROUND_UP adds past the post-padding (PyTorch's ``ceil_mode``) never counts, as in PyTorch. Unlike
PyTorch's ``ceil_mode``, ROUND_UP keeps a last window that starts in the post-padding: MAX gives -inf there and
AVERAGE (counting padding) 0; TensorRT refuses exclusive-count averages whose padding reaches the window size.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from trtnet.errors import TrtnetError
from trtnet.reference import padding
from trtnet.reference.registry import Inputs, register

_MAX = {2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {2: F.avg_pool2d, 3: F.avg_pool3d}


def _max(x: torch.Tensor, window: tuple[int, ...], stride: tuple[int, ...], pad: padding.Padding) -> torch.Tensor:
    nd = len(window)
    if pad.symmetric and all(2 * p <= w for p, w in zip(pad.pre, window)):
        return _MAX[nd](x, window, stride, pad.pre)
    x = padding.pad_spatial(x, pad.pre, pad.total_post(), value=-math.inf)
    return _MAX[nd](x, window, stride)


def _average(
    x: torch.Tensor, window: tuple[int, ...], stride: tuple[int, ...], pad: padding.Padding, excludes_padding: bool
) -> torch.Tensor:
    nd = len(window)
    if not any(pad.pre) and not any(pad.total_post()):
        return _AVG[nd](x, window, stride)
    sums = _AVG[nd](padding.pad_spatial(x, pad.pre, pad.total_post()), window, stride, divisor_override=1)
    counted = torch.ones((1, 1, *x.shape[-nd:]), dtype=x.dtype)
    if not excludes_padding:
        counted = padding.pad_spatial(counted, pad.pre, pad.post, value=1.0)
        counted = padding.pad_spatial(counted, (0,) * nd, pad.ceil_extra)
    else:
        counted = padding.pad_spatial(counted, pad.pre, pad.total_post())
    counts = _AVG[nd](counted, window, stride, divisor_override=1)
    return sums / counts.reshape(counts.shape[-nd:])


@register("POOLING")
def pooling(layer: Any, inputs: Inputs) -> torch.Tensor:
    x = inputs[0]
    window, stride = tuple(layer.window_size_nd), tuple(layer.stride_nd)
    nd = len(window)
    if nd not in _MAX:
        raise TrtnetError(f"layer {layer.name!r}: {nd}-D pooling is not supported (2-D and 3-D are)")
    leading = x.shape[:-nd]
    batched = x.reshape(1, -1, *x.shape[-nd:]) if x.dim() != nd + 2 else x
    pad = padding.forward(layer, tuple(x.shape[-nd:]), window, stride)
    kind = layer.type.name  # IPoolingLayer.type is the PoolingType
    if kind == "MAX":
        y = _max(batched, window, stride, pad)
    elif kind == "AVERAGE":
        y = _average(batched, window, stride, pad, layer.average_count_excludes_padding)
    else:  # MAX_AVERAGE_BLEND
        blend = layer.blend_factor
        average = _average(batched, window, stride, pad, layer.average_count_excludes_padding)
        y = (1 - blend) * _max(batched, window, stride, pad) + blend * average
    return y if batched is x else y.reshape(*leading, *y.shape[-nd:])
