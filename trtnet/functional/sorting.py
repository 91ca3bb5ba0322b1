"""``sort`` and ``argsort`` along a static dim of at most 3840 entries (TensorRT's TopK limit).

TensorRT has no sort. ``stable=False`` is one TopK of the whole row (NaN replaced by +inf first so NaN sorts last
ascending and first descending, as torch; the values are then gathered from the input). Among equal values its
order is TensorRT's. ``stable=True`` ranks every entry exactly: ``rank[i] = #{j : x[j] before x[i]}`` with ties broken
by position (one ``n x n`` comparison per row), then an element scatter puts each position at its rank.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim
from trtnet.functional.dims import unsqueeze
from trtnet.functional.gathering import gather_layer
from trtnet.functional.indexing import expand_as
from trtnet.functional.pointwise import eq, gt, logical_and, logical_not, logical_or, lt, where
from trtnet.functional.reduce import sum as reduce_sum
from trtnet.functional.scatter import scatter_layer
from trtnet.functional.topk import MAX_K, topk_layer
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor


class SortResult(NamedTuple):
    """``(values, indices)`` like ``torch.return_types.sort``; indices are int64."""

    values: Tensor
    indices: Tensor


def _positions(n: int, rank: int, axis: int) -> Tensor:
    shape = [1] * rank
    shape[axis] = n
    return graph.current().constant(np.arange(n, dtype=np.int32).reshape(shape), dtypes.int32)


def _stable_order(x: Tensor, d: int, descending: bool) -> Tensor:
    """int32 positions of ``x`` in stable sorted order along ``d`` (NaN the largest value)."""
    n = x.static_shape[d]
    xi, xj = unsqueeze(x, d + 1), unsqueeze(x, d)  # [.., n_i, 1, ..] and [.., 1, n_j, ..]
    before = gt(xj, xi) if descending else lt(xj, xi)
    same = eq(xj, xi)
    if x.dtype.is_float:
        nan_i, nan_j = unary("sort_isnan", xi, "ISNAN"), unary("sort_isnan", xj, "ISNAN")
        first, second = (nan_j, nan_i) if descending else (nan_i, nan_j)
        before = logical_or(before, logical_and(first, logical_not(second)))
        same = logical_or(same, logical_and(nan_i, nan_j))
    earlier = np.tril(np.ones((n, n), dtype=bool), -1)  # [i, j]: j < i
    shape = [1] * (x.ndim + 1)
    shape[d], shape[d + 1] = n, n
    earlier_tensor = graph.current().constant(earlier.reshape(shape), dtypes.bool_)
    ranks = cast(reduce_sum(logical_or(before, logical_and(same, earlier_tensor)), d + 1), dtypes.int32)
    positions = expand_as(_positions(n, x.ndim, d), ranks)
    return scatter_layer("sort_order", ranks, ranks, positions, d)  # ranks are a permutation: all overwritten


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> SortResult:
    """``torch.sort``: (values, int64 indices) along ``dim``; ``stable=True`` keeps equal values in input order."""
    if input.ndim == 0:
        normalize_dim(dim, 1)
        return SortResult(input, graph.current().constant(np.zeros((), np.int64), dtypes.int64))
    d = normalize_dim(dim, input.ndim)
    n = input.static_shape[d]
    if n == -1:
        raise ShapeError(f"sort: dim {dim} of {input.static_shape} is dynamic; it must be static")
    if n > MAX_K:
        raise TrtnetError(f"sort: dim {dim} has {n} entries, beyond TensorRT's TopK limit of {MAX_K}; sort shorter "
                          "rows (split the dim) or use a plugin")
    x = cast(input, dtypes.int32) if input.dtype is dtypes.bool_ else input
    if stable:
        order = _stable_order(x, d, descending)
    else:
        work = where(unary("sort_isnan", x, "ISNAN"), math.inf, x) if x.dtype.is_float else x
        order = topk_layer("sort", work, n, d, largest=descending).indices
    values = gather_layer("sort_values", input, order, d, mode="element")
    return SortResult(values, cast(order, dtypes.int64))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """``torch.argsort``: the int64 indices of ``sort``."""
    return sort(input, dim, descending, stable=stable).indices
