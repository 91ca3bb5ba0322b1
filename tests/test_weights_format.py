"""The safetensors reader enforces the format (one test per rule, against files written by ``safetensors``
or by hand), refuses paths that aren't readable regular files, keeps what it loaded when the file changes
afterwards, and audits loaded values (NaN/Inf warn or fail, a negative BatchNorm variance fails)."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file as np_save_file

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet import weights
from trtnet.cli import main
from _netinspect import layer_named, weights_values

REPO = Path(__file__).resolve().parent.parent
DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_REF = str(REPO / "models" / "digits_torch.py") + ":digits"
DIGITS_WEIGHTS = REPO / "weights" / "digits.safetensors"


def write_raw(path: Path, header: object, data: bytes = b"", header_bytes: bytes | None = None) -> Path:
    encoded = json.dumps(header).encode() if header_bytes is None else header_bytes
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return path


def f32(shape: list[int], begin: int, end: int) -> dict:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


def read_error(path: Path) -> str:
    with pytest.raises(trtnet.WeightsError) as info:
        weights.read_safetensors(path)
    message = str(info.value)
    assert message.startswith(str(path)), message  # every error names the file first
    return message


# ---- header length ---------------------------------------------------------------------------------
def test_header_length_over_the_limit_says_so_even_when_the_file_is_larger(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as handle:  # sparse: 120 MB of zeros after a header length of 100 MB + 1
        handle.write(struct.pack("<Q", 100_000_001))
        handle.truncate(120_000_000)
    message = read_error(path)
    assert "header length 100000001 exceeds safetensors' limit of 100000000 bytes" in message
    assert "exceeds the file" not in message


def test_header_length_past_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "short.safetensors"
    path.write_bytes(struct.pack("<Q", 50) + b"{}")
    assert "header length 50 exceeds the file: 2 bytes follow the length" in read_error(path)


# ---- header JSON -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_deeply_nested_header_is_a_weights_error(tmp_path: Path, text: bytes) -> None:
    message = read_error(write_raw(tmp_path / "deep.safetensors", None, header_bytes=text))
    assert "nested too deeply" in message


def test_duplicate_tensor_keys_are_refused(tmp_path: Path) -> None:
    text = b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' \
           b'"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    message = read_error(write_raw(tmp_path / "dup.safetensors", None, b"\0" * 8, header_bytes=text))
    assert "key 'w' appears more than once" in message


def test_duplicate_fields_of_an_entry_are_refused(tmp_path: Path) -> None:
    text = b'{"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}}'
    assert "key 'dtype' appears more than once" in read_error(
        write_raw(tmp_path / "dup.safetensors", None, b"\0" * 4, header_bytes=text))


def test_header_must_be_utf8(tmp_path: Path) -> None:
    text = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'.encode("utf-16")
    assert "not UTF-8" in read_error(write_raw(tmp_path / "u16.safetensors", None, b"\0" * 4, header_bytes=text))


def test_integer_too_long_for_python_is_a_weights_error(tmp_path: Path) -> None:
    text = b'{"w": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'
    assert "corrupt safetensors header" in read_error(write_raw(tmp_path / "long.safetensors", None,
                                                                header_bytes=text))


@pytest.mark.parametrize("metadata", [{"format": 1}, ["pt"], "pt", {"nested": {"a": "b"}}, None])
def test_metadata_must_map_strings_to_strings(tmp_path: Path, metadata) -> None:
    path = write_raw(tmp_path / "meta.safetensors", {"__metadata__": metadata, "w": f32([1], 0, 4)}, b"\0" * 4)
    assert "__metadata__ must map strings to strings" in read_error(path)


def test_metadata_of_strings_is_accepted_and_not_a_tensor(tmp_path: Path) -> None:
    path = tmp_path / "meta.safetensors"
    np_save_file({"w": np.arange(3, dtype=np.float32)}, str(path), metadata={"format": "pt", "note": "x"})
    read = weights.read_safetensors(path)
    assert list(read) == ["w"]
    np.testing.assert_array_equal(read["w"], [0, 1, 2])


# ---- dtypes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
                                   np.uint64, np.uint32, np.uint16, np.uint8, np.bool_])
def test_every_numpy_dtype_reads_as_safetensors_wrote_it(tmp_path: Path, dtype) -> None:
    values = (np.arange(24) % 7 - 3).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / "d.safetensors"
    np_save_file({"v": values, "scalar": np.array(5, dtype)}, str(path))
    read = weights.read_safetensors(path)
    assert read["v"].dtype == values.dtype and read["v"].shape == (2, 3, 4)
    np.testing.assert_array_equal(read["v"], values)
    assert read["scalar"].shape == () and read["scalar"] == np.array(5, dtype)
    assert not read["v"].flags.writeable


@pytest.mark.parametrize("name", ["F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F6_E2M3",
                                  "F6_E3M2", "F4", "C64"])
def test_known_but_unsupported_dtypes_are_named(tmp_path: Path, name: str) -> None:
    path = write_raw(tmp_path / "x.safetensors", {"q.weight": {"dtype": name, "shape": [8], "data_offsets": [0, 8]}},
                     b"\0" * 8)
    message = read_error(path)
    assert message.startswith(f"{path}: tensor 'q.weight': dtype {name} is not supported by trtnet")
    assert "convert" in message and "BF16" in message


def test_unknown_dtype(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "x.safetensors", {"w": {"dtype": "F7", "shape": [1], "data_offsets": [0, 1]}}, b"\0")
    message = read_error(path)
    assert message.startswith(f"{path}: tensor 'w': unknown dtype 'F7'") and "F8_E4M3" in message


# ---- shapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("shape", "offsets", "expected"), [
    ([2**32, 2**32], [0, 16], "needs 73786976294838206464"),   # numpy: cannot reshape
    ([2**70], [0, 16], "needs 4722366482869645213696"),       # numpy: OverflowError
    ([1] * 70, [0, 4], "shape has 70 dims; numpy holds at most 64"),
    ([0, 2**70], [0, 0], "too large for numpy"),               # empty, still refused by numpy
    ([0, 2**62], [0, 0], "too large for numpy"),
    ([True, 4], [0, 16], "malformed header entry"),            # a bool is not a dim
    ([2.0, 2], [0, 16], "malformed header entry"),
    ([-1, 4], [0, 16], "malformed header entry"),
    ([3], [0, 16], "hold 16 bytes, but shape [3] of F32 needs 12"),
])
def test_shapes_must_be_non_negative_ints_matching_the_byte_range(tmp_path: Path, shape, offsets, expected) -> None:
    path = write_raw(tmp_path / "s.safetensors", {"big.weight": {"dtype": "F32", "shape": shape,
                                                                 "data_offsets": offsets}}, b"\0" * offsets[1])
    message = read_error(path)
    assert message.startswith(f"{path}: tensor 'big.weight'")
    assert expected in message


def test_64_dims_and_empty_tensors_are_accepted(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "s.safetensors", {"a": f32([1] * 64, 0, 4), "e": f32([0, 3], 4, 4),
                                                  "f": f32([2, 0], 4, 4)}, b"\0" * 4)
    assert {k: v.shape for k, v in weights.read_safetensors(path).items()} == {
        "a": (1,) * 64, "e": (0, 3), "f": (2, 0)}


# ---- data offsets ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "size", "expected"), [
    ({"a": f32([2], 0, 8), "b": f32([2], 4, 12)}, 12, "tensor 'b': data offsets 4..12 overlap those of tensor 'a'"),
    ({"a": f32([2], 0, 8), "b": f32([1], 12, 16)}, 16, "tensor 'b': data offsets 12..16 leave a hole of 4 bytes "
                                                       "after tensor 'a'"),
    ({"a": f32([1], 4, 8)}, 8, "tensor 'a': data offsets 4..8 leave a hole of 4 bytes at the start"),
    ({"a": f32([2], 0, 8)}, 12, "4 bytes after the last tensor 'a'"),
    ({}, 4, "4 bytes but no tensor"),
    ({"a": f32([2], 0, 8), "b": f32([2], 8, 16)}, 12, "tensor 'b': data offsets 8..16 end past the data section "
                                                      "(12 bytes): truncated"),
    ({"a": f32([0], 8, 8)}, 0, "tensor 'a': data offsets 8..8 end past"),
    ({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, 8, "run backwards"),
])
def test_offsets_must_tile_the_data_section(tmp_path: Path, header: dict, size: int, expected: str) -> None:
    message = read_error(write_raw(tmp_path / "o.safetensors", header, b"\0" * size))
    assert expected in message


def test_order_in_the_header_is_free_and_empty_tensors_share_offsets(tmp_path: Path) -> None:
    data = np.arange(3, dtype=np.float32).tobytes() + np.arange(2, dtype=np.float32).tobytes()
    path = write_raw(tmp_path / "o.safetensors", {"second": f32([2], 12, 20), "empty": f32([0], 12, 12),
                                                  "first": f32([3], 0, 12)}, data)
    read = weights.read_safetensors(path)
    assert list(read) == ["second", "empty", "first"]  # header order
    np.testing.assert_array_equal(read["first"], [0, 1, 2])
    np.testing.assert_array_equal(read["second"], [0, 1])


def test_reader_never_imports_torch(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    weights.save_safetensors(path, {"w": np.ones(3, np.float32)})
    code = f"import sys, trtnet.weights as w; w.read_safetensors({str(path)!r}); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ---- paths -----------------------------------------------------------------------------------------
def path_error(path: str | Path) -> str:
    with pytest.raises(trtnet.WeightsError) as info:
        weights.read_safetensors(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "no such weights file" in path_error(tmp_path / "nope.safetensors")


def test_folder(tmp_path: Path) -> None:
    assert "is a folder, not a safetensors file" in path_error(tmp_path)


def test_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            weights.read_safetensors(fifo)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("read_safetensors blocked on a named pipe")
    assert isinstance(outcome[0], trtnet.WeightsError)
    assert str(outcome[0]) == f"{fifo}: is a named pipe, not a safetensors file"


def test_device(tmp_path: Path) -> None:
    assert "/dev/null: is a device, not a safetensors file" == path_error("/dev/null")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, whom permission bits don't stop: the refusal comes from a patched ``os.open``."""
    path = tmp_path / "secret.safetensors"
    weights.save_safetensors(path, {"w": np.ones(2, np.float32)})
    real_open = os.open

    def refuse(file, flags, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert path_error(path) == f"{path}: permission denied"


def test_link_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "link loop" in path_error(tmp_path / "a")


def test_name_too_long(tmp_path: Path) -> None:
    assert "file name too long" in path_error(tmp_path / ("w" * 300 + ".safetensors"))


def test_parent_is_a_file(tmp_path: Path) -> None:
    parent = tmp_path / "w.safetensors"
    weights.save_safetensors(parent, {"w": np.ones(2, np.float32)})
    assert "a folder on the path is a file" in path_error(parent / "inner.safetensors")


def test_nul_in_the_path() -> None:
    with pytest.raises(trtnet.WeightsError, match="contains a NUL character"):
        weights.read_safetensors("w\0.safetensors")


@pytest.mark.parametrize("kind", ["missing", "folder", "fifo", "loop", "long", "parent"])
def test_cli_bad_weights_paths_exit_2_naming_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        kind: str) -> None:
    paths = {"missing": tmp_path / "nope.safetensors", "folder": tmp_path, "fifo": tmp_path / "fifo",
             "loop": tmp_path / "loop", "long": tmp_path / ("w" * 300), "parent": tmp_path / "file" / "w"}
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "file").write_bytes(b"")
    code = main(["build", DIGITS, "--weights", str(paths[kind]), "-o", str(tmp_path / "d.engine")])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.startswith(f"trtnet build: error: --weights {paths[kind]}: "), stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "d.engine").exists()


# ---- weights stay what was loaded --------------------------------------------------------------------
class Net(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(F.max_pool2d(self.bn(self.conv(x)).relu(), 2).flatten(1))


INPUT = [trtnet.Input("input", (1, 3, 8, 8))]


def net_state(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {key: (rng.random(p.shape, np.float32) + 0.5 if p.dtype.is_float else np.array(3, np.int64))
            for key, p in Net().state_dict_entries()}


def test_file_rewritten_after_loading_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    original = net_state(0)
    np_save_file(original, str(path))
    model = Net()
    model.load_safetensors(path)
    with open(path, "r+b") as handle:  # rewrite in place: same inode, same size, other values
        handle.seek(os.path.getsize(path) - sum(v.nbytes for v in original.values()))
        handle.write(b"".join(v.tobytes() for v in net_state(1).values()))
    assert weights.read_safetensors(path)["conv.weight"][0, 0, 0, 0] != original["conv.weight"][0, 0, 0, 0]
    net = trtnet.trace(model, INPUT)
    np.testing.assert_array_equal(weights_values(layer_named(net, "conv").kernel), original["conv.weight"].ravel())
    np.testing.assert_array_equal(model.fc.weight.numpy(), original["fc.weight"])


def test_file_truncated_after_loading_builds_from_the_loaded_values(tmp_path: Path) -> None:
    """In a child process: a SIGBUS (the old memory-mapped reader) would kill the test run itself."""
    path = tmp_path / "net.safetensors"
    np_save_file(net_state(0), str(path))
    script = f"""
import numpy as np, os, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import trtnet
from test_weights_format import INPUT, Net, net_state
from _netinspect import layer_named, weights_values
model = Net()
model.load_safetensors({str(path)!r})
os.truncate({str(path)!r}, 0)
engine = trtnet.build(model, INPUT)
net = trtnet.trace(model, INPUT)
np.testing.assert_array_equal(weights_values(layer_named(net, "fc.weight").weights), net_state(0)["fc.weight"].ravel())
print("built", len(engine))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert re.match(r"built \d+", result.stdout)


# ---- values: NaN/Inf and negative variances -----------------------------------------------------------
def test_nonfinite_weights_warn_naming_keys_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    state = net_state(0)
    state["conv.weight"][0, 0, :, 0] = [np.nan, np.inf, -np.inf]
    state["fc.bias"][1:3] = np.nan
    caplog.set_level(logging.WARNING, logger="trtnet.weights")
    with pytest.warns(trtnet.NonFiniteWeightsWarning) as record:
        Net().load_state_dict(state, source="w.safetensors")
    expected = ("w.safetensors: 2 weight(s) hold non-finite values: 'conv.weight' (1 NaN, 1 +Inf, 1 -Inf), "
                "'fc.bias' (2 NaN)")
    assert [str(w.message) for w in record] == [expected]
    assert record[0].filename == __file__  # points at the user's line
    assert [r.getMessage() for r in caplog.records if r.name == "trtnet.weights"] == [expected]


def test_nonfinite_policy_error_and_ignore() -> None:
    state = net_state(0)
    state["fc.weight"][0, :4] = np.inf
    model = Net()
    with weights.nonfinite_weights("error"), pytest.raises(trtnet.WeightsError) as info:
        model.load_state_dict(state, source="w.safetensors")
    assert str(info.value) == ("w.safetensors: 1 problem(s) loading weights into Net:\n  'fc.weight' holds "
                               "non-finite values (4 +Inf); loading NaN/Inf is refused (nonfinite policy 'error')")
    assert model.unset_parameters() != [], "nothing assigned"
    with weights.nonfinite_weights("ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        model.load_state_dict(state)
    assert np.isinf(model.fc.weight.numpy()[0, 0])
    with pytest.raises(trtnet.TrtnetError, match="did you mean 'error'"):
        with weights.nonfinite_weights("erorr"):
            pass


def test_finite_weights_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Net().load_state_dict(net_state(0))


def test_negative_batchnorm_running_var_is_an_error_naming_the_key() -> None:
    state = net_state(0)
    state["bn.running_var"][2] = -0.25
    with pytest.raises(trtnet.WeightsError) as info:
        Net().load_state_dict(state)
    assert ("'bn.running_var' is a BatchNorm running_var with 1 negative value(s) (min -0.25): a variance can't "
            "be below 0") in str(info.value)


def test_running_var_of_another_module_type_may_be_negative() -> None:
    class Stats(trtnet.Module):
        def __init__(self) -> None:
            super().__init__()
            self.running_var = trtnet.Parameter((2,))

    model = Stats()
    model.load_state_dict({"running_var": np.array([-1.0, 1.0], np.float32)})
    np.testing.assert_array_equal(model.running_var.numpy(), [-1.0, 1.0])


@pytest.fixture
def nan_digits(tmp_path: Path) -> Path:
    state = {key: np.array(value) for key, value in weights.read_safetensors(DIGITS_WEIGHTS).items()}
    key = next(k for k, v in state.items() if k.endswith("weight") and v.ndim > 1)
    state[key].reshape(-1)[:3] = np.nan
    path = tmp_path / "nan.safetensors"
    np_save_file(state, str(path))
    return path


def test_cli_build_warns_and_nonfinite_weights_error_exits_2(nan_digits: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.engine"
    with pytest.warns(trtnet.NonFiniteWeightsWarning, match=r"1 weight\(s\) hold non-finite values: '.*' \(3 NaN\)"):
        assert main(["build", DIGITS, "--weights", str(nan_digits), "-o", str(out)]) == 0
    assert out.exists()
    out.unlink()
    code = main(["build", DIGITS, "--weights", str(nan_digits), "-o", str(out), "--nonfinite-weights", "error"])
    stderr = capsys.readouterr().err
    assert code == 2 and "holds non-finite values (3 NaN)" in stderr and str(nan_digits) in stderr
    assert not out.exists()


def test_check_reports_nonfinite_weights(nan_digits: Path) -> None:
    with pytest.warns(trtnet.NonFiniteWeightsWarning):
        report = trtnet.check(DIGITS, DIGITS_REF, weights=nan_digits, device="cpu")
    expected = weights.nonfinite_message(weights.read_safetensors(nan_digits), str(nan_digits))
    assert expected is not None and expected in report.warnings
    with pytest.raises(trtnet.WeightsError, match="3 NaN"):
        trtnet.check(DIGITS, DIGITS_REF, weights=nan_digits, device="cpu", nonfinite_weights="error")


def test_tensor_name_with_a_lone_surrogate_is_refused(tmp_path: Path) -> None:
    text = b'{"w\\ud800": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    assert "is not valid Unicode" in read_error(write_raw(tmp_path / "s.safetensors", None, b"\0" * 4,
                                                         header_bytes=text))


@pytest.mark.parametrize("key", ["__metadata__", 3])
def test_writer_refuses_names_safetensors_cannot_hold(tmp_path: Path, key) -> None:
    with pytest.raises(trtnet.WeightsError, match="tensor name is a string other than '__metadata__'"):
        weights.save_safetensors(tmp_path / "w.safetensors", {key: np.ones(1, np.float32)})
    assert not (tmp_path / "w.safetensors").exists()


def test_cli_check_lists_nonfinite_weights_in_its_report(nan_digits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.warns(trtnet.NonFiniteWeightsWarning):
        main(["check", DIGITS, "--weights", str(nan_digits), "--reference", DIGITS_REF, "--device", "cpu"])
    out = capsys.readouterr().out
    assert re.search(rf"WARNING: {re.escape(str(nan_digits))}: 1 weight\(s\) hold non-finite values: '.*' \(3 NaN\)",
                     out), out
    code = main(["check", DIGITS, "--weights", str(nan_digits), "--reference", DIGITS_REF, "--device", "cpu",
                 "--nonfinite-weights", "error"])
    captured = capsys.readouterr()
    assert code == 2 and "holds non-finite values (3 NaN)" in captured.err and "Traceback" not in captured.err
