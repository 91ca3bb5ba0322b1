"""``trtnet build``: real engines of ResNet-18/50 and the digits model, dynamic batch, fp16, exit codes and
error messages, and the trtnet models' state_dict names against their PyTorch twins."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from trtnet import backend
from trtnet.cli import main
from trtnet.weights import read_safetensors, save_safetensors

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import digits, digits_torch, resnet, resnet_torch  # noqa: E402

try:
    backend.get()
except backend.BackendUnavailable as exc:  # pragma: no cover - every test here builds engines
    pytest.skip(f"no TensorRT: {exc}", allow_module_level=True)

RESNET = str(REPO / "models" / "resnet.py")
DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
BAD_NET = '''
import numpy as np
import trtnet


class Mismatch(trtnet.Module):
    """x [-1, 4] + a [3, 4] constant: traces, but TensorRT can't build batch 2 (the opt shape)."""

    default_inputs = [trtnet.Input("x", (-1, 4), trtnet.float32, min=(1, 4), opt=(2, 4), max=(3, 4))]

    def forward(self, x):
        return x + np.ones((3, 4), np.float32)


def mismatch():
    return Mismatch()


def not_a_module():
    return 42


def broken():
    raise RuntimeError("factory exploded")


class Typo(trtnet.Module):
    default_inputs = [trtnet.Input("x", (1, 4), trtnet.float32)]

    def forward(self, x):
        return x.rleu()


def typo():
    return Typo()
'''


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded random ResNet-18/50 state_dicts of the torch twins, plus a digits file with an extra key."""
    directory = tmp_path_factory.mktemp("weights")
    for name, factory in (("resnet18", resnet_torch.resnet18), ("resnet50", resnet_torch.resnet50)):
        torch.manual_seed(0)
        save_safetensors(directory / f"{name}.safetensors", {k: v.numpy() for k, v in factory().state_dict().items()})
    extra = dict(read_safetensors(DIGITS_WEIGHTS), **{"head.weight": np.zeros((2, 2), np.float32)})
    save_safetensors(directory / "digits_extra.safetensors", extra)
    (directory / "corrupt.safetensors").write_bytes(b"\xff" * 64)
    (directory / "badnet.py").write_text(BAD_NET)
    return directory


def build(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["build", *argv, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- state_dict names ------------------------------------------------------------------------
@pytest.mark.parametrize(("ours", "theirs"), [(resnet.resnet18, resnet_torch.resnet18),
                                              (resnet.resnet50, resnet_torch.resnet50),
                                              (digits.digits, digits_torch.digits)])
def test_state_dict_names_and_shapes_match_torch_twin(ours, theirs) -> None:
    params = {k: p.shape for k, p in ours().state_dict_entries()}
    state = {k: tuple(v.shape) for k, v in theirs().state_dict().items()}
    assert list(params) == list(state)  # same keys in the same order, num_batches_tracked included
    assert params == state


def test_models_declare_default_inputs() -> None:
    for model in (resnet.resnet50(), digits.digits()):
        (spec,) = model.default_inputs
        assert spec.name == "input" and spec.dtype.name == "float32"
    assert resnet.resnet18().default_inputs[0].shape == (1, 3, 224, 224)
    assert digits.digits().default_inputs[0].shape == (1, 1, 8, 8)


@pytest.mark.parametrize(("model", "reference", "weights", "shape"), [
    (f"{RESNET}:resnet50", "models/resnet_torch.py:resnet50", "resnet50.safetensors", "1x3x64x64"),
    (DIGITS, "models/digits_torch.py:digits", DIGITS_WEIGHTS, "1x1x8x8"),  # absolute: weights_dir / it == it
], ids=["resnet50", "digits"])
def test_models_compute_what_their_torch_twins_compute(capsys, monkeypatch, weights_dir: Path, model: str,
                                                       reference: str, weights: str, shape: str) -> None:
    """Same state_dict names are not enough (ResNet v1 and v1.5 share them): compare outputs on the CPU executor."""
    monkeypatch.chdir(REPO)
    code = main(["check", model, "--weights", str(weights_dir / weights), "--reference", reference,
                 "--input", f"input:fp32:{shape}", "--device", "cpu"])
    assert code == 0, capsys.readouterr().out


# ---- successful builds -----------------------------------------------------------------------
# layers: stem 4 + blocks x (convs + bns + relus + add) + downsample 2 each + avgpool, flatten, fc (2 constants,
# matmul, add): ResNet-18 4 + 8*7 + 3*2 + 6 = 72, ResNet-50 4 + 16*10 + 4*2 + 6 = 178.
@pytest.mark.parametrize(("name", "layers"), [("resnet18", 72), ("resnet50", 178)])
def test_build_resnet(capsys, weights_dir: Path, tmp_path: Path, name: str, layers: int) -> None:
    out = tmp_path / f"{name}.engine"
    code, stdout, stderr = build(capsys, f"{RESNET}:{name}", "--weights", str(weights_dir / f"{name}.safetensors"),
                                 "-o", str(out))
    assert code == 0, stderr
    size = out.stat().st_size
    assert size > 10_000_000  # the weights are in the engine
    assert f"built {RESNET}:{name} (ResNet) -> {out}" in stdout
    assert "input   input  float32  1x3x224x224" in stdout
    assert "output  output  float32  1x1000" in stdout
    assert f"layers  {layers} (network definition)" in stdout
    assert f"({size} bytes)" in stdout
    assert f"backend {backend.get().name} {backend.get().version}" in stdout


def test_dynamic_batch(capsys, weights_dir: Path, tmp_path: Path) -> None:
    code, stdout, stderr = build(capsys, f"{RESNET}:resnet18", "--weights", str(weights_dir / "resnet18.safetensors"),
                                 "-o", str(tmp_path / "dyn.engine"), "--input", "input:fp32:-1x3x224x224",
                                 "--min", "1x3x224x224", "--opt", "input:4x3x224x224", "--max", "8x3x224x224")
    assert code == 0, stderr
    assert "input  float32  -1x3x224x224  (min 1x3x224x224, opt 4x3x224x224, max 8x3x224x224)" in stdout
    assert "output  output  float32  -1x1000" in stdout


def test_profile_alone_makes_the_differing_dims_dynamic(capsys, weights_dir: Path, tmp_path: Path) -> None:
    code, stdout, _ = build(capsys, DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(tmp_path / "d.engine"),
                            "--min", "1x1x8x8", "--opt", "16x1x8x8", "--max", "64x1x8x8")
    assert code == 0
    assert "-1x1x8x8  (min 1x1x8x8, opt 16x1x8x8, max 64x1x8x8)" in stdout


def test_fp16_halves_the_engine(capsys, weights_dir: Path, tmp_path: Path) -> None:
    args = [f"{RESNET}:resnet18", "--weights", str(weights_dir / "resnet18.safetensors")]
    assert build(capsys, *args, "-o", str(tmp_path / "fp32.engine"))[0] == 0
    code, stdout, stderr = build(capsys, *args, "-o", str(tmp_path / "fp16.engine"), "--dtype", "fp16",
                                 "--input", "input:fp16:1x3x224x224", "--workspace", "512M",
                                 "--compute-capability", "SM86,SM89")
    assert code == 0, stderr
    assert "input   input  float16  1x3x224x224" in stdout and "output  output  float16  1x1000" in stdout
    assert (tmp_path / "fp16.engine").stat().st_size < 0.6 * (tmp_path / "fp32.engine").stat().st_size


def test_declared_input_dtype_is_kept_under_dtype_fp16(capsys, tmp_path: Path) -> None:
    code, stdout, _ = build(capsys, DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(tmp_path / "d.engine"),
                            "--dtype", "fp16")
    assert code == 0
    assert "input   input  float32  1x1x8x8" in stdout and "output  output  float16  1x10" in stdout


def test_non_strict_ignores_extra_weights(capsys, weights_dir: Path, tmp_path: Path) -> None:
    args = [DIGITS, "--weights", str(weights_dir / "digits_extra.safetensors"), "-o", str(tmp_path / "d.engine")]
    code, _, stderr = build(capsys, *args)
    assert code == 2 and "unexpected key 'head.weight'" in stderr
    code, _, stderr = build(capsys, *args, "--non-strict")
    assert code == 0 and "ignored 1 weight(s)" in stderr and "head.weight" in stderr


def test_console_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    """Run pyproject's ``trtnet`` entry point as its console script does; the build must not import torch."""
    entry = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["trtnet"]
    module, function = entry.split(":")
    assert getattr(importlib.import_module(module), function) is main
    script = (f"import sys\nfrom {module} import {function}\ncode = {function}()\n"
              "assert 'torch' not in sys.modules, 'building imported torch'\nsys.exit(code)")
    out = tmp_path / "digits.engine"
    result = subprocess.run([sys.executable, "-c", script, "build", "models/digits.py:digits", "--weights",
                             "weights/digits.safetensors", "-o", str(out)],
                            cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "output  output  float32  1x10" in result.stdout and out.stat().st_size > 0


def test_python_dash_m_trtnet(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "trtnet", "build", "models.resnet:resnet18", "-o",
                             str(tmp_path / "x.engine")], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2
    assert result.stderr.startswith("trtnet build: error: --weights FILE.safetensors is required")
    assert "Traceback" not in result.stderr


def test_help_documents_everything(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("--weights", "--input", "--min", "--opt", "--max", "--dtype", "--workspace", "--tf32",
                 "--compute-capability", "--log-level", "--progress", "--no-progress", "--non-strict",
                 "examples:", "exit codes:", "-1x3x224x224"):
        assert word in text, word


# ---- failures --------------------------------------------------------------------------------
def test_build_failure_exits_1(capsys, weights_dir: Path, tmp_path: Path) -> None:
    code, _, stderr = build(capsys, f"{weights_dir / 'badnet.py'}:mismatch", "-o", str(tmp_path / "b.engine"))
    assert code == 1
    assert "trtnet build: error: TensorRT could not build the engine (layers involved: add_1)" in stderr
    assert not (tmp_path / "b.engine").exists()


W = ["--weights", DIGITS_WEIGHTS]
BAD_ARGUMENTS = [
    ("missing model file", ["models/nope.py:f"], "MODEL: no such file 'models/nope.py'"),
    ("no factory separator", [RESNET], "write FILE.py:FACTORY or MODULE:FACTORY"),
    ("module not importable", ["no_such_pkg.models:f"], "MODEL: no module named 'no_such_pkg'"),
    ("factory missing", [f"{RESNET}:resnet5"], "has no factory 'resnet5' (did you mean 'resnet50'?)"),
    ("factory returns torch model", ["models.resnet_torch:resnet18"],
     "resnet18() returned a ResNet, not a trtnet Module (a PyTorch model: port it to trtnet.nn"),
    ("factory returns int", ["{badnet}:not_a_module"], "not_a_module() returned a int, not a trtnet Module"),
    ("factory raises", ["{badnet}:broken"], "calling broken() failed: RuntimeError: factory exploded (at "),
    ("forward raises", ["{badnet}:typo"], "AttributeError: 'Tensor' object has no attribute 'rleu'\n  in:   the model (Typo)\n  line: "),
    ("factory needs arguments", [f"{RESNET}:conv3x3"], "conv3x3() needs arguments (in_planes, out_planes)"),
    ("bad shape", [DIGITS, *W, "--input", "input:fp32:1x1xeightx8"],
     "bad shape '1x1xeightx8': 'eight' is not an integer"),
    ("zero dim", [DIGITS, *W, "--max", "0x1x8x8"], "--max '0x1x8x8': bad shape '0x1x8x8'"),
    ("bad input dtype", [DIGITS, *W, "--input", "input:fp61:1x1x8x8"], "unknown dtype 'fp61' (did you mean 'fp16'?)"),
    ("bad input spec", [DIGITS, *W, "--input", "1x1x8x8"],
     "--input '1x1x8x8': write NAME:DTYPE:SHAPE or NAME:SHAPE"),
    ("unknown input", [DIGITS, *W, "--input", "inputs:1x1x8x8"],
     "the model has no input 'inputs' (did you mean 'input'?)"),
    ("unknown profile input", [DIGITS, *W, "--min", "x:1x1x8x8"], "--min 'x:1x1x8x8': no input 'x'"),
    ("dynamic without profile", [DIGITS, *W, "--input", "input:-1x1x8x8"], "give min/opt/max shapes"),
    ("min above max", [DIGITS, *W, "--min", "8x1x8x8", "--opt", "4x1x8x8", "--max", "2x1x8x8"],
     "needs min <= opt <= max"),
    ("profile rank", [DIGITS, *W, "--min", "1x8x8", "--opt", "1x8x8", "--max", "2x8x8"],
     "don't have the rank of 1x1x8x8"),
    ("weights missing", [DIGITS, "--weights", "nope.safetensors"], "nope.safetensors: no such weights file"),
    ("weights corrupt", [DIGITS, "--weights", "{corrupt}"], "not a safetensors file"),
    ("weights of another model", [f"{RESNET}:resnet18", "--weights", "{resnet50}"],
     "problem(s) loading weights into ResNet"),
    ("no weights", [DIGITS], "--weights FILE.safetensors is required: "),
    ("bad workspace", [DIGITS, *W, "--workspace", "lots"], "--workspace: bad size 'lots'"),
    ("bad compute capability", [DIGITS, *W, "--compute-capability", "SM99"], "unknown compute capability 'SM99'"),
]


@pytest.mark.parametrize(("argv", "message"), [case[1:] for case in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS])
def test_bad_arguments_exit_2(capsys, monkeypatch, weights_dir: Path, tmp_path: Path, argv: list[str],
                              message: str) -> None:
    monkeypatch.chdir(REPO)
    names = {"badnet": weights_dir / "badnet.py", "corrupt": weights_dir / "corrupt.safetensors",
             "resnet50": weights_dir / "resnet50.safetensors"}
    code, stdout, stderr = build(capsys, *[a.format(**names) for a in argv], "-o", str(tmp_path / "x.engine"))
    assert code == 2
    assert stderr.startswith("trtnet build: error: ") and message in stderr
    assert "Traceback" not in stderr and stdout == ""
    assert len(stderr.splitlines()) <= 12  # long listings are cut short
    assert not (tmp_path / "x.engine").exists()


def test_missing_output_directory_exits_2_before_building(capsys) -> None:
    code, _, stderr = build(capsys, DIGITS, "--weights", DIGITS_WEIGHTS, "-o", "/no/such/dir/x.engine")
    assert code == 2 and "-o /no/such/dir/x.engine: directory /no/such/dir does not exist" in stderr


@pytest.mark.parametrize("argv", [["build"], ["build", DIGITS, "--weights", DIGITS_WEIGHTS],
                                  ["build", DIGITS, "-o", "x.engine", "--dtype", "fp4"], ["frobnicate"]])
def test_malformed_command_lines_exit_2(capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
