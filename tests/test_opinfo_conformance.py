"""Conformance with PyTorch's own OpInfo sample inputs (``torch.testing._internal``'s ``op_db``): every op trtnet
offers, every sample, fp32 and fp16 where OpInfo has it — traced, built with TensorRT, run on the CPU executor,
compared with eager PyTorch (tests/_opinfo.py). The report (counts per op, totals, reasons) is printed; the full
table with timings: ``python benchmarks/opinfo_report.py``. Results: docs/opinfo-conformance.md."""

from __future__ import annotations

import re
import time

import pytest

torch = pytest.importorskip("torch")

import trtnet.functional as F  # noqa: E402

import _opinfo as O  # noqa: E402

# What TensorRT (or an inference engine) cannot express: reasons a sample may be refused for good.
ALLOWED_REFUSALS = {
    "training-mode batch statistics": r"training=True normalises with batch statistics",
    "dropout (inference engines)": r"dropout_p=.*inference networks need 0",
    "sort longer than TensorRT's TopK limit": r"beyond TensorRT's TopK limit",
    "output shape from tensor values (repeat_interleave counts, boolean-mask index_put)":
        r"repeat_interleave: repeats must be an int|index_put: indices must be int",
    "nuclear norm (no SVD in TensorRT)": r"norm: p=.*not supported",
    "scatter reduce= (TensorRT's scatter has no reduction)": r"scatter: reduce=.* is not supported",
}
# trtnet refuses what TensorRT could express: gaps to close, listed in docs/opinfo-conformance.md. A new kind of
# refusal fails the test until it is fixed or listed here (or above, when TensorRT truly cannot).
TRTNET_GAPS: dict[str, str] = {}
# (op, variant, dtype, sample index) -> the bug it shows; listed in docs/opinfo-conformance.md. Strict: a fixed bug
# must leave this list.
KNOWN_BUGS: dict[tuple[str, str, str, int], str] = {}


# TensorRT needs seconds per layer to build these (bicubic ~2.3 s per resize layer, CPU-only): the default run
# takes their first samples, the slow run all of them.
DEFAULT_LIMIT = 4  # samples per op and dtype in the default run (max_pool2d alone has 1,440)
DEFAULT_LIMITS = {"nn.functional.interpolate.bicubic": 3, "nn.functional.interpolate.trilinear": 4}


def _run(limit: int | None, limits: dict[str, int] | None) -> dict:
    seconds: dict = {}
    start = time.perf_counter()
    results = O.sweep(("float32", "float16"), limit, seconds=seconds, limits=limits)
    print(O.report(results, seconds))
    print(f"{time.perf_counter() - start:.1f} s")
    return results


@pytest.fixture(scope="module")
def sweep() -> dict:
    return _run(DEFAULT_LIMIT, DEFAULT_LIMITS)


@pytest.mark.slow
def test_every_sample_of_every_op() -> None:
    results = _run(None, None)
    failing = {key for outcome in (O.MISMATCH, O.BUILD_FAILURE, O.CRASH) for key in _failures(results, outcome)}
    assert failing <= set(KNOWN_BUGS), sorted(failing - set(KNOWN_BUGS))[:40]


def _failures(results: dict, outcome: str) -> dict[tuple[str, str, str, int], str]:
    return {(*key, s.index): s.reason for key, samples in results.items() for s in samples if s.outcome == outcome}


@pytest.mark.parametrize("outcome", [O.MISMATCH, O.BUILD_FAILURE, O.CRASH])
def test_no_failures(sweep, outcome) -> None:
    found = _failures(sweep, outcome)
    unexpected = {key: reason for key, reason in found.items() if key not in KNOWN_BUGS}
    assert not unexpected, f"{len(unexpected)} {outcome}(s):\n" + "\n".join(
        f"{key}: {reason}" for key, reason in sorted(unexpected.items())[:40])


def test_known_bugs_still_fail(sweep) -> None:
    failing = {key for outcome in (O.MISMATCH, O.BUILD_FAILURE, O.CRASH) for key in _failures(sweep, outcome)}
    fixed = sorted(set(KNOWN_BUGS) - failing)
    assert not fixed, f"fixed, remove from KNOWN_BUGS and docs/opinfo-conformance.md: {fixed}"


def test_refusals_are_what_tensorrt_cannot_express_or_listed_gaps(sweep) -> None:
    refused = _failures(sweep, O.REFUSED)
    groups = {**ALLOWED_REFUSALS, **TRTNET_GAPS}
    counted = {label: sum(bool(re.search(pattern, r)) for r in refused.values()) for label, pattern in groups.items()}
    print("\n".join(f"{n:5d}  {'TensorRT cannot' if label in ALLOWED_REFUSALS else 'trtnet gap'}: {label}"
                     for label, n in counted.items()))
    other = {key: reason for key, reason in refused.items()
             if not any(re.search(pattern, reason) for pattern in groups.values())}
    assert not other, f"{len(other)} refusal(s) of something TensorRT can express:\n" + "\n".join(
        f"{key}: {reason}" for key, reason in sorted(other.items())[:40])


def test_suite_covers_trtnet_ops(sweep) -> None:
    covered = {name for name, _, _ in sweep}
    assert len(covered) >= 150, sorted(covered)
    passed = sum(s.outcome == O.PASS for samples in sweep.values() for s in samples)
    assert passed >= 1300  # 1,378 of 1,396 at 4 samples per op and dtype (14:50 UTC)


# ---- the harness itself can fail -----------------------------------------------------------------------------

def _opinfo(name: str, variant: str = ""):
    from torch.testing._internal.common_methods_invocations import op_db

    return next(op for op in op_db if op.name == name and op.variant_test_name == variant)


def test_a_wrong_op_is_a_mismatch() -> None:
    op = _opinfo("exp")
    empty = {i for i, s in enumerate(op.sample_inputs("cpu", torch.float32)) if s.input.numel() == 0}  # no values
    samples = [s for s in O.run_op(op, F.sigmoid, "float32") if s.outcome != O.REFUSED and s.index not in empty]
    mismatches = sum(s.outcome == O.MISMATCH for s in samples)  # a sample of special values (-inf) agrees
    assert mismatches >= 1 and mismatches >= len(samples) - 1, [(s.outcome, s.reason) for s in samples]


def test_an_exception_is_a_crash_and_a_trtnet_error_a_refusal() -> None:
    def broken(x):
        raise IndexError("boom")

    def refusing(x):
        return F.reshape(x, (7, 7, 7, 7, 7))

    assert {s.outcome for s in O.run_op(_opinfo("abs"), broken, "float32")} == {O.CRASH}
    assert {s.outcome for s in O.run_op(_opinfo("abs"), refusing, "float32")} == {O.REFUSED}


def test_judge_shared_fp16_overflow_passes_an_own_one_does_not() -> None:
    tol = dict(rtol=1e-3, atol=1e-5)
    eager = torch.tensor([1.0, float("inf")], dtype=torch.float16)
    exact = torch.tensor([1.0, 7e4], dtype=torch.float64)
    assert O.judge([eager.clone()], [eager], [exact], tol)[0] == O.PASS
    own = torch.tensor([float("inf"), float("inf")], dtype=torch.float16)
    assert O.judge([own], [eager], [exact], tol)[0] == O.MISMATCH
    assert O.judge([torch.tensor([1.0, 2.0])], [torch.tensor([1.0, 2.1])], [None], tol)[0] == O.MISMATCH


def test_judge_unstable_sort_ties_pass_other_indices_do_not() -> None:
    x = torch.tensor([2.0, 1.0, 2.0])
    ties = O._ties("argsort", (x, (), {}))
    expected = torch.tensor([1, 0, 2])
    assert O.judge([torch.tensor([1, 2, 0])], [expected], [None], {}, ties)[0] == O.PASS  # the two 2.0s swapped
    assert O.judge([torch.tensor([0, 1, 2])], [expected], [None], {}, ties)[0] == O.MISMATCH
    assert O._ties("argsort", (x, (), {"stable": True})) is None
