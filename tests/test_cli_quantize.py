"""``trtnet build --dtype int8|fp8 --calibration DATA [--scales S.json] [--save-scales S.json]``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.digits_data import load_digits_data
from trtnet import cli

ROOT = Path(__file__).resolve().parent.parent
MODEL = ["build", "models/digits.py:digits", "--weights", str(ROOT / "weights" / "digits.safetensors")]


@pytest.fixture()
def calibration(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(ROOT)
    path = tmp_path / "calib.npz"
    np.savez(path, images=load_digits_data()["x_train"][:200])  # one array: the model's single input
    return path


def test_int8_build_calibrates_saves_scales_and_rebuilds_from_them(calibration, tmp_path, capsys):
    scales = tmp_path / "scales.json"
    code = cli.main([*MODEL, "--dtype", "int8", "--calibration", str(calibration), "--calibration-method", "max",
                     "--calibration-batch", "64", "--save-scales", str(scales), "-o", str(tmp_path / "a.engine")])
    assert code == 0 and (tmp_path / "a.engine").stat().st_size > 0
    saved = json.loads(scales.read_text())
    assert saved["dtype"] == "int8" and saved["method"] == "max"
    assert saved["scales"]["features.0"] == pytest.approx(load_digits_data()["x_train"][:200].max() / 127)
    assert set(saved["scales"]) == {"features.0", "features.3", "classifier.1", "classifier.4"}
    code = cli.main([*MODEL, "--dtype", "int8", "--scales", str(scales), "-o", str(tmp_path / "b.engine")])
    assert code == 0 and "layers  43" in capsys.readouterr().out


def test_fp8_build_needs_fp8_targets(calibration, tmp_path, capsys):
    args = [*MODEL, "--dtype", "fp8", "--calibration", str(calibration), "-o", str(tmp_path / "f.engine")]
    assert cli.main(args) == 2
    assert "default targets (SM80, SM86, SM89, SM120) include SM80, SM86" in capsys.readouterr().err
    assert not (tmp_path / "f.engine").exists()
    assert cli.main([*args, "--compute-capability", "SM89,SM120"]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--dtype", "int8"], "--dtype int8 needs --calibration DATA"),
    (["--scales", "s.json"], "--scales needs --dtype int8 or --dtype fp8"),
    (["--dtype", "int8", "--calibration", "missing.npz"], "--calibration"),
])
def test_bad_quantization_arguments_exit_2(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main([*MODEL, *extra, "-o", str(tmp_path / "x.engine")]) == 2
    assert message in capsys.readouterr().err
