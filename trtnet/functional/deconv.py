"""2-D transposed convolution (``IDeconvolutionLayer``) with PyTorch's arguments.

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

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import (as_tensor, check_groups, check_same_dtype, check_window, ntuple, out,
                                     parameter_values, weights_for)
from trtnet.functional.elementwise import add
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


def conv_transpose2d(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int] = 1) -> Tensor:
    """``torch.nn.functional.conv_transpose2d`` on NCHW; weight ``[C_in, C_out/groups, kh, kw]``."""
    kernel_values, _ = parameter_values(weight, "weight")
    if kernel_values.ndim != 4 or input.ndim != 4:
        raise ShapeError(f"conv_transpose2d wants a 4-D input and weight, got input {input.static_shape} "
                         f"and weight {kernel_values.shape}")
    in_channels, out_per_group, kh, kw = kernel_values.shape
    if input.static_shape[1] != in_channels:
        raise ShapeError(f"conv_transpose2d: input has {input.static_shape[1]} channels but weight "
                         f"{kernel_values.shape} ([C_in, C_out/groups, kh, kw]) expects {in_channels}")
    check_groups("conv_transpose2d", groups)
    if in_channels % groups:
        raise TrtnetError(f"conv_transpose2d: in_channels {in_channels} is not divisible by groups {groups}")
    if isinstance(padding, str):
        raise TrtnetError(f"conv_transpose2d: padding must be an int or a pair (PyTorch has no {padding!r} here)")
    stride, dilation = ntuple(stride, 2, "stride"), ntuple(dilation, 2, "dilation")
    pad, extra = ntuple(padding, 2, "padding"), ntuple(output_padding, 2, "output_padding")
    check_window("conv_transpose2d", (kh, kw), stride, pad, dilation)
    if any(e < 0 for e in extra):
        raise TrtnetError(f"conv_transpose2d: negative output_padding is not supported, got output_padding={extra}")
    for p, s, d in zip(extra, stride, dilation):
        if not 0 <= p < max(s, d):
            raise TrtnetError(f"conv_transpose2d: output_padding {extra} must be smaller than either "
                              f"stride {stride} or dilation {dilation}")
    post = tuple(p - e for p, e in zip(pad, extra))
    fold_bias = all(p >= 0 for p in post)
    g = graph.current()
    if any(s > 1 for s in stride) and any(d > 1 for d in dilation):
        check_same_dtype(parameter_values(weight, "weight")[1], input.dtype, "weight")
        dh, dw = dilation
        spread = np.zeros((in_channels, out_per_group, dh * (kh - 1) + 1, dw * (kw - 1) + 1), kernel_values.dtype)
        spread[:, :, ::dh, ::dw] = kernel_values
        kernel, (kh, kw), dilation = g.weights(spread, input.dtype), spread.shape[2:], (1, 1)
    else:
        kernel = weights_for(weight, input.dtype, "weight")
    layer = g.network.add_deconvolution_nd(input.itensor, out_per_group * groups, (kh, kw), kernel,
                                           weights_for(bias if fold_bias else None, input.dtype, "bias"))
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = pad, tuple(max(p, 0) for p in post)
    result = out(g.add("conv_transpose2d", layer))
    if fold_bias:
        return result
    from trtnet.functional.indexing import pad as pad_op

    missing = [max(-p, 0) for p in post]
    result = pad_op(result, (0, missing[1], 0, missing[0]))
    if bias is not None:
        bias_values, bias_dtype = parameter_values(bias, "bias")
        check_same_dtype(bias_dtype, input.dtype, "bias")
        result = add(result, as_tensor(bias_values.reshape(1, -1, 1, 1), like=result))
    return result
