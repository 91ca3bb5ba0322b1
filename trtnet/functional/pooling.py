"""Pooling (``IPoolingLayer``, lowered once in :func:`pool`) in 1-3 spatial dims with PyTorch's defaults: stride =
kernel, padding counted in averages. TensorRT's own defaults differ (stride 1, average excludes padding): every
attribute is set explicitly. 1-D runs as 2-D with a unit height (``spatial.py``).

Compositions where TensorRT's pooling has no such option: max-pool ``dilation`` (per spatial dim, one strided
slice per kernel tap, out-of-bounds positions filled with -inf, and their maximum: separable, so sum(kernel)
slices), adaptive pooling with uneven windows (torch's ``start = floor(i*in/out)``, ``end = ceil((i+1)*in/out)``:
per resized dim one gather of every window, padded to the longest by repeating its last index, then a max, a
mean, or a weighted sum where the windows' lengths differ), and ``return_indices=True`` (``maxindices.py``)."""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import indexing, spatial
from trtnet.functional._util import as_tensor, check_window, ntuple, out, trt
from trtnet.functional.elementwise import maximum, mul
from trtnet.functional.gathering import gather_layer
from trtnet.functional.maxindices import max_with_indices
from trtnet.functional.reduce import amax, mean, sum as sum_
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]


def pooled_size(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's output size (``kernel``: the dilated extent), incl. its rule that a ceil-mode window must start
    inside the input or the left padding."""
    span = size + 2 * pad - kernel
    count = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + pad:
        count -= 1
    return count


def _pads(pre: Sequence[int], post: Sequence[int]) -> list[int]:
    """``F.pad``'s (left, right) pairs from the last dim backwards."""
    return [v for b, a in zip(reversed(pre), reversed(post)) for v in (b, a)]


def pool(op: str, x: Tensor, kind: str, nd: int, kernel_size: IntOrTuple, stride: IntOrTuple | None,
         padding: IntOrTuple, ceil_mode: bool, count_include_pad: bool = True, divisor_override: int | None = None,
         dilation: IntOrTuple = 1, return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Lower max/average pooling over the last ``nd`` dims of ``(N, C, *spatial)`` or ``(C, *spatial)``.

    Ceil mode is TensorRT's EXPLICIT_ROUND_UP where that gives PyTorch's size; where PyTorch drops a last window
    starting in the padding, post padding is trimmed instead. Averages divide as PyTorch does: by the window
    clipped to the input plus ``padding``, never counting the ceil-mode overhang past it (such inputs are padded
    explicitly and TensorRT's padding is excluded), or by ``divisor_override`` (the input padded to cover every
    window whole, the mean rescaled)."""
    x, was_unbatched = _pooling_input(op, x, nd)
    kernel = ntuple(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None or stride == [] or stride == () else ntuple(stride, nd, "stride")
    pad, dilation = ntuple(padding, nd, "padding"), ntuple(dilation, nd, "dilation")
    check_window(op, kernel, stride, pad, dilation)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise TrtnetError(f"{op}: pad should be at most half of effective kernel size, but got pad={pad}, "
                          f"kernel_size={kernel}")
    extents = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    sizes = x.static_shape[2:]
    static = -1 not in sizes
    want = [pooled_size(n, e, s, p, ceil_mode) for n, e, s, p in zip(sizes, extents, stride, pad)]
    if any(w < 1 for n, w in zip(sizes, want) if n > 0):
        raise ShapeError(f"{op}: given input size {x.static_shape[1:]}, calculated output size {tuple(want)}: "
                         "output size is too small")
    if return_indices:
        if not static:
            raise ShapeError(f"{op}: return_indices=True needs static spatial dims, got input {x.static_shape}")
        positions = [np.arange(w)[:, None] * s + np.arange(k)[None, :] * d - p
                     for w, s, k, d, p in zip(want, stride, kernel, dilation, pad)]
        return tuple(spatial.unbatched(y, was_unbatched) for y in max_with_indices(op, x, positions))
    if any(d > 1 for d in dilation):
        if not static:
            raise ShapeError(f"{op}: dilation needs static spatial dims, got input {x.static_shape}")
        return spatial.unbatched(_dilated_max(op, x, kernel, stride, pad, dilation, want), was_unbatched)
    if nd == 1:
        pooled = spatial.from_2d(_pooling_layer(op, spatial.as_2d(x), kind, (1, *kernel), (1, *stride), (0, *pad),
                                                ceil_mode, count_include_pad, divisor_override, [1, *want]))
    else:
        pooled = _pooling_layer(op, x, kind, kernel, stride, pad, ceil_mode, count_include_pad, divisor_override,
                                want)
    return spatial.unbatched(pooled, was_unbatched)


def _pooling_input(op: str, x: Tensor, nd: int) -> tuple[Tensor, bool]:
    """``x`` batched, in PyTorch's words for pooling."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, but got: "
                         f"{list(x.static_shape)}")
    return spatial.batched(op, x, nd)


def _pooling_layer(op: str, x: Tensor, kind: str, kernel: tuple[int, ...], stride: tuple[int, ...],
                   pad: tuple[int, ...], ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
                   want: list[int]) -> Tensor:
    """The IPoolingLayer over the 2 or 3 spatial dims of ``x`` (see :func:`pool`)."""
    sizes = x.static_shape[2:]
    static = -1 not in sizes
    rescale = None
    if divisor_override is not None:
        if not static:
            raise ShapeError(f"{op}: divisor_override needs static spatial dims, got input {x.static_shape}")
        post = [(w - 1) * s + k - n - p for w, s, k, n, p in zip(want, stride, kernel, sizes, pad)]
        x = indexing.pad(x, _pads(pad, post))  # every window whole, inside the padded input
        pad, ceil_mode, count_include_pad = (0,) * len(kernel), False, True
        rescale = math.prod(kernel) / divisor_override
    elif kind == "AVERAGE" and count_include_pad and ceil_mode and static and any(
            (w - 1) * s + k > n + 2 * p for w, s, k, n, p in zip(want, stride, kernel, sizes, pad)):
        x = indexing.pad(x, _pads(pad, pad))  # zeros PyTorch counts; the overhang past them not
        pad, count_include_pad = (0,) * len(kernel), False
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


def _dilated_max(op: str, x: Tensor, kernel: Sequence[int], stride: Sequence[int], pad: Sequence[int],
                 dilation: Sequence[int], want: Sequence[int]) -> Tensor:
    """Dilated max pooling, one spatial dim at a time: the maximum of ``kernel`` strided slices (taps)."""
    for axis, (k, s, p, d, w) in enumerate(zip(kernel, stride, pad, dilation, want), start=2):
        taps = []
        for tap in range(k):
            start, size, step = [0] * x.ndim, list(x.static_shape), [1] * x.ndim
            start[axis], size[axis], step[axis] = tap * d - p, w, s
            taps.append(indexing.strided_slice(op, x, start, size, step, mode="fill", fill=-math.inf))
        x = functools.reduce(maximum, taps)
    return x


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.max_pool1d`` on ``(N, C, L)`` or ``(C, L)``."""
    return max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.max_pool2d`` on ``(N, C, H, W)`` or ``(C, H, W)``."""
    return max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.max_pool3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool(op: str, nd: int, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
             return_indices: bool) -> Tensor | tuple[Tensor, Tensor]:
    return pool(op, x, "MAX", nd, kernel_size, stride, padding, ceil_mode, dilation=dilation,
                return_indices=return_indices)


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """``torch.nn.functional.avg_pool1d`` on ``(N, C, L)`` or ``(C, L)`` (no ``divisor_override``, as torch)."""
    return pool("avg_pool1d", input, "AVERAGE", 1, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """``torch.nn.functional.avg_pool2d`` on ``(N, C, H, W)`` or ``(C, H, W)``."""
    return avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """``torch.nn.functional.avg_pool3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool(op: str, nd: int, x: Tensor, kernel_size, stride, padding, ceil_mode: bool, count_include_pad: bool,
              divisor_override: int | None) -> Tensor:
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise TrtnetError(f"{op}: divisor must be not zero, got divisor_override={divisor_override!r}")
    return pool(op, x, "AVERAGE", nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


# ---- adaptive pooling ------------------------------------------------------------------------------------------
def adaptive_pool(op: str, input: Tensor, kind: str, nd: int, output_size: int | Sequence[int | None],
                  return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive max/average pooling to ``output_size`` (None keeps a dim): a reduction for 1x1, one pooling layer
    when every dim divides evenly, else per resized dim a gather of its (uneven) windows and a reduction."""
    x, was_unbatched = _pooling_input(op, input, nd)
    sizes = x.static_shape[2:]
    wanted = (output_size,) * nd if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(wanted) != nd:
        raise TrtnetError(f"{op}() argument 'output_size' should contain {nd} int{'s' if nd > 1 else ''} "
                          f"(got {len(wanted)})")
    wanted = tuple(n if w is None else int(w) for w, n in zip(wanted, sizes))
    if not all(isinstance(w, int) for w in wanted):
        raise ShapeError(f"{op}: output_size {wanted} must be static ints")
    if any(w < 1 for w in wanted):
        raise ShapeError(f"{op}: output_size {wanted} must be positive (TensorRT holds no empty tensors)")
    if return_indices:
        if -1 in sizes:
            raise ShapeError(f"{op}: return_indices=True needs static spatial dims, got input {x.static_shape}")
        values, indices = max_with_indices(op, x, [_windows(n, w)[2] for n, w in zip(sizes, wanted)])
        return spatial.unbatched(values, was_unbatched), spatial.unbatched(indices, was_unbatched)
    spatial_dims = tuple(range(2, 2 + nd))
    if all(w == 1 for w in wanted):
        pooled = (amax if kind == "MAX" else mean)(x, spatial_dims, keepdim=True)
    elif -1 in sizes:
        raise ShapeError(f"{op}: output {wanted} needs static spatial dims, got input {x.static_shape}")
    elif all(n % w == 0 for n, w in zip(sizes, wanted)):
        kernel = tuple(n // w for n, w in zip(sizes, wanted))
        pooled = pool(op, x, kind, nd, kernel, kernel, 0, False)
    else:
        pooled = x
        for axis, (n, w) in enumerate(zip(sizes, wanted), start=2):
            if n != w:
                pooled = _adaptive_along(op, pooled, kind, axis, n, w)
    return spatial.unbatched(pooled, was_unbatched)


def _adaptive_along(op: str, x: Tensor, kind: str, axis: int, n: int, w: int) -> Tensor:
    """Adaptive pooling of dim ``axis`` from ``n`` to ``w`` with torch's windows."""
    lengths, longest, index = _windows(n, w)
    windows = gather_layer(op, x, as_tensor(index), axis)  # x's dims with `axis` replaced by (w, longest)
    if kind == "MAX":
        return amax(windows, axis + 1)
    if min(lengths) == longest:
        return mean(windows, axis + 1)
    weights = np.array([[1 / n_ if j < n_ else 0 for j in range(longest)] for n_ in lengths], np.float32)
    weights = weights.reshape((1,) * axis + weights.shape + (1,) * (x.ndim - axis - 1))
    return sum_(mul(windows, as_tensor(weights, like=windows)), axis + 1)


def _windows(n: int, w: int) -> tuple[list[int], int, np.ndarray]:
    """torch's adaptive windows of ``n`` positions for ``w`` outputs: lengths, the longest, and ``(w, longest)``
    input positions (each window padded by repeating its last position)."""
    starts = [i * n // w for i in range(w)]
    ends = [-(-(i + 1) * n // w) for i in range(w)]
    lengths = [e - s for s, e in zip(starts, ends)]
    longest = max(lengths)
    index = np.array([[min(s + j, e - 1) for j in range(longest)] for s, e in zip(starts, ends)], np.int32)
    return lengths, longest, index


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """``torch.nn.functional.adaptive_avg_pool1d``."""
    return adaptive_pool("adaptive_avg_pool1d", input, "AVERAGE", 1, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """``torch.nn.functional.adaptive_avg_pool2d``."""
    return adaptive_pool("adaptive_avg_pool2d", input, "AVERAGE", 2, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """``torch.nn.functional.adaptive_avg_pool3d``."""
    return adaptive_pool("adaptive_avg_pool3d", input, "AVERAGE", 3, output_size)


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.adaptive_max_pool1d``."""
    return adaptive_max_pool("adaptive_max_pool1d", input, 1, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.adaptive_max_pool2d``."""
    return adaptive_max_pool("adaptive_max_pool2d", input, 2, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``torch.nn.functional.adaptive_max_pool3d``."""
    return adaptive_max_pool("adaptive_max_pool3d", input, 3, output_size, return_indices)


def adaptive_max_pool(op: str, x: Tensor, nd: int, output_size,
                      return_indices: bool) -> Tensor | tuple[Tensor, Tensor]:
    return adaptive_pool(op, x, "MAX", nd, output_size, return_indices)
