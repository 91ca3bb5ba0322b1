"""Fuzzing the safetensors reader: mutated real files (byte flips, truncations, header JSON edits) and headers
made up from random dtypes, shapes and offsets. The reader may only raise ``WeightsError``; every file it
accepts must also load with ``safetensors`` itself, with the same keys, declared shapes and values.

Derandomized (the same examples on every run) and sized for about a minute in total."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from safetensors.torch import load as st_load, save as st_save

import trtnet
from trtnet import weights

REPO = Path(__file__).resolve().parent.parent
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64", "F8_E4M3",
          "F8_E5M2", "C64", "F4", "X9", ""]


def _seed_files() -> list[bytes]:
    generator = torch.Generator().manual_seed(0)
    mixed = {
        "f32": torch.randn(3, 4, generator=generator), "f16": torch.randn(5, generator=generator).half(),
        "bf16": torch.randn(2, 3, generator=generator).bfloat16(), "i64": torch.tensor(123456789012),
        "i8": torch.arange(-3, 3, dtype=torch.int8), "u8": torch.arange(4, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]), "f64": torch.randn(2, dtype=torch.float64, generator=generator),
        "empty": torch.zeros(0, 3), "scalar": torch.tensor(1.5),
    }
    return [(REPO / "weights" / "digits.safetensors").read_bytes(), st_save(mixed, metadata={"format": "pt"})]


SEEDS = _seed_files()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def split(data: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def join(header_bytes: bytes, body: bytes, length_delta: int = 0) -> bytes:
    return struct.pack("<Q", max(0, len(header_bytes) + length_delta)) + header_bytes + body


def assert_reads_or_refuses(folder: Path, data: bytes) -> None:
    """Only WeightsError; what is accepted equals what safetensors itself loads from the same bytes."""
    path = folder / "case.safetensors"
    path.write_bytes(data)
    try:
        read = weights.read_safetensors(path)
    except trtnet.WeightsError as exc:
        assert str(exc).startswith(str(path))
        return
    header, _ = split(data)
    expected = st_load(data)  # raises if trtnet accepted a file safetensors refuses
    assert set(read) == set(expected) == set(header) - {"__metadata__"}
    for key, array in read.items():
        assert array.shape == tuple(header[key]["shape"]), key
        want = expected[key]
        want = want.float() if want.dtype == torch.bfloat16 else want
        np.testing.assert_array_equal(array, want.numpy(), err_msg=key)


@given(seed=st.sampled_from(SEEDS), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                              st.integers(0, 255)), min_size=1, max_size=6),
       header_only=st.booleans())
@settings(FUZZ, max_examples=1000)
def test_byte_flips(folder: Path, seed: bytes, flips: list[tuple[float, int]], header_only: bool) -> None:
    data = bytearray(seed)
    span = 8 + struct.unpack("<Q", seed[:8])[0] if header_only else len(data)
    for where, value in flips:
        data[int(where * span)] = value
    assert_reads_or_refuses(folder, bytes(data))


@given(seed=st.sampled_from(SEEDS), cut=st.floats(0, 1), tail=st.binary(max_size=16))
@settings(FUZZ, max_examples=400)
def test_truncations_and_extensions(folder: Path, seed: bytes, cut: float, tail: bytes) -> None:
    assert_reads_or_refuses(folder, seed[:int(cut * len(seed))] + tail)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.sampled_from([0, 1, 2**32, 2**63, 2**64])
    | st.floats(allow_nan=True) | st.sampled_from(DTYPES) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12)
FIELDS = ["dtype", "shape", "data_offsets"]


@given(seed=st.sampled_from(SEEDS), data=st.data())
@settings(FUZZ, max_examples=800)
def test_header_edits(folder: Path, seed: bytes, data: st.DataObject) -> None:
    header, body = split(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from([*header, "__metadata__", "new"]))
        edit = data.draw(st.sampled_from(["field", "drop field", "dim", "offset", "dtype", "entry", "drop entry"]))
        entry = header.get(key)
        if edit == "entry" or not isinstance(entry, dict):
            header[key] = data.draw(JSON_VALUES)
        elif edit == "drop entry":
            del header[key]
        elif edit == "field":
            entry[data.draw(st.sampled_from(FIELDS))] = data.draw(JSON_VALUES)
        elif edit == "drop field":
            entry.pop(data.draw(st.sampled_from(FIELDS)), None)
        elif edit == "dim" and isinstance(entry.get("shape"), list):
            entry["shape"] = [*entry["shape"], data.draw(st.integers(-1, 2**66))][-data.draw(st.integers(1, 70)):]
        elif edit == "offset" and isinstance(entry.get("data_offsets"), list) and entry["data_offsets"]:
            offsets = entry["data_offsets"]
            offsets[data.draw(st.integers(0, len(offsets) - 1))] += data.draw(st.integers(-64, 64))
        elif edit == "dtype":
            entry["dtype"] = data.draw(st.sampled_from(DTYPES))
    text = json.dumps(header)
    if data.draw(st.booleans()) and len(header) > 1:  # a duplicate key, as json.dumps can't write one
        first = next(iter(header))
        text = text[:-1] + f", {json.dumps(first)}: {json.dumps(header[first])}" + "}"
    delta = data.draw(st.sampled_from([0, 0, 0, -1, 1, 2**20]))
    assert_reads_or_refuses(folder, join(text.encode(), body, delta))


ENTRY = st.fixed_dictionaries({
    "dtype": st.sampled_from(DTYPES),
    "shape": st.lists(st.integers(0, 5) | st.sampled_from([0, 2**32, 2**63, 2**70]), max_size=8),
    "data_offsets": st.lists(st.integers(0, 256) | st.sampled_from([2**64, 2**70]), min_size=2, max_size=2),
})


@given(entries=st.dictionaries(st.text(min_size=1, max_size=4), ENTRY, max_size=5), size=st.integers(0, 300),
       consistent=st.booleans())
@settings(FUZZ, max_examples=700)
def test_random_headers(folder: Path, entries: dict, size: int, consistent: bool) -> None:
    if consistent:  # lay the entries out back to back as their shapes need, so some get through
        position = 0
        for entry in entries.values():
            bits = {"F64": 64, "I64": 64, "U64": 64, "C64": 64, "F32": 32, "I32": 32, "U32": 32, "F16": 16,
                    "BF16": 16, "I16": 16, "U16": 16}.get(entry["dtype"], 8)
            nbytes = int(np.prod(entry["shape"], dtype=object)) * bits // 8 if entry["shape"] else bits // 8
            entry["data_offsets"] = [position, position + nbytes]
            position += nbytes
        size = position if position < 10_000 else size
    body = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert_reads_or_refuses(folder, join(json.dumps(entries).encode(), body))
