"""Writing into a tensor at indices: ``scatter`` and ``index_put`` (``IScatterLayer``, lowered in
:func:`scatter_layer`), and the accumulating ``scatter_add``, ``index_add`` and ``index_put(accumulate=True)``.

TensorRT's scatter writes one update per position; which of two duplicates wins is unspecified, as in torch (whose
``scatter`` and ``index_put`` with duplicate indices are undefined too). The accumulating ops must sum duplicates,
so they don't scatter: ``out[k] = input[k] + sum_i where(index[i] == k, src[i], 0)`` along the dim, a one-hot
comparison of ``[..., m, n, ...]`` per row, exact for every duplicate pattern.
"""

from __future__ import annotations

import math
from typing import Any, Sequence


from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import as_tensor, normalize_dim, out, trt
from trtnet.functional.dims import stack, unsqueeze
from trtnet.functional.elementwise import add, mul
from trtnet.functional.gathering import positions
from trtnet.functional.indexing import expand, narrow, pad
from trtnet.functional.pointwise import eq, lt, where
from trtnet.functional.reduce import prod, sum as reduce_sum
from trtnet.functional.shape import reshape
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor


def scatter_layer(op: str, data: Tensor, indices: Tensor, updates: Tensor, axis: int | None) -> Tensor:
    """Lower one scatter: ELEMENT mode along ``axis`` (``indices`` and ``updates`` of one shape, ``data``'s rank), or
    ND mode when ``axis`` is None (``indices[..., k]`` are coordinates of ``data``'s first k dims)."""
    mode = trt().ScatterMode.ND if axis is None else trt().ScatterMode.ELEMENT
    layer = graph.current().network.add_scatter(data.itensor, indices.itensor, updates.itensor, mode)
    if axis is not None:
        layer.axis = axis
    return out(graph.current().add(op, layer))


def _check_index(op: str, input: Tensor, index: Any, d: int) -> Tensor:
    if not isinstance(index, Tensor) or index.dtype is not dtypes.int64 and index.dtype is not dtypes.int32:
        raise TrtnetError(f"{op}(): Expected dtype int64 for index")
    if index.ndim != input.ndim:
        raise ShapeError(f"Index tensor must have the same number of dimensions as self tensor ({op}: input "
                         f"{input.static_shape}, index {index.static_shape})")
    for k, (n, m) in enumerate(zip(input.static_shape, index.static_shape)):
        if k != d and (m == -1 or n == -1) and m != n:
            raise ShapeError(f"{op}: dim {k} of index {index.static_shape} and input {input.static_shape} must be "
                             "equal when either is dynamic")
        if k != d and m > n:
            raise ShapeError(f"Size does not match at dimension {k} expected index {index.static_shape} to be "
                             f"smaller than self {input.static_shape} apart from dimension {d}")
    return index


def _source(op: str, input: Tensor, index: Tensor, src: Any) -> Tensor:
    """``src`` as a tensor of ``index``'s shape and ``input``'s dtype (a scalar is filled in, a larger src cut)."""
    if not isinstance(src, Tensor):
        return expand(as_tensor(src, like=index, dtype=input.dtype), list(index.static_shape))
    if src.dtype is not input.dtype:
        raise TrtnetError(f"{op}(): Expected self.dtype to be equal to src.dtype ({input.dtype.name} vs "
                          f"{src.dtype.name})")
    if src.ndim != index.ndim:
        raise ShapeError(f"{op}: src {src.static_shape} must have index's rank {index.ndim}")
    for k, (m, s) in enumerate(zip(index.static_shape, src.static_shape)):
        if m != s:  # a dynamic src dim is cut to index's static size (it must be at least as large at run time)
            if m == -1 or s != -1 and s < m:
                raise ShapeError(f"Expected index {index.static_shape} to be smaller than src {src.static_shape} "
                                 f"apart from dimension {k}")
            src = narrow(src, k, 0, m)
    return src


def _one_d(op: str, input: Tensor, index: Any, src: Any, run: Any) -> Tensor:
    """A 0-d input (with 0-d index and src, as torch allows) is handled as 1-element vectors."""
    as_vector = [reshape(t, (1,)) if isinstance(t, Tensor) and t.ndim == 0 else t for t in (input, index, src)]
    return reshape(run(*as_vector), ())


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """``torch.scatter``: ``out[..., index[i], ...] = src[i]`` along ``dim`` (``src`` a tensor or a number, or
    ``value=``). With duplicate indices the survivor is unspecified, as in torch. ``reduce="add"`` sums and
    ``"multiply"`` multiplies every update into ``input`` (duplicates included, exact)."""
    if reduce not in (None, "add", "multiply"):
        raise TrtnetError(f"reduce argument must be either add or multiply, got {reduce!r}")
    if (src is None) == (value is None):
        raise TrtnetError("scatter: give exactly one of src or value")
    src = value if src is None else src
    if input.ndim == 0:
        normalize_dim(dim, 1)
        return _one_d("scatter", input, index, src, lambda x, i, s: scatter(x, 0, i, s, reduce=reduce))
    d = normalize_dim(dim, input.ndim)
    index = _check_index("scatter", input, index, d)
    updates = _source("scatter", input, index, src)
    if reduce is not None:
        return _one_hot_reduce("scatter", input, index, updates, d, "sum" if reduce == "add" else "prod")
    return scatter_layer("scatter", input, index, updates, d)


def _one_hot_reduce(op: str, input: Tensor, index: Tensor, src: Tensor, d: int, how: str = "sum") -> Tensor:
    """``input[..., k, ...] + sum_i where(index[..., i, ...] == k, src[..., i, ...], 0)`` along ``d`` (``how="prod"``:
    times the product, 1 where no index hits); ``index`` broadcasts against ``src`` (index_add's 1-D index is
    ``[1, .., m, .., 1]``)."""
    targets = unsqueeze(positions(input, d, dtypes.int64), d)  # [1, .., 1, n, 1, ..]: n at d + 1
    hit = eq(unsqueeze(cast(index, dtypes.int64), d + 1), targets)  # [..., m, n, ...]
    neutral = 0 if how == "sum" else 1
    picked = where(hit, unsqueeze(src, d + 1), neutral)
    contribution = (reduce_sum if how == "sum" else prod)(picked, d, dtype=input.dtype)  # [..., n, ...]
    padding = []
    for k in reversed(range(input.ndim)):
        padding += [0, input.static_shape[k] - contribution.static_shape[k]] if k != d else [0, 0]
    if any(padding):
        contribution = pad(contribution, padding, value=neutral)
    return (add if how == "sum" else mul)(input, contribution)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``torch.scatter_add``: ``out[..., index[i], ...] += src[i]`` along ``dim``; duplicates sum (exactly)."""
    if input.ndim == 0:
        normalize_dim(dim, 1)
        return _one_d("scatter_add", input, index, src, lambda x, i, s: scatter_add(x, 0, i, s))
    d = normalize_dim(dim, input.ndim)
    index = _check_index("scatter_add", input, index, d)
    return _one_hot_reduce("scatter_add", input, index, _source("scatter_add", input, index, src), d)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """``torch.index_add``: ``out[..., index[i], ...] += alpha * source[..., i, ...]`` along ``dim`` with a 1-D
    ``index``; duplicates sum."""
    if not isinstance(index, Tensor) or index.dtype not in (dtypes.int32, dtypes.int64) or index.ndim > 1:
        raise TrtnetError("index_add_(): Index is supposed to be a vector of int32 or int64")
    if not isinstance(source, Tensor) or source.ndim != input.ndim:
        raise ShapeError("index_add_(): Source and destination tensors must have the same number of dimensions")
    if input.ndim == 0:
        normalize_dim(dim, 1)
        return _one_d("index_add", input, index, source, lambda x, i, s: index_add(x, 0, i, s, alpha=alpha))
    d = normalize_dim(dim, input.ndim)
    m = index.static_shape[0] if index.ndim else 1
    if source.static_shape[d] not in (m, -1):
        raise ShapeError(f"index_add_(): Number of indices ({m}) should be equal to source.size(dim) "
                         f"({source.static_shape[d]})")
    for k, (n, s) in enumerate(zip(input.static_shape, source.static_shape)):
        if k != d and n != s and -1 not in (n, s):
            raise ShapeError(f"index_add_(): source {source.static_shape} and self {input.static_shape} must match "
                             f"apart from dim {d}")
    if source.dtype is not input.dtype:
        raise TrtnetError(f"index_add_(): self ({input.dtype.name}) and source ({source.dtype.name}) must have the "
                          "same scalar type")
    if alpha != 1:
        source = mul(source, alpha)
    shape = [1] * input.ndim
    shape[d] = m
    return _one_hot_reduce("index_add", input, reshape(index, tuple(shape)), source, d)


def _broadcast_shape(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    rank = max(len(s) for s in shapes)
    result = []
    for k in range(rank):
        sizes = {s[len(s) - rank + k] for s in shapes if len(s) - rank + k >= 0} - {1}
        if len(sizes) > 1 or -1 in sizes:
            raise ShapeError(f"index_put: indices of shapes {list(shapes)} don't broadcast (static shapes needed)")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def index_put(input: Tensor, indices: Sequence[Tensor], values: Any, accumulate: bool = False) -> Tensor:
    """``torch.index_put`` (``x[i0, i1, ...] = values`` with integer index tensors for the first dims): an ND
    scatter; ``accumulate=True`` sums duplicates (exact). Negative indices count from the end."""
    indices = list(indices)
    if not indices or len(indices) > input.ndim:
        raise ShapeError(f"index_put: too many indices for tensor of dimension {input.ndim} (got {len(indices)})")
    if len(indices) == 1 and isinstance(indices[0], Tensor) and indices[0].dtype is dtypes.bool_:
        return _masked_put(input, indices[0], values, accumulate)
    for i in indices:
        if not isinstance(i, Tensor) or i.dtype not in (dtypes.int32, dtypes.int64):
            raise TrtnetError("index_put: indices must be int32/int64 tensors or one bool mask (None is not "
                              "supported; a mix of masks and integer indices neither)")
    k = len(indices)
    lead, rest = input.static_shape[:k], input.static_shape[k:]
    if -1 in lead:
        raise ShapeError(f"index_put: the indexed dims {lead} of {input.static_shape} must be static")
    batch = _broadcast_shape([i.static_shape for i in indices])
    coords = [expand(reshape(cast(i, dtypes.int64), (1,) * (len(batch) - i.ndim) + i.static_shape), list(batch))
              for i in indices]
    coords = [where(lt(c, 0), add(c, n), c) for c, n in zip(coords, lead)]
    if not isinstance(values, Tensor):
        values = as_tensor(values, dtype=input.dtype)
    elif values.dtype is not input.dtype:
        raise TrtnetError(f"Index put requires the source and destination dtypes match, got {input.dtype.name} for "
                          f"the destination and {values.dtype.name} for the source.")
    target = batch + rest
    values = reshape(values, (1,) * (len(target) - values.ndim) + values.static_shape)
    values = expand(values, list(target))
    if not accumulate:
        return scatter_layer("index_put", input, stack(coords, -1), values, None)
    flat = coords[0]
    for c, n in zip(coords[1:], lead[1:]):
        flat = add(mul(flat, n), c)
    count = math.prod(batch)
    rows = reshape(input, (math.prod(lead),) + rest)
    summed = index_add(rows, 0, reshape(flat, (count,)), reshape(values, (count,) + rest))
    return reshape(summed, input.static_shape)


def _masked_put(input: Tensor, mask: Tensor, values: Any, accumulate: bool) -> Tensor:
    """``x[mask] = values`` for a bool mask over the first ``mask.ndim`` dims: the i-th True position takes row i of
    ``values`` (found by a cumulative sum of the mask and a gather), or ``values`` broadcast; a select writes them."""
    from trtnet.functional.cumulative import cumsum
    from trtnet.functional.elementwise import maximum, sub
    from trtnet.functional.gathering import gather_layer

    k = mask.ndim
    lead, rest = input.static_shape[:k], input.static_shape[k:]
    if mask.static_shape != lead or -1 in lead:
        raise ShapeError(f"index_put: the mask {mask.static_shape} must have the static shape of the leading dims "
                         f"{lead} of {input.static_shape}")
    if not isinstance(values, Tensor):
        values = as_tensor(values, dtype=input.dtype)
    elif values.dtype is not input.dtype:
        raise TrtnetError(f"Index put requires the source and destination dtypes match, got {input.dtype.name} for "
                          f"the destination and {values.dtype.name} for the source.")
    if values.ndim > len(rest) and values.static_shape[0] not in (1,):  # one row per True position
        flat_mask = reshape(mask, (math.prod(lead),))
        rows = maximum(sub(cumsum(flat_mask, 0), 1), 0)  # row of values for each position (clamped where False)
        picked = gather_layer("index_put_rows", values, rows, 0)  # [P, rest]
        values = reshape(picked, lead + tuple(picked.static_shape[1:]))
    else:
        values = reshape(values, (1,) * (k + len(rest) - values.ndim) + values.static_shape) if values.ndim else values
    wide_mask = reshape(mask, lead + (1,) * len(rest))
    return where(wide_mask, add(input, values) if accumulate else values, input)
