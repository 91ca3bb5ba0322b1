"""trtnet.report: the terminal table and the JSON report."""

import json
import re

import numpy as np
import pytest

from trtnet.compare import Tolerance, compare
from trtnet.report import CheckReport, InputSpec, LayerRow, _num, format_table, to_json, write_json

TOL = Tolerance(atol=1e-2, rtol=1e-2)


def _report(first_divergent="layer1.0.conv2", outputs=None):
    ok = compare("logits", np.full((1, 10), 1.001), np.ones((1, 10)), TOL)  # abs err 1e-3 everywhere
    bad = compare("aux", np.array([0.5, 1.0]), np.array([0.0, 1.0]), TOL)  # 0.5 off where expected is 0
    layers = [
        LayerRow("conv1", "conv1_out", compare("c", np.ones(4), np.ones(4), TOL)),
        LayerRow("layer1.0.conv2", "l1_out", compare("c", np.array([0.0, 1.0]), np.array([0.0, 1.5]), TOL)),
        LayerRow("fc", "fc_out", compare("c", np.zeros((2, 3)), np.zeros((3, 2)), TOL)),
    ]
    return CheckReport(
        model="resnet18",
        reference="torchvision.models.resnet18 (eager PyTorch)",
        dtype="float16",
        executor="CPU reference executor",
        tolerance=TOL,
        outputs=[ok, bad] if outputs is None else outputs,
        layers=layers,
        first_divergent=first_divergent,
        inputs=[InputSpec("x", (1, 3, 224, 224), "float32", seed=0)],
        timing={"build": 12.34, "run": 0.00123},
    )


def _line(text, start):
    (line,) = [ln for ln in text.splitlines() if ln.startswith(start)]
    return line


def test_table_header_and_output_rows():
    text = format_table(_report())
    for expected in [
        "model:      resnet18",
        "dtype:      float16",
        "executor:   CPU reference executor",
        "tolerance:  atol=0.01 rtol=0.01",
        "input:      x: 1x3x224x224 float32 (seed 0)",
        "timing:     build 12.3 s  run 0.00123 s",
    ]:
        assert expected in text.splitlines()
    logits = _line(text, "logits")
    assert logits.split() == ["logits", "1x10", "1.00e-03", "1.00e-03", "1.00e-03", "1.00e-03",
                              "1.000000", "0", "PASS"]
    assert _line(text, "aux").split()[-1] == "FAIL"
    assert "  FAIL aux: tolerance: 1 of 2 elements (50%)" in text
    assert text.splitlines()[-1] == "RESULT: FAIL (1/2 outputs within tolerance)"


def test_table_columns_line_up():
    lines = format_table(_report()).splitlines()
    start = lines.index("Outputs:")
    header, separator, *rows = lines[start + 1 : start + 5]
    ends = [m.end() for m in re.finditer(r"-+", separator)]
    assert len(ends) == 9
    for line in [header, *rows]:
        assert len(line) == ends[-1]
        assert all(line[end - 1] != " " for end in ends[1:])  # statistics columns are right-aligned


def test_layerwise_section_marks_first_divergence():
    text = format_table(_report())
    lines = text.splitlines()
    conv1 = next(i for i, ln in enumerate(lines) if " conv1 " in ln)
    div = next(i for i, ln in enumerate(lines) if " layer1.0.conv2 " in ln)
    fc = next(i for i, ln in enumerate(lines) if " fc " in ln)
    assert conv1 < div < fc  # execution order
    assert lines[div].startswith(">>") and not lines[conv1].startswith(">>") and not lines[fc].startswith(">>")
    assert lines[div].split()[-1] == "FAIL" and lines[conv1].split()[-1] == "PASS"
    assert "2x3 vs 3x2" in lines[fc]
    assert "FIRST DIVERGENCE: layer1.0.conv2 (tensor l1_out): tolerance:" in text


def test_layerwise_without_divergence_and_without_layers():
    assert "FIRST DIVERGENCE: none" in format_table(_report(first_divergent=None))
    text = format_table(_report(first_divergent="layer9"))  # no row for it: named, nothing marked
    assert "FIRST DIVERGENCE: layer9" in text and ">>" not in text
    report = _report()
    report.layers = []
    assert "Layerwise" not in format_table(report) and "FIRST DIVERGENCE" not in format_table(report)


def test_passed_is_decided_by_outputs():
    report = _report()
    assert not report.passed
    report.outputs = report.outputs[:1]
    assert report.passed  # the failing layer rows are diagnostics only
    assert format_table(report).splitlines()[-1] == "RESULT: PASS (1/1 outputs within tolerance)"
    report.outputs = []
    assert not report.passed


@pytest.mark.parametrize(
    "value, text",
    [(None, "-"), (0.0, "0"), (0.5, "0.5"), (1.2345e-5, "1.23e-05"), (123.456, "123"), (12345.0, "1.23e+04"),
     (float("inf"), "inf"), (float("nan"), "nan"), (-0.0123456, "-0.0123")],
)
def test_number_format(value, text):
    assert _num(value) == text


def _strict(constant):
    raise AssertionError(f"non-standard JSON constant {constant}")


def test_json_round_trip(tmp_path):
    report = _report()
    doc = json.loads(to_json(report), parse_constant=_strict)
    assert doc["model"] == "resnet18" and doc["passed"] is False
    assert doc["tolerance"] == {"atol": 0.01, "rtol": 0.01}
    assert doc["inputs"] == [{"name": "x", "shape": [1, 3, 224, 224], "dtype": "float32", "seed": 0, "file": None}]
    assert doc["timing"] == {"build": 12.34, "run": 0.00123}
    assert [o["name"] for o in doc["outputs"]] == ["logits", "aux"]
    assert doc["schema"] == "trtnet.check/1"
    assert doc["outputs"][1]["min_rtol"] is None and "min_rtol" in doc["outputs"][1]["infinite"]
    assert doc["outputs"][1]["max_abs_index"] == [0] and doc["outputs"][0]["infinite"] == []
    assert [r["module"] for r in doc["layers"]] == ["conv1", "layer1.0.conv2", "fc"]
    assert doc["layers"][2]["comparison"]["reason"].startswith("shape mismatch")
    assert doc["first_divergent"] == "layer1.0.conv2"

    path = tmp_path / "report.json"
    write_json(report, path)
    assert json.loads(path.read_text(encoding="utf-8")) == doc


def _fp16_report(trtnet_err: float, eager_err: float, warnings=None, warnings_as_errors=False):
    """A float16 report of one output ``y`` off by ``trtnet_err`` everywhere; eager PyTorch off by ``eager_err``."""
    expected = np.linspace(1.0, 2.0, 8)
    sign = np.where(np.arange(8) % 2, 1.0, -1.0)
    tol = Tolerance(atol=1e-2, rtol=1e-2)
    return CheckReport(model="m", reference="r", dtype="float16", executor="CPU reference executor", tolerance=tol,
                       outputs=[compare("y", expected + trtnet_err * sign, expected, tol)],
                       eager_in_dtype=[compare("y", expected + eager_err * sign, expected, tol)],
                       warnings=list(warnings or []), warnings_as_errors=warnings_as_errors)


def test_precision_rule_rows_and_verdict_line():
    report = _fp16_report(0.05, 0.04)  # outside atol + rtol*|e| <= 0.03, within 2 x eager's 0.04
    assert report.passed and not report.outputs[0].passed
    text = format_table(report)
    assert "Outputs (error against the float32 reference):" in text
    mine = _line(text, "y       trtnet float16")
    theirs = _line(text, "y       eager PyTorch float16")
    assert mine.split()[4:6] == ["0.05", "0.05"] and mine.endswith("PASS (precision rule)")
    assert theirs.split()[5:7] == ["0.04", "0.04"] and theirs.split()[-1] == "-"
    assert ("  PASS y: precision rule: max abs err 0.05 <= 2 x eager PyTorch float16's 0.04; mean abs err 0.05 "
            "<= 2 x eager PyTorch float16's 0.04") in text.splitlines()
    assert text.splitlines()[-1] == "RESULT: PASS (1/1 outputs pass: 0 within tolerance, 1 by the precision rule)"
    (out,) = json.loads(to_json(report), parse_constant=_strict)["outputs"]
    assert out["passed"] is False and out["verdict"] == {"passed": True, "rule": "precision",
                                                         "detail": report.verdicts[0].detail}
    assert out["eager_in_dtype"]["max_abs_err"] == pytest.approx(0.04)


def test_precision_rule_fails_beyond_the_factor():
    report = _fp16_report(0.09, 0.04)
    assert not report.passed
    text = format_table(report)
    assert _line(text, "y       trtnet float16").endswith("FAIL")
    assert "; precision rule: max abs err 0.09 > 2 x eager PyTorch float16's 0.04" in _line(text, "  FAIL y: tolerance:")
    doc = json.loads(to_json(report), parse_constant=_strict)
    assert doc["outputs"][0]["verdict"]["passed"] is False and doc["outputs"][0]["verdict"]["rule"] is None


def test_warnings_section_and_warnings_as_errors():
    report = _fp16_report(0.0, 0.01, warnings=["weights: 1 NaN", "output 'y': the reference output is constant"])
    text = format_table(report)
    assert report.passed
    assert text.splitlines()[-5:] == ["Warnings:", "  WARNING: weights: 1 NaN",
                                      "  WARNING: output 'y': the reference output is constant", "",
                                      "RESULT: PASS (1/1 outputs within tolerance; 2 warning(s))"]
    report.warnings_as_errors = True
    assert not report.passed
    text = format_table(report)
    assert "Warnings (treated as errors):" in text
    assert text.splitlines()[-1] == "RESULT: FAIL (1/1 outputs within tolerance; 2 warning(s) treated as errors)"
    doc = json.loads(to_json(report), parse_constant=_strict)
    assert doc["passed"] is False and doc["warnings_as_errors"] is True and len(doc["warnings"]) == 2
    report.warnings = []
    assert report.passed  # nothing to treat as an error


def test_eager_in_dtype_error_is_shown():
    report = _fp16_report(0.05, 0.04)
    report.eager_in_dtype, report.eager_in_dtype_error = [], "eager PyTorch can't run m in float16 on CPU (...)"
    assert not report.passed  # tolerance rule only
    text = format_table(report)
    assert "  note: eager PyTorch can't run m in float16 on CPU (...)" in text and "Outputs:" in text
    assert json.loads(to_json(report))["outputs"][0]["eager_in_dtype"] is None
