"""2-D pooling (``IPoolingLayer``) with PyTorch's defaults: stride = kernel, padding counted in averages.

TensorRT's own defaults differ (stride 1, average excludes padding): every attribute is set explicitly.
"""

from __future__ import annotations

import math

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import indexing
from trtnet.functional._util import check_window, ntuple, out, trt
from trtnet.functional.elementwise import mul
from trtnet.functional.reduce import mean
from trtnet.tensor import Tensor


def pooled_size(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's output size, incl. its rule that a ceil-mode window must start inside the input."""
    span = size + 2 * pad - kernel
    count = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + pad:
        count -= 1
    return count


def pool2d(op: str, x: Tensor, kind: str, kernel_size, stride, padding, ceil_mode: bool,
           count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Lower max/average pooling. Ceil mode is TensorRT's EXPLICIT_ROUND_UP where that gives PyTorch's
    size; where PyTorch drops a last window starting in the padding, post padding is trimmed instead.

    Averages divide as PyTorch does: by the window clipped to the input plus ``padding``, never counting the
    ceil-mode overhang past it (such inputs are padded explicitly and TensorRT's padding is excluded), or by
    ``divisor_override`` (the input padded to cover every window whole, the mean rescaled)."""
    if x.ndim != 4:
        raise ShapeError(f"{op} wants an NCHW input, got shape {x.static_shape}")
    kernel = ntuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or stride == [] else ntuple(stride, 2, "stride")
    pad = ntuple(padding, 2, "padding")
    check_window(op, kernel, stride, pad)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise TrtnetError(f"{op}: pad should be at most half of effective kernel size, but got pad={pad}, "
                          f"kernel_size={kernel}")
    static = -1 not in x.static_shape[2:]
    want = [pooled_size(n, k, s, p, ceil_mode) for n, k, s, p in zip(x.static_shape[2:], kernel, stride, pad)]
    if any(w < 1 for n, w in zip(x.static_shape[2:], want) if n > 0):
        raise ShapeError(f"{op}: given input size {x.static_shape[1:]}, calculated output size {tuple(want)}: "
                         "output size is too small")
    rescale = None
    if divisor_override is not None:
        if not static:
            raise ShapeError(f"{op}: divisor_override needs static spatial dims, got input {x.static_shape}")
        x = _cover_windows(x, want, kernel, stride, pad)
        pad, ceil_mode, count_include_pad = (0, 0), False, True
        rescale = kernel[0] * kernel[1] / divisor_override
    elif kind == "AVERAGE" and count_include_pad and ceil_mode and static and any(
            (w - 1) * s + k > n + 2 * p for w, s, k, n, p in zip(want, stride, kernel, x.static_shape[2:], pad)):
        x = indexing.pad(x, (pad[1], pad[1], pad[0], pad[0]))  # zeros PyTorch counts; the overhang past them not
        pad, count_include_pad = (0, 0), False
    layer = graph.current().network.add_pooling_nd(x.itensor, getattr(trt().PoolingType, kind), kernel)
    layer.stride_nd = stride
    layer.pre_padding = pad
    layer.post_padding = pad
    if kind == "AVERAGE":
        layer.average_count_excludes_padding = not count_include_pad
    if ceil_mode:
        sizes = x.static_shape[2:]
        round_up = [math.ceil((n + 2 * p - k) / s) + 1 for n, k, s, p in zip(sizes, kernel, stride, pad)]
        if want == round_up or not static:
            layer.padding_mode = trt().PaddingMode.EXPLICIT_ROUND_UP
        else:
            # the padding the last window needs; none where it ends inside the input (stride > kernel)
            layer.post_padding = tuple(max((w - 1) * s + k - n - p, 0)
                                       for w, s, k, n, p in zip(want, stride, kernel, sizes, pad))
    pooled = out(graph.current().add(op, layer))
    return pooled if rescale is None else mul(pooled, rescale)


def _cover_windows(x: Tensor, want: list[int], kernel: tuple[int, ...], stride: tuple[int, ...],
                   pad: tuple[int, ...]) -> Tensor:
    """``x`` zero-padded (or cropped) so that ``want`` windows tile it exactly, each one whole."""
    post = [(w - 1) * s + k - n - p for w, s, k, n, p in zip(want, stride, kernel, x.static_shape[2:], pad)]
    return indexing.pad(x, (pad[1], post[1], pad[0], post[0]))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    if ntuple(dilation, 2, "dilation") != (1, 1):
        raise TrtnetError("max_pool2d: TensorRT pooling has no dilation; only dilation=1 is supported")
    if return_indices:
        raise TrtnetError("max_pool2d: return_indices=True is not supported")
    return pool2d("max_pool2d", input, "MAX", kernel_size, stride, padding, ceil_mode)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise TrtnetError(f"avg_pool2d: divisor must be not zero, got divisor_override={divisor_override!r}")
    return pool2d("avg_pool2d", input, "AVERAGE", kernel_size, stride, padding, ceil_mode, count_include_pad,
                  divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Global average (1x1) as a reduction; other sizes as pooling when the input divides evenly."""
    sizes = input.static_shape[2:]
    wanted = ntuple(output_size, 2, "output_size") if not isinstance(output_size, tuple) else output_size
    wanted = tuple(n if w is None else w for w, n in zip(wanted, sizes))
    if wanted == (1, 1):
        return mean(input, (2, 3), keepdim=True)
    if -1 in sizes or any(n % w for n, w in zip(sizes, wanted)):
        raise TrtnetError(f"adaptive_avg_pool2d: output {wanted} from input {sizes} needs uneven windows; "
                          "only static sizes that divide evenly (or 1x1) are supported")
    kernel = tuple(n // w for n, w in zip(sizes, wanted))
    return pool2d("adaptive_avg_pool2d", input, "AVERAGE", kernel, kernel, 0, False)
