"""Weights: a safetensors reader/writer (numpy only: loading never imports torch) and the strict
state_dict check behind ``Module.load_state_dict``.

Conversion rules (explicit, documented): a value is converted to its parameter's dtype within the
same kind only: float (F64/F32/F16/BF16) to the parameter's float dtype, integer to integer, bool to
bool. Anything else is reported as a dtype that can't be converted.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> save_safetensors(path, {"fc.weight": np.ones((2, 3), np.float32)})
>>> {k: v.shape for k, v in read_safetensors(path).items()}
{'fc.weight': (2, 3)}
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from trtnet import dtypes, fileio
from trtnet.errors import WeightsError, did_you_mean

if TYPE_CHECKING:
    from trtnet.nn.module import Module
    from trtnet.parameter import Parameter

_SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}
_NUMPY_TO_SAFETENSORS = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a ``.safetensors`` file as numpy arrays (memory-mapped; BF16 becomes float32)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < 8:
                raise WeightsError(f"{path}: not a safetensors file (only {size} bytes)")
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such weights file") from None
    except IsADirectoryError:
        raise WeightsError(f"{path}: is a directory, not a safetensors file") from None
    (header_len,) = struct.unpack("<Q", buffer[:8])
    if header_len > min(_MAX_HEADER, size - 8):
        raise WeightsError(f"{path}: not a safetensors file (header length {header_len} exceeds the file)")
    try:
        header = json.loads(bytes(buffer[8:8 + header_len]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: corrupt safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: corrupt safetensors header (not a JSON object)")
    start = 8 + header_len
    tensors = {}
    for key, info in header.items():
        if key != "__metadata__":
            tensors[key] = _tensor_from(buffer, start, size, info, f"{path}: tensor {key!r}")
    return tensors


def _tensor_from(buffer: mmap.mmap, start: int, size: int, info: Any, where: str) -> np.ndarray:
    try:
        dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not (isinstance(dtype_name, str) and isinstance(shape, list) and isinstance(offsets, list)
                and len(offsets) == 2 and all(type(v) is int and v >= 0 for v in [*shape, *offsets])):
            raise ValueError("want a dtype string, a shape list and two data_offsets, all ints >= 0")
        begin, end = offsets
    except (TypeError, KeyError, ValueError) as exc:
        raise WeightsError(f"{where}: malformed header entry {info!r} ({exc})") from None
    if dtype_name == "BF16":
        numpy_dtype = np.dtype(np.uint16)
    elif dtype_name in _SAFETENSORS_DTYPES:
        numpy_dtype = np.dtype(_SAFETENSORS_DTYPES[dtype_name])
    else:
        raise WeightsError(f"{where}: dtype {dtype_name} is not supported by trtnet "
                           f"(supported: {', '.join([*_SAFETENSORS_DTYPES, 'BF16'])})")
    count = int(np.prod(shape, dtype=np.int64))
    if not 0 <= begin <= end or start + end > size or end - begin != count * numpy_dtype.itemsize:
        raise WeightsError(f"{where}: data offsets {begin}..{end} don't fit shape {shape} of {dtype_name} "
                           f"in a file of {size} bytes (truncated or corrupt)")
    array = np.frombuffer(buffer, dtype=numpy_dtype, count=count, offset=start + begin).reshape(shape)
    if dtype_name == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, np.ndarray]) -> None:
    """Write numpy arrays as a ``.safetensors`` file (readable by ``safetensors`` and PyTorch)."""
    header: dict[str, Any] = {}
    offset = 0
    arrays = []
    for key, value in tensors.items():
        array = np.ascontiguousarray(value).reshape(np.shape(value))  # keeps 0-d arrays 0-d
        if array.dtype not in _NUMPY_TO_SAFETENSORS:
            raise WeightsError(f"{key}: numpy dtype {array.dtype} can't be written to safetensors")
        header[key] = {"dtype": _NUMPY_TO_SAFETENSORS[array.dtype], "shape": list(array.shape),
                       "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with fileio.atomic_write(path) as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded)
        for array in arrays:
            handle.write(array.tobytes())


def to_numpy(value: Any, key: str, source: str) -> np.ndarray:
    """A numpy array from a numpy array or torch tensor (bf16 tensors become float32; torch not imported)."""
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(value, (int, float, bool, list)):
        return np.asarray(value)
    raise WeightsError(f"{source}: {key!r} is a {type(value).__name__}, not a numpy array or torch tensor")


def _kind_fits(values: np.ndarray, dtype: dtypes.DType) -> bool:
    if dtype.is_float:
        return values.dtype.kind == "f"
    if dtype is dtypes.bool_:
        return values.dtype.kind == "b"
    return values.dtype.kind in "iu"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as torch's: the model's keys the state_dict lacks and the state_dict's
    keys the model doesn't have (both empty unless ``strict=False``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


def load_into(module: "Module", state: Mapping[str, Any], strict: bool = True,
              source: str = "state_dict") -> IncompatibleKeys:
    """Check ``state`` against ``module``'s parameters, report every problem at once, then assign.

    A parameter tied under several names (``lm_head.weight = wte.weight``) loads from any of them: from a
    state_dict holding all (torch's ``state_dict()``; their values must agree) or one (``safetensors.torch.
    save_model``). Returns torch's ``(missing_keys, unexpected_keys)``; a tied parameter given under one of
    its names is not missing. Optional parameters are never missing."""
    names: dict[int, list[str]] = {}  # every key of each parameter, in state_dict order
    params: dict[str, Parameter] = {}
    for key, param in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(key)
        params[key] = param
    problems: list[str] = []
    missing = [k for k, p in params.items() if not p.optional and not any(n in state for n in names[id(p)])]
    unexpected = [k for k in state if k not in params]
    if strict:
        problems += [f"missing key {k!r} (shape {params[k].shape}){_tied_note(k, names[id(params[k])])}"
                     for k in missing]
        problems += [f"unexpected key {k!r}{did_you_mean(k, params)}" for k in unexpected]
    accepted: dict[str, np.ndarray] = {}  # the first key given for each parameter -> its checked values
    for key, value in state.items():
        if key not in params:
            continue
        param = params[key]
        try:
            array = to_numpy(value, key, source)
        except WeightsError as exc:
            problems.append(str(exc).removeprefix(f"{source}: "))
            continue
        first = next(n for n in names[id(param)] if n in state)
        if tuple(array.shape) != param.shape:
            problems.append(f"shape mismatch for {key!r}: file has {tuple(array.shape)}, model expects {param.shape}")
        elif not _kind_fits(array, param.dtype):
            problems.append(f"dtype of {key!r} can't be converted: file has {array.dtype}, model expects {param.dtype.name}")
        elif key != first:
            if first in accepted and not _same_values(accepted[first], array):
                problems.append(f"tied parameters {first!r} and {key!r} (one Parameter) have different values")
        else:  # a snapshot, as torch's load_state_dict copies (read-only memory-mapped files need none)
            accepted[key] = array.copy() if array.flags.writeable else array
    if problems:
        listing = "\n  ".join(problems)
        raise WeightsError(f"{source}: {len(problems)} problem(s) loading weights into {type(module).__name__}:\n  {listing}")
    for key, array in accepted.items():
        params[key].assign(array)
    return IncompatibleKeys(missing, unexpected)


def _tied_note(key: str, keys: list[str]) -> str:
    others = [k for k in keys if k != key]
    return f", tied to {', '.join(map(repr, others))}, also missing" if others else ""


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")
