"""Every rule that turns statistics into a verdict: what passes, what fails, what only warns.

:mod:`trtnet.compare` measures (error statistics, non-finite counts, how many elements exceed the tolerance);
this module judges. Rules, in the order they are applied to one output:

1. **Shapes** must be equal.
2. **Non-finite values** fail unless both sides have the same non-finite value at the same position (NaN where
   NaN, Inf of the same sign where Inf); the counts are reported.
3. **Something must be compared**: a non-empty output with no position where both sides are finite (all-NaN
   outputs) fails, it proves nothing. An empty output passes (there is nothing to disagree on) with a warning.
4. **Tolerance rule**: every finite position within ``atol + rtol * |expected|``.
5. **Precision rule** (fp16/bf16 checks only, when eager PyTorch could run the model in that dtype): an output that
   misses rule 4 passes when trtnet's max and mean abs error against the float32 reference are both within
   :data:`PRECISION_FACTOR` times eager-PyTorch-in-that-dtype's own error (same rounded inputs). Rules 1-3 still
   apply: no precision excuses a NaN or a shape.

6. **Quantized rule** (int8/fp8 checks, replacing rules 4-5: no fp32 tolerance fits a quantized network): rules
   1-3, then the output's SQNR (:func:`trtnet.compare.sqnr_db`) at least :data:`MIN_SQNR_DB` of the dtype and, for a
   classifier-like output (``(N, C)``, ``C > 1``), top-1 agreement at least :data:`MIN_TOP1` percent
   (:class:`QuantizedRule`; ``min_sqnr``/``min_top1`` override them).

**Warnings** (:func:`reference_warnings`) flag a check that passes but proves little: the reference output is empty,
has NaN/Inf, is all zero, constant, below the tolerance's scale (``max |expected| <= atol``: an all-zero output
would pass too), or hardly depends on the input (on a second seeded input it stays within tolerance of the first).
``warnings_as_errors`` (:func:`trtnet.check`, ``trtnet check --warnings-as-errors``,
:func:`trtnet.testing.assert_matches_torch`) turns every warning of a report into a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from trtnet.compare import Comparison, Tolerance
    from trtnet.report import CheckReport

#: The precision rule's factor. A correct half-precision network and eager PyTorch in the same dtype round at
#: different points (TensorRT fuses conv+BN+ReLU and accumulates in fp32; the CPU executor rounds after every
#: TensorRT layer; eager CPU PyTorch after every op), so their errors against fp32 differ by chance: ResNet-50
#: with measured BatchNorm statistics, trtnet/eager max abs err 0.155/0.214 in fp16, 0.746/0.952 in bf16, mean abs
#: err within 5% of each other. 2x leaves room for that scatter, while a real mistake (a wrong stride, a missing
#: op, a wrong constant) is off by the order of the values: 10-1000x the rounding error.
PRECISION_FACTOR = 2.0

TOLERANCE_RULE = "tolerance"
PRECISION_RULE = "precision"
QUANTIZED_RULE = "quantized"

#: The quantized rule's SQNR floor per dtype, in dB. Measured (benchmarks/quantize_check_thresholds.py, CPU executor
#: against eager fp32): correct INT8 gives 39 dB on the digits CNN, 31 dB on the tiny ResNet (held-out images) and
#: 21 dB on a seeded ResNet-18 (random weights and inputs: the hardest case), FP8 (3 mantissa bits) 27, 18.5 and
#: 14 dB; planted bugs give ~0 dB (every scale / 100) and 0.6-8 dB (one activation's scale / 20). Each floor lies
#: midway (in dB) between the worst correct and the best planted case. Every INT8 scale x 10 (3 of 8 bits lost)
#: gives 2, 14 and 21 dB: failed on the ResNets, passed on the digits, whose classes still agree on 99% of rows.
MIN_SQNR_DB = {"int8": 15.0, "fp8": 10.0}
#: The quantized rule's top-1 agreement floor (percent of rows) for classifier-like outputs: correct quantization
#: agrees on 98-100% of held-out rows of the trained models, on 7 (INT8) and 6 (FP8) of 8 rows of the seeded
#: ResNet-18, whose random logits are nearly tied; the planted bugs agree on 0-11% (scales / 100).
MIN_TOP1 = 70.0


class CheckWarning(UserWarning):
    """Emitted by :func:`trtnet.testing.assert_matches_torch` for each warning of a passing check."""


@dataclass(frozen=True)
class OutputVerdict:
    """The verdict on one output: ``rule`` is the rule it passed by (None when it failed); ``detail`` says why."""

    name: str
    passed: bool
    rule: str | None
    detail: str | None

    @property
    def status(self) -> str:
        """``PASS``, ``PASS (precision rule)`` or ``FAIL``."""
        if not self.passed:
            return "FAIL"
        return "PASS" if self.rule == TOLERANCE_RULE else f"PASS ({self.rule} rule)"


def tolerance_verdict(c: Comparison) -> tuple[bool, str | None]:
    """Rules 1-4 on the statistics of ``c``: ``(passed, reason)``, the reason naming every rule that failed."""
    if c.actual_shape != c.expected_shape:
        return False, f"shape mismatch: actual {c.actual_shape} vs expected {c.expected_shape}"
    size = int(np.prod(c.expected_shape, dtype=np.int64))
    counts = (f"actual {c.actual_nan} NaN {c.actual_inf} Inf, expected {c.expected_nan} NaN "
              f"{c.expected_inf} Inf")
    reasons = []
    if c.nonfinite_mismatch:
        reasons.append(f"non-finite: {c.nonfinite_mismatch} position(s) where actual and expected disagree on "
                       f"NaN/Inf ({counts})")
    if size and not c.finite_compared:
        reasons.append(f"nothing compared: none of the {size} positions is finite on both sides ({counts}); "
                       "a check of NaN against NaN proves nothing")
    tol_mismatch = (c.mismatch_count or 0) - (c.nonfinite_mismatch or 0)
    if tol_mismatch:
        tol = c.tolerance
        reasons.append(f"tolerance: {tol_mismatch} of {size} elements ({100 * tol_mismatch / size:.3g}%) "
                       f"exceed atol={tol.atol:g} + rtol={tol.rtol:g}*|expected|; max abs err "
                       f"{c.max_abs_err:.3g} at {c.max_abs_index} (actual {c.actual_at_max:.6g}, expected "
                       f"{c.expected_at_max:.6g})")
    return not reasons, "; ".join(reasons) or None


def output_verdict(c: Comparison, eager: Comparison | None = None, eager_label: str = "eager PyTorch") -> OutputVerdict:
    """The verdict on trtnet's output ``c`` against the float32 reference; ``eager`` is eager PyTorch's output in
    the check's reduced dtype against the same reference (rule 5), None in float32 or when it couldn't run."""
    if c.passed:
        return OutputVerdict(c.name, True, TOLERANCE_RULE, f"within {c.tolerance}")
    if eager is None or not _tolerance_only_failure(c) or not _tolerance_only_failure(eager, allow_pass=True):
        return OutputVerdict(c.name, False, None, c.reason)
    limits = [(what, getattr(c, f"{what}_abs_err"), PRECISION_FACTOR * getattr(eager, f"{what}_abs_err"),
               getattr(eager, f"{what}_abs_err")) for what in ("max", "mean")]
    text = "; ".join(f"{what} abs err {mine:.3g} {'<=' if mine <= limit else '>'} {PRECISION_FACTOR:g} x "
                     f"{eager_label}'s {theirs:.3g}" for what, mine, limit, theirs in limits)
    if all(mine <= limit for _, mine, limit, _ in limits):
        return OutputVerdict(c.name, True, PRECISION_RULE, f"precision rule: {text}")
    return OutputVerdict(c.name, False, None, f"{c.reason}; precision rule: {text}")


@dataclass(frozen=True)
class QuantizedRule:
    """The thresholds of the quantized rule (rule 6) for one check."""

    dtype: str
    min_sqnr_db: float
    min_top1: float

    def __str__(self) -> str:
        return f"SQNR >= {self.min_sqnr_db:g} dB, top-1 agreement >= {self.min_top1:g}% (classifier outputs)"


def quantized_rule(dtype: str, min_sqnr: float | None = None, min_top1: float | None = None) -> QuantizedRule:
    """The rule for an ``"int8"``/``"fp8"`` check: :data:`MIN_SQNR_DB` and :data:`MIN_TOP1` unless overridden."""
    return QuantizedRule(dtype, MIN_SQNR_DB[dtype] if min_sqnr is None else float(min_sqnr),
                         MIN_TOP1 if min_top1 is None else float(min_top1))


def quantized_verdict(c: Comparison, rule: QuantizedRule) -> OutputVerdict:
    """Rule 6 on ``c``: rules 1-3, then its SQNR and (classifier-like outputs) top-1 agreement against ``rule``."""
    if not (c.actual_shape == c.expected_shape and not c.nonfinite_mismatch and c.finite_compared) \
            or c.sqnr_db is None:
        return OutputVerdict(c.name, False, None, c.reason)
    reasons = []
    if not c.sqnr_db >= rule.min_sqnr_db:
        reasons.append(f"SQNR {c.sqnr_db:.3g} dB < {rule.min_sqnr_db:g} dB")
    if c.top1_agreement is not None and c.top1_agreement < rule.min_top1:
        reasons.append(f"top-1 agreement {c.top1_agreement:.3g}% < {rule.min_top1:g}%")
    if reasons:
        return OutputVerdict(c.name, False, None, f"quantized rule ({rule.dtype}): {'; '.join(reasons)}")
    top1 = "" if c.top1_agreement is None else f", top-1 agreement {c.top1_agreement:.4g}%"
    return OutputVerdict(c.name, True, QUANTIZED_RULE, f"quantized rule ({rule}): SQNR {c.sqnr_db:.3g} dB{top1}")


def _tolerance_only_failure(c: Comparison, allow_pass: bool = False) -> bool:
    """``c`` has usable statistics and misses (at most) the tolerance rule: shapes, non-finite values and rule 3 hold."""
    return ((allow_pass or not c.passed) and c.actual_shape == c.expected_shape and not c.nonfinite_mismatch
            and bool(c.finite_compared) and c.max_abs_err is not None)


def reference_warnings(name: str, expected: Any, tolerance: Tolerance, second: Comparison | None = None,
                       second_source: str = "a second seeded input") -> list[str]:
    """Why the check of output ``name`` proves little, judged on the reference output ``expected`` (numpy array or
    torch tensor); ``second`` compares the reference's output on ``second_source`` with ``expected``."""
    from trtnet.compare import as_array

    e = as_array(expected)[0]
    head = f"output {name!r}: the reference output"
    if e.size == 0:
        return [f"{head} is empty: nothing was compared"]
    warnings = []
    finite = e[np.isfinite(e)]
    if finite.size < e.size:
        nan = int(np.isnan(e).sum())
        warnings.append(f"{head} has {nan} NaN and {e.size - finite.size - nan} Inf of {e.size} values")
    if not finite.size:
        return warnings
    low, high, peak = float(finite.min()), float(finite.max()), float(np.abs(finite).max())
    if peak == 0:
        return warnings + [f"{head} is all zero: any output within atol={tolerance.atol:g} of zero passes"]
    if low == high and e.size > 1:
        warnings.append(f"{head} is constant (every element {low:.6g})")
    if peak <= tolerance.atol:
        warnings.append(f"{head} is below the tolerance's scale: max |expected| {peak:.3g} <= atol="
                        f"{tolerance.atol:g}, so an all-zero output would pass")
    if second is not None and second.passed:
        change = "" if second.max_abs_err is None else f" (max abs change {second.max_abs_err:.3g})"
        warnings.append(f"{head} hardly depends on the input: on {second_source} it stays within tolerance of "
                        f"the first{change}")
    return warnings


def output_verdicts(report: CheckReport) -> list[OutputVerdict]:
    """:func:`output_verdict` of every output of ``report``, with its eager-in-dtype comparison when there is one."""
    if report.quantized is not None:
        return [quantized_verdict(c, report.quantized) for c in report.outputs]
    eager = {c.name: c for c in report.eager_in_dtype}
    label = f"eager PyTorch {report.dtype}"
    return [output_verdict(c, eager.get(c.name), label) for c in report.outputs]


def report_passed(report: CheckReport) -> bool:
    """Every output passes (and there is at least one); with ``warnings_as_errors``, no warning either."""
    if report.warnings_as_errors and report.warnings:
        return False
    verdicts = output_verdicts(report)
    return bool(verdicts) and all(v.passed for v in verdicts)


__all__ = ["MIN_SQNR_DB", "MIN_TOP1", "PRECISION_FACTOR", "CheckWarning", "OutputVerdict", "QuantizedRule",
           "output_verdict", "output_verdicts", "quantized_rule", "quantized_verdict", "reference_warnings",
           "report_passed", "tolerance_verdict"]
