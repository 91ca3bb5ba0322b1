"""``trtnet check`` (API and CLI): ResNet-18/50 and the digits model pass; planted mistakes fail and the
layerwise comparison names the module where they start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

import trtnet  # noqa: E402
from trtnet.cli import main  # noqa: E402
from trtnet.errors import TrtnetError, WeightsError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import resnet_torch  # noqa: E402

MODELS = REPO / "models"
PLANTED = REPO / "tests" / "fixtures" / "planted.py"
DIGITS = f"{MODELS / 'digits.py'}:digits"
DIGITS_REF = f"{MODELS / 'digits_torch.py'}:digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
SMALL = "input:fp32:1x3x64x64"


def random_weights(model: torch.nn.Module, path: Path, seed: int) -> str:
    """Seeded weights with non-trivial BatchNorm statistics (the default init makes BN an identity)."""
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    safetensors_torch.save_file(model.state_dict(), str(path))
    return str(path)


@pytest.fixture(scope="module")
def resnet18_weights(tmp_path_factory: pytest.TempPathFactory) -> str:
    torch.manual_seed(18)
    return random_weights(resnet_torch.resnet18(), tmp_path_factory.mktemp("w") / "resnet18.safetensors", 18)


def run_cli(*args: str) -> int:
    return main(["check", *args])


# ---- passing checks --------------------------------------------------------------------------
def test_cli_resnet18_passes(resnet18_weights: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(f"{MODELS / 'resnet.py'}:resnet18", "--weights", resnet18_weights,
                   "--reference", f"{MODELS / 'resnet_torch.py'}:resnet18", "--input", SMALL)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "RESULT: PASS (1/1 outputs within tolerance)" in out
    assert "input: 1x3x64x64 float32 (seed 0)" in out


def test_api_resnet18_layerwise_passes(resnet18_weights: str) -> None:
    report = trtnet.check(f"{MODELS / 'resnet.py'}:resnet18", f"{MODELS / 'resnet_torch.py'}:resnet18",
                          weights=resnet18_weights, inputs=[trtnet.Input("input", (1, 3, 64, 64))], layerwise=True)
    assert report.passed and report.first_divergent is None
    assert report.executor.startswith("CPU reference executor") or report.executor.startswith("TensorRT engine")
    modules = [row.module for row in report.layers]
    # completion order, shared ReLU's 2nd call named #2; isolated view: a block (its residual add) and the root
    # (its flatten) have rows, a stage (a Sequential computing nothing of its own) doesn't
    assert modules[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1.0.conv1"]
    assert "layer1.0.relu#2" in modules and "layer1.0" in modules and "layer1" not in modules
    assert modules.index("layer2.0.bn2") < modules.index("layer2.0.downsample.0") < modules.index("layer2.0.relu#2")
    assert modules[-3:] == ["avgpool", "fc", "(root)"]
    assert report.outputs[0].max_abs_err < 1e-3
    print(f"resnet18 fp32 max abs err {report.outputs[0].max_abs_err:.3g}")


def test_cli_resnet50_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(50)
    weights = random_weights(resnet_torch.resnet50(), tmp_path / "resnet50.safetensors", 50)
    report_path = tmp_path / "r50.json"
    code = run_cli(f"{MODELS / 'resnet.py'}:resnet50", "--weights", weights,
                   "--reference", f"{MODELS / 'resnet_torch.py'}:resnet50", "--input", SMALL, "--json", str(report_path))
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(report_path.read_text())
    assert doc["passed"] and doc["outputs"][0]["expected_shape"] == [1, 1000]
    print(f"resnet50 fp32 max abs err {doc['outputs'][0]['max_abs_err']:.3g}")


def test_cli_digits_passes_as_a_command(tmp_path: Path) -> None:
    """The real command line (``python -m trtnet``), shipped weights."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "trtnet", "check", DIGITS, "--weights", DIGITS_WEIGHTS,
                             "--reference", DIGITS_REF, "--layerwise", "--json", str(tmp_path / "d.json")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FIRST DIVERGENCE: none" in result.stdout
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["first_divergent"] is None and len(doc["layers"]) == 12


def test_api_digits_passes() -> None:
    report = trtnet.check(DIGITS, DIGITS_REF, weights=DIGITS_WEIGHTS)
    assert report.passed, trtnet.report.format_table(report)
    assert report.dtype == "float32" and report.inputs[0].seed == 0
    print(f"digits fp32 (random input) max abs err {report.outputs[0].max_abs_err:.3g}")


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_digits_on_its_test_images(dtype: str) -> None:
    """64 real test images (data/digits.npz) through input_arrays, in every precision. (Standard-normal
    inputs are far outside the training range and give logits of +-27, where an fp16 run can miss the fixed
    atol=1e-2 on a near-zero logit: seed 0 does, by 0.006.)"""
    from models.digits_data import load_digits_data

    images = load_digits_data()["x_test"][:64]
    report = trtnet.check(DIGITS, DIGITS_REF, weights=DIGITS_WEIGHTS, dtype=dtype,
                          inputs=[trtnet.Input("input", images.shape)], input_arrays={"input": images})
    assert report.passed, trtnet.report.format_table(report)
    assert report.dtype == {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}[dtype]
    assert report.tolerance == trtnet.compare.tolerance_for(dtype)
    assert report.inputs[0].seed is None and report.inputs[0].shape == (64, 1, 8, 8)
    assert report.warnings == []  # real images, trained weights: nothing degenerate
    eager = "".join(f", eager PyTorch {dtype} {c.max_abs_err:.3g}" for c in report.eager_in_dtype)
    assert len(report.eager_in_dtype) == (dtype != "fp32") and report.verdicts[0].rule == "tolerance"
    print(f"digits {dtype} (64 test images) max abs err {report.outputs[0].max_abs_err:.3g}{eager}")


# ---- planted mistakes ------------------------------------------------------------------------
def test_wrong_stride_fails_at_layer2_0_conv1(resnet18_weights: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "wrong.json"
    code = run_cli(f"{PLANTED}:resnet18_wrong_stride", "--weights", resnet18_weights,
                   "--reference", f"{MODELS / 'resnet_torch.py'}:resnet18", "--input", SMALL,
                   "--layerwise", "--json", str(report_path))
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FIRST DIVERGENCE: layer2.0.conv1" in out
    doc = json.loads(report_path.read_text())
    assert not doc["passed"] and doc["first_divergent"] == "layer2.0.conv1"
    row = next(r for r in doc["layers"] if r["module"] == "layer2.0.conv1")
    assert row["comparison"]["actual_shape"] == [1, 128, 16, 16]
    assert row["comparison"]["expected_shape"] == [1, 128, 8, 8]
    assert all(r["comparison"]["passed"] for r in doc["layers"][:doc["layers"].index(row)])


def test_missing_relu_fails_at_the_next_module() -> None:
    """The port never calls features.2: not compared (present on one side only). Accumulated: features.3
    diverges; isolated: every module passes on its own, the root's forward (which skips the ReLU) fails."""
    report = trtnet.check(f"{PLANTED}:digits_missing_relu", DIGITS_REF, weights=DIGITS_WEIGHTS, layerwise="both")
    assert not report.passed
    assert report.first_divergent == "(root)"
    assert [row.module for row in report.layers][:3] == ["features.0", "features.1", "features.3"]
    assert next(row.module for row in report.layers if not row.accumulated.passed) == "features.3"


def test_relu_ported_as_identity_fails_at_that_module(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(f"{PLANTED}:digits_relu_as_identity", "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_REF,
                   "--layerwise")
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FIRST DIVERGENCE: features.2 (tensor features.1)" in out


# ---- inputs, options, errors -----------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_inputs(tmp_path: Path, suffix: str) -> None:
    saved = tmp_path / f"inputs{suffix}"
    first = trtnet.check(DIGITS, DIGITS_REF, weights=DIGITS_WEIGHTS, seed=7, save_inputs=saved)
    again = trtnet.check(DIGITS, DIGITS_REF, weights=DIGITS_WEIGHTS, input_arrays=saved)
    assert again.inputs[0].file == str(saved) and again.inputs[0].seed is None
    assert again.outputs[0].max_abs_err == first.outputs[0].max_abs_err
    other = trtnet.check(DIGITS, DIGITS_REF, weights=DIGITS_WEIGHTS, seed=8)
    assert other.outputs[0].max_abs_err != first.outputs[0].max_abs_err


def test_cli_load_inputs_and_tolerance_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "x.npz", input=np.full((1, 1, 8, 8), 0.5, np.float32))
    code = run_cli(DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_REF, "--load-inputs",
                   str(tmp_path / "x.npz"), "--atol", "0", "--rtol", "1e-12")
    out = capsys.readouterr().out
    assert f"(file {tmp_path / 'x.npz'})" in out and "atol=0 rtol=1e-12" in out
    assert code == 1  # nothing is bit-exact after BatchNorm folding


def test_cli_errors_exit_2(resnet18_weights: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(DIGITS, "--weights", resnet18_weights, "--reference", DIGITS_REF) == 2
    assert "problem(s) loading weights into DigitsNet" in capsys.readouterr().err
    assert run_cli(DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", f"{MODELS / 'digits_torch.py'}:nope") == 2
    assert "has no factory 'nope'" in capsys.readouterr().err
    assert run_cli(DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS) == 2
    assert "not a torch.nn.Module (a trtnet model" in capsys.readouterr().err
    if not trtnet.runtime.gpu_available()[0]:
        assert run_cli(DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_REF, "--device", "gpu") == 2
        assert "device='gpu' but engines can't run here" in capsys.readouterr().err


def test_reference_weights_are_loaded_strictly() -> None:
    """The torch side reports its own strict-loading failure (trtnet's accepted the file)."""
    class Wider(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = resnet_torch.resnet18()

    model = trtnet.nn.Sequential(trtnet.nn.Linear(4, 2))
    state = {"0.weight": np.ones((2, 4), np.float32), "0.bias": np.zeros(2, np.float32)}
    with pytest.raises(WeightsError, match=r"loading into the reference .*Wider.*strict=True"):
        trtnet.check(model, Wider(), weights=state, inputs=[trtnet.Input("x", (1, 4))])


def test_reference_forward_failure_is_an_error() -> None:
    model = trtnet.nn.Sequential(trtnet.nn.Linear(4, 2))
    ref = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Linear(3, 1))  # does not chain
    state = {k: v for k, v in ref.state_dict().items() if k.startswith("0.")}
    model.load_state_dict(state)
    with pytest.raises(TrtnetError, match="running the reference"):
        trtnet.check(model, ref, inputs=[trtnet.Input("x", (1, 4))])
