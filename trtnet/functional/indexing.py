"""Everything one ``ISliceLayer`` does: Python indexing, ``narrow``/``split``/``chunk``/``unbind``, ``expand``
(stride 0), ``repeat`` (WRAP) and ``F.pad`` (FILL / REFLECT / CLAMP / WRAP out-of-bounds sampling).

A dynamic dim (-1) may pass through untouched (whole dim, stride 1): its runtime size is fed to the slice
as a shape tensor. Slicing *within* a dynamic dim is refused with a :class:`ShapeError`.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import as_tensor, normalize_dim, out, trt
from trtnet.functional.dims import reshape_to, runtime_shape, shape_of
from trtnet.tensor import Tensor

_MODES = {"strict": "STRICT_BOUNDS", "fill": "FILL", "reflect": "REFLECT", "clamp": "CLAMP", "wrap": "WRAP"}


def strided_slice(op: str, x: Tensor, start: Sequence[int], size: Sequence[int], stride: Sequence[int],
                  mode: str = "strict", fill: Any = None, runtime_size: Tensor | None = None) -> Tensor:
    """Lower one slice: output[i] = x[start + i * stride] per dim, out-of-bounds positions sampled per ``mode``
    (``strict``, ``fill`` with ``fill`` (default 0), ``reflect``, ``clamp``, ``wrap``).

    ``size[d] == -1`` keeps the dynamic dim ``d`` whole (needs start 0 and stride 1), unless ``runtime_size``
    (an int64 shape tensor) gives the output size at run time."""
    for d, (n, s0, n_out, st) in enumerate(zip(x.static_shape, start, size, stride)):
        keeps_whole = n == -1 and n_out == -1 and s0 == 0 and st == 1
        if runtime_size is None and (n == -1 or n_out == -1) and not keeps_whole:
            raise ShapeError(f"{op}: dim {d} of {x.static_shape} is dynamic; it can only be kept whole")
    g = graph.current()
    static_size = [0 if n == -1 else n for n in size]
    layer = g.network.add_slice(x.itensor, tuple(start), tuple(static_size), tuple(stride))
    layer.mode = getattr(trt().SampleMode, _MODES[mode])
    if mode == "fill" and fill is not None and fill != 0:
        value = as_tensor(np.asarray(fill), dtype=x.dtype)
        layer.set_input(4, value.itensor)
    dynamic = runtime_size if runtime_size is not None else runtime_shape(x, size)
    if dynamic is not None:
        layer.set_input(2, dynamic.itensor)
    return out(g.add(op, layer))


def _whole(x: Tensor) -> tuple[list[int], list[int], list[int]]:
    return [0] * x.ndim, list(x.static_shape), [1] * x.ndim


# ---- indexing -------------------------------------------------------------------------------
def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with ints (drop the dim; negative counts from the end), slices with positive steps,
    ``...`` and ``None`` (a new size-1 dim). Tensor/list/bool indices (advanced indexing) are not supported."""
    items = list(index) if isinstance(index, tuple) else [index]
    for item in items:
        if isinstance(item, (Tensor, list, np.ndarray)) or isinstance(item, bool):
            raise TrtnetError(f"indexing with {type(item).__name__} (advanced indexing) is not supported; "
                              "use ints, slices, ... and None, or trtnet.functional.index_select / where")
        if not (item is None or item is Ellipsis or isinstance(item, (int, np.integer, builtins.slice))):
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
    dims: list[int] = []  # output shape, -1 for dynamic
    sources: list[int | None] = []  # input dim a dynamic output dim comes from
    d = 0
    for item in items:
        if item is None:
            dims.append(1)
            sources.append(None)
            continue
        n = x.static_shape[d]
        if isinstance(item, (int, np.integer)):
            i = int(item)
            if n == -1:
                raise ShapeError(f"x[{index!r}]: integer index into dynamic dim {d} of {x.static_shape}")
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dim {d} with size {n}")
            start[d], size[d] = i % n, 1
        else:
            if n == -1:
                if item != builtins.slice(None):
                    raise ShapeError(f"x[{index!r}]: dim {d} of {x.static_shape} is dynamic; only ':' is supported there")
                dims.append(-1)
                sources.append(d)
            else:
                if item.step is not None and item.step <= 0:
                    raise ValueError("step must be greater than zero")
                begin, end, step = item.indices(n)
                start[d], size[d], stride[d] = begin, len(range(begin, end, step)), step
                dims.append(size[d])
                sources.append(None)
        d += 1
    sliced = x
    if (start, size, stride) != _whole(x):
        sliced = strided_slice("getitem", x, start, size, stride)
    return reshape_to("getitem", sliced, dims, sources)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``torch.narrow``: ``length`` elements of ``dim`` from ``start`` (negative counts from the end)."""
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    if n == -1:
        raise ShapeError(f"narrow: dim {dim} of {x.static_shape} is dynamic")
    begin = start + n if start < 0 else start
    if not (0 <= begin <= n and 0 <= length and begin + length <= n):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size {n}")
    starts, size, stride = _whole(x)
    if begin == 0 and length == n:
        return x
    starts[d], size[d] = begin, length
    return strided_slice("narrow", x, starts, size, stride)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.split``: pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    if n == -1:
        raise ShapeError(f"split: dim {dim} of {x.static_shape} is dynamic")
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} don't add up to {n} (dim {dim} of {x.static_shape})")
    pieces, begin = [], 0
    for s in sizes:
        starts, size, stride = _whole(x)
        starts[d], size[d] = begin, s
        pieces.append(x if s == n else strided_slice("split", x, starts, size, stride))
        begin += s
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.chunk``: pieces of ``ceil(n / chunks)`` (so possibly fewer than ``chunks``)."""
    if chunks <= 0:
        raise ValueError(f"chunk expects chunks > 0, got {chunks}")
    n = x.static_shape[normalize_dim(dim, x.ndim)]
    if n == -1:
        raise ShapeError(f"chunk: dim {dim} of {x.static_shape} is dynamic")
    return split(x, max(math.ceil(n / chunks), 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.unbind``: the slices along ``dim``, with ``dim`` removed."""
    from trtnet.functional.dims import squeeze

    d = normalize_dim(dim, x.ndim)
    return tuple(squeeze(piece, d) for piece in split(x, 1, d))


# ---- broadcasting copies -------------------------------------------------------------------
def expand(x: Tensor, sizes: Sequence[int]) -> Tensor:
    """``Tensor.expand``: size-1 dims repeated (stride 0); -1 keeps a dim; new dims go in front."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of rank {x.ndim} ({x.static_shape})")
    extra = len(sizes) - x.ndim
    if any(s == -1 for s in sizes[:extra]):
        raise ShapeError(f"expand {tuple(sizes)}: -1 is not allowed for the new leading dims")
    if extra:
        shape = [1] * extra + list(x.static_shape)
        x = reshape_to("expand", x, shape, [i - extra if d == -1 else None for i, d in enumerate(shape)])
    target, stride = [], []
    for d, (n, s) in enumerate(zip(x.static_shape, sizes)):
        if s == -1 or s == n:
            target.append(n)
            stride.append(1)
        elif n == 1:
            target.append(s)
            stride.append(0)
        else:
            raise ShapeError(f"expand: dim {d} of {x.static_shape} has size {n}, can't expand it to {s} (only size-1 dims)")
    if stride == [1] * x.ndim:
        return x
    return strided_slice("expand", x, [0] * x.ndim, target, stride)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """``Tensor.expand_as``: ``x`` broadcast to ``other``'s shape, read at run time where ``other`` has
    dynamic dims (``x.expand(other.static_shape)`` would take their -1 for "keep the size")."""
    if -1 not in other.static_shape:
        return expand(x, other.static_shape)
    extra = other.ndim - x.ndim
    if extra < 0:
        raise ShapeError(f"expand_as: {x.static_shape} has more dims than {other.static_shape}")
    if extra:
        shape = [1] * extra + list(x.static_shape)
        x = reshape_to("expand_as", x, shape, [i - extra if d == -1 else None for i, d in enumerate(shape)])
    for d, (n, m) in enumerate(zip(x.static_shape, other.static_shape)):
        if n != 1 and n != m:
            raise ShapeError(f"expand_as: dim {d} of {x.static_shape} can't be expanded to {other.static_shape}")
    stride = [0 if n == 1 and m != 1 else 1 for n, m in zip(x.static_shape, other.static_shape)]
    return strided_slice("expand_as", x, [0] * x.ndim, list(other.static_shape), stride, runtime_size=shape_of(other))


def repeat(x: Tensor, repeats: Sequence[int]) -> Tensor:
    """``Tensor.repeat``: tile ``x`` (one WRAP slice); extra repeats add leading dims."""
    repeats = [int(r) for r in repeats]
    if len(repeats) < x.ndim:
        raise ShapeError(f"repeat: {len(repeats)} repeats for a tensor of rank {x.ndim}")
    if any(r < 0 for r in repeats):
        raise ShapeError(f"repeat: repeats {tuple(repeats)} can't be negative (torch: trying to create a tensor "
                         "with negative dimension)")
    extra = len(repeats) - x.ndim
    if extra:
        shape = [1] * extra + list(x.static_shape)
        x = reshape_to("repeat", x, shape, [i - extra if d == -1 else None for i, d in enumerate(shape)])
    if any(n == -1 and r != 1 for n, r in zip(x.static_shape, repeats)):
        raise ShapeError(f"repeat {tuple(repeats)}: a dynamic dim of {x.static_shape} can't be repeated")
    if all(r == 1 for r in repeats):
        return x
    target = [n if n == -1 else n * r for n, r in zip(x.static_shape, repeats)]
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
    for k in range(len(pad) // 2):
        d = input.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        n = input.static_shape[d]
        if (before or after) and n == -1:
            raise ShapeError(f"pad: dim {d} of {input.static_shape} is dynamic and can't be padded")
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
    if (starts, size, stride) == _whole(input):
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
