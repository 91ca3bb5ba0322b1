"""Everything one ``ISliceLayer`` does: Python indexing, ``narrow``/``split``/``chunk``/``unbind``, ``flip``
(stride -1), ``roll`` and ``repeat`` (WRAP), ``expand`` (stride 0) and ``F.pad`` (FILL / REFLECT / CLAMP / WRAP
out-of-bounds sampling).

Dynamic dims (-1) take part as in PyTorch: bounds are computed on their symbolic sizes (:mod:`bounds`) and fed to
the slice as shape tensors (:func:`trtnet.symbolic.shape_tensor`); static shapes stay folded to the layer's own
attributes. Sizes may be ints or sizes (``x.shape[i]``). Ops whose *number* of results would depend on a runtime size
(``chunk``/``unbind``/``split(int)`` of a dynamic dim) are refused with a :class:`ShapeError`.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

import numpy as np

from trtnet import dtypes, graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import bounds
from trtnet.functional._util import as_tensor, normalize_dim, out, trt
from trtnet.functional.bounds import Size
from trtnet.functional.shape import reshape_sizes
from trtnet.symbolic import SymInt
from trtnet.tensor import Tensor

_MODES = {"strict": "STRICT_BOUNDS", "fill": "FILL", "reflect": "REFLECT", "clamp": "CLAMP", "wrap": "WRAP"}


def strided_slice(op: str, x: Tensor, start: Sequence[Size], size: Sequence[Size], stride: Sequence[Size],
                  mode: str = "strict", fill: Any = None, runtime_size: Tensor | None = None) -> Tensor:
    """Lower one slice: output[i] = x[start + i * stride] per dim, out-of-bounds positions sampled per ``mode``
    (``strict``, ``fill`` with ``fill`` (default 0), ``reflect``, ``clamp``, ``wrap``).

    Entries are ints or sizes (SymInts); ``size[d] == -1`` is the runtime size of the dynamic dim ``d``.
    ``runtime_size`` (an int64 shape tensor) gives the whole output shape instead of ``size``."""
    size = list(size)
    if runtime_size is None and any(isinstance(n, int) and n == -1 for n in size):
        shape = x.shape
        for d, n in enumerate(size):
            if isinstance(n, int) and n == -1:
                if x.static_shape[d] != -1:
                    raise ShapeError(f"{op}: size -1 for static dim {d} of {x.static_shape}")
                size[d] = shape[d]
    g = graph.current()

    def static(values: Sequence[Size]) -> tuple[int, ...]:
        return tuple(v if isinstance(v, int) else 0 for v in values)

    layer = g.network.add_slice(x.itensor, static(start), static(size), static(stride))
    layer.mode = getattr(trt().SampleMode, _MODES[mode])
    if mode == "fill" and fill is not None and fill != 0:
        value = as_tensor(np.asarray(fill), dtype=x.dtype)
        layer.set_input(4, value.itensor)
    for index, values in ((1, start), (2, size), (3, stride)):
        dynamic = symbolic.shape_tensor(values)
        if dynamic is not None:
            layer.set_input(index, dynamic.itensor)
    if runtime_size is not None:
        layer.set_input(2, runtime_size.itensor)
    return out(g.add(op, layer))


def _whole(x: Tensor) -> tuple[list[Size], list[Size], list[Size]]:
    return [0] * x.ndim, list(x.static_shape), [1] * x.ndim


def _is_whole(x: Tensor, start: Sequence[Size], size: Sequence[Size], stride: Sequence[Size]) -> bool:
    def same(a: Sequence[Size], b: Sequence[Size]) -> bool:
        return all(isinstance(u, int) and isinstance(v, int) and u == v for u, v in zip(a, b))

    return all(same(a, b) for a, b in zip((start, size, stride), _whole(x)))


def _is_index(item: Any) -> bool:
    """An int or a size (``x.shape[i]``, a SymInt) used as an index."""
    return symbolic.is_size(item)


# ---- indexing -------------------------------------------------------------------------------
def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with ints or sizes (drop the dim; negative counts from the end), slices with positive steps
    (bounds clamped as Python's), ``...`` and ``None`` (a new size-1 dim), on static and dynamic dims.
    Tensor/list/bool indices (advanced indexing) are not supported."""
    items = list(index) if isinstance(index, tuple) else [index]
    for item in items:
        if isinstance(item, (Tensor, list, np.ndarray)) or isinstance(item, bool):
            raise TrtnetError(f"indexing with {type(item).__name__} (advanced indexing) is not supported; "
                              "use ints, slices, ... and None, or trtnet.functional.index_select / where")
        if not (item is None or item is Ellipsis or _is_index(item) or isinstance(item, builtins.slice)):
            raise TrtnetError(f"unsupported index {item!r} of type {type(item).__name__}")
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(item is not None and item is not Ellipsis for item in items)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for a tensor of rank {x.ndim}: {index!r}")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at:at + 1] = [builtins.slice(None)] * (x.ndim - consumed)
    else:
        items += [builtins.slice(None)] * (x.ndim - consumed)

    start, size, stride = _whole(x)
    shape = x.shape
    kept: list[int | None] = []  # per output dim: the input dim it comes from, None for a new size-1 dim
    d = 0
    for item in items:
        if item is None:
            kept.append(None)
            continue
        n = x.static_shape[d]
        if _is_index(item):
            i = bounds.as_size(item, "index")
            if isinstance(i, int) and n != -1 and not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            start[d], size[d] = bounds.from_end(i, shape[d]), 1
        else:
            if not _is_full(item):
                start[d], size[d], stride[d] = _slice_item(item, shape[d])
            kept.append(d)
        d += 1
    sliced = x if _is_whole(x, start, size, stride) else strided_slice("getitem", x, start, size, stride)
    if kept == list(range(x.ndim)):
        return sliced
    shape = sliced.shape
    return reshape_sizes("getitem", sliced, [1 if k is None else shape[k] for k in kept])


def _is_full(item: builtins.slice) -> bool:
    """``:`` (also ``::1``)."""
    return item.start is None and item.stop is None and (item.step is None or (isinstance(item.step, int)
                                                                                and item.step == 1))


def _slice_item(item: builtins.slice, n: Size) -> tuple[Size, Size, int]:
    """(start, size, stride) of ``item`` on a dim of size ``n``."""
    step = 1 if item.step is None else item.step
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool):
        raise TrtnetError(f"slice step must be an int, got {step!r}")
    if step <= 0:
        raise ValueError("step must be greater than zero")
    begin, end = (None if b is None else bounds.as_size(b, "slice bound") for b in (item.start, item.stop))
    first, count = bounds.slice_extent(n, begin, end, int(step))
    return first, count, int(step)


def narrow(x: Tensor, dim: int, start: Any, length: Any) -> Tensor:
    """``torch.narrow``: ``length`` elements of ``dim`` from ``start`` (negative counts from the end); ints or sizes,
    or a 0-dim integer tensor ``start`` read at run time."""
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    count = bounds.as_size(length, "narrow length")
    if isinstance(start, Tensor):
        if start.static_shape != () or start.dtype not in (dtypes.int32, dtypes.int64):
            raise TrtnetError(f"narrow: start must be an 0-dim integral Tensor, got {start.dtype.name} "
                              f"{start.static_shape}")
        if not (isinstance(count, int) and count == 0):  # length 0: the start is moot
            return _narrow_from_tensor(x, d, start, count)
    begin = 0 if isinstance(start, Tensor) else bounds.as_size(start, "narrow start")
    if isinstance(count, int) and count < 0:
        raise IndexError(f"narrow(): length must be non-negative, got {count}")
    if n != -1 and isinstance(begin, int) and isinstance(count, int):
        begin = begin + n if begin < 0 else begin
        if not (0 <= begin <= n and begin + count <= n):
            raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size {n}")
        if begin == 0 and count == n:
            return x
    starts, size, stride = _whole(x)
    starts[d], size[d] = bounds.from_end(begin, x.shape[d]), count
    return strided_slice("narrow", x, starts, size, stride)


def _narrow_from_tensor(x: Tensor, d: int, start: Tensor, length: Size) -> Tensor:
    """``narrow`` from a 0-dim integer tensor ``start``: a value known only at run time can't be a slice bound
    (TensorRT wants shape tensors there), so it is a gather of ``start + arange(length)`` (negative counts from
    the end)."""
    from trtnet.functional.creation import arange
    from trtnet.functional.elementwise import elementwise
    from trtnet.functional.gathering import index_select
    from trtnet.functional.unary import cast

    begin = cast(start, dtypes.int64)
    negative = elementwise("floor_divide", begin, bounds.SIGN_SCALE)  # -1 when negative, else 0
    begin = elementwise("sub", begin, elementwise("mul", negative, symbolic.scalar_tensor(x.shape[d])))
    return index_select(x, d, elementwise("add", arange(length), begin))


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.split``: pieces of ``split_size`` (the last may be smaller) or of the given sizes (ints or sizes).

    A dynamic dim splits only into given sections (the number of ``split_size`` pieces would depend on its size)."""
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    if _is_index(split_size_or_sections):
        if n == -1:
            raise ShapeError(f"split: dim {dim} of {x.static_shape} is dynamic, so the number of pieces of size "
                             f"{split_size_or_sections} is unknown while building; give the section sizes")
        step = bounds.as_size(split_size_or_sections, "split_size")
        if not isinstance(step, int):
            raise ShapeError("split: split_size must be an int when splitting a static dim")
        if step <= 0:
            raise ValueError(f"split_size must be positive, got {step}")
        sections: list[Size] = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sections = [bounds.as_size(s, "split section") for s in split_size_or_sections]
        static = [s for s in sections if isinstance(s, int)]
        if any(s < 0 for s in static):
            raise ShapeError(f"split: section sizes {sections} can't be negative")
        if n != -1 and len(static) == len(sections) and builtins.sum(static) != n:
            raise ShapeError(f"split: sizes {sections} don't add up to {n} (dim {dim} of {x.static_shape})")
    pieces, begin = [], 0
    for s in sections:
        starts, size, stride = _whole(x)
        starts[d], size[d] = begin, s
        whole = isinstance(s, int) and s == n
        pieces.append(x if whole else strided_slice("split", x, starts, size, stride))
        begin = begin + s
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.chunk``: pieces of ``ceil(n / chunks)`` (so possibly fewer than ``chunks``)."""
    if chunks <= 0:
        raise ValueError(f"chunk expects chunks > 0, got {chunks}")
    n = x.static_shape[normalize_dim(dim, x.ndim)]
    if n == -1:
        if chunks == 1:
            return (x,)
        raise ShapeError(f"chunk: dim {dim} of {x.static_shape} is dynamic; how many chunks torch returns (and their "
                         "sizes) depends on its runtime size. Split a static dim, or give sizes to split()")
    return split(x, max(math.ceil(n / chunks), 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.unbind``: the slices along ``dim``, with ``dim`` removed."""
    from trtnet.functional.dims import squeeze

    d = normalize_dim(dim, x.ndim)
    if x.static_shape[d] == -1:
        raise ShapeError(f"unbind: dim {dim} of {x.static_shape} is dynamic; the number of results would depend on "
                         "its runtime size")
    return tuple(squeeze(piece, d) for piece in split(x, 1, d))


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """``torch.flip``: reverse the order along ``dims`` (one slice with stride -1 on each)."""
    wanted = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    order = [normalize_dim(int(d), max(input.ndim, 1)) for d in wanted]
    for d in order:
        if order.count(d) > 1:
            raise TrtnetError(f"flip: dim {d} appears multiple times in the list of dims")
    start, size, stride = _whole(input)
    shape = input.shape
    for d in order:
        if input.static_shape[d] not in (0, 1):
            start[d], stride[d] = shape[d] - 1, -1
    if _is_whole(input, start, size, stride):
        return input
    return strided_slice("flip", input, start, size, stride)


def roll(input: Tensor, shifts: Any, dims: int | Sequence[int] | None = None) -> Tensor:
    """``torch.roll``: elements shifted along ``dims`` by ``shifts`` (ints or sizes), wrapping around (one WRAP
    slice starting at ``-shift % n``); without ``dims`` the flattened tensor is rolled and the shape restored."""
    shift_list = [shifts] if _is_index(shifts) else list(shifts)
    if dims is None:
        if len(shift_list) != 1:
            raise TrtnetError(f"roll: shifts and dimensions must align. shifts: {len(shift_list)}, dims: 0")
        from trtnet.functional.shape import flatten

        return reshape_sizes("roll", roll(flatten(input), shift_list, 0), input.shape)
    dim_list = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    if len(shift_list) != len(dim_list):
        raise TrtnetError(f"roll: shifts and dimensions must align. shifts: {len(shift_list)}, dims: {len(dim_list)}")
    start, size, stride = _whole(input)
    for shift, dim in zip(shift_list, dim_list):
        d = normalize_dim(int(dim), input.ndim)
        start[d] = start[d] - bounds.as_size(shift, "roll shift")
    shape = input.shape
    for d in range(input.ndim):
        if input.static_shape[d] != 0:
            start[d] = start[d] % shape[d]  # in [0, n): within one period of the WRAP slice
    if _is_whole(input, start, size, stride):
        return input
    return strided_slice("roll", input, start, size, stride, mode="wrap")


# ---- broadcasting copies -------------------------------------------------------------------
def _prepend_ones(op: str, x: Tensor, extra: int) -> Tensor:
    return reshape_sizes(op, x, [1] * extra + list(x.shape)) if extra else x


def expand(x: Tensor, sizes: Sequence[Any]) -> Tensor:
    """``Tensor.expand``: size-1 dims repeated (stride 0); -1 keeps a dim; new dims go in front. Sizes are ints or
    sizes (``other.shape[i]``); a dynamic dim broadcasts when its runtime size is 1."""
    targets = [bounds.as_size(s, "expand size") for s in sizes]
    if len(targets) < x.ndim:
        raise ShapeError(f"expand: the number of sizes provided ({len(targets)}) must be greater or equal to the "
                         f"number of dimensions in the tensor ({x.ndim})")
    extra = len(targets) - x.ndim
    if any(isinstance(s, int) and s < 0 for s in targets[:extra]):
        raise ShapeError(f"expand {tuple(sizes)}: -1 is not allowed for the new leading dims")
    x = _prepend_ones("expand", x, extra)
    shape = x.shape
    target: list[Size] = []
    stride: list[Size] = []
    for d, (n, s) in enumerate(zip(x.static_shape, targets)):
        if isinstance(s, int) and s < -1:
            raise ShapeError(f"expand: the expanded size {s} isn't allowed (dim {d})")
        if (isinstance(s, int) and (s == -1 or s == n)) or (isinstance(s, SymInt) and s.same(shape[d])):
            target.append(n)
            stride.append(1)
        elif n == 1:
            target.append(s)
            stride.append(0)
        elif n == -1:  # 1 where the runtime size is 1 (broadcast), else a copy
            target.append(s)
            stride.append(bounds.minimum(shape[d] - 1, 1))
        elif not isinstance(s, int):  # a static dim > 1 keeps its size (torch requires s == n)
            target.append(n)
            stride.append(1)
        else:
            raise ShapeError(f"expand: the expanded size of the tensor ({s}) must match the existing size ({n}) at "
                             f"non-singleton dimension {d}. Target sizes: {tuple(sizes)}. Tensor sizes: "
                             f"{x.static_shape}")
    if all(isinstance(s, int) and s == 1 for s in stride):
        return x
    return strided_slice("expand", x, [0] * x.ndim, target, stride)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """``Tensor.expand_as``: ``x`` broadcast to ``other``'s shape, read at run time where ``other`` has
    dynamic dims."""
    if other.ndim < x.ndim:
        raise ShapeError(f"expand_as: {x.static_shape} has more dims than {other.static_shape}")
    return expand(x, other.shape)


def repeat(x: Tensor, repeats: Sequence[Any]) -> Tensor:
    """``Tensor.repeat``: tile ``x`` (one WRAP slice); extra repeats add leading dims; repeats are ints or sizes."""
    counts = [bounds.as_size(r, "repeats") for r in repeats]
    if len(counts) < x.ndim:
        raise ShapeError(f"repeat: number of dimensions of repeat dims ({len(counts)}) can not be smaller than number "
                         f"of dimensions of tensor ({x.ndim})")
    if any(isinstance(r, int) and r < 0 for r in counts):
        raise ShapeError(f"repeat: repeats {tuple(repeats)} can't be negative (torch: trying to create a tensor "
                         "with negative dimension)")
    x = _prepend_ones("repeat", x, len(counts) - x.ndim)
    if all(isinstance(r, int) and r == 1 for r in counts):
        return x
    shape = x.shape
    target = [x.static_shape[d] if isinstance(r, int) and r == 1 else shape[d] * r for d, r in enumerate(counts)]
    return strided_slice("repeat", x, [0] * x.ndim, target, [1] * x.ndim, mode="wrap")


# ---- padding ----------------------------------------------------------------------------------
_PAD_MODES = {"constant": "fill", "reflect": "reflect", "replicate": "clamp", "circular": "wrap"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` = (left, right) pairs from the last dim backwards; negative
    values crop. Modes ``constant`` (with ``value``), ``reflect``, ``replicate``, ``circular``."""
    if mode not in _PAD_MODES:
        raise TrtnetError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad: {len(pad)} values for a tensor of rank {input.ndim}; give (left, right) pairs")
    if mode != "constant":
        if value not in (None, 0):
            raise TrtnetError(f"pad: value is only used by mode='constant', not {mode!r}")
        dims = len(pad) // 2
        if not 2 <= input.ndim <= 5 or dims not in (input.ndim - 2, input.ndim - 1) or not 1 <= dims <= 3:
            raise ShapeError(f"pad: mode={mode!r} pads the last 1-3 dims of a 2-D to 5-D input, leaving the batch "
                             f"and channel dims (as PyTorch); got {dims} dims to pad for input {input.static_shape}")
    starts, size, stride = _whole(input)
    shape = input.shape
    for k in range(len(pad) // 2):
        d = input.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = input.static_shape[d]
        if n == -1:
            if (before or after) and mode in ("reflect", "circular"):
                raise ShapeError(f"pad: mode={mode!r} on dynamic dim {d} of {input.static_shape}: whether the padding "
                                 "fits depends on its runtime size; only 'constant' and 'replicate' pad dynamic dims")
            starts[d], size[d] = -before, shape[d] + before + after if before or after else -1
            continue
        if mode == "reflect" and (before >= n or after >= n):
            raise ShapeError(f"pad: reflect padding ({before}, {after}) must be smaller than dim {d} of size {n}")
        if n + before + after < 0:
            raise ShapeError(f"pad: ({before}, {after}) leaves a negative size for dim {d} of size {n}")
        if mode == "circular":
            kept = n + min(before, 0) + min(after, 0)
            if max(before, after) > kept:
                raise ShapeError(f"pad: circular padding ({before}, {after}) can't exceed dim {d} of size {n} "
                                 f"(after cropping: {kept}); it would wrap around more than once")
        starts[d], size[d] = -before, n + before + after
    if _is_whole(input, starts, size, stride):
        return input
    if mode == "circular" and any(p < 0 for p in pad) and any(p > 0 for p in pad):
        return _crop_then_wrap(input, pad)
    return strided_slice("pad", input, starts, size, stride, mode=_PAD_MODES[mode],
                         fill=0.0 if value is None else value)


def _crop_then_wrap(x: Tensor, pad: Sequence[int]) -> Tensor:
    """Circular padding with some negative pads as PyTorch does it: crop first, then wrap around what is left."""
    crop_starts, crop_size, stride = _whole(x)
    for k in range(len(pad) // 2):
        d, before, after = x.ndim - 1 - k, pad[2 * k], pad[2 * k + 1]
        crop_starts[d], crop_size[d] = max(-before, 0), x.static_shape[d] + min(before, 0) + min(after, 0)
    cropped = strided_slice("pad", x, crop_starts, crop_size, stride)
    starts, size, stride = _whole(cropped)
    for k in range(len(pad) // 2):
        d, before, after = x.ndim - 1 - k, max(pad[2 * k], 0), max(pad[2 * k + 1], 0)
        starts[d], size[d] = -before, cropped.static_shape[d] + before + after
    return strided_slice("pad", cropped, starts, size, stride, mode="wrap")
