"""Inclusive scans TensorRT has no layer for: ``cumprod``, ``cummax``, ``cummin``.

TensorRT's ``ICumulativeLayer`` only sums. These ops are Hillis–Steele log-step scans: for k = 1, 2, 4, ... < n,

    y = op(y, shift_k(y))        shift_k: one ISliceLayer, start -k on the scan dim, SampleMode.FILL with op's identity
                                 op:      one IElementWiseLayer (PROD / MAX / MIN)

i.e. ``2 * ceil(log2 n)`` layers and O(n) memory per round, no n x n intermediate. The scan dim must be static;
other dims may be dynamic. Indices (cummax/cummin) are a second MAX scan over ``where(x == values, iota, -1)``:
the latest position holding the running extreme, which is PyTorch's tie rule. None of these ops exists in ONNX
(``torch.onnx.export`` fails on them with both exporters; see ``docs/onnx-cannot-export.md``).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError
from trtnet.functional._util import normalize_dim
from trtnet.functional.cumulative import cumulative
from trtnet.functional.elementwise import elementwise
from trtnet.functional.indexing import strided_slice
from trtnet.functional.pointwise import eq, gt, logical_or, where
from trtnet.functional.shape import reshape
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor

_INT_RANGE = {dtypes.int8: (-(2**7), 2**7 - 1), dtypes.int32: (-(2**31), 2**31 - 1),
              dtypes.int64: (-(2**63), 2**63 - 1), dtypes.uint8: (0, 255)}


class CumResult(NamedTuple):
    """``(values, indices)`` like ``torch.return_types.cummax``; indices are int64."""

    values: Tensor
    indices: Tensor


def _lowest(dtype: dtypes.DType) -> Any:
    return -math.inf if dtype.is_float else _INT_RANGE[dtype][0]


def _highest(dtype: dtypes.DType) -> Any:
    return math.inf if dtype.is_float else _INT_RANGE[dtype][1]


def _scan_dim(op: str, x: Tensor, dim: int) -> int:
    d = normalize_dim(dim, x.ndim)
    if x.static_shape[d] == -1:
        raise ShapeError(f"{op}: the scan dim {dim} of {x.static_shape} is dynamic; it must be static (other dims may be dynamic)")
    return d


def inclusive_scan(op: str, x: Tensor, dim: int, operation: str, identity: Any) -> Tensor:
    """``ceil(log2 n)`` rounds of ``x = operation(x, shift(x, 2^r))`` along ``dim`` (static size n); ``operation`` is an
    associative :func:`elementwise` op (``mul``, ``maximum``, ``minimum``) and ``identity`` its neutral element,
    used as the slice's fill value."""
    d = _scan_dim(op, x, dim)
    n = x.static_shape[d]
    k = 1
    while k < n:
        start = [0] * x.ndim
        start[d] = -k
        shifted = strided_slice(f"{op}_shift", x, start, list(x.static_shape), [1] * x.ndim, mode="fill", fill=identity)
        x = elementwise(operation, x, shifted)
        k *= 2
    return x


def _rank0(fn: Callable[[Tensor, int], Any], x: Tensor, dim: int) -> Any:
    """Run a scan on a rank-0 tensor as on shape ``(1,)`` (PyTorch allows dim 0 / -1 there)."""
    normalize_dim(dim, 1)
    result = fn(reshape(x, (1,)), 0)
    if isinstance(result, tuple):
        return type(result)(*(reshape(t, ()) for t in result))
    return reshape(result, ())


def cumprod(input: Tensor, dim: int, *, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.cumprod``: a PROD scan with fill 1 (``2 * ceil(log2 n)`` slice + elementwise layers).

    Bool and integer inputs are multiplied in int64 (PyTorch's promotion) unless ``dtype`` is given. No log/exp:
    zeros, negatives, inf and NaN behave as in eager; float rounding differs slightly because the product is
    re-associated (relative error ~1e-6 in float32)."""
    if dtype is not None:
        input = cast(input, dtype)
    elif not input.dtype.is_float:
        input = cast(input, dtypes.int64)
    if input.ndim == 0:
        return _rank0(lambda t, d: cumprod(t, d), input, dim)
    return inclusive_scan("cumprod", input, dim, "mul", 1)


def _iota(x: Tensor, d: int) -> Tensor:
    """int32 ``0..n-1`` laid along dim ``d``, size 1 elsewhere (broadcasts against ``x``)."""
    shape = [1] * x.ndim
    shape[d] = x.static_shape[d]
    return graph.current().constant(np.arange(x.static_shape[d], dtype=np.int32).reshape(shape), dtypes.int32)


def _cum_extreme(op: str, x: Tensor, dim: int, largest: bool) -> CumResult:
    if x.ndim == 0:
        return _rank0(lambda t, d: _cum_extreme(op, t, d, largest), x, dim)
    d = _scan_dim(op, x, dim)
    is_bool = x.dtype is dtypes.bool_
    work = cast(x, dtypes.int32) if is_bool else x
    operation = "maximum" if largest else "minimum"
    identity = _lowest(work.dtype) if largest else _highest(work.dtype)
    if work.dtype.is_float:
        # NaN: eager keeps NaN from the first NaN on and moves the index to every later NaN. The scan itself runs
        # on NaN-free data (NaN -> identity), so TensorRT's MAX/MIN NaN rules never matter.
        isnan = unary(f"{op}_isnan", work, "ISNAN")
        seen = gt(cumulative(f"{op}_nan_seen", cast(isnan, work.dtype), d), 0.0)
        values = inclusive_scan(op, where(isnan, identity, work), d, operation, identity)
        values = where(seen, math.nan, values)
        record = logical_or(eq(work, values), isnan)
    else:
        values = inclusive_scan(op, work, d, operation, identity)
        record = eq(work, values)
    # position j is a new (or tied) running extreme: record j; the latest record so far is the index
    positions = where(record, _iota(work, d), -1)
    indices = inclusive_scan(f"{op}_index", positions, d, "maximum", -1)
    if is_bool:
        values = cast(values, dtypes.bool_)
    return CumResult(values, cast(indices, dtypes.int64))


def cummax(input: Tensor, dim: int) -> CumResult:
    """``torch.cummax`` -> ``(values, indices)``: running maximum and the **latest** index attaining it (PyTorch's
    tie rule), int64. A MAX scan (fill -inf / the dtype's minimum) for the values, a MAX scan over
    ``where(x == values, iota, -1)`` for the indices; float inputs add NaN handling (ISNAN unary, a cumulative sum,
    two selects) so NaN propagates exactly as in eager."""
    return _cum_extreme("cummax", input, dim, largest=True)


def cummin(input: Tensor, dim: int) -> CumResult:
    """``torch.cummin`` -> ``(values, indices)``: running minimum, latest index attaining it (int64). See
    :func:`cummax`."""
    return _cum_extreme("cummin", input, dim, largest=False)
