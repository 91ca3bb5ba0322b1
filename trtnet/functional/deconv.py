"""Transposed convolution (``IDeconvolutionLayer``, lowered once in :func:`transposed_convolution`) in 1-3
spatial dims with PyTorch's arguments; 1-D runs as 2-D with a unit height (``spatial.py``).

Padding, derived from the two output-size formulas (per spatial dim; I input, S stride, D dilation, K kernel):

- PyTorch: ``O = (I - 1)*S - 2P + D*(K - 1) + output_padding + 1``
- TensorRT: ``O = (I - 1)*S + D*(K - 1) + 1 - (pre + post)``, cropping the full transposed convolution.

So ``pre = P`` and ``post = P - output_padding``. TensorRT refuses negative padding, so when
``output_padding > P`` the deconvolution runs with ``post = 0`` (no bias), the missing
``output_padding - P`` rows/columns (which no input position reaches) are appended as zeros with a FILL slice,
and the bias is added afterwards.

TensorRT-RTX refuses deconvolutions that are both strided and dilated ("Strided & Dilated Deconv are currently not
supported"). A dilated kernel is the kernel with ``D - 1`` zeros between its taps, so such a layer gets that
expanded kernel (extent ``D*(K - 1) + 1``) and dilation 1: the same output, exactly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import spatial
from trtnet.functional._util import (as_tensor, check_groups, check_same_dtype, check_window, ntuple, out,
                                     parameter_values, weights_for)
from trtnet.functional.elementwise import add
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]


def transposed_convolution(op: str, input: Tensor, weight: Parameter | np.ndarray,
                           bias: Parameter | np.ndarray | None, stride: IntOrTuple, padding: IntOrTuple,
                           output_padding: IntOrTuple, groups: int, dilation: IntOrTuple) -> Tensor:
    """Lower ``torch.nn.functional.conv_transpose{1,2,3}d`` (``op``); weight ``[C_in, C_out/groups, *kernel]``."""
    kernel_values, weight_dtype = parameter_values(weight, "weight")
    nd = kernel_values.ndim - 2
    if op != f"conv_transpose{nd}d":
        raise ShapeError(f"{op} wants a {int(op[-2]) + 2}-D weight [C_in, C_out/groups, *kernel], "
                         f"got weight of size {list(kernel_values.shape)}")
    x, was_unbatched = spatial.batched(op, input, nd)
    in_channels, out_per_group, *kernel = kernel_values.shape
    if x.static_shape[1] != in_channels:
        raise ShapeError(f"{op}: input has {x.static_shape[1]} channels but weight "
                         f"{kernel_values.shape} ([C_in, C_out/groups, *kernel]) expects {in_channels}")
    check_groups(op, groups)
    if in_channels % groups:
        raise TrtnetError(f"{op}: in_channels {in_channels} is not divisible by groups {groups}")
    if isinstance(padding, str):
        raise TrtnetError(f"{op}: padding must be an int or {nd} ints (PyTorch has no {padding!r} here)")
    stride, dilation = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    pad, extra = ntuple(padding, nd, "padding"), ntuple(output_padding, nd, "output_padding")
    check_window(op, kernel, stride, pad, dilation)
    if any(e < 0 for e in extra):
        raise TrtnetError(f"{op}: negative output_padding is not supported, got output_padding={extra}")
    for p, s, d in zip(extra, stride, dilation):
        if not 0 <= p < max(s, d):
            raise TrtnetError(f"{op}: output_padding {extra} must be smaller than either "
                              f"stride {stride} or dilation {dilation}")
    post = tuple(p - e for p, e in zip(pad, extra))
    fold_bias = all(p >= 0 for p in post)
    g = graph.current()
    if any(s > 1 for s in stride) and any(d > 1 for d in dilation):
        check_same_dtype(weight_dtype, x.dtype, "weight")
        spread = np.zeros((in_channels, out_per_group, *(d * (k - 1) + 1 for k, d in zip(kernel, dilation))),
                          kernel_values.dtype)
        spread[(slice(None), slice(None), *(slice(None, None, d) for d in dilation))] = kernel_values
        kernel_weights, kernel, dilation = g.weights(spread, x.dtype), list(spread.shape[2:]), (1,) * nd
    else:
        kernel_weights = weights_for(weight, x.dtype, "weight")
    if nd == 1:
        x, kernel, stride, dilation = spatial.as_2d(x), (1, *kernel), (1, *stride), (1, *dilation)
        pad, post = (0, *pad), (0, *post)
    layer = g.network.add_deconvolution_nd(x.itensor, out_per_group * groups, tuple(kernel), kernel_weights,
                                           weights_for(bias if fold_bias else None, x.dtype, "bias"))
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = pad, tuple(max(p, 0) for p in post)
    result = out(g.add(op, layer))
    if not fold_bias:
        from trtnet.functional.indexing import pad as pad_op

        missing = [max(-p, 0) for p in reversed(post)]
        result = pad_op(result, [v for m in missing for v in (0, m)])
        if bias is not None:
            bias_values, bias_dtype = parameter_values(bias, "bias")
            check_same_dtype(bias_dtype, x.dtype, "bias")
            result = add(result, as_tensor(bias_values.reshape(1, -1, *(1,) * (result.ndim - 2)), like=result))
    return spatial.unbatched(spatial.from_2d(result) if nd == 1 else result, was_unbatched)


def conv_transpose1d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                     groups: int = 1, dilation: IntOrTuple = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose1d`` on ``(N, C, L)`` or ``(C, L)``."""
    return transposed_convolution("conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


def conv_transpose2d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                     groups: int = 1, dilation: IntOrTuple = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose2d`` on ``(N, C, H, W)`` or ``(C, H, W)``."""
    return transposed_convolution("conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


def conv_transpose3d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                     groups: int = 1, dilation: IntOrTuple = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return transposed_convolution("conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)
