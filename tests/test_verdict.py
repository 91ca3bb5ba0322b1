"""trtnet.verdict: NaN/Inf rules, checks that prove nothing, warnings, and the fp16/bf16 precision rule (ResNet-50
against eager PyTorch in fp16)."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.cli import main  # noqa: E402
from trtnet.compare import Tolerance, compare, tolerance_for  # noqa: E402
from trtnet.report import format_table, to_json  # noqa: E402
from trtnet.testing import CheckWarning, assert_matches_torch  # noqa: E402
from trtnet.verdict import PRECISION_FACTOR, output_verdict, reference_warnings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _measured_weights import save_measured_weights  # noqa: E402
from models import resnet_torch  # noqa: E402

TOL = Tolerance(atol=0.01, rtol=0.01)
pytestmark = pytest.mark.filterwarnings("ignore:.*hold non-finite values")  # NaN/Inf weights planted on purpose


def linear_pair(weight: float | None = None, bias: float | None = None, seed: int = 0):
    """A torch Linear(4, 3) (weights filled with ``weight``/``bias`` when given) and its trtnet port."""
    torch.manual_seed(seed)
    ref = torch.nn.Linear(4, 3)
    with torch.no_grad():
        if weight is not None:
            ref.weight.fill_(weight)
        if bias is not None:
            ref.bias.fill_(bias)
    return nn.Linear(4, 3), ref


def x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1))


# ---- non-finite values ---------------------------------------------------------------------------
def test_nan_outputs_fail_through_assert_matches_torch() -> None:
    port, ref = linear_pair(weight=float("nan"))
    with pytest.raises(AssertionError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the NaN-weights warning
        assert_matches_torch(port, ref, [x(2, 4)])
    message = str(info.value)
    assert "FAIL output: nothing compared: none of the 6 positions is finite on both sides " \
           "(actual 6 NaN 0 Inf, expected 6 NaN 0 Inf)" in message
    assert message.splitlines()[-1].startswith("RESULT: FAIL (0/1 outputs within tolerance")


def test_nan_outputs_fail_through_check() -> None:
    port, ref = linear_pair(weight=float("nan"))
    port.load_state_dict(ref.state_dict())
    report = trtnet.check(port, ref, inputs=[trtnet.Input("x", (2, 4))])
    assert not report.passed
    (c,) = report.outputs
    assert c.finite_compared == 0 and c.actual_nan == c.expected_nan == 6 and c.max_abs_err is None
    assert report.verdicts[0].rule is None and report.verdicts[0].detail.startswith("nothing compared")
    assert any("has 6 NaN and 0 Inf of 6 values" in w for w in report.warnings)


class _Negated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return -self.fc(x)


class _TorchFc(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def test_matching_inf_positions_pass_mismatching_ones_fail_with_counts() -> None:
    ref = _TorchFc()
    with torch.no_grad():
        ref.fc.bias[1] = float("inf")  # column 1 is +inf on both rows
    port = nn.Linear(4, 3)
    port.load_state_dict({k.removeprefix("fc."): v for k, v in ref.state_dict().items()})
    report = trtnet.check(port, ref.fc, inputs=[trtnet.Input("x", (2, 4))])
    (c,) = report.outputs
    assert report.passed and c.actual_inf == c.expected_inf == 2 and c.nonfinite_mismatch == 0
    assert c.finite_compared == 4
    assert "output 'output': the reference output has 0 NaN and 2 Inf of 6 values" in report.warnings

    negated = _Negated()  # -inf where the reference has +inf
    negated.load_state_dict(ref.state_dict())
    report = trtnet.check(negated, ref, inputs=[trtnet.Input("x", (2, 4))])
    (c,) = report.outputs
    assert not report.passed and c.nonfinite_mismatch == 2 and (c.actual_inf, c.expected_inf) == (2, 2)
    assert c.reason.startswith("non-finite: 2 position(s) where actual and expected disagree on NaN/Inf "
                               "(actual 0 NaN 2 Inf, expected 0 NaN 2 Inf); tolerance: 4 of 6 elements")


# ---- degenerate reference outputs warn -----------------------------------------------------------
def test_reference_warnings_rules() -> None:
    assert reference_warnings("y", np.zeros((2, 3)), TOL) == [
        "output 'y': the reference output is all zero: any output within atol=0.01 of zero passes"]
    assert reference_warnings("y", np.full(4, 2.5), TOL) == ["output 'y': the reference output is constant (every element 2.5)"]
    assert reference_warnings("y", np.array([1e-3, -4e-3]), TOL) == [
        "output 'y': the reference output is below the tolerance's scale: max |expected| 0.004 <= atol=0.01, "
        "so an all-zero output would pass"]
    assert reference_warnings("y", np.zeros((0, 3)), TOL) == ["output 'y': the reference output is empty: nothing was compared"]
    assert reference_warnings("y", np.array([1.0, 2.0]), TOL) == []
    assert reference_warnings("y", np.array(3.0), TOL) == []  # one element is not "constant"
    moved = compare("y", np.array([1.0, 2.001]), np.array([1.0, 2.0]), TOL)
    assert reference_warnings("y", np.array([1.0, 2.0]), TOL, moved, "seed 9") == [
        "output 'y': the reference output hardly depends on the input: on seed 9 it stays within tolerance of the "
        "first (max abs change 0.001)"]
    moved = compare("y", np.array([1.0, 2.5]), np.array([1.0, 2.0]), TOL)
    assert reference_warnings("y", np.array([1.0, 2.0]), TOL, moved) == []


@pytest.mark.parametrize("weight, bias, expected", [
    (0.0, 0.0, ["is all zero"]),
    (0.0, 0.5, ["is constant (every element 0.5)", "hardly depends on the input"]),
    (1e-6, 0.0, ["is below the tolerance's scale", "hardly depends on the input"]),
    (1e-7, None, ["hardly depends on the input"]),  # bias-dominated: varies, but not with the input
])
def test_degenerate_reference_output_warns_and_fails_with_the_option(weight, bias, expected) -> None:
    port, ref = linear_pair(weight, bias)
    with pytest.warns(CheckWarning) as record:
        report = assert_matches_torch(port, ref, [x(2, 4)])
    assert report.passed
    assert len(report.warnings) == len(expected) == len(record)
    for text, part in zip(report.warnings, expected):
        assert text.startswith("output 'output': the reference output ") and part in text
    table = format_table(report)
    assert all(f"  WARNING: {text}" in table for text in report.warnings)
    assert table.splitlines()[-1] == f"RESULT: PASS (1/1 outputs within tolerance; {len(expected)} warning(s))"
    assert json.loads(to_json(report))["warnings"] == report.warnings

    port, ref = linear_pair(weight, bias)
    with pytest.raises(AssertionError, match=r"warning\(s\) treated as errors"):
        assert_matches_torch(port, ref, [x(2, 4)], warnings_as_errors=True)


def test_input_dependent_output_has_no_warning() -> None:
    port, ref = linear_pair()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckWarning)
        report = assert_matches_torch(port, ref, [x(2, 4)], warnings_as_errors=True)
    assert report.passed and report.warnings == []


CONSTANT_NET = '''
import torch
import trtnet.nn as nn

def port():
    return nn.Linear(4, 3)

def reference():
    return torch.nn.Linear(4, 3)
'''


def test_cli_shows_warnings_and_fails_with_warnings_as_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from safetensors.torch import save_file

    (tmp_path / "net.py").write_text(CONSTANT_NET)
    save_file({"weight": torch.zeros(3, 4), "bias": torch.zeros(3)}, str(tmp_path / "w.safetensors"))
    argv = ["check", f"{tmp_path / 'net.py'}:port", "--reference", f"{tmp_path / 'net.py'}:reference",
            "--weights", str(tmp_path / "w.safetensors"), "--input", "x:fp32:2x4", "--json", str(tmp_path / "r.json")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  WARNING: output 'output': the reference output is all zero" in out
    assert "RESULT: PASS (1/1 outputs within tolerance; 1 warning(s))" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["passed"] and doc["warnings_as_errors"] is False and len(doc["warnings"]) == 1
    assert main(argv + ["--warnings-as-errors"]) == 1
    out = capsys.readouterr().out
    assert "Warnings (treated as errors):" in out and "1 warning(s) treated as errors" in out
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


# ---- the precision rule --------------------------------------------------------------------------
def test_precision_rule_on_hand_made_errors() -> None:
    e = np.linspace(-2, 2, 101)
    noise = np.sin(np.arange(101.0))  # in [-1, 1]
    eager = compare("y", e + 0.1 * noise, e, TOL)  # eager in dtype: max 0.1 off
    near = compare("y", e + 0.15 * noise, e, TOL)  # 1.5x eager's error
    v = output_verdict(near, eager, "eager PyTorch float16")
    assert not near.passed and v.passed and v.rule == "precision" and v.status == "PASS (precision rule)"
    assert v.detail.startswith("precision rule: max abs err 0.15 <= 2 x eager PyTorch float16's 0.1; mean abs err")
    far = compare("y", e + (PRECISION_FACTOR + 0.1) * 0.1 * noise, e, TOL)
    v = output_verdict(far, eager)
    assert not v.passed and v.rule is None and v.status == "FAIL"
    assert v.detail.startswith("tolerance: ") and "; precision rule: max abs err 0.21 > 2 x eager PyTorch's 0.1" in v.detail
    assert not output_verdict(near).passed  # no eager run (fp32, or eager couldn't): the tolerance rule only
    # no precision excuses a NaN or a shape
    broken = e + 0.15 * noise
    broken[3] = np.nan
    assert not output_verdict(compare("y", broken, e, TOL), eager).passed
    assert not output_verdict(compare("y", e[:100], e, TOL), eager).passed
    assert output_verdict(compare("y", e, e, TOL), eager).rule == "tolerance"


class _FcTimesDet(torch.nn.Module):
    """``fc(x) * det(I)``: mathematically the Linear, but ``torch.linalg.det`` has no fp16 CPU kernel."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x) * torch.linalg.det(torch.eye(3, dtype=x.dtype))


class _Fc(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def test_eager_that_cannot_run_the_dtype_is_reported_and_the_tolerance_rule_applies() -> None:
    torch.manual_seed(3)
    ref = _FcTimesDet()
    report = assert_matches_torch(_Fc(), ref, [x(2, 4)], dtype="fp16")
    assert report.eager_in_dtype == [] and report.verdicts[0].rule == "tolerance"
    assert report.eager_in_dtype_error.startswith("eager PyTorch can't run ")
    assert "in float16 on CPU (NotImplementedError:" in report.eager_in_dtype_error
    assert report.eager_in_dtype_error.endswith("no precision rule, the tolerance rule only")
    assert f"  note: {report.eager_in_dtype_error}" in format_table(report)
    assert json.loads(to_json(report))["eager_in_dtype_error"] == report.eager_in_dtype_error


def test_fp32_checks_have_no_eager_run_and_fp16_checks_of_small_nets_show_it() -> None:
    port, ref = linear_pair()
    assert assert_matches_torch(port, ref, [x(2, 4)]).eager_in_dtype == []
    port, ref = linear_pair()
    report = assert_matches_torch(port, ref, [x(2, 4)], dtype="bf16")
    (eager,) = report.eager_in_dtype
    assert eager.actual_dtype == "bfloat16" and eager.expected_dtype == "float32" and eager.passed
    assert report.eager_in_dtype_error is None and report.verdicts[0].rule == "tolerance"


@pytest.fixture(scope="module")
def resnet50_fp16(tmp_path_factory: pytest.TempPathFactory):
    """One ResNet-50 fp16 check (1x3x64x64), seeded init with BatchNorm statistics measured on random inputs."""
    torch.manual_seed(50)
    weights = save_measured_weights(resnet_torch.resnet50(), tmp_path_factory.mktemp("w") / "r50.safetensors",
                                    (4, 3, 64, 64), seed=50)
    return trtnet.check(f"{REPO / 'models' / 'resnet.py'}:resnet50", f"{REPO / 'models' / 'resnet_torch.py'}:resnet50",
                        weights=weights, inputs=[trtnet.Input("input", (1, 3, 64, 64))], dtype="fp16")


def test_resnet50_fp16_passes_by_the_precision_rule(resnet50_fp16) -> None:
    report = resnet50_fp16
    (c,), (eager,) = report.outputs, report.eager_in_dtype
    (v,) = report.verdicts
    print(f"resnet50 fp16: trtnet max/mean abs err {c.max_abs_err:.3g}/{c.mean_abs_err:.3g}, eager PyTorch fp16 "
          f"{eager.max_abs_err:.3g}/{eager.mean_abs_err:.3g} (vs float32); timing {report.timing}")
    assert report.passed and not c.passed  # outside the fp16 tolerance, as eager PyTorch in fp16 is
    assert not eager.passed and eager.actual_dtype == "float16" and eager.expected_dtype == "float32"
    assert v.rule == "precision" and c.max_abs_err <= PRECISION_FACTOR * eager.max_abs_err
    assert report.warnings == []  # measured statistics: the output depends on the input
    table = format_table(report)
    assert "Outputs (error against the float32 reference):" in table
    (mine,) = [ln for ln in table.splitlines() if ln.startswith("output  trtnet float16")]
    (theirs,) = [ln for ln in table.splitlines() if ln.startswith("output  eager PyTorch float16")]
    assert mine.endswith("PASS (precision rule)") and theirs.split()[5] == f"{eager.max_abs_err:.3g}"
    assert "  PASS output: precision rule: max abs err" in table
    assert table.splitlines()[-1] == "RESULT: PASS (1/1 outputs pass: 0 within tolerance, 1 by the precision rule)"


def test_resnet50_fp16_json_carries_both_errors(resnet50_fp16) -> None:
    doc = json.loads(to_json(resnet50_fp16))
    (out,) = doc["outputs"]
    assert doc["passed"] and out["passed"] is False  # the comparison's own tolerance verdict
    assert out["verdict"]["passed"] and out["verdict"]["rule"] == "precision"
    assert out["max_abs_err"] == resnet50_fp16.outputs[0].max_abs_err
    assert out["eager_in_dtype"]["max_abs_err"] == resnet50_fp16.eager_in_dtype[0].max_abs_err
    assert out["eager_in_dtype"]["actual_dtype"] == "float16"


def test_resnet50_fp16_error_beyond_the_factor_fails(resnet50_fp16) -> None:
    """ResNet-50's eager yardstick against an output whose error is 2.5x eager PyTorch's own everywhere."""
    (eager,) = resnet50_fp16.eager_in_dtype
    expected = np.linspace(-3, 3, 1000)
    err = eager.max_abs_err * (PRECISION_FACTOR + 0.5)
    wrong = compare("output", expected + err * np.sign(np.sin(np.arange(1000.0))), expected, tolerance_for("fp16"))
    verdict = output_verdict(wrong, eager)
    assert not verdict.passed and "; precision rule: max abs err" in verdict.detail
