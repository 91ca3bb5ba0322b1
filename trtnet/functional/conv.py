"""2-D convolution (``IConvolutionLayer``) with PyTorch's arguments, incl. ``padding='same'``."""

from __future__ import annotations

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_groups, check_kernel_fits, check_window, ntuple, out, parameter_values, weights_for
from trtnet.functional.quantize import quantized_convolution
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


def conv_padding(padding: int | tuple[int, int] | str, kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """PyTorch padding -> TensorRT (pre, post). ``'same'`` puts the odd pixel after, as PyTorch does."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise TrtnetError("padding='same' is not supported for strided convolutions (as in PyTorch)")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        pre = tuple(t // 2 for t in total)
        return pre, tuple(t - p for t, p in zip(total, pre))
    if isinstance(padding, str):
        raise TrtnetError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    pad = ntuple(padding, 2, "padding")
    return pad, pad


def conv2d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv2d`` on an NCHW tensor; weight ``[K, C/groups, R, S]``."""
    kernel_values, _ = parameter_values(weight, "weight")
    if kernel_values.ndim != 4 or input.ndim != 4:
        raise ShapeError(f"conv2d wants a 4-D input and weight, got input {input.static_shape} and weight {kernel_values.shape}")
    check_groups("conv2d", groups)
    out_channels, in_per_group, kh, kw = kernel_values.shape
    if input.static_shape[1] != in_per_group * groups:
        raise ShapeError(f"conv2d: input has {input.static_shape[1]} channels but weight {kernel_values.shape} "
                         f"with groups={groups} expects {in_per_group * groups}")
    if out_channels % groups:
        raise ShapeError(f"conv2d: given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {kernel_values.shape}")
    stride, dilation = ntuple(stride, 2, "stride"), ntuple(dilation, 2, "dilation")
    check_window("conv2d", (kh, kw), stride, () if isinstance(padding, str) else ntuple(padding, 2, "padding"),
                 dilation)
    pre, post = conv_padding(padding, (kh, kw), stride, dilation)
    check_kernel_fits("conv2d", [d * (k - 1) + 1 for k, d in zip((kh, kw), dilation)],
                      [n + a + b if n > 0 else -1 for n, a, b in zip(input.static_shape[2:], pre, post)])
    g = graph.current()
    layer = quantized_convolution("conv2d", input, weight, lambda x, kernel: g.network.add_convolution_nd(
        x.itensor, out_channels, (kh, kw), kernel, weights_for(bias, input.dtype, "bias")))
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = pre, post
    return out(g.add("conv2d", layer))
