"""Convolution (``IConvolutionLayer``, lowered once in :func:`convolution`) in 1-3 spatial dims with PyTorch's
arguments, incl. ``padding='same'``/``'valid'``; 1-D runs as 2-D with a unit height (``spatial.py``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import spatial
from trtnet.functional._util import check_groups, check_kernel_fits, check_window, ntuple, out, parameter_values, weights_for
from trtnet.functional.quantize import quantized_convolution
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]


def conv_padding(padding: IntOrTuple | str, kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """PyTorch padding -> TensorRT (pre, post) per spatial dim. ``'same'`` puts the odd pixel after, as PyTorch."""
    nd = len(kernel)
    if padding == "valid":
        return (0,) * nd, (0,) * nd
    if padding == "same":
        if any(s != 1 for s in stride):
            raise TrtnetError("padding='same' is not supported for strided convolutions (as in PyTorch)")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        pre = tuple(t // 2 for t in total)
        return pre, tuple(t - p for t, p in zip(total, pre))
    if isinstance(padding, str):
        raise TrtnetError(f"Invalid padding string: {padding!r} (an int, {nd} ints, 'same' or 'valid')")
    pad = ntuple(padding, nd, "padding")
    return pad, pad


def convolution(op: str, input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None,
                stride: IntOrTuple, padding: IntOrTuple | str, dilation: IntOrTuple, groups: int) -> Tensor:
    """Lower ``torch.nn.functional.conv{1,2,3}d`` (``op``); the weight's rank gives the spatial dims."""
    kernel_values, _ = parameter_values(weight, "weight")
    nd = kernel_values.ndim - 2
    if op != f"conv{nd}d":
        raise ShapeError(f"{op} wants a {int(op[4]) + 2}-D weight [out, in/groups, *kernel], "
                         f"got weight of size {list(kernel_values.shape)}")
    x, was_unbatched = spatial.batched(op, input, nd)
    check_groups(op, groups)
    out_channels, in_per_group, *kernel = kernel_values.shape
    if x.static_shape[1] != in_per_group * groups:
        raise ShapeError(f"{op}: input has {x.static_shape[1]} channels but weight {kernel_values.shape} "
                         f"with groups={groups} expects {in_per_group * groups}")
    if out_channels % groups:
        raise ShapeError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {kernel_values.shape}")
    stride, dilation = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    check_window(op, kernel, stride, () if isinstance(padding, str) else ntuple(padding, nd, "padding"), dilation)
    pre, post = conv_padding(padding, kernel, stride, dilation)
    check_kernel_fits(op, [d * (k - 1) + 1 for k, d in zip(kernel, dilation)],
                      [n + a + b if n > 0 else -1 for n, a, b in zip(x.static_shape[2:], pre, post)])
    if nd == 1:
        x, kernel, stride, dilation = spatial.as_2d(x), (1, *kernel), (1, *stride), (1, *dilation)
        pre, post = (0, *pre), (0, *post)
    g = graph.current()
    layer = quantized_convolution(op, x, weight, lambda x, kernel_weights: g.network.add_convolution_nd(
        x.itensor, out_channels, tuple(kernel), kernel_weights, weights_for(bias, x.dtype, "bias")))
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = pre, post
    y = out(g.add(op, layer))
    return spatial.unbatched(spatial.from_2d(y) if nd == 1 else y, was_unbatched)


def conv1d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv1d`` on ``(N, C, L)`` or ``(C, L)``; weight ``[K, C/groups, k]``."""
    return convolution("conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv2d`` on ``(N, C, H, W)`` or ``(C, H, W)``; weight ``[K, C/groups, R, S]``."""
    return convolution("conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
           stride: IntOrTuple = 1, padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``; weight ``[K, C/groups, T, R, S]``."""
    return convolution("conv3d", input, weight, bias, stride, padding, dilation, groups)
