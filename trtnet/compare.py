"""Statistics of one output pair (actual vs expected) and the tolerances they are judged by.

The elementwise criterion is ``torch.allclose``'s, ``|a - e| <= atol + rtol * |e|`` at every position where both
values are finite; non-finite positions are counted apart (a non-finite value must be matched exactly: NaN where
NaN, Inf of the same sign where Inf). The verdict built on these counts (shapes, non-finite values, nothing
compared, tolerance) is :func:`trtnet.verdict.tolerance_verdict`'s.

Arithmetic is in the wider of the two dtypes and at least float32 (``np.result_type(a, e, float32)``): float32,
fp16 and bf16 tensors are compared in float32, as ``torch.allclose`` compares float32 tensors; float64 and
integers wider than 16 bits in float64 (exact). Where ``|a - e|`` would overflow float32 the comparison is redone
in float64. Cosine similarity accumulates in float64 in every case.

>>> import numpy as np
>>> c = compare("logits", np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), tolerance_for("float32"))
>>> c.passed, c.max_abs_err, c.max_abs_index
(False, 0.5, (2,))
>>> round(c.min_atol, 6)  # 0.5 - rtol * |3.0|
0.497
>>> print(c.reason.split("; ")[0])
tolerance: 1 of 3 elements (33.3%) exceed atol=0.0001 + rtol=0.001*|expected|
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from collections.abc import Sequence
from typing import Any

import numpy as np

from trtnet.errors import did_you_mean
from trtnet.verdict import tolerance_verdict

#: Denominator guard of the relative error ``|a - e| / max(|e|, TINY)``: the smallest normal number of the
#: computation dtype (float32: 1.2e-38, float64: 2.2e-308). Where the expected value is exactly 0, any error gives
#: an enormous relative error (inf once the error exceeds ~4, in either dtype) instead of a division by zero;
#: relative error means nothing there, read the abs columns.
TINY = {np.dtype(t).name: float(np.finfo(t).tiny) for t in (np.float32, np.float64)}


@dataclass(frozen=True)
class Tolerance:
    """Elementwise pass criterion ``|actual - expected| <= atol + rtol * |expected|``."""

    atol: float
    rtol: float

    def __post_init__(self) -> None:
        for name in ("atol", "rtol"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"Tolerance {name} must be a non-negative number, got {value!r}")

    def __str__(self) -> str:
        return f"atol={self.atol:g} rtol={self.rtol:g}"


# Defaults for whole-network checks (CNNs, transformers), where reduction order, kernel choice (Winograd,
# fused attention) and layer fusion make errors grow with depth:
# - float32 (TF32 off on both sides): unit roundoff 6e-8; a deep net drifts to ~1e-6..1e-5 relative, so
#   rtol 1e-3 leaves two orders of headroom, atol 1e-4 covers outputs near zero (logits are O(1..10)).
# - float16: unit roundoff 4.9e-4 (11-bit significand); activations re-rounded at every layer add up to
#   ~10-20 ulps, hence 1e-2 for both.
# - bfloat16: unit roundoff 3.9e-3 (8-bit significand), 8x coarser than float16, hence 5e-2 for both.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(atol=1e-4, rtol=1e-3),
    "float16": Tolerance(atol=1e-2, rtol=1e-2),
    "bfloat16": Tolerance(atol=5e-2, rtol=5e-2),
}
_DTYPE_ALIASES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


def tolerance_for(dtype: str, atol: float | None = None, rtol: float | None = None) -> Tolerance:
    """The default tolerance of ``dtype`` ("float16", "fp16", "torch.float16", ...); ``atol``/``rtol`` override it.

    >>> tolerance_for("fp16", rtol=0.1)
    Tolerance(atol=0.01, rtol=0.1)
    """
    if atol is not None and rtol is not None:
        return Tolerance(atol, rtol)
    key = str(dtype).removeprefix("torch.")
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DEFAULT_TOLERANCES:
        known = sorted(DEFAULT_TOLERANCES) + sorted(_DTYPE_ALIASES)
        raise ValueError(
            f"no default tolerance for dtype {dtype!r}{did_you_mean(key, known)}; "
            f"known: {', '.join(known)} (or pass both atol and rtol)"
        )
    default = DEFAULT_TOLERANCES[key]
    return Tolerance(default.atol if atol is None else atol, default.rtol if rtol is None else rtol)


@dataclass
class Comparison:
    """How one actual tensor compares with its expected value under ``tolerance``.

    Error statistics (``*_err``, ``max_abs_index``, ``cosine``, ``min_atol``, ``min_rtol``) cover the
    ``finite_compared`` positions where both sides are finite; they are None when shapes differ or no such
    position exists.
    Non-finite positions are judged on their own (``nonfinite_mismatch``): no tolerance can fix them, so
    ``min_atol``/``min_rtol`` don't account for them. ``mismatch_count`` counts failing elements of both kinds.
    ``cosine`` is 1.0 when both vectors are zero and 0.0 when only one is. Medians and p99 interpolate
    linearly between ranks (numpy's default).
    """

    name: str
    actual_shape: tuple[int, ...]
    expected_shape: tuple[int, ...]
    actual_dtype: str
    expected_dtype: str
    tolerance: Tolerance
    passed: bool
    reason: str | None = None
    actual_nan: int = 0
    actual_inf: int = 0
    expected_nan: int = 0
    expected_inf: int = 0
    nonfinite_mismatch: int | None = None
    finite_compared: int | None = None
    mismatch_count: int | None = None
    mismatch_fraction: float | None = None
    max_abs_err: float | None = None
    mean_abs_err: float | None = None
    median_abs_err: float | None = None
    p99_abs_err: float | None = None
    max_rel_err: float | None = None
    mean_rel_err: float | None = None
    median_rel_err: float | None = None
    p99_rel_err: float | None = None
    max_abs_index: tuple[int, ...] | None = None
    actual_at_max: float | None = None
    expected_at_max: float | None = None
    cosine: float | None = None
    min_atol: float | None = None
    min_rtol: float | None = None
    sqnr_db: float | None = None  # signal to noise: 10 log10(sum e^2 / sum (e - a)^2) over finite positions; inf: exact
    top1_agreement: float | None = None  # classifier-like (N, C>1): % of rows whose argmax agrees; else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe Python types (see :func:`json_safe`: a non-finite number is None) and ``infinite``: the
        names of the fields that are infinite, hence None (e.g. ``max_rel_err``, ``min_rtol`` where an expected
        value is 0 and the actual one is not)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        infinite = [name for name, v in values.items() if isinstance(v, (float, np.floating)) and math.isinf(v)]
        return {**{name: json_safe(v) for name, v in values.items()}, "infinite": infinite}


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON-safe Python: tuples become lists, numpy scalars Python numbers, a Tolerance a
    dict, and non-finite floats None (strict JSON has no NaN or Infinity; numbers stay numbers, null is "not a
    finite number": :meth:`Comparison.to_dict` names its infinite fields)."""
    if isinstance(value, Tolerance):
        return {"atol": json_safe(value.atol), "rtol": json_safe(value.rtol)}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compare(name: str, actual: Any, expected: Any, tol: Tolerance) -> Comparison:
    """Compare ``actual`` with ``expected`` (numpy arrays or torch tensors of any dtype) under ``tol``; the
    verdict (``passed``, ``reason``) is :func:`trtnet.verdict.tolerance_verdict`'s."""
    a, a_dtype = as_array(actual)
    e, e_dtype = as_array(expected)
    c = _compare(name, a, e, a_dtype, e_dtype, tol, np.result_type(a.dtype, e.dtype, np.float32))
    if a.shape == e.shape and a.size and c.finite_compared:
        c.sqnr_db, c.top1_agreement = sqnr_db(a, e), top1_agreement(a, e)
    return c


def sqnr_db(actual: np.ndarray, expected: np.ndarray) -> float:
    """Signal to quantization noise in dB, ``10 log10(sum(expected^2) / sum((expected - actual)^2))`` over the
    positions finite on both sides (float64): inf when they are equal, -inf for noise on a zero signal."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float64: inf (NaN for inf / inf: null in JSON)
        signal, noise = float(np.sum(e[finite] ** 2)), float(np.sum((e[finite] - a[finite]) ** 2))
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(10.0 * np.log10(np.float64(signal) / np.float64(noise)))


def top1_agreement(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """For classifier-like outputs (2-D ``(N, C)``, ``C > 1``): the percentage of the rows finite on both sides
    whose argmax agrees; None for other shapes or when no row is finite."""
    if actual.ndim != 2 or actual.shape[1] < 2 or not np.issubdtype(np.asarray(expected).dtype, np.floating):
        return None
    rows = np.isfinite(actual).all(axis=1) & np.isfinite(expected).all(axis=1)
    if not rows.any():
        return None
    return 100.0 * float(np.mean(np.argmax(actual[rows], axis=1) == np.argmax(expected[rows], axis=1)))


def as_array(x: Any) -> tuple[np.ndarray, str]:
    """``x`` as a numpy array without copying where possible (torch fp16/bf16 widened to float32, exactly), and the
    name of its original dtype. Doesn't import torch."""
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu()
        name = str(x.dtype).removeprefix("torch.")
        return (x.float() if name in ("float16", "bfloat16") else x).numpy(), name
    arr = np.asarray(x)
    return arr, arr.dtype.name


def _compare(name: str, a: np.ndarray, e: np.ndarray, a_dtype: str, e_dtype: str, tol: Tolerance,
             work: np.dtype) -> Comparison:
    """:func:`compare` computed in the float dtype ``work``."""
    head = dict(name=name, actual_shape=a.shape, expected_shape=e.shape, actual_dtype=a_dtype,
                expected_dtype=e_dtype, tolerance=tol)
    if a.shape != e.shape:
        return _judged(Comparison(**head, passed=False, **_nonfinite_counts(a, e)))
    a, e = a.astype(work, copy=False), e.astype(work, copy=False)
    if not a.size:
        return _judged(Comparison(**head, passed=False, nonfinite_mismatch=0, mismatch_count=0,
                                  mismatch_fraction=0.0, finite_compared=0))
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.subtract(a, e, out=np.empty(a.shape, work))
    np.abs(err, out=err)
    largest = err.max()
    if largest == 0:  # identical (as most rows of an isolated layerwise check are): every statistic is 0
        return _judged(Comparison(**head, passed=False, **_nonfinite_counts(), nonfinite_mismatch=0,
                                  finite_compared=int(a.size), mismatch_count=0, mismatch_fraction=0.0,
                                  **_identical_stats(a, e)))
    if np.isfinite(largest):  # a - e is finite only where both are: the common case, no masks needed
        counts, nonfinite_mismatch = _nonfinite_counts(), 0
        errs, av, ev = err.ravel(), a.ravel(), e.ravel()
        index = int(np.argmax(errs))
    else:
        counts = _nonfinite_counts(a, e)
        finite = np.isfinite(a) & np.isfinite(e)
        if work == np.float32 and np.isinf(err[finite]).any():  # |a - e| overflowed float32
            return _compare(name, a, e, a_dtype, e_dtype, tol, np.dtype(np.float64))
        same_nonfinite = (np.isnan(a) & np.isnan(e)) | (a == e)
        nonfinite_mismatch = int(np.count_nonzero(~finite & ~same_nonfinite))
        errs, av, ev = err[finite], a[finite], e[finite]
        index = int(np.flatnonzero(finite)[np.argmax(errs)]) if errs.size else 0
    mags = np.abs(ev)
    with np.errstate(over="ignore"):
        rtol_mags = mags * tol.rtol
        tol_mismatch = int(np.count_nonzero(errs > rtol_mags + tol.atol))
    stats = _error_stats(a, e, errs, av, ev, mags, rtol_mags, index, tol) if errs.size else {}
    mismatch = tol_mismatch + nonfinite_mismatch
    return _judged(Comparison(**head, passed=False, **counts, nonfinite_mismatch=nonfinite_mismatch,
                              finite_compared=int(errs.size), mismatch_count=mismatch,
                              mismatch_fraction=mismatch / a.size, **stats))


def _identical_stats(a: np.ndarray, e: np.ndarray) -> dict:
    """The statistics of two equal, finite arrays (what :func:`_error_stats` would compute, without the passes)."""
    zero = dict.fromkeys(("max_abs_err", "mean_abs_err", "median_abs_err", "p99_abs_err", "max_rel_err",
                          "mean_rel_err", "median_rel_err", "p99_rel_err", "min_atol", "min_rtol"), 0.0)
    return dict(zero, max_abs_index=(0,) * a.ndim, actual_at_max=float(a.flat[0]), expected_at_max=float(e.flat[0]),
                cosine=1.0)


def _judged(c: Comparison) -> Comparison:
    c.passed, c.reason = tolerance_verdict(c)
    return c


def _nonfinite_counts(a: np.ndarray | None = None, e: np.ndarray | None = None) -> dict[str, int]:
    if a is None or e is None:
        return dict(actual_nan=0, actual_inf=0, expected_nan=0, expected_inf=0)
    return dict(actual_nan=int(np.isnan(a).sum()), actual_inf=int(np.isinf(a).sum()),
                expected_nan=int(np.isnan(e).sum()), expected_inf=int(np.isinf(e).sum()))


def _error_stats(a: np.ndarray, e: np.ndarray, errs: np.ndarray, av: np.ndarray, ev: np.ndarray, mags: np.ndarray,
                 rtol_mags: np.ndarray, index: int, tol: Tolerance) -> dict:
    """The Comparison statistics over the (non-empty) set of positions where both sides are finite: ``errs`` the
    absolute errors there, ``av``/``ev`` the values, ``mags`` = ``|ev|``, ``rtol_mags`` = ``rtol * mags``, ``index``
    the flat position of the largest error. Partitions ``errs`` in place."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # rel is inf where expected is 0: documented
        rel = errs / np.maximum(mags, TINY[errs.dtype.name])
        max_rel = float(rel.max())
        max_index = tuple(int(i) for i in np.unravel_index(index, a.shape))

        over = errs > tol.atol
        if not over.any():
            min_rtol = 0.0
        elif (mags[over] == 0).any():
            min_rtol = math.inf
        else:
            min_rtol = float(np.max((errs[over] - tol.atol) / mags[over]))
        stats = dict(
            max_abs_err=float(errs.max()),
            mean_abs_err=float(errs.mean()),
            max_rel_err=max_rel,
            mean_rel_err=float(rel.mean()),
            max_abs_index=max_index,
            actual_at_max=float(a.flat[index]),
            expected_at_max=float(e.flat[index]),
            cosine=_cosine(av, ev),
            min_atol=max(0.0, float(np.max(errs - rtol_mags))),
            min_rtol=min_rtol,
        )
    stats["p99_abs_err"], stats["median_abs_err"] = _percentiles(errs, (99, 50))
    stats["p99_rel_err"], stats["median_rel_err"] = _percentiles(rel, (99, 50), higher=not math.isfinite(max_rel))
    return stats


def _percentiles(values: np.ndarray, qs: Sequence[float], higher: bool = False) -> list[float]:
    """Percentiles ``qs`` (descending) of flat non-negative ``values`` (errors): numpy's default "linear" method
    (``higher=True``: "higher", nearest-above, for values with infinities, where interpolation is NaN).

    Exact zeros are counted, not sorted (numpy's partition is ~30x slower when half the values tie, as in a
    layer that matches exactly); the positive values get one single-kth partition per percentile, each on the
    prefix the previous one left below its rank (``np.percentile`` with several q is several times slower).
    """
    n = values.size
    positive = values[values > 0]
    zeros, m = n - positive.size, positive.size
    end = stop = m  # positive[:end] is unordered; the order statistic after positive[end] lies in positive[end + 1:stop]
    result = []
    for q in qs:
        rank = q / 100 * (n - 1)
        low = int(rank)
        fraction = rank - low
        j = low - zeros  # rank among the positive values
        if j < 0:
            value = 0.0
            above = 0.0 if j + 1 < 0 or not m else float(positive.min())
        else:
            if j < end:
                positive[:end].partition(j)
                end, stop = j, min(end + 1, m)
            value = float(positive[j])
            above = float(positive[j + 1:stop].min()) if fraction else value
        if fraction:
            value = above if higher else value + (above - value) * fraction
        result.append(value)
    return result


_DOT_CHUNK = 4096


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    """``x . y`` with a float64 sum: float32 dot products of 4096-element chunks (within ~1e-7 relative of the
    float64 dot, 4x faster than widening every element), their partial sums added in float64; widened throughout
    where a float32 chunk overflows."""
    if x.dtype != np.float32:
        return float(np.einsum("i,i->", x, y, dtype=np.float64))
    whole = x.size // _DOT_CHUNK * _DOT_CHUNK
    partials = np.einsum("ij,ij->i", x[:whole].reshape(-1, _DOT_CHUNK), y[:whole].reshape(-1, _DOT_CHUNK))
    tail = np.dot(x[whole:].astype(np.float64), y[whole:].astype(np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(partials.sum(dtype=np.float64) + tail)
    return total if math.isfinite(total) else float(np.einsum("i,i->", x, y, dtype=np.float64))  # float32 overflow


def _cosine(a: np.ndarray, e: np.ndarray) -> float:
    """Cosine similarity of two flat finite vectors, accumulated in float64; 1.0 if both are zero, 0.0 if only one is."""
    if a.dtype == np.float64:  # squares of float64 values can overflow: scale first
        scale = max(np.abs(a).max(), np.abs(e).max())
        if scale == 0:
            return 1.0
        a, e = a / scale, e / scale
    dot, aa, ee = (_dot(x, y) for x, y in ((a, e), (a, a), (e, e)))
    if aa == 0 or ee == 0:
        return 1.0 if aa == ee else 0.0
    return float(np.clip(dot / (math.sqrt(aa) * math.sqrt(ee)), -1.0, 1.0))
