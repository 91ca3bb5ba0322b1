"""Statistics of one output pair (actual vs expected) and the tolerances that judge it.

The pass criterion is ``torch.allclose``'s: equal shapes and ``|a - e| <= atol + rtol * |e|`` at every
position where both values are finite; where the expected value is non-finite the actual value must match
it exactly (NaN where NaN, Inf of the same sign where Inf), and a non-finite actual value where the
expected one is finite always fails. Everything is computed in float64, whatever the input dtypes.

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
from typing import Any

import numpy as np

from trtnet.errors import did_you_mean

#: Denominator guard of the relative error ``|a - e| / max(|e|, TINY)``: the smallest normal float64.
#: Where the expected value is exactly 0, any error gives an enormous relative error (inf once the error
#: exceeds ~4) instead of a division by zero; relative error means nothing there, read the abs columns.
TINY = float(np.finfo(np.float64).tiny)


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
    positions where both sides are finite; they are None when shapes differ or no such position exists.
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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe Python types: see :func:`json_safe`."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON-safe Python: tuples become lists, numpy scalars Python numbers, a Tolerance a
    dict, and non-finite floats the strings "nan", "inf", "-inf" (strict JSON has no such numbers)."""
    if isinstance(value, Tolerance):
        return {"atol": json_safe(value.atol), "rtol": json_safe(value.rtol)}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def compare(name: str, actual: Any, expected: Any, tol: Tolerance) -> Comparison:
    """Compare ``actual`` with ``expected`` (numpy arrays or torch tensors of any dtype) under ``tol``."""
    a, a_dtype = _as_float64(actual)
    e, e_dtype = _as_float64(expected)
    counts = dict(
        actual_nan=int(np.isnan(a).sum()),
        actual_inf=int(np.isinf(a).sum()),
        expected_nan=int(np.isnan(e).sum()),
        expected_inf=int(np.isinf(e).sum()),
    )
    head = dict(name=name, actual_shape=a.shape, expected_shape=e.shape, actual_dtype=a_dtype,
                expected_dtype=e_dtype, tolerance=tol, **counts)
    if a.shape != e.shape:
        return Comparison(**head, passed=False,
                          reason=f"shape mismatch: actual {a.shape} vs expected {e.shape}")

    finite = np.isfinite(a) & np.isfinite(e)
    same_nonfinite = (np.isnan(a) & np.isnan(e)) | (a == e)
    nonfinite_mismatch = int((~finite & ~same_nonfinite).sum())
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.where(finite, np.abs(a - e), np.nan)
    errs, mags = err[finite], np.abs(e[finite])
    tol_mismatch = int((errs > tol.atol + tol.rtol * mags).sum())
    mismatch = tol_mismatch + nonfinite_mismatch
    stats = _error_stats(a, e, err, finite, errs, mags, tol) if errs.size else {}

    reasons = []
    if nonfinite_mismatch:
        reasons.append(f"non-finite: {nonfinite_mismatch} position(s) where actual and expected disagree on "
                       f"NaN/Inf (actual {counts['actual_nan']} NaN {counts['actual_inf']} Inf, "
                       f"expected {counts['expected_nan']} NaN {counts['expected_inf']} Inf)")
    if tol_mismatch:
        reasons.append(f"tolerance: {tol_mismatch} of {a.size} elements ({100 * tol_mismatch / a.size:.3g}%) "
                       f"exceed atol={tol.atol:g} + rtol={tol.rtol:g}*|expected|; max abs err "
                       f"{stats['max_abs_err']:.3g} at {stats['max_abs_index']} (actual "
                       f"{stats['actual_at_max']:.6g}, expected {stats['expected_at_max']:.6g})")
    return Comparison(
        **head,
        passed=not mismatch,
        reason="; ".join(reasons) or None,
        nonfinite_mismatch=nonfinite_mismatch,
        mismatch_count=mismatch,
        mismatch_fraction=mismatch / a.size if a.size else 0.0,
        **stats,
    )


def _as_float64(x: Any) -> tuple[np.ndarray, str]:
    """``x`` as a float64 numpy array, and the name of its original dtype. Doesn't import torch."""
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu()
        return x.double().numpy(), str(x.dtype).removeprefix("torch.")
    arr = np.asarray(x)
    return arr.astype(np.float64), arr.dtype.name


def _error_stats(a: np.ndarray, e: np.ndarray, err: np.ndarray, finite: np.ndarray, errs: np.ndarray,
                 mags: np.ndarray, tol: Tolerance) -> dict:
    """The Comparison statistics over the (non-empty) set of ``finite`` positions, where ``err`` (full shape,
    NaN elsewhere) is the absolute error, ``errs`` its finite values and ``mags`` the matching ``|e|``."""
    with np.errstate(over="ignore", invalid="ignore"):  # rel is inf where expected is 0: documented
        rel = errs / np.maximum(mags, TINY)
    index = tuple(int(i) for i in np.unravel_index(np.nanargmax(err), err.shape))

    over = errs > tol.atol
    if not over.any():
        min_rtol = 0.0
    elif (mags[over] == 0).any():
        min_rtol = math.inf
    else:
        min_rtol = float(np.max((errs[over] - tol.atol) / mags[over]))

    return dict(
        max_abs_err=float(errs.max()),
        mean_abs_err=float(errs.mean()),
        median_abs_err=float(np.median(errs)),
        p99_abs_err=float(np.percentile(errs, 99)),
        max_rel_err=float(rel.max()),
        mean_rel_err=_mean(rel),
        median_rel_err=_percentile(rel, 50),
        p99_rel_err=_percentile(rel, 99),
        max_abs_index=index,
        actual_at_max=float(a[index]),
        expected_at_max=float(e[index]),
        cosine=_cosine(a[finite], e[finite]),
        min_atol=max(0.0, float(np.max(errs - tol.rtol * mags))),
        min_rtol=min_rtol,
    )


def _mean(values: np.ndarray) -> float:
    """Mean that may overflow to inf (relative errors where expected is 0 are huge by definition)."""
    with np.errstate(over="ignore"):
        return float(np.mean(values))


def _percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile; nearest-above where infinities would make interpolation NaN."""
    finite = np.isfinite(values).all()
    return float(np.percentile(values, q, method="linear" if finite else "higher"))


def _cosine(a: np.ndarray, e: np.ndarray) -> float:
    """Cosine similarity of two flat finite vectors; 1.0 if both are zero, 0.0 if only one is."""
    scale = max(np.abs(a).max(), np.abs(e).max())
    if scale == 0:
        return 1.0
    a, e = a / scale, e / scale  # keeps the squared norms from overflowing
    norms = np.linalg.norm(a) * np.linalg.norm(e)
    if norms == 0:
        return 0.0
    return float(np.clip(np.dot(a, e) / norms, -1.0, 1.0))
