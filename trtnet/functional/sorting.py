"""``sort`` and ``argsort`` along a static dim.

TensorRT has no sort. ``stable=False`` is one TopK of the whole row (NaN replaced by +inf first so NaN sorts last
ascending and first descending, as torch; the values are then gathered from the input). Among equal values its
order is TensorRT's. ``stable=True`` (and rows beyond the TopK limit, while ``n * n * rows <= RANK_LIMIT``) ranks
every entry exactly: ``rank[i] = #{j : x[j] before x[i]}`` with ties broken by position (one ``n x n`` comparison per
row), then an element scatter puts each position at its rank.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim
from trtnet.functional.dims import unsqueeze
from trtnet.functional.gathering import gather_layer, positions
from trtnet.functional.indexing import expand_as
from trtnet.functional.pointwise import eq, gt, logical_and, logical_not, logical_or, lt, where
from trtnet.functional.reduce import sum as reduce_sum
from trtnet.functional.scatter import scatter_layer
from trtnet.functional.shape import reshape
from trtnet.functional.topk import MAX_K, topk_layer
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor


#: Rows longer than TensorRT's TopK limit are ranked (stable) while ``n * n * rows`` stays within this.
RANK_LIMIT = 2**26


class SortResult(NamedTuple):
    """``(values, indices)`` like ``torch.return_types.sort``; indices are int64."""

    values: Tensor
    indices: Tensor


def _stable_order(x: Tensor, d: int, descending: bool) -> Tensor:
    """int32 positions of ``x`` in stable sorted order along ``d`` (NaN the largest value)."""
    xi, xj = unsqueeze(x, d + 1), unsqueeze(x, d)  # [.., n_i, 1, ..] and [.., 1, n_j, ..]
    before = gt(xj, xi) if descending else lt(xj, xi)
    same = eq(xj, xi)
    if x.dtype.is_float:
        nan_i, nan_j = unary("sort_isnan", xi, "ISNAN"), unary("sort_isnan", xj, "ISNAN")
        first, second = (nan_j, nan_i) if descending else (nan_i, nan_j)
        before = logical_or(before, logical_and(first, logical_not(second)))
        same = logical_or(same, logical_and(nan_i, nan_j))
    at = positions(x, d)
    earlier = lt(unsqueeze(at, d), unsqueeze(at, d + 1))  # [.., i, j, ..]: j < i
    ranks = cast(reduce_sum(logical_or(before, logical_and(same, earlier)), d + 1), dtypes.int32)
    return scatter_layer("sort_order", ranks, ranks, expand_as(at, ranks), d)  # ranks are a permutation


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> SortResult:
    """``torch.sort``: (values, int64 indices) along ``dim``; ``stable=True`` keeps equal values in input order."""
    if input.ndim == 0:  # as a 1-element vector (the index is computed, never a bare constant output)
        normalize_dim(dim, 1)
        values, indices = sort(reshape(input, (1,)), 0, descending, stable=stable)
        return SortResult(reshape(values, ()), reshape(indices, ()))
    d = normalize_dim(dim, input.ndim)
    n = input.static_shape[d]
    if n == -1:
        raise ShapeError(f"sort: dim {dim} of {input.static_shape} is dynamic; it must be static")
    rows = math.prod(s for k, s in enumerate(input.static_shape) if k != d and s != -1)
    if n > MAX_K and n * n * rows > RANK_LIMIT:
        raise TrtnetError(f"sort: dim {dim} has {n} entries, beyond TensorRT's TopK limit of {MAX_K}, and ranking "
                          f"them exactly takes {n} x {n} comparisons per row ({rows} rows), beyond {RANK_LIMIT}; sort "
                          "shorter rows (split the dim) or use a plugin")
    x = cast(input, dtypes.int32) if input.dtype is dtypes.bool_ else input
    if stable or n > MAX_K:
        order = _stable_order(x, d, descending)
    else:
        work = where(unary("sort_isnan", x, "ISNAN"), math.inf, x) if x.dtype.is_float else x
        order = topk_layer("sort", work, n, d, largest=descending).indices
    values = gather_layer("sort_values", input, order, d, mode="element")
    return SortResult(values, cast(order, dtypes.int64))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """``torch.argsort``: the int64 indices of ``sort``."""
    return sort(input, dim, descending, stable=stable).indices
