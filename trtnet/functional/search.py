"""Sorted-sequence lookups: ``searchsorted``, ``bucketize``, and ``take_along_dim`` to read the neighbours found.

``torch.searchsorted`` has no ONNX export (both exporters fail, for 1-D and per-row sequences). TensorRT has no
search layer either; trtnet uses one of two exact plans:

- **count** (``method="count"``): ``result = #{j : seq[j] < v}`` (``<=`` for ``right=True``), one compare of
  ``[..., K, 1]`` against ``[..., 1, M]`` then a cast and a SUM reduce: 6 layers, ``K * M`` booleans per row.
- **binary search** (``method="bsearch"``): ``floor(log2 M) + 1`` fixed rounds of a branchless binary search,
  each an element gather (``IGatherLayer``) of the probe plus a few elementwise layers and a select; O(K) memory.

``method="auto"`` counts when ``K * M <= 65536`` per row and searches otherwise.
"""

from __future__ import annotations

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import as_tensor, normalize_dim, prepend_ones
from trtnet.functional.dims import unsqueeze
from trtnet.functional.elementwise import add, minimum
from trtnet.functional.gathering import gather_layer
from trtnet.functional.indexing import expand, narrow
from trtnet.functional.pointwise import gt, logical_and, logical_not, lt, where
from trtnet.functional.reduce import sum as reduce_sum
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor

#: ``method="auto"`` uses compare-and-count up to this many comparisons per row (``K * M``).
COUNT_LIMIT = 65536


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``torch.take_along_dim(input, indices, dim)`` (``torch.gather`` when the shapes already agree): one element-mode
    ``IGatherLayer``; ``indices`` (int32/int64) broadcasts against ``input`` in every dim but ``dim``. ``dim=None``
    takes from the flattened input with flattened indices, as torch."""
    if not isinstance(indices, Tensor) or indices.dtype not in (dtypes.int32, dtypes.int64):
        raise TrtnetError("take_along_dim: indices must be an int32 or int64 tensor")
    if dim is None:
        from trtnet.functional.shape import flatten

        input, indices, dim = flatten(input), flatten(indices), 0
    rank = max(input.ndim, indices.ndim)
    input, indices = prepend_ones(input, rank - input.ndim), prepend_ones(indices, rank - indices.ndim)
    d = normalize_dim(dim, rank)
    x_sizes, i_sizes = list(input.static_shape), list(indices.static_shape)
    for k in range(rank):
        if k == d or x_sizes[k] == i_sizes[k]:
            continue
        if x_sizes[k] == 1:
            x_sizes[k] = i_sizes[k]
        elif i_sizes[k] == 1:
            i_sizes[k] = x_sizes[k]
        else:
            raise ShapeError(f"take_along_dim: {input.static_shape} and indices {indices.static_shape} don't broadcast in dim {k}")
    if -1 in x_sizes[:d] + x_sizes[d + 1:] or -1 in i_sizes[:d] + i_sizes[d + 1:]:
        if x_sizes != list(input.static_shape) or i_sizes != list(indices.static_shape):
            raise ShapeError("take_along_dim: broadcasting against a dynamic dim is not supported")
    input = expand(input, [-1 if k == d else s for k, s in enumerate(x_sizes)])
    indices = expand(indices, [-1 if k == d else s for k, s in enumerate(i_sizes)])
    return gather_layer("take_along_dim", input, indices, d, mode="element")


def _probe_hits(probe: Tensor, values: Tensor, right: bool) -> Tensor:
    """``probe < v`` (left) or ``probe <= v`` as ``not (probe > v)`` (right; also True for NaN v, as eager)."""
    return logical_not(gt(probe, values)) if right else lt(probe, values)


def _count(seq: Tensor, values: Tensor, right: bool) -> Tensor:
    s = unsqueeze(seq, -2)  # [..., 1, M] (a 1-D sequence: [1, M], broadcast over the values' leading dims)
    v = unsqueeze(values, -1)  # [..., K, 1]
    return reduce_sum(cast(_probe_hits(s, v, right), dtypes.int32), -1)  # [..., K, M] -> [..., K]


def _bsearch(seq: Tensor, values: Tensor, right: bool) -> Tensor:
    m = seq.static_shape[-1]
    one_d = seq.ndim == 1
    step = 1 << (m.bit_length() - 1)  # largest power of two <= M
    # round 1: the probe seq[step - 1] is a static slice (no gather), lo = step or 0
    first = narrow(seq, -1, step - 1, 1)  # [..., 1]
    if one_d:
        first = prepend_ones(first, values.ndim - 1)
    lo = where(_probe_hits(first, values, right), step, 0, dtype=dtypes.int32)
    step //= 2
    while step:
        candidate = add(lo, step)  # the answer if seq[candidate - 1] still hits
        inside = lt(candidate, m + 1)
        index = minimum(add(candidate, -1), m - 1)
        probe = gather_layer("searchsorted_probe", seq, index, 0) if one_d else gather_layer(
            "searchsorted_probe", seq, index, -1, mode="element")
        lo = where(logical_and(_probe_hits(probe, values, right), inside), candidate, lo)
        step //= 2
    return lo


def searchsorted(sorted_sequence: Tensor, input: Tensor, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None, method: str = "auto") -> Tensor:
    """``torch.searchsorted``: for each value, the number of entries of its sorted row that are ``< v`` (``<= v``
    with ``right=True`` / ``side="right"``), as int64 (int32 with ``out_int32``). Exact.

    ``sorted_sequence`` is 1-D (shared by all values) or ``[..., M]`` with ``input`` ``[..., K]`` (same leading dims).
    ``sorter`` (int indices that sort each row) is applied with an element gather first. NaN values land after
    everything (index M), as in eager; NaN inside ``sorted_sequence`` is not supported. ``method`` (trtnet only):
    ``"count"``, ``"bsearch"`` or ``"auto"`` (see the module docstring). The last dim of the sequence must be static."""
    if side is not None:
        if side not in ("left", "right"):
            raise TrtnetError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise TrtnetError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    if method not in ("auto", "count", "bsearch"):
        raise TrtnetError(f"searchsorted: method must be 'auto', 'count' or 'bsearch', got {method!r}")
    if isinstance(sorted_sequence, Tensor) and isinstance(input, (int, float)) and not isinstance(input, bool):
        if sorted_sequence.ndim != 1:
            raise ShapeError("torch.searchsorted(): input value can be a scalar only when boundaries tensor dimension "
                             f"is 1, but we got boundaries tensor dim({sorted_sequence.ndim})")
        input = as_tensor(input, dtype=sorted_sequence.dtype)  # a 0-d constant in the sequence's dtype
    if not isinstance(sorted_sequence, Tensor) or not isinstance(input, Tensor):
        raise TrtnetError("searchsorted: sorted_sequence must be a trtnet Tensor, input a Tensor or a Python number")
    if sorted_sequence.dtype is not input.dtype:
        raise TrtnetError(f"searchsorted: sorted_sequence is {sorted_sequence.dtype.name} but input is {input.dtype.name}; "
                          "cast one with .to()")
    if sorted_sequence.ndim == 0:
        raise ShapeError("searchsorted: sorted_sequence must have at least one dim")
    one_d = sorted_sequence.ndim == 1
    if not one_d:
        if input.ndim != sorted_sequence.ndim or any(
                a != b and -1 not in (a, b) for a, b in zip(sorted_sequence.static_shape[:-1], input.static_shape[:-1])):
            raise ShapeError(f"searchsorted: sorted_sequence {sorted_sequence.static_shape} and input {input.static_shape} must have "
                             "the same leading dims (or use a 1-D sorted_sequence)")
    m = sorted_sequence.static_shape[-1]
    if m == -1:
        raise ShapeError(f"searchsorted: the last dim of sorted_sequence {sorted_sequence.static_shape} must be static")
    if sorter is not None:
        if sorter.static_shape != sorted_sequence.static_shape:
            raise ShapeError(f"searchsorted: sorter {sorter.static_shape} must have sorted_sequence's shape {sorted_sequence.static_shape}")
        sorted_sequence = gather_layer("searchsorted_sorter", sorted_sequence, sorter, -1, mode="element")
    scalar = input.ndim == 0
    values = unsqueeze(input, 0) if scalar else input
    k = values.shape[-1]
    if method == "auto":
        method = "count" if k != -1 and k * m <= COUNT_LIMIT else "bsearch"
    result = (_count if method == "count" else _bsearch)(sorted_sequence, values, right)
    if not right and values.dtype.is_float:  # NaN sorts last: left search of NaN gives M, like eager
        result = where(unary("searchsorted_isnan", values, "ISNAN"), m, result)
    if scalar:
        from trtnet.functional.dims import squeeze

        result = squeeze(result, 0)
    return cast(result, dtypes.int32 if out_int32 else dtypes.int64)


def bucketize(input: Tensor, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """``torch.bucketize``: ``searchsorted(boundaries, input, right=right)`` with 1-D ``boundaries``."""
    if not isinstance(boundaries, Tensor) or boundaries.ndim != 1:
        raise ShapeError("bucketize: boundaries must be a 1-D tensor")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)

