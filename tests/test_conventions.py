"""trtexec/Polygraphy spellings are answered with the trtnet option (exit 2, one line), and the README's command
line examples run as written (parsed here; executed in full under ``-m slow``)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from trtnet.cli import main, make_parser

REPO = Path(__file__).resolve().parent.parent
DIGITS = "models/digits.py:digits"

SPELLINGS = [  # (arguments, what the answer must say, the arguments rewritten as it says)
    (["--fp16"], "--dtype fp16", ["--dtype", "fp16"]),
    (["--bf16"], "--dtype bf16", ["--dtype", "bf16"]),
    (["--saveEngine=net.engine"], "-o net.engine", ["-o", "net.engine"]),
    (["--save-engine", "net.engine"], "-o net.engine", ["-o", "net.engine"]),
    (["--shapes=input:4x1x8x8"], "--input input:4x1x8x8", ["--input", "input:4x1x8x8"]),
    (["--minShapes=input:1x1x8x8"], "--min input:1x1x8x8", ["--min", "input:1x1x8x8"]),
    (["--optShapes", "input:4x1x8x8"], "--opt input:4x1x8x8", ["--opt", "input:4x1x8x8"]),
    (["--maxShapes=input:8x1x8x8"], "--max input:8x1x8x8", ["--max", "input:8x1x8x8"]),
    (["--trt-max-shapes", "input:8x1x8x8"], "--max input:8x1x8x8", ["--max", "input:8x1x8x8"]),
    (["--memPoolSize=workspace:1G"], "--workspace 1G", ["--workspace", "1G"]),
    (["--verbose"], "--log-level verbose", ["--log-level", "verbose"]),
    (["--timingCacheFile=t.cache"], "--cache [DIR]", ["--cache"]),
    (["--int8"], "quantize/dequantize in the model", None),
    (["--loadEngine=net.engine"], "trtnet inspect net.engine", None),
]


@pytest.mark.parametrize("foreign, answer, rewritten", SPELLINGS, ids=[s[0][0].split("=")[0] for s in SPELLINGS])
def test_foreign_spelling_is_answered(foreign: list[str], answer: str, rewritten: list[str] | None,
                                      capsys: pytest.CaptureFixture) -> None:
    base = ["build", DIGITS, "--weights", "weights/digits.safetensors"]
    with pytest.raises(SystemExit) as exited:
        main(base + foreign)  # also without -o: the spelling is answered before the missing option
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and answer in lines[0], lines
    assert lines[0].startswith("trtnet build: error: " + foreign[0].split("=")[0] + " is ")
    if rewritten is not None:  # the answer is an option trtnet accepts
        needs_output = [] if "-o" in rewritten else ["-o", "net.engine"]
        make_parser().parse_args(base + needs_output + rewritten)


def test_other_errors_are_argparse_s(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["build", DIGITS, "--no-such-option"])
    assert exited.value.code == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err


def readme_commands() -> list[str]:
    """The commands of the README's "Command line" block, continuation lines joined."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Command line.*?```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_readme_commands_parse_and_name_files_that_exist_or_are_made() -> None:
    commands = readme_commands()
    assert any(c.startswith("python benchmarks/make_resnet50_weights.py ") for c in commands)
    made: set[str] = set()
    for command in commands:
        words = shlex.split(command)
        if words[0] == "python":
            assert (REPO / words[1]).is_file(), words[1]
            made.add(words[2])
            continue
        assert words[0] == "trtnet", command
        args = make_parser().parse_args(words[1:])  # parses as written
        for option in ("weights", "model"):
            value = getattr(args, option, None)
            if value and (value.endswith((".safetensors", ".engine"))):
                assert value in made or (REPO / value).is_file(), f"{command}: {value} is neither shipped nor made"
            elif value and ":" in value:
                assert (REPO / value.split(":")[0]).is_file(), f"{command}: {value}"
        made.update(str(getattr(args, "output", "")).split())


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    for folder in ("models", "weights", "benchmarks"):
        (tmp_path / folder).symlink_to(REPO / folder)
    env = dict(os.environ, TRTNET_CACHE_DIR=str(tmp_path / "cache"))
    for command in readme_commands():
        words = shlex.split(command)
        words = [sys.executable] + words[1:] if words[0] == "python" else [sys.executable, "-m", "trtnet"] + words[1:]
        run = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, f"{command}\n{run.stderr[-2000:]}"
