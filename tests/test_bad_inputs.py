"""The bad-input corpus: weights files, paths, models, layer arguments, inputs and profiles, outputs and signals,
run through ``trtnet build``/``trtnet check`` (in-process, or as a subprocess for signals and pipes) and the Python
API. Every case asserts the exit code (2 bad input, 1 build failure or mismatch, 130/143 signals, 0 where the
input is acceptable), that the message names the file, key, module or option involved, that no traceback is
printed, and that no partial or destroyed output is left behind. A watchdog fails a case that hangs.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import struct
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import trtnet
from trtnet import backend, fileio
from trtnet.cli import main
from trtnet.errors import TrtnetError, WeightsError
from trtnet.weights import read_safetensors, save_safetensors

REPO = Path(__file__).resolve().parent.parent
DIGITS = "models/digits.py:digits"
DIGITS_REF = "models/digits_torch.py:digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

try:
    backend.get()
except backend.BackendUnavailable as exc:  # pragma: no cover - every case may build
    pytest.skip(f"no TensorRT: {exc}", allow_module_level=True)


MODELS = '''
import sys
import numpy as np
import trtnet
from trtnet import nn


class One(trtnet.Module):
    """A single layer called conv1 on a 1x2x8x8 input, with zero weights loaded by the factory."""

    def __init__(self, layer):
        super().__init__()
        self.conv1 = layer
        self.default_inputs = [trtnet.Input("input", (1, 2, 8, 8), trtnet.float32)]

    def forward(self, x):
        return self.conv1(x)


def _one(make):
    model = One(make())
    model.load_state_dict({n: np.zeros(p.shape, np.float32) for n, p in model.named_parameters()})
    return model


def conv_stride0(): return _one(lambda: nn.Conv2d(2, 4, 3, stride=0))
def conv_kernel0(): return _one(lambda: nn.Conv2d(2, 4, 0))
def conv_groups0(): return _one(lambda: nn.Conv2d(2, 4, 3, groups=0))
def conv_groups3(): return _one(lambda: nn.Conv2d(2, 4, 3, groups=3))
def conv_negative_padding(): return _one(lambda: nn.Conv2d(2, 4, 3, padding=-1))
def conv_dilation0(): return _one(lambda: nn.Conv2d(2, 4, 3, dilation=0))
def conv_too_few_channels(): return _one(lambda: nn.Conv2d(3, 4, 3))
def conv3(): return _one(lambda: nn.Conv2d(3, 4, 3))
def maxpool_stride0(): return _one(lambda: nn.MaxPool2d(2, stride=0))
def avgpool_kernel0(): return _one(lambda: nn.AvgPool2d(0))
def maxpool_padding_too_big(): return _one(lambda: nn.MaxPool2d(2, padding=2))
def conv_kernel_larger_than_input(): return _one(lambda: nn.Conv2d(2, 4, 11))


class NoOutput(trtnet.Module):
    default_inputs = [trtnet.Input("x", (1, 4), trtnet.float32)]

    def forward(self, x):
        return None


class Typo(trtnet.Module):
    default_inputs = [trtnet.Input("x", (1, 4), trtnet.float32)]

    def forward(self, x):
        return x.rleu()


class Mismatch(trtnet.Module):
    """Traces, but TensorRT can't build batch 2 against a [3, 4] constant."""

    default_inputs = [trtnet.Input("x", (-1, 4), trtnet.float32, min=(1, 4), opt=(2, 4), max=(3, 4))]

    def forward(self, x):
        return x + np.ones((3, 4), np.float32)


def no_output(): return NoOutput()
def typo(): return Typo()
def mismatch(): return Mismatch()
def returns_none(): return None
def returns_int(): return 42
def raises(): raise RuntimeError("factory exploded")
def exits(): sys.exit(0)
def needs_argument(width): return None
not_callable = 3
'''

PORTS_COMMON = '''
import trtnet


class Double(trtnet.Module):
    default_inputs = [trtnet.Input("x", (1, 4), trtnet.float32)]

    def forward(self, x):
        return x * 2.0
'''


# ---- the files the cases use --------------------------------------------------------------------
def raw_safetensors(header: Any, data: bytes = b"", header_bytes: bytes | None = None) -> bytes:
    encoded = header_bytes if header_bytes is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every file the cases name, in one folder; returns the names the case templates use."""
    d = tmp_path_factory.mktemp("corpus")
    names: dict[str, str] = {"d": str(d), "repo": str(REPO), "digits_w": DIGITS_WEIGHTS}
    digits = read_safetensors(DIGITS_WEIGHTS)
    first_key = next(k for k in digits if k.endswith("weight"))
    (d / "models.py").write_text(MODELS)
    (d / "exit0.py").write_text("import sys\nsys.exit(0)\n")
    (d / "exit3.py").write_text("raise SystemExit(3)\n")
    (d / "syntax.py").write_text("def broken(:\n")
    (d / "importerror.py").write_text("import no_such_module_xyz\n")
    (d / "empty.py").write_text("")
    ports = d / "pkg" / "ports"
    (ports / "nested").mkdir(parents=True)
    for init in (ports / "__init__.py", ports / "nested" / "__init__.py"):
        init.write_text("")
    (ports / "common.py").write_text(PORTS_COMMON)
    (ports / "relative.py").write_text("from .common import Double\n\ndef make():\n    return Double()\n")
    (ports / "nested" / "absolute.py").write_text("from ports.common import Double\n\ndef make():\n    return Double()\n")
    (d / "afile").write_text("x")
    (d / "adir").mkdir()
    os.mkfifo(d / "fifo")
    os.mkfifo(d / "fifo.py")
    os.mkfifo(d / "fifo.npz")
    (d / "loop").symlink_to("loop")
    (d / "loop.py").symlink_to("loop.py")
    (d / "loop.npz").symlink_to("loop.npz")
    (d / "loop.engine").symlink_to("loop.engine")
    names["long"] = str(d / ("n" * 300))
    # input files
    good = np.random.default_rng(0).standard_normal((1, 1, 8, 8)).astype(np.float32)
    np.savez(d / "good.npz", input=good)
    np.savez(d / "empty.npz")
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    (d / "text.npz").write_text("hello")
    np.savez(d / "wrongname.npz", inputs=good)
    np.savez(d / "wrongshape.npz", input=good.reshape(1, 1, 4, 16))
    np.savez(d / "wrongrank.npz", input=good[0])
    np.savez(d / "wrongdtype.npz", input=np.zeros((1, 1, 8, 8), np.int32))
    np.savez(d / "extra.npz", input=good, other=good)
    nan = good.copy()
    nan[0, 0, 0, :3] = np.nan
    nan[0, 0, 1, 0] = np.inf
    np.savez(d / "nan.npz", input=nan)
    np.save(d / "object.npy", good)
    (d / "inputs.txt").write_text("1 2 3")
    save_safetensors(d / "inputs.safetensors", {"input": good})
    (d / "corrupt_inputs.safetensors").write_bytes(b"\x07" * 40)
    # weights files
    good_bytes = Path(DIGITS_WEIGHTS).read_bytes()
    header_len = struct.unpack("<Q", good_bytes[:8])[0]
    header = json.loads(good_bytes[8:8 + header_len])
    data = good_bytes[8 + header_len:]
    entry = header[first_key]
    begin, end = entry["data_offsets"]
    weights_files: dict[str, bytes] = {
        "empty": b"",
        "tiny": b"\x01\x02\x03",
        "huge_header": struct.pack("<Q", 200 * 1024 * 1024) + b"{}",
        "header_past_end": struct.pack("<Q", 10_000) + b"{}",
        "not_json": raw_safetensors(None, header_bytes=b"{not json at all"),
        "json_array": raw_safetensors([1, 2, 3]),
        "json_number": raw_safetensors(7),
        "nested": raw_safetensors(None, header_bytes=b"[" * 50_000 + b"]" * 50_000),
        "entry_not_object": raw_safetensors({first_key: 3}),
        "unknown_dtype": raw_safetensors({first_key: {**entry, "dtype": "Q7"}}, data),
        "negative_shape": raw_safetensors({first_key: {**entry, "shape": [-1, 4]}}, data),
        "float_shape": raw_safetensors({first_key: {**entry, "shape": [1.5]}}, data),
        "shape_2_32": raw_safetensors({first_key: {**entry, "shape": [2**32, 2**32]}}, data),
        "shape_2_70": raw_safetensors({first_key: {**entry, "shape": [2**70]}}, data),
        "70_dims": raw_safetensors({first_key: {**entry, "shape": [1] * 70}}, data),
        "wrong_byte_count": raw_safetensors({first_key: {**entry, "data_offsets": [begin, end - 4]}}, data),
        "offsets_past_end": raw_safetensors({first_key: {**entry, "data_offsets": [begin, len(data) + 64]}}, data),
        "offsets_reversed": raw_safetensors({first_key: {**entry, "data_offsets": [end, begin]}}, data),
        "missing_offsets": raw_safetensors({first_key: {"dtype": entry["dtype"], "shape": entry["shape"]}}, data),
        "bad_metadata": raw_safetensors({"__metadata__": {"format": 3}, **header}, data),
        "truncated_data": good_bytes[:8 + header_len + len(data) // 2],
    }
    dup = json.dumps(header)[:-1] + ", " + json.dumps(first_key) + ": " + json.dumps(entry) + "}"
    weights_files["duplicate_key"] = raw_safetensors(None, data, header_bytes=dup.encode())
    overlap = dict(header)
    second_key = list(header)[1]
    overlap[second_key] = {**header[second_key], "data_offsets": [begin, begin + (header[second_key]["data_offsets"][1]
                                                                             - header[second_key]["data_offsets"][0])]}
    weights_files["overlap"] = raw_safetensors(overlap, data)
    weights_files["hole"] = raw_safetensors({k: {**v, "data_offsets": [v["data_offsets"][0] + 64, v["data_offsets"][1] + 64]}
                                             for k, v in header.items()}, b"\0" * 64 + data)
    for name, content in weights_files.items():
        (d / f"w_{name}.safetensors").write_bytes(content)
    state = dict(digits)
    names["key"] = first_key
    # value problems
    nan_state = dict(state, **{first_key: np.full_like(state[first_key], np.nan)})
    save_safetensors(d / "w_nan.safetensors", nan_state)
    var_key = next(k for k in state if k.endswith("running_var"))
    names["var_key"] = var_key
    save_safetensors(d / "w_negative_var.safetensors", dict(state, **{var_key: -np.abs(state[var_key]) - 1}))
    wrong_shape = dict(state, **{first_key: np.zeros((3, 3), np.float32)})
    save_safetensors(d / "w_wrong_shape.safetensors", wrong_shape)
    missing = dict(state)
    del missing[first_key]
    save_safetensors(d / "w_missing_key.safetensors", missing)
    save_safetensors(d / "w_extra_key.safetensors", dict(state, **{"head.weight": np.zeros((2, 2), np.float32)}))
    save_safetensors(d / "w_int_dtype.safetensors", dict(state, **{first_key: state[first_key].astype(np.int32)}))
    return names


@pytest.fixture
def watchdog():
    """Fail instead of hanging (a FIFO opened for reading would block forever)."""
    def expired(signum, frame):
        raise TimeoutError("the case hung for 60 s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# ---- command-line cases -------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    argv: list[str]  # templates formatted with the corpus names; "-o {out}" is added for build unless given
    code: int
    expect: list[str]  # substrings of stderr (templates)


B = ["build", DIGITS, "--weights", "{digits_w}"]
C = ["check", DIGITS, "--weights", "{digits_w}", "--reference", DIGITS_REF]


def weights_case(name: str, expect: list[str], code: int = 2) -> Case:
    return Case(f"weights-{name}", ["build", DIGITS, "--weights", f"{{d}}/w_{name}.safetensors"], code,
                [f"{{d}}/w_{name}.safetensors", *expect])


def path_cases(option: str, argv_for: Callable[[str], list[str]], kinds: list[tuple[str, str, str]]) -> list[Case]:
    return [Case(f"path{option}-{kind}", argv_for(path), 2, [f"{option} {path}", message]) for kind, path, message in kinds]


OUTPUT_KINDS = [
    ("missing-folder", "{d}/nope/x.out", "does not exist"),
    ("folder", "{d}/adir", "is a directory"),
    ("fifo", "{d}/fifo", "is a named pipe, not a regular file"),
    ("link-loop", "{d}/loop.engine", "symbolic link loop"),
    ("name-too-long", "{long}", "the name is too long"),
    ("parent-is-a-file", "{d}/afile/x.out", "a part of the path is a file, not a folder"),
]
INPUT_KINDS = [
    ("missing", "{d}/nope.npz", "no such file or directory"),
    ("folder", "{d}/adir", "is a directory"),
    ("fifo", "{d}/fifo.npz", "is a named pipe, not a regular file"),
    ("link-loop", "{d}/loop.npz", "symbolic link loop"),
    ("name-too-long", "{long}", "the name is too long"),
    ("parent-is-a-file", "{d}/afile/x.npz", "a part of the path is a file"),
]

CASES: list[Case] = [
    # weights files (the safetensors reader)
    weights_case("empty", ["not a safetensors file"]),
    weights_case("tiny", ["not a safetensors file"]),
    weights_case("huge_header", ["header length"]),
    weights_case("header_past_end", ["exceeds the file"]),
    weights_case("not_json", ["header"]),
    weights_case("json_array", ["header"]),
    weights_case("json_number", ["header"]),
    weights_case("nested", ["nest"]),
    weights_case("entry_not_object", ["{key}"]),
    weights_case("unknown_dtype", ["{key}", "Q7"]),
    weights_case("negative_shape", ["{key}", "shape"]),
    weights_case("float_shape", ["{key}", "shape"]),
    weights_case("shape_2_32", ["{key}"]),
    weights_case("shape_2_70", ["{key}"]),
    weights_case("70_dims", ["{key}"]),
    weights_case("wrong_byte_count", ["{key}"]),
    weights_case("offsets_past_end", ["{key}"]),
    weights_case("offsets_reversed", ["{key}"]),
    weights_case("missing_offsets", ["{key}"]),
    weights_case("bad_metadata", ["__metadata__"]),
    weights_case("truncated_data", []),
    weights_case("duplicate_key", ["{key}", "duplicate"]),
    weights_case("overlap", ["overlap"]),
    weights_case("hole", []),
    weights_case("wrong_shape", ["{key}", "shape"]),
    weights_case("missing_key", ["{key}", "missing"]),
    weights_case("extra_key", ["head.weight", "unexpected"]),
    weights_case("int_dtype", ["{key}"]),
    weights_case("negative_var", ["{var_key}"]),
    Case("weights-nan-warns", ["build", DIGITS, "--weights", "{d}/w_nan.safetensors"], 0, ["{key}", "NaN"]),
    Case("weights-nan-error", ["build", DIGITS, "--weights", "{d}/w_nan.safetensors", "--nonfinite-weights", "error"], 2,
         ["{key}", "{d}/w_nan.safetensors"]),
    Case("weights-nan-in-check-report", [*C[:3], "{d}/w_nan.safetensors", *C[4:]], 1, ["{key}", "NaN"]),
    # weights paths
    *[Case(f"path--weights-{kind}", ["build", DIGITS, "--weights", path], 2, [path.replace(".npz", ""), message])
      for kind, path, message in [("missing", "{d}/nope.safetensors", "no such"), ("folder", "{d}/adir", "folder"),
                                  ("fifo", "{d}/fifo", "named pipe"), ("link-loop", "{d}/loop", "loop"),
                                  ("name-too-long", "{long}", "too long"), ("parent-is-a-file", "{d}/afile/w", "")]],
    # output and input paths
    *path_cases("-o", lambda p: [*B, "-o", p], OUTPUT_KINDS),
    *path_cases("--json", lambda p: [*C, "--json", p], OUTPUT_KINDS[:5]),
    *path_cases("--save-inputs", lambda p: [*C, "--save-inputs", p], [OUTPUT_KINDS[i] for i in (0, 1, 2, 5)]),
    *path_cases("--load-inputs", lambda p: [*C, "--load-inputs", p], INPUT_KINDS),
    *[Case(f"path-MODEL-{kind}", ["build", f"{path}:f", "-o", "{d}/m.engine"], 2, ["MODEL", path, message])
      for kind, path, message in [("missing", "{d}/nope.py", "no such file"), ("folder", "{d}/adir/", "is a directory"),
                                  ("fifo", "{d}/fifo.py", "is a named pipe"), ("link-loop", "{d}/loop.py", "symbolic link loop"),
                                  ("parent-is-a-file", "{d}/afile/m.py", "a part of the path is a file")]],
    Case("path-REFERENCE-missing", [*C[:5], "{d}/nope_ref.py:f"], 2, ["REFERENCE", "{d}/nope_ref.py"]),
    # models
    Case("model-no-colon", ["build", "{d}/models.py", *B[2:]], 2, ["MODEL", "FILE.py:FACTORY"]),
    Case("model-import-exit-0", ["build", "{d}/exit0.py:f", "-o", "{d}/m.engine"], 2, ["{d}/exit0.py", "sys.exit(0)"]),
    Case("model-import-exit-3", ["build", "{d}/exit3.py:f", "-o", "{d}/m.engine"], 2, ["{d}/exit3.py", "sys.exit(3)"]),
    Case("model-factory-exits", ["build", "{d}/models.py:exits", "-o", "{d}/m.engine"], 2, ["exits()", "sys.exit(0)"]),
    Case("model-syntax-error", ["build", "{d}/syntax.py:f", "-o", "{d}/m.engine"], 2, ["{d}/syntax.py", "SyntaxError"]),
    Case("model-import-error", ["build", "{d}/importerror.py:f", "-o", "{d}/m.engine"], 2,
         ["{d}/importerror.py", "no_such_module_xyz"]),
    Case("model-no-factory", ["build", "{d}/empty.py:make", "-o", "{d}/m.engine"], 2, ["has no factory 'make'"]),
    Case("model-factory-typo", ["build", "{d}/models.py:typ", "-o", "{d}/m.engine"], 2, ["did you mean 'typo'"]),
    Case("model-not-callable", ["build", "{d}/models.py:not_callable", "-o", "{d}/m.engine"], 2,
         ["'not_callable' is a int, not a factory"]),
    Case("model-needs-argument", ["build", "{d}/models.py:needs_argument", "-o", "{d}/m.engine"], 2,
         ["needs_argument() needs arguments (width)"]),
    Case("model-factory-raises", ["build", "{d}/models.py:raises", "-o", "{d}/m.engine"], 2,
         ["raises() failed: RuntimeError: factory exploded", "{d}/models.py"]),
    Case("model-returns-none", ["build", "{d}/models.py:returns_none", "-o", "{d}/m.engine"], 2, ["returned None"]),
    Case("model-returns-int", ["build", "{d}/models.py:returns_int", "-o", "{d}/m.engine"], 2, ["returned a int"]),
    Case("model-returns-torch", ["build", "models.resnet_torch:resnet18", "-o", "{d}/m.engine"], 2,
         ["not a trtnet Module (a PyTorch model"]),
    Case("model-forward-no-output", ["build", "{d}/models.py:no_output", "-o", "{d}/m.engine"], 2, ["NoOutput"]),
    Case("model-forward-raises", ["build", "{d}/models.py:typo", "-o", "{d}/m.engine"], 2,
         ["'rleu'", "the model (Typo)"]),
    Case("model-unknown-module", ["build", "no_such_pkg_xyz.models:f", "-o", "{d}/m.engine"], 2,
         ["no module named 'no_such_pkg_xyz'"]),
    Case("model-build-failure", ["build", "{d}/models.py:mismatch", "-o", "{d}/m.engine"], 1,
         ["TensorRT could not build the engine"]),
    Case("model-in-package-relative", ["build", "{d}/pkg/ports/relative.py:make", "-o", "{d}/m.engine"], 0, []),
    Case("model-in-package-absolute", ["build", "{d}/pkg/ports/nested/absolute.py:make", "-o", "{d}/m.engine"], 0, []),
    Case("reference-returns-trtnet", [*C[:5], DIGITS], 2, ["REFERENCE", "not a torch.nn.Module (a trtnet model"]),
    # layer arguments
    *[Case(f"layer-{name}", ["build", f"{{d}}/models.py:{name}", "-o", "{d}/m.engine"], 2, expect)
      for name, expect in [
          ("conv_stride0", ["conv1 (Conv2d)", "stride"]),
          ("conv_kernel0", ["conv1 (Conv2d)", "kernel"]),
          ("conv_groups0", ["Conv2d", "groups"]),
          ("conv_groups3", ["Conv2d", "groups"]),
          ("conv_negative_padding", ["conv1 (Conv2d)", "padding"]),
          ("conv_dilation0", ["conv1 (Conv2d)", "dilation"]),
          ("conv_too_few_channels", ["conv1 (Conv2d)", "channels"]),
          ("conv_kernel_larger_than_input", ["conv1 (Conv2d)", "Kernel size"]),
          ("maxpool_stride0", ["conv1 (MaxPool2d)", "stride"]),
          ("avgpool_kernel0", ["conv1 (AvgPool2d)", "kernel"]),
          ("maxpool_padding_too_big", ["conv1 (MaxPool2d)", "pad"])]],
    # inputs and profiles
    Case("input-dim-beyond-int64", [*B, "--input", "input:fp32:99999999999999999999x1x8x8"], 2,
         ["--input 'input:fp32:99999999999999999999x1x8x8'", "beyond TensorRT's 64-bit dims"]),
    Case("input-volume-beyond-trt", [*B, "--input", "input:fp32:100000x100000x100000x8"], 2,
         ["--input 'input:fp32:100000x100000x100000x8'", "2**40"]),
    Case("input-huge-but-holdable", ["build", "{d}/models.py:conv3", "--input", "input:fp32:1x3x100000x100000",
                                     "-o", "{d}/m.engine"], 1,
         ["OutOfMemory", "largest input sizes: input 'input' 1x3x100000x100000 float32 = 111.76 GiB"]),
    Case("profile-max-volume-overflows", [*B, "--input", "input:-1x1x8x8", "--min", "1x1x8x8", "--opt", "1x1x8x8",
                                          "--max", "99999999999x99999999999x8x8"], 2,
         ["--max '99999999999x99999999999x8x8'", "2**40"]),
    Case("profile-max-volume-over-limit", [*B, "--input", "input:-1x1x-1x-1", "--min", "1x1x8x8", "--opt", "1x1x8x8",
                                           "--max", "4000000x1x600000x600000"], 2, ["--max '4000000x1x600000x600000'"]),
    Case("input-given-twice", [*B, "--input", "input:fp32:1x1x8x8", "--input", "input:fp16:1x1x8x8"], 2,
         ["--input 'input:fp16:1x1x8x8'", "already given by --input 'input:fp32:1x1x8x8'"]),
    Case("min-given-twice", [*B, "--min", "1x1x8x8", "--min", "2x1x8x8", "--opt", "2x1x8x8", "--max", "2x1x8x8"], 2,
         ["--min '2x1x8x8'", "already has --min '1x1x8x8'"]),
    Case("input-zero-dim", [*B, "--input", "input:0x1x8x8"], 2, ["--input 'input:0x1x8x8'", "positive sizes"]),
    Case("input-negative-dim", [*B, "--input", "input:-2x1x8x8"], 2, ["--input 'input:-2x1x8x8'", "positive sizes"]),
    Case("input-float-dim", [*B, "--input", "input:1.5x1x8x8"], 2, ["--input 'input:1.5x1x8x8'", "'1.5' is not an integer"]),
    Case("input-empty-shape", [*B, "--input", "input:"], 2, ["--input 'input:'"]),
    Case("input-no-name", [*B, "--input", ":1x1x8x8"], 2, ["--input ':1x1x8x8'", "NAME:DTYPE:SHAPE"]),
    Case("input-bad-dtype", [*B, "--input", "input:fp61:1x1x8x8"], 2, ["--input 'input:fp61:1x1x8x8'", "fp61"]),
    Case("input-unknown-name", [*B, "--input", "imput:1x1x8x8"], 2, ["--input 'imput'", "did you mean 'input'"]),
    Case("input-wrong-rank", [*B, "--input", "input:1x64"], 2, ["input"]),
    Case("input-dynamic-without-profile", [*B, "--input", "input:-1x1x8x8"], 2, ["give min/opt/max shapes"]),
    Case("profile-min-above-max", [*B, "--min", "8x1x8x8", "--opt", "4x1x8x8", "--max", "2x1x8x8"], 2,
         ["--input/--min/--opt/--max", "min <= opt <= max"]),
    Case("profile-rank", [*B, "--min", "1x8x8", "--opt", "1x8x8", "--max", "2x8x8"], 2, ["rank"]),
    Case("profile-unknown-input", [*B, "--min", "x:1x1x8x8"], 2, ["--min 'x:1x1x8x8'", "no input 'x'"]),
    Case("profile-bad-shape", [*B, "--max", "axb"], 2, ["--max 'axb'"]),
    Case("workspace-bad", [*B, "--workspace", "lots"], 2, ["--workspace", "'lots'"]),
    Case("workspace-zero", [*B, "--workspace", "0"], 2, ["--workspace", "'0'"]),
    Case("compute-capability-bad", [*B, "--compute-capability", "SM99"], 2, ["SM99"]),
    Case("dtype-bad", [*B, "--dtype", "fp8"], 2, ["--dtype", "fp8"]),
    Case("seed-negative", [*C, "--seed", "-1"], 2, ["--seed", "'-1'", "non-negative"]),
    Case("seed-not-integer", [*C, "--seed", "abc"], 2, ["--seed", "'abc'"]),
    Case("load-inputs-empty-npz", [*C, "--load-inputs", "{d}/empty.npz"], 2, ["--load-inputs {d}/empty.npz", "no arrays"]),
    Case("load-inputs-corrupt-npz", [*C, "--load-inputs", "{d}/corrupt.npz"], 2,
         ["--load-inputs {d}/corrupt.npz", "not a valid .npz"]),
    Case("load-inputs-text-npz", [*C, "--load-inputs", "{d}/text.npz"], 2, ["--load-inputs {d}/text.npz", "not a valid .npz"]),
    Case("load-inputs-wrong-name", [*C, "--load-inputs", "{d}/wrongname.npz"], 2,
         ["--load-inputs {d}/wrongname.npz", "'inputs'", "did you mean 'input'"]),
    Case("load-inputs-extra-array", [*C, "--load-inputs", "{d}/extra.npz"], 2, ["--load-inputs {d}/extra.npz", "'other'"]),
    Case("load-inputs-wrong-shape", [*C, "--load-inputs", "{d}/wrongshape.npz"], 2,
         ["--load-inputs {d}/wrongshape.npz", "shape (1, 1, 4, 16)"]),
    Case("load-inputs-wrong-rank", [*C, "--load-inputs", "{d}/wrongrank.npz"], 2, ["--load-inputs {d}/wrongrank.npz", "shape"]),
    Case("load-inputs-wrong-dtype", [*C, "--load-inputs", "{d}/wrongdtype.npz"], 2,
         ["--load-inputs {d}/wrongdtype.npz", "int32"]),
    Case("load-inputs-nan-warned", [*C, "--load-inputs", "{d}/nan.npz"], 1,
         ["warning: --load-inputs {d}/nan.npz: input 'input': 3 NaN, 1 Inf"]),
    Case("load-inputs-npy", [*C, "--load-inputs", "{d}/object.npy"], 2, ["--load-inputs {d}/object.npy", ".npz or .safetensors"]),
    Case("load-inputs-txt", [*C, "--load-inputs", "{d}/inputs.txt"], 2, ["--load-inputs {d}/inputs.txt", ".npz or .safetensors"]),
    Case("load-inputs-corrupt-safetensors", [*C, "--load-inputs", "{d}/corrupt_inputs.safetensors"], 2,
         ["--load-inputs {d}/corrupt_inputs.safetensors"]),
    Case("load-inputs-safetensors-ok", [*C, "--load-inputs", "{d}/inputs.safetensors"], 0, []),
    Case("save-inputs-bad-extension", [*C, "--save-inputs", "{d}/x.txt"], 2, ["{d}/x.txt", ".npz or .safetensors"]),
    Case("check-input-given-twice", [*C, "--input", "input:1x1x8x8", "--input", "input:2x1x8x8"], 2,
         ["already given by --input 'input:1x1x8x8'"]),
    Case("check-input-beyond-int64", [*C, "--input", "input:99999999999999999999x1x8x8"], 2, ["beyond TensorRT's 64-bit"]),
    Case("check-tolerance-not-a-number", [*C, "--atol", "abc"], 2, ["--atol", "abc"]),
    # arguments argparse refuses
    Case("no-subcommand", [], 2, ["COMMAND"]),
    Case("unknown-subcommand", ["frobnicate"], 2, ["frobnicate"]),
    Case("build-without-output", B, 2, ["-o/--output"]),
    Case("check-without-reference", ["check", DIGITS], 2, ["--reference"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_command_line_case(case: Case, corpus: dict[str, str], capsys, monkeypatch, watchdog) -> None:
    monkeypatch.chdir(REPO)
    argv = [a.format(**corpus) for a in case.argv]
    out_path = Path(corpus["d"]) / f"{case.id}.engine"
    if argv[:1] == ["build"] and "-o" not in argv and case.id != "build-without-output":
        argv += ["-o", str(out_path)]
    if argv[:1] == ["build"]:
        argv.append("--no-progress")
    with warnings.catch_warnings(record=True) as shown:  # as the command shows them on stderr
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    captured = capsys.readouterr()
    stderr = captured.err + "".join(f"warning: {w.message}\n" for w in shown)
    assert code == case.code, f"exit {code}, expected {case.code}:\n{stderr}"
    for text in case.expect:
        assert text.format(**corpus) in stderr, f"{text.format(**corpus)!r} not in:\n{stderr}"
    assert "Traceback" not in stderr + captured.out
    if code != 0:
        assert not out_path.exists(), "a failed build left an engine"
        assert len(stderr.splitlines()) <= 14
    assert not [p for p in Path(corpus["d"]).iterdir() if p.name.startswith(".trtnet-")]


# ---- outputs: destroyed, partial, full disk -----------------------------------------------------
def test_failed_build_keeps_the_previous_engine(corpus, capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "keep.engine"
    out.write_bytes(b"previous")
    assert main(["build", f"{corpus['d']}/models.py:mismatch", "-o", str(out), "--no-progress"]) == 1
    assert out.read_bytes() == b"previous" and "Traceback" not in capsys.readouterr().err


def test_full_disk_keeps_the_previous_engine_and_names_the_path(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "full.engine"
    out.write_bytes(b"previous")
    real = os.fsync

    def full(fd: int) -> None:
        if os.path.isfile(f"/proc/self/fd/{fd}") and ".trtnet-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", full)
    code = main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"-o {out}: can't write the engine (no space left on the device)" in err
    assert out.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["full.engine"]


def test_json_report_written_atomically_over_an_old_one(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    report = tmp_path / "r.json"
    report.write_text("old")
    assert main(["check", DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_REF, "--json", str(report)]) == 0
    assert json.loads(report.read_text())["passed"] is True
    assert capsys.readouterr().out.rstrip().endswith("outputs within tolerance)")


# ---- the Python API ----------------------------------------------------------------------------
API_CASES: list[tuple[str, Callable[[dict[str, str]], Any], type[BaseException], list[str]]] = [
    ("input-negative-dim", lambda c: trtnet.Input("x", (-2, 3)), TrtnetError, ["'x'", "sizes >= 0"]),
    ("input-dim-beyond-int64", lambda c: trtnet.Input("x", (2**70, 3)), TrtnetError, ["'x'", "64-bit dims"]),
    ("input-volume-beyond-trt", lambda c: trtnet.Input("x", (2**35, 2**35)), TrtnetError, ["'x'", "2**40"]),
    ("input-max-volume-beyond-trt", lambda c: trtnet.Input("x", (-1, 4), min=(1, 4), opt=(1, 4), max=(2**40, 4)),
     TrtnetError, ["'x': max shape", "2**40"]),
    ("input-dynamic-no-profile", lambda c: trtnet.Input("x", (-1, 3)), TrtnetError, ["'x'", "min/opt/max"]),
    ("input-min-above-max", lambda c: trtnet.Input("x", (-1, 3), min=(4, 3), opt=(2, 3), max=(1, 3)), TrtnetError,
     ["'x'", "min <= opt <= max"]),
    ("read-safetensors-fifo", lambda c: read_safetensors(f"{c['d']}/fifo"), WeightsError, ["{d}/fifo", "named pipe"]),
    ("read-safetensors-folder", lambda c: read_safetensors(c["d"]), WeightsError, ["{d}"]),
    ("read-safetensors-corrupt", lambda c: read_safetensors(f"{c['d']}/w_tiny.safetensors"), WeightsError,
     ["{d}/w_tiny.safetensors"]),
    ("load-safetensors-wrong-model", lambda c: __import__("models.resnet", fromlist=["x"]).resnet18()
     .load_safetensors(DIGITS_WEIGHTS), WeightsError, [DIGITS_WEIGHTS]),
    ("build-into-folder", lambda c: trtnet.save(b"x", c["d"] + "/adir"), OSError, []),
    ("build-into-fifo", lambda c: trtnet.save(b"x", c["d"] + "/fifo"), OSError, []),
    ("check-input-path-loop", lambda c: fileio.check_input_file(c["d"] + "/loop", "--x"), TrtnetError,
     ["--x {d}/loop", "loop"]),
    ("check-output-path-parent-file", lambda c: fileio.check_output_file(c["d"] + "/afile/x", "-o"), TrtnetError,
     ["-o {d}/afile/x", "a part of the path is a file"]),
    ("load-inputs-empty", lambda c: __import__("trtnet.loading", fromlist=["x"]).read_input_arrays(c["d"] + "/empty.npz"),
     TrtnetError, ["{d}/empty.npz", "no arrays"]),
]


@pytest.mark.parametrize(("call", "error", "expect"), [case[1:] for case in API_CASES], ids=[c[0] for c in API_CASES])
def test_python_api_case(corpus, call, error, expect, watchdog, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    with pytest.raises(error) as info:
        call(corpus)
    for text in expect:
        assert text.format(**corpus) in str(info.value)


# ---- signals and pipes (subprocesses) ----------------------------------------------------------
def test_sigint_during_a_build_exits_130_quietly(tmp_path: Path) -> None:
    out = tmp_path / "d.engine"
    out.write_bytes(b"previous")
    proc = subprocess.Popen([sys.executable, "-m", "trtnet", "build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(out),
                             "--progress"], cwd=REPO, env=ENV, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen = ""
    while "[" not in seen:
        char = proc.stderr.read(1)
        if not char:
            break
        seen += char
    proc.send_signal(signal.SIGINT)
    err = seen + proc.communicate(timeout=60)[1]
    assert proc.returncode in (130, 0) and "Traceback" not in err
    if proc.returncode == 130:
        assert "trtnet build: interrupted (SIGINT)" in err and out.read_bytes() == b"previous"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_start_up(tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import runpy, sys; print('up', flush=True); sys.argv = ['trtnet', "
                             "*sys.argv[1:]]; runpy.run_module('trtnet', run_name='__main__', alter_sys=True)",
                             "build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(tmp_path / "x.engine")],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "up\n"
    time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum and err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "x.engine").exists()


@pytest.mark.parametrize("command", ["build", "check"])
def test_closed_stdout_keeps_files_and_exit_code(tmp_path: Path, command: str) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    target = tmp_path / ("x.engine" if command == "build" else "r.json")
    argv = (["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(target)] if command == "build" else
            ["check", DIGITS, "--weights", DIGITS_WEIGHTS, "--reference", DIGITS_REF, "--json", str(target)])
    try:
        result = subprocess.run([sys.executable, "-m", "trtnet", *argv], cwd=REPO, env=ENV, stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert result.returncode == 0 and "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert target.stat().st_size > 0


def test_killed_process_leaves_nothing_partial(tmp_path: Path) -> None:
    """kill -9 during a build: the old engine stays, and the next build removes the dead writer's temp file."""
    out = tmp_path / "d.engine"
    out.write_bytes(b"previous")
    argv = [sys.executable, "-m", "trtnet", "build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(out)]
    proc = subprocess.Popen(argv, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.8)
    proc.kill()
    proc.wait()
    assert out.read_bytes() == b"previous" or out.read_bytes()[:4] != b"prev"
    subprocess.run(argv, cwd=REPO, env=ENV, capture_output=True, check=True)
    assert [p.name for p in tmp_path.iterdir()] == ["d.engine"]
