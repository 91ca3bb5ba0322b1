"""``--json -`` of build, check and inspect: strict JSON on stdout (the human text on stderr) that validates
against its schema in docs/schemas/; numbers stay numbers (null where not finite, named in ``infinite``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trtnet.cli import main
from trtnet.compare import Tolerance, compare
from trtnet.report import CheckReport, LayerRow, to_json

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parent.parent
DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_TORCH = str(REPO / "models" / "digits_torch.py") + ":digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
DYNAMIC = ["--input", "input:fp32:-1x1x8x8", "--min", "1x1x8x8", "--opt", "4x1x8x8", "--max", "16x1x8x8"]


def _schema(name: str) -> dict:
    schema = json.loads((REPO / "docs" / "schemas" / f"{name}-1.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _strict(constant: str) -> None:
    raise AssertionError(f"non-standard JSON constant {constant}")


def _document(text: str) -> dict:
    """``text`` parsed as strict JSON: NaN/Infinity fail, and it round-trips with ``allow_nan=False``."""
    doc = json.loads(text, parse_constant=_strict)
    json.dumps(doc, allow_nan=False)
    return doc


def test_build_json_stdout_validates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    engine = tmp_path / "digits.engine"
    cache = tmp_path / "cache"
    assert main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(engine), *DYNAMIC,
                 "--cache", str(cache), "--json", "-"]) == 0
    captured = capsys.readouterr()
    doc = _document(captured.out)
    jsonschema.validate(doc, _schema("build"))
    assert doc["schema"] == "trtnet.build/1" and doc["engine_bytes"] == engine.stat().st_size
    assert doc["inputs"] == [{"name": "input", "shape": [-1, 1, 8, 8], "dtype": "float32",
                              "profile": {"min": [1, 1, 8, 8], "opt": [4, 1, 8, 8], "max": [16, 1, 8, 8]}}]
    assert doc["outputs"] == [{"name": "output", "shape": [-1, 10], "dtype": "float32"}]
    assert doc["cache"]["hit"] is False and doc["cache"]["folder"] == str(cache)
    assert f"layers  {doc['layers']} (network definition)" in captured.err and "built " not in captured.out

    again = tmp_path / "again.json"  # the same build: a cache hit, JSON in a file, the summary on stdout
    assert main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(engine), *DYNAMIC,
                 "--cache", str(cache), "--json", str(again)]) == 0
    second = _document(again.read_text())
    jsonschema.validate(second, _schema("build"))
    assert second["cache"] == {**doc["cache"], "hit": True}
    assert capsys.readouterr().out.startswith(f"built {DIGITS}")


def test_build_json_without_cache(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(tmp_path / "d.engine"),
                 "--compute-capability", "SM80,SM89", "--json", "-"]) == 0
    doc = _document(capsys.readouterr().out)
    jsonschema.validate(doc, _schema("build"))
    assert doc["cache"] is None and doc["compute_capabilities"] == ["SM80", "SM89"]
    assert doc["inputs"][0]["shape"] == [1, 1, 8, 8] and doc["weights"] == DIGITS_WEIGHTS


def test_build_json_unwritable_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    engine = tmp_path / "d.engine"
    code = main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(engine),
                 "--json", str(tmp_path / "missing" / "b.json")])
    assert code == 2 and "--json" in capsys.readouterr().err and not engine.exists()


@pytest.mark.parametrize("extra", [["--layerwise", "both"], ["--dtype", "fp16"]], ids=["layerwise-both", "fp16"])
def test_check_json_stdout_validates(capsys: pytest.CaptureFixture, extra: list[str]) -> None:
    code = main(["check", DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_TORCH, "--device", "cpu",
                 "--json", "-", *extra])
    captured = capsys.readouterr()
    doc = _document(captured.out)
    jsonschema.validate(doc, _schema("check"))
    assert code == 0 and doc["schema"] == "trtnet.check/1" and doc["passed"] is True
    assert "RESULT: PASS" in captured.err
    if "--layerwise" in extra:
        assert doc["layers"] and all(row["accumulated"] is not None for row in doc["layers"])
    else:
        assert doc["outputs"][0]["eager_in_dtype"] is not None


def test_check_report_with_infinities_validates() -> None:
    tol = Tolerance(0.1, 0.1)
    # expected 0 missed by 5: |5| / tiny overflows float64, the relative error is infinite; NaN is only counted
    outputs = [compare("out", np.array([5.0, 1.0, np.nan]), np.array([0.0, 1.0, 2.0]), tol),
               compare("shapes", np.zeros((2, 3)), np.zeros((3, 2)), tol)]
    report = CheckReport(model="m", reference="r", dtype="float32", executor="CPU reference executor",
                         tolerance=Tolerance(0.1, float("inf")), outputs=outputs,
                         layers=[LayerRow("fc", "fc_out", outputs[0])], timing={"run": float("nan")})
    doc = _document(to_json(report))
    jsonschema.validate(doc, _schema("check"))
    out = doc["outputs"][0]
    # relative errors of the 2 finite positions: [inf, 0]; median and p99 interpolate to inf
    infinite = ["max_rel_err", "mean_rel_err", "median_rel_err", "p99_rel_err", "min_rtol"]
    assert out["infinite"] == infinite and all(out[name] is None for name in infinite)
    assert out["max_abs_err"] == 5.0 and out["actual_nan"] == 1 and out["finite_compared"] == 2
    assert doc["outputs"][1]["max_abs_err"] is None and doc["outputs"][1]["infinite"] == []  # not applicable
    assert doc["tolerance"] == {"atol": 0.1, "rtol": None} and doc["timing"] == {"run": None}


@pytest.mark.parametrize("target", ["model", "engine"])
def test_inspect_json_stdout_validates(tmp_path: Path, capsys: pytest.CaptureFixture, target: str) -> None:
    args = [DIGITS, "--weights", DIGITS_WEIGHTS, *DYNAMIC]
    if target == "engine":
        engine = tmp_path / "d.engine"
        assert main(["build", *args, "-o", str(engine)]) == 0
        capsys.readouterr()
        args = [str(engine)]
    assert main(["inspect", *args, "--json", "-"]) == 0
    doc = _document(capsys.readouterr().out)
    jsonschema.validate(doc, _schema("inspect"))
    assert doc["schema"] == "trtnet.inspect/1" and doc["kind"] == ("network" if target == "model" else "engine")
