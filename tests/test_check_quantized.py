"""``trtnet.check(..., dtype="int8"|"fp8")`` and ``trtnet check --dtype int8``: the quantized network (CPU executor)
against eager fp32, SQNR and top-1 agreement per output, the quantized verdict rule, planted bad scales failing
(and named by the isolated layerwise view)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

pytest.importorskip("torch")

import trtnet  # noqa: E402
from trtnet import cli, verdict  # noqa: E402
from trtnet.compare import Tolerance, compare, sqnr_db, top1_agreement  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from models.digits import digits  # noqa: E402
from models.digits_data import load_digits_data  # noqa: E402
from models.digits_torch import digits as torch_digits  # noqa: E402

WEIGHTS = str(ROOT / "weights" / "digits.safetensors")
HELD_OUT = 128


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return load_digits_data()


def _check(data, layerwise=False, **options) -> trtnet.CheckReport:
    images = data["x_test"][:HELD_OUT]
    return trtnet.check(digits(), torch_digits(), weights=WEIGHTS, inputs=[trtnet.Input("input", images.shape)],
                        input_arrays={"input": images}, layerwise=layerwise, **options)


def _calibration(data) -> list[np.ndarray]:
    return [data["x_train"][i:i + 256] for i in range(0, 1024, 256)]


def _planted_scales(data, tmp_path: Path, dtype: str, factor: float, keys: tuple[str, ...] | None = None) -> Path:
    """Scales calibrated (max) on the training images, the ``keys`` (default: all) multiplied by ``factor``."""
    model = digits()
    model.load_safetensors(WEIGHTS)
    trtnet.quantize(model, _calibration(data), dtype, "max")
    plan = model.quantization
    plan.scales = {k: v * factor if keys is None or k in keys else v for k, v in plan.scales.items()}
    path = tmp_path / f"{dtype}-{factor:g}.json"
    plan.save(path)
    return path


def test_sqnr_and_top1_are_the_definitions():
    expected, actual = np.array([[3.0, 4.0], [1.0, 0.0]]), np.array([[3.0, 4.5], [0.0, 1.0]])
    # signal 9 + 16 + 1 = 26, noise 0.25 + 1 + 1 = 2.25; row argmax: [1, 0] vs [1, 1]
    assert sqnr_db(actual, expected) == pytest.approx(10 * math.log10(26 / 2.25))
    assert top1_agreement(actual, expected) == 50.0
    assert sqnr_db(expected, expected) == math.inf and top1_agreement(expected[:, :1], expected[:, :1]) is None
    exact = compare("out", expected, expected, Tolerance(0, 0)).to_dict()
    assert exact["sqnr_db"] is None and "sqnr_db" in exact["infinite"] and exact["top1_agreement"] == 100.0


@pytest.mark.parametrize("dtype, floor", [("int8", 15.0), ("fp8", 10.0)])
def test_calibrated_digits_pass_the_quantized_rule(data, dtype, floor):
    report = _check(data, dtype=dtype, calibration=_calibration(data))
    (output,) = report.outputs
    print(f"digits {dtype}: SQNR {output.sqnr_db:.1f} dB, top-1 agreement {output.top1_agreement:.1f}%")
    assert report.passed and report.dtype == dtype and report.quantized.min_sqnr_db == floor
    assert report.verdicts[0].rule == verdict.QUANTIZED_RULE
    assert floor < output.sqnr_db < 80  # quantized: not exact, far above the floor
    assert output.top1_agreement >= 98.0
    assert not output.passed  # the fp32 tolerance alone would fail it: the quantized rule decides


def test_scales_100x_too_small_fail(data, tmp_path):
    report = _check(data, dtype="int8", scales=_planted_scales(data, tmp_path, "int8", 0.01))
    (output,) = report.outputs
    print(f"digits int8, scales / 100: SQNR {output.sqnr_db:.1f} dB, top-1 {output.top1_agreement:.1f}%")
    assert not report.passed and output.sqnr_db < 10
    assert "quantized rule (int8): SQNR" in report.verdicts[0].detail


def test_thresholds_are_overridable(data):
    report = _check(data, dtype="int8", calibration=_calibration(data), min_sqnr=200.0)
    assert not report.passed and report.quantized.min_sqnr_db == 200.0
    assert "< 200 dB" in report.verdicts[0].detail


def test_isolated_layerwise_names_the_module_with_the_bad_scale(data, tmp_path):
    scales = _planted_scales(data, tmp_path, "int8", 0.05, keys=("features.3",))
    report = _check(data, layerwise=True, dtype="int8", scales=scales)
    rows = {row.module: row.comparison for row in report.layers}
    print({module: round(c.sqnr_db, 1) for module, c in rows.items() if c.sqnr_db is not None and c.sqnr_db < 1e3})
    assert report.first_divergent == "features.3"
    assert rows["features.3"].sqnr_db < 10 and rows["features.0"].sqnr_db > 20 and rows["classifier.1"].sqnr_db > 20
    table = trtnet.report.format_table(report)
    assert "SQNR dB" in table and "FIRST DIVERGENCE: features.3 (tensor features.3): quantized rule (int8)" in table


@pytest.mark.parametrize("options, message", [
    ({"dtype": "int8"}, "dtype='int8' needs calibration="),
    ({"dtype": "fp32", "min_sqnr": 20.0}, "min_sqnr= needs dtype='int8' or 'fp8'"),
    ({"dtype": "int4"}, "dtype must be fp32, fp16, bf16, int8 or fp8"),
])
def test_quantized_options_are_checked(data, options, message):
    with pytest.raises(TrtnetError, match=message):
        _check(data, **options)


@pytest.fixture()
def calibration_file(tmp_path, monkeypatch, data) -> Path:
    monkeypatch.chdir(ROOT)
    path = tmp_path / "calib.npz"
    np.savez(path, images=data["x_train"][:512])
    np.savez(tmp_path / "held_out.npz", input=data["x_test"][:64])  # seeded normal inputs lie outside the range
    return path


def test_cli_check_int8_json_validates_and_min_sqnr_fails(calibration_file, tmp_path, capsys):
    args = ["check", "models/digits.py:digits", "--weights", WEIGHTS, "--reference", "models/digits_torch.py:digits",
            "--input", "input:fp32:64x1x8x8", "--dtype", "int8", "--calibration", str(calibration_file),
            "--calibration-batch", "128", "--load-inputs", str(tmp_path / "held_out.npz")]
    scales = tmp_path / "s.json"
    assert cli.main([*args, "--json", "-", "--save-scales", str(scales)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    jsonschema.validate(doc, json.loads((ROOT / "docs" / "schemas" / "check-1.json").read_text()))
    assert doc["quantized"] == {"dtype": "int8", "min_sqnr_db": 15.0, "min_top1": 70.0}
    assert doc["outputs"][0]["sqnr_db"] > 30 and doc["outputs"][0]["verdict"]["rule"] == "quantized"
    assert "SQNR dB" in captured.err and "RESULT: PASS" in captured.err
    assert json.loads(scales.read_text())["dtype"] == "int8"
    assert cli.main([*args, "--min-sqnr", "200"]) == 1
    assert "RESULT: FAIL" in capsys.readouterr().out
    assert cli.main([*args[:8], "--min-top1", "50"]) == 2
    assert "--min-top1 needs --dtype int8 or --dtype fp8" in capsys.readouterr().err
