"""trtnet.compare against hand-computed values."""

import doctest
import json
import math

import numpy as np
import pytest
import torch

from trtnet import compare as compare_module
from trtnet.compare import DEFAULT_TOLERANCES, Tolerance, compare, json_safe, tolerance_for

# abs errors [0.5, 0, 1, 0], rel errors [0.5, 0, 0.25, 0]; laid out 2x2 so the max sits at (1, 0)
EXPECTED = np.array([[1.0, 2.0], [4.0, -8.0]])
ACTUAL = np.array([[1.5, 2.0], [3.0, -8.0]])
TOL = Tolerance(atol=0.1, rtol=0.1)  # thresholds [0.2, 0.3, 0.5, 0.9]


def test_error_statistics():
    c = compare("out", ACTUAL, EXPECTED, TOL)
    assert c.max_abs_err == 1.0
    assert c.mean_abs_err == pytest.approx(0.375)
    assert c.median_abs_err == pytest.approx(0.25)
    assert c.p99_abs_err == pytest.approx(0.5 + 0.97 * 0.5)  # linear interpolation at rank 0.99 * 3 = 2.97
    assert c.max_rel_err == pytest.approx(0.5)
    assert c.mean_rel_err == pytest.approx(0.1875)
    assert c.median_rel_err == pytest.approx(0.125)
    assert c.p99_rel_err == pytest.approx(0.25 + 0.97 * 0.25)
    assert c.max_abs_index == (1, 0)
    assert (c.actual_at_max, c.expected_at_max) == (3.0, 4.0)
    assert c.actual_shape == c.expected_shape == (2, 2)
    assert c.actual_dtype == "float64"


def test_mismatch_count_and_reason():
    c = compare("out", ACTUAL, EXPECTED, TOL)
    assert not c.passed
    assert (c.mismatch_count, c.mismatch_fraction, c.nonfinite_mismatch) == (2, 0.5, 0)
    assert c.reason.startswith("tolerance: 2 of 4 elements (50%)")
    assert "at (1, 0)" in c.reason


def test_min_atol_and_min_rtol():
    c = compare("out", ACTUAL, EXPECTED, TOL)
    # atol: max(err - 0.1*|e|) = max(0.4, -0.2, 0.6, -0.8); rtol: max((err - 0.1)/|e| where err > 0.1) = max(0.4, 0.225)
    assert c.min_atol == pytest.approx(0.6)
    assert c.min_rtol == pytest.approx(0.4)
    assert compare("out", ACTUAL, EXPECTED, Tolerance(0.6 + 1e-9, 0.1)).passed
    assert not compare("out", ACTUAL, EXPECTED, Tolerance(0.6 - 1e-9, 0.1)).passed
    assert compare("out", ACTUAL, EXPECTED, Tolerance(0.1, 0.4 + 1e-9)).passed
    assert not compare("out", ACTUAL, EXPECTED, Tolerance(0.1, 0.4 - 1e-9)).passed


def test_min_rtol_inf_when_expected_zero_and_error_above_atol():
    c = compare("out", np.array([0.5, 1.0]), np.array([0.0, 1.0]), TOL)
    assert c.min_rtol == math.inf
    assert c.min_atol == pytest.approx(0.5)
    assert c.max_rel_err > 1e300  # the TINY denominator guard, not a division by zero
    # an error within atol at |e| == 0 needs no rtol: only the (1.2 - 1) / 1 row counts
    c = compare("out", np.array([0.05, 1.2]), np.array([0.0, 1.0]), TOL)
    assert c.min_rtol == pytest.approx(0.1)


def test_passing_comparison():
    c = compare("out", EXPECTED + 1e-3, EXPECTED, TOL)
    assert c.passed and c.reason is None
    assert c.mismatch_count == 0 and c.min_rtol == 0.0 and c.min_atol == 0.0
    # error exactly at atol + rtol*|e| (all exact in binary) passes, like torch.allclose
    assert compare("out", np.array([1.5]), np.array([1.0]), Tolerance(0.25, 0.25)).passed


@pytest.mark.parametrize(
    "a, e, cosine",
    [
        ([1.0, 0.0], [0.0, 1.0], 0.0),
        ([1.0, 2.0], [2.0, 4.0], 1.0),
        ([1.0, 0.0], [1.0, 1.0], 1 / math.sqrt(2)),
        ([1.0, 0.0], [-1.0, 0.0], -1.0),
        ([0.0, 0.0], [0.0, 0.0], 1.0),
        ([0.0, 0.0], [1.0, 0.0], 0.0),
        ([1e200, 1e200], [1e200, 1e200], 1.0),  # squared norms would overflow
    ],
)
def test_cosine(a, e, cosine):
    assert compare("v", np.array(a), np.array(e), TOL).cosine == pytest.approx(cosine)


def test_matching_nan_and_inf_pass():
    e = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
    c = compare("out", e.copy(), e, TOL)
    assert c.passed and c.nonfinite_mismatch == 0
    assert (c.actual_nan, c.actual_inf, c.expected_nan, c.expected_inf) == (1, 2, 1, 2)
    assert c.max_abs_err == 0.0


def test_mismatched_nan_and_inf_fail():
    e = np.array([1.0, 2.0, np.inf, -np.inf, 2.0, np.nan])
    a = np.array([np.nan, 2.0, -np.inf, np.inf, 2.5, 3.0])
    c = compare("out", a, e, TOL)
    assert not c.passed
    assert c.nonfinite_mismatch == 4
    assert c.mismatch_count == 5  # plus the tolerance miss at index 4
    assert (c.actual_nan, c.actual_inf, c.expected_nan, c.expected_inf) == (1, 2, 1, 2)
    # statistics cover only positions where both sides are finite: indices 1 and 4
    assert c.max_abs_err == 0.5 and c.max_abs_index == (4,) and c.mean_abs_err == 0.25
    assert c.reason.startswith("non-finite: 4 position(s)") and "; tolerance: 1 of 6" in c.reason


def test_no_finite_positions_fails_it_proves_nothing():
    c = compare("out", np.full((2, 3), np.nan), np.full((2, 3), np.nan), TOL)
    assert not c.passed and c.finite_compared == 0 and c.nonfinite_mismatch == 0
    assert c.max_abs_err is None and c.cosine is None and c.min_atol is None
    assert c.reason.startswith("nothing compared: none of the 6 positions is finite on both sides "
                               "(actual 6 NaN 0 Inf, expected 6 NaN 0 Inf)")
    # one finite position is enough to compare something
    c = compare("out", np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0]), TOL)
    assert c.passed and c.finite_compared == 1 and c.max_abs_err == 0.0


def test_matching_and_mismatching_inf_positions_with_counts():
    e = np.array([[np.inf, 1.0], [-np.inf, 2.0]])
    assert compare("out", e.copy(), e, TOL).passed
    a = np.array([[np.inf, 1.0], [2.0, -np.inf]])  # the -inf moved one position: 2 disagreements
    c = compare("out", a, e, TOL)
    assert not c.passed and c.nonfinite_mismatch == 2 and c.mismatch_count == 2 and c.finite_compared == 1
    assert c.reason == ("non-finite: 2 position(s) where actual and expected disagree on NaN/Inf "
                        "(actual 0 NaN 2 Inf, expected 0 NaN 2 Inf)")


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1001, 20000])
def test_percentiles_are_numpys_linear_percentiles(n):
    rng = np.random.default_rng(n)
    e = rng.standard_normal(n)
    a = e + rng.standard_normal(n) * 1e-3
    a[: n // 10] = e[: n // 10]  # ties at zero error
    c = compare("out", a, e, TOL)
    err = np.abs(a - e)
    rel = err / np.abs(e)
    assert c.median_abs_err == pytest.approx(np.percentile(err, 50), rel=1e-12, abs=0)
    assert c.p99_abs_err == pytest.approx(np.percentile(err, 99), rel=1e-12, abs=0)
    assert c.median_rel_err == pytest.approx(np.percentile(rel, 50), rel=1e-12, abs=0)
    assert c.p99_rel_err == pytest.approx(np.percentile(rel, 99), rel=1e-12, abs=0)


def test_relative_percentiles_with_infinite_relative_errors_take_the_rank_above():
    e = np.array([0.0, 0.0, 1.0, 2.0, 4.0])  # errors 5 at the zeros: relative inf (> 4 / TINY)
    a = np.array([5.0, 5.0, 1.5, 2.0, 4.0])
    c = compare("out", a, e, TOL)
    assert c.max_rel_err == math.inf and c.mean_rel_err == math.inf
    assert c.median_rel_err == np.percentile([0, 0, 0.5, np.inf, np.inf], 50, method="higher") == 0.5
    assert c.p99_rel_err == math.inf


def test_float32_inputs_are_compared_in_float32_like_torch_allclose():
    e = np.array([1.0, 3e38, -3e38], np.float32)
    a = np.array([1.0 + 2**-23, 3e38, 3e38], np.float32)  # 3e38 - (-3e38) overflows float32: redone in float64
    c = compare("out", a, e, TOL)
    assert c.max_abs_err == pytest.approx(6e38, rel=1e-6) and c.max_abs_index == (2,) and not c.passed
    assert c.actual_inf == c.expected_inf == 0 and c.nonfinite_mismatch == 0
    gen = torch.Generator().manual_seed(3)
    for trial in range(30):
        x = torch.randn(257, generator=gen)
        y = x + torch.randn(257, generator=gen) * 10 ** -(trial % 5 + 1)
        c = compare("out", y, x, TOL)
        assert c.passed == torch.allclose(y, x, rtol=TOL.rtol, atol=TOL.atol), trial
        assert c.cosine == pytest.approx(float(torch.nn.functional.cosine_similarity(y.double(), x.double(), 0)),
                                         abs=1e-12)


@pytest.mark.parametrize("actual_shape, expected_shape", [((2, 3), (3, 2)), ((6,), (2, 3)), ((1, 3), (3,))])
def test_shape_mismatch(actual_shape, expected_shape):
    c = compare("out", np.zeros(actual_shape), np.zeros(expected_shape), TOL)
    assert not c.passed
    assert c.reason == f"shape mismatch: actual {actual_shape} vs expected {expected_shape}"
    assert c.max_abs_err is None and c.mismatch_count is None
    json.dumps(c.to_dict(), allow_nan=False)


def test_scalar_and_empty():
    c = compare("s", np.float32(1.5), np.float32(1.0), TOL)
    assert c.max_abs_index == () and c.max_abs_err == 0.5 and c.actual_dtype == "float32"
    c = compare("e", np.zeros((0, 4)), np.zeros((0, 4)), TOL)
    assert c.passed and c.mismatch_fraction == 0.0 and c.max_abs_err is None


def test_fp16_and_bf16_inputs_are_compared_in_float64():
    a = torch.tensor([1.0 + 2**-10, 2.0], dtype=torch.float16)  # 1 + 2^-10 is the fp16 neighbour of 1
    e = torch.tensor([1.0, 2.0], dtype=torch.float16)
    c = compare("out", a, e, tolerance_for("float16"))
    assert c.max_abs_err == 2**-10 and c.actual_dtype == "float16" and c.passed
    # in fp16 65504 - (-65504) overflows to inf; in float64 it's exact
    c = compare("out", np.array([65504], np.float16), np.array([-65504], np.float16), TOL)
    assert c.max_abs_err == 131008.0 and c.expected_dtype == "float16"
    c = compare("out", torch.ones(3, dtype=torch.bfloat16), torch.ones(3, dtype=torch.float32), TOL)
    assert c.passed and (c.actual_dtype, c.expected_dtype) == ("bfloat16", "float32")


def test_agrees_with_torch_allclose():
    gen = torch.Generator().manual_seed(0)
    for trial in range(50):
        e = torch.randn(64, generator=gen, dtype=torch.float64)
        a = e + torch.randn(64, generator=gen, dtype=torch.float64) * 10 ** -(trial % 6)
        if trial % 3 == 0:
            e[trial % 64] = a[trial % 64] = float("nan")
        if trial % 5 == 0:
            a[(trial + 1) % 64] = float("inf")
        tol = Tolerance(atol=10 ** -(trial % 4 + 1), rtol=10 ** -(trial % 3 + 1))
        expected = torch.allclose(a, e, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
        assert compare("out", a, e, tol).passed == expected, trial


def test_tolerance_defaults_and_overrides():
    assert tolerance_for("float32") == Tolerance(1e-4, 1e-3)
    assert tolerance_for("fp16") == tolerance_for("torch.float16") == DEFAULT_TOLERANCES["float16"]
    assert tolerance_for("bf16", atol=0.5) == Tolerance(0.5, DEFAULT_TOLERANCES["bfloat16"].rtol)
    assert tolerance_for("float32", rtol=0.0) == Tolerance(1e-4, 0.0)
    assert tolerance_for("int8", atol=1.0, rtol=0.0) == Tolerance(1.0, 0.0)  # no default needed
    loose = [DEFAULT_TOLERANCES[d] for d in ("float32", "float16", "bfloat16")]
    assert [t.atol for t in loose] == sorted(t.atol for t in loose)
    assert [t.rtol for t in loose] == sorted(t.rtol for t in loose)


def test_tolerance_errors():
    with pytest.raises(ValueError, match="did you mean 'float16'"):
        tolerance_for("flaot16")
    with pytest.raises(ValueError, match="atol must be a non-negative"):
        Tolerance(-1.0, 0.0)
    with pytest.raises(ValueError, match="rtol"):
        Tolerance(0.0, float("nan"))


def test_to_dict_is_strict_json():
    c = compare("out", np.array([0.5, 1.0]), np.array([0.0, 1.0]), TOL)
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert d["min_rtol"] is None and d["infinite"] == ["min_rtol"]  # no rtol passes 0.5 off an expected 0
    assert d["max_rel_err"] == 0.5 / np.finfo(np.float64).tiny and d["max_abs_err"] == 0.5  # finite: a number
    assert d["max_abs_index"] == [0] and d["actual_shape"] == [2]
    assert d["tolerance"] == {"atol": 0.1, "rtol": 0.1}
    assert d["passed"] is False and d["mismatch_count"] == 1


def test_json_safe():
    assert json_safe({"a": (np.float32(1.5), float("-inf"), float("nan")), 2: [np.int64(3)]}) == {
        "a": [1.5, None, None],
        "2": [3],
    }


def test_module_docstring_examples():
    result = doctest.testmod(compare_module)
    assert result.attempted > 0 and result.failed == 0
