"""Ctrl-C, SIGTERM and closed pipes against real ``python -m trtnet`` processes building ResNet-50 (seeded
weights): exit 130/143 with one line and no traceback, a prompt cancel inside TensorRT, the previous engine or
a complete new one (byte-identical to a clean build) at the output path, no temporary file; a closed stdout
changes neither the files written nor the exit code."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trtnet import backend
from trtnet.weights import save_safetensors

torch = pytest.importorskip("torch")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import resnet_torch  # noqa: E402

try:
    backend.get()
except backend.BackendUnavailable as exc:  # pragma: no cover
    pytest.skip(f"no TensorRT: {exc}", allow_module_level=True)

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
OLD_ENGINE = b"previous engine " * 4096
DIGITS = ["models/digits.py:digits", "--weights", "weights/digits.safetensors"]
#: The trtnet command started the way its console script starts it, after telling the parent it is up.
AS_COMMAND = ("import runpy, sys; print('up', flush=True); sys.argv = ['trtnet', *sys.argv[1:]]; "
              "runpy.run_module('trtnet', run_name='__main__', alter_sys=True)")


@pytest.fixture(scope="module")
def resnet50(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], bytes]:
    """The build arguments of ResNet-50 with seeded weights, and the bytes of its clean engine."""
    directory = tmp_path_factory.mktemp("r50")
    torch.manual_seed(0)
    weights = directory / "resnet50.safetensors"
    save_safetensors(weights, {k: v.numpy() for k, v in resnet_torch.resnet50().state_dict().items()})
    args = ["build", "models/resnet.py:resnet50", "--weights", str(weights)]
    clean = directory / "clean.engine"
    result = subprocess.run([sys.executable, "-m", "trtnet", *args, "-o", str(clean)], cwd=REPO, env=ENV,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return args, clean.read_bytes()


def start(argv: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", AS_COMMAND, *argv], cwd=REPO, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".trtnet-")]


BAR = re.compile(r"\[[#.]{24}\] \d+/\d+")


def assert_interrupted(code: int, stderr: str, signum: int) -> None:
    assert code == 128 + signum, stderr
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and not BAR.search(line)]
    assert lines == [line for line in lines if "interrupted" in line] and len(lines) == 1, stderr
    assert f"interrupted ({signal.Signals(signum).name})" in stderr
    assert "Traceback" not in stderr and "Exception caught" not in stderr


@pytest.mark.parametrize(("signum", "delay"), [(signal.SIGINT, d) for d in (0.05, 0.1, 0.2, 0.3)]
                         + [(signal.SIGTERM, d) for d in (0.05, 0.2)])
def test_signal_during_start_up_exits_quietly(tmp_path: Path, signum: int, delay: float) -> None:
    """While ``trtnet`` itself is being imported: one line, 130/143, nothing written."""
    proc = start(["build", *DIGITS, "-o", str(tmp_path / "d.engine")])
    assert proc.stdout.readline() == "up\n"
    time.sleep(delay)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert_interrupted(proc.returncode, err, signum)
    assert not (tmp_path / "d.engine").exists() and temp_files(tmp_path) == []


MOMENTS = [(signal.SIGINT, d) for d in (0.4, 0.9, 1.4, 1.9, 2.4, 2.9, 3.4)] + [(signal.SIGTERM, d) for d in (1.0, 2.0, 3.0)]


@pytest.mark.parametrize(("signum", "delay"), MOMENTS)
def test_signal_at_any_moment_keeps_the_previous_engine(tmp_path: Path, resnet50, signum: int, delay: float) -> None:
    """From start-up to the write: interrupted (130/143, one line, the old engine kept, or the new one when the
    signal came after its rename) or finished (the complete engine, byte-identical to a clean build); never a
    partial file or a temporary left behind."""
    args, clean = resnet50
    out_path = tmp_path / "r50.engine"
    out_path.write_bytes(OLD_ENGINE)
    proc = start([*args, "-o", str(out_path)])
    assert proc.stdout.readline() == "up\n"
    time.sleep(delay)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        assert out_path.read_bytes() == clean and "built models/resnet.py:resnet50" in out
    elif proc.returncode == -signum:  # arrived during interpreter shutdown (Python's own default handler again)
        assert out_path.read_bytes() == clean and "built models/resnet.py:resnet50" in out
    else:  # interrupted; a signal after the rename finds the new engine complete
        assert_interrupted(proc.returncode, err, signum)
        assert out_path.read_bytes() in (OLD_ENGINE, clean)
    assert temp_files(tmp_path) == []
    print(f"{signal.Signals(signum).name} at {delay:.1f} s: exit {proc.returncode}")


def test_sigint_inside_the_tensorrt_build_cancels_it_promptly(tmp_path: Path, resnet50) -> None:
    """Sent once TensorRT reports its first build phase (progress monitor): TensorRT cancels, exit 130 soon."""
    args, _ = resnet50
    out_path = tmp_path / "r50.engine"
    out_path.write_bytes(OLD_ENGINE)
    proc = start([*args, "-o", str(out_path), "--progress"])
    proc.stdout.readline()
    seen = ""
    while "Building engine" not in seen:
        char = proc.stderr.read(1)
        assert char, f"no build phase shown: {seen!r}"
        seen += char
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    elapsed = time.perf_counter() - sent
    assert_interrupted(proc.returncode, seen + rest, signal.SIGINT)
    assert "BuildCanceled" not in rest
    assert out_path.read_bytes() == OLD_ENGINE and temp_files(tmp_path) == []
    assert elapsed < 5.0, f"took {elapsed:.2f} s to stop"
    print(f"SIGINT inside TensorRT: stopped after {elapsed:.2f} s")


LIBRARY_BUILD = """
import sys, time
sys.path.insert(0, {repo!r})
import trtnet
from models.resnet import resnet50
model = resnet50()
model.load_safetensors({weights!r})
net = trtnet.trace(model)
print("building", flush=True)
try:
    trtnet.build(model)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
else:
    print("finished", flush=True)
"""


def test_library_build_raises_keyboard_interrupt(tmp_path: Path, resnet50) -> None:
    """``trtnet.build`` under Python's default SIGINT handler: Ctrl-C reaches the caller as KeyboardInterrupt
    (TensorRT's callbacks no longer swallow it)."""
    weights = resnet50[0][3]
    proc = subprocess.Popen([sys.executable, "-c", LIBRARY_BUILD.format(repo=str(REPO), weights=weights)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "building\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out == "KeyboardInterrupt\n", (out, err)
    assert "Exception caught" not in err and "BuildCanceled" not in err


# ---- pipes -------------------------------------------------------------------------------------
def run_with_closed_stdout(argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``python -m trtnet ARGV`` with its stdout a pipe whose reader has gone (as ``| head -0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "trtnet", *argv], cwd=REPO, env=ENV, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)


def test_build_into_a_closed_pipe_still_exits_0(tmp_path: Path) -> None:
    result = run_with_closed_stdout(["build", *DIGITS, "-o", str(tmp_path / "d.engine")])
    assert result.returncode == 0 and result.stderr == ""
    assert (tmp_path / "d.engine").stat().st_size > 0


CHECK = [*DIGITS[:1], "--weights", "weights/digits.safetensors", "--reference", "models/digits_torch.py:digits"]


def test_check_into_a_closed_pipe_writes_the_json_and_keeps_the_exit_code(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = run_with_closed_stdout(["check", *CHECK, "--json", str(report)])
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert json.loads(report.read_text())["passed"] is True


def test_json_dash_writes_json_to_stdout_and_the_table_to_stderr() -> None:
    result = subprocess.run([sys.executable, "-m", "trtnet", "check", *CHECK, "--json", "-"], cwd=REPO, env=ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["passed"] is True
    assert "RESULT: PASS" in result.stderr


@pytest.mark.slow
def test_kill_9_sweep(tmp_path: Path) -> None:
    """benchmarks/kill_sweep.py: 20 SIGKILLs spread over a ResNet-50 build and 6 during its write; each leaves the
    previous engine or the complete new one (byte-identical to a clean build), and the next build leaves no
    temporary file."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "kill_sweep.py"), "--workdir", str(tmp_path)],
                            cwd=REPO, env=ENV, capture_output=True, text=True, timeout=1800)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "byte-identical: yes" in result.stdout and "0 anything else" in result.stdout
