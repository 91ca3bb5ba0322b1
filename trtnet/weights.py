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

import contextlib
import errno
import io
import json
import logging
import math
import mmap
import os
import stat
import struct
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from trtnet import dtypes, fileio
from trtnet.errors import (
    NonFiniteWeightsWarning, TrtnetError, WeightsError, did_you_mean, is_trtnet_file,
)

if TYPE_CHECKING:
    from trtnet.nn.module import Module
    from trtnet.parameter import Parameter

#: safetensors dtypes trtnet reads, as the numpy dtype of their (little-endian) bytes; BF16 is separate.
_SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"), "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_BF16_BITS = np.dtype("<u2")  # read as bits, widened to float32
_NUMPY_TO_SAFETENSORS = {v: k for k, v in _SAFETENSORS_DTYPES.items()}
#: the other dtypes safetensors defines: float8/6/4 and complex have no numpy dtype TensorRT weights could use.
_UNSUPPORTED_DTYPES = ("F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F6_E2M3", "F6_E3M2", "F4",
                       "C64")
_MAX_HEADER = 100_000_000  # bytes: safetensors' own limit
_MAX_DIMS = 64  # numpy's
_OPEN_ERRORS = {
    errno.ENOENT: "no such weights file", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
    errno.ELOOP: "too many levels of symbolic links (a link loop?)", errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a folder on the path is a file",
}


class _Entry(NamedTuple):
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a ``.safetensors`` file as read-only numpy arrays (BF16 becomes float32).

    The file must follow the safetensors format exactly: an 8-byte header length (at most 100 MB, within the
    file), a UTF-8 JSON object without duplicate keys whose ``__metadata__`` maps strings to strings and whose
    other entries each give a known ``dtype``, a ``shape`` of non-negative ints and ``data_offsets`` whose byte
    range fits the shape, the ranges tiling the data section exactly (no overlap, no hole, nothing after).
    Any violation, and a path that isn't a readable regular file, is a :class:`WeightsError` naming the file
    (and the tensor). A named pipe is refused, not waited on.

    The data section is read into private memory with one read (no memory map of the file): the arrays stay
    what was loaded, whatever happens to the file afterwards (truncated: no SIGBUS; rewritten: no change).
    """
    path = os.fspath(path)
    with _open_regular_file(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 8:
            raise WeightsError(f"{path}: not a safetensors file (only {size} bytes)")
        (header_len,) = struct.unpack("<Q", _read_exact(handle, bytearray(8), path))
        if header_len > _MAX_HEADER:
            raise WeightsError(f"{path}: not a safetensors file (header length {header_len} exceeds "
                               f"safetensors' limit of {_MAX_HEADER} bytes)")
        if header_len > size - 8:
            raise WeightsError(f"{path}: not a safetensors file (header length {header_len} exceeds the file: "
                               f"{size - 8} bytes follow the length; truncated?)")
        entries = _tensor_entries(_parse_header(_read_exact(handle, bytearray(header_len), path), path), path)
        _check_layout(entries, size - 8 - header_len, path)
        data = _read_data(handle, size - 8 - header_len, path)
    return {key: _array(data, entry) for key, entry in entries.items()}


def _open_regular_file(path: str) -> io.FileIO:
    """``path`` opened for reading, refusing anything but a regular file (O_NONBLOCK: a FIFO can't hang us)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise WeightsError(f"{path}: {_OPEN_ERRORS.get(exc.errno, f'cannot open ({exc.strerror})')}") from None
    except ValueError:  # an embedded NUL
        raise WeightsError(f"{path!r}: not a valid path (contains a NUL character)") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
        raise WeightsError(f"{path}: is {kind}, not a safetensors file")
    return io.FileIO(fd, "rb")


def _read_exact(handle: io.FileIO, buffer: Any, path: str) -> Any:
    """Fill ``buffer`` from the file's current position (a file shrinking meanwhile is an error)."""
    view, done = memoryview(buffer).cast("B"), 0
    while done < len(view):
        try:
            count = handle.readinto(view[done:])
        except OSError as exc:
            raise WeightsError(f"{path}: cannot read ({exc.strerror})") from None
        if not count:
            raise WeightsError(f"{path}: the file got shorter while it was read (truncated meanwhile?)")
        done += count
    return buffer


def _read_data(handle: io.FileIO, size: int, path: str) -> np.ndarray:
    """The data section, read into private anonymous memory (huge pages where offered: fewer page faults),
    read-only."""
    if size == 0:
        data = np.empty(0, np.uint8)
    else:
        if hasattr(mmap, "MAP_ANONYMOUS"):
            memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if hasattr(mmap, "MADV_HUGEPAGE"):
                memory.madvise(mmap.MADV_HUGEPAGE)
        else:
            memory = mmap.mmap(-1, size)
        data = np.frombuffer(_read_exact(handle, memory, path), np.uint8)
    data.flags.writeable = False
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        duplicate = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ValueError(f"key {duplicate!r} appears more than once")
    return result


def _parse_header(raw: bytearray, path: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except UnicodeDecodeError as exc:
        raise WeightsError(f"{path}: corrupt safetensors header (not UTF-8 at byte {8 + exc.start})") from None
    except RecursionError:
        raise WeightsError(f"{path}: corrupt safetensors header (JSON nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, a duplicate key, an integer too long to convert
        raise WeightsError(f"{path}: corrupt safetensors header ({exc})") from None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tensor_entries(header: Any, path: str) -> dict[str, _Entry]:
    if not isinstance(header, dict):
        raise WeightsError(f"{path}: corrupt safetensors header (not a JSON object)")
    entries = {}
    for key, info in header.items():
        if not key.isascii() and not _is_unicode(key):
            raise WeightsError(f"{path}: corrupt safetensors header (tensor name {key!r} is not valid Unicode)")
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise WeightsError(f"{path}: corrupt safetensors header (__metadata__ must map strings to "
                                   f"strings, got {_short(info)})")
        else:
            entries[key] = _entry(info, f"{path}: tensor {key!r}")
    return entries


def _is_unicode(text: str) -> bool:
    """False for strings holding lone surrogates (JSON's ``"\\ud800"``), which no UTF-8 name can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _entry(info: Any, where: str) -> _Entry:
    try:
        dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not (isinstance(dtype_name, str) and isinstance(shape, list) and isinstance(offsets, list)
                and len(offsets) == 2 and all(type(v) is int and v >= 0 for v in [*shape, *offsets])):
            raise ValueError("want a dtype string, a shape list and two data_offsets, all ints >= 0")
        begin, end = offsets
        if begin > end:
            raise ValueError(f"data_offsets {begin}..{end} run backwards")
    except (TypeError, KeyError, ValueError) as exc:
        raise WeightsError(f"{where}: malformed header entry {_short(info)} ({exc})") from None
    if dtype_name == "BF16":
        itemsize = _BF16_BITS.itemsize
    elif dtype_name in _SAFETENSORS_DTYPES:
        itemsize = _SAFETENSORS_DTYPES[dtype_name].itemsize
    elif dtype_name in _UNSUPPORTED_DTYPES:
        raise WeightsError(f"{where}: dtype {dtype_name} is not supported by trtnet (no numpy dtype; convert "
                           f"the weights to F16, BF16 or F32) (supported: {', '.join([*_SAFETENSORS_DTYPES, 'BF16'])})")
    else:
        raise WeightsError(f"{where}: unknown dtype {_short(dtype_name)} (safetensors defines "
                           f"{', '.join([*_SAFETENSORS_DTYPES, 'BF16', *_UNSUPPORTED_DTYPES])})")
    if len(shape) > _MAX_DIMS:
        raise WeightsError(f"{where}: shape has {len(shape)} dims; numpy holds at most {_MAX_DIMS}")
    nbytes = math.prod(shape) * itemsize  # Python ints: no overflow
    if end - begin != nbytes:
        raise WeightsError(f"{where}: data offsets {begin}..{end} hold {end - begin} bytes, but shape "
                           f"{_short(shape)} of {dtype_name} needs {nbytes} (corrupt header)")
    if math.prod(max(d, 1) for d in shape) * itemsize > np.iinfo(np.intp).max:  # numpy's check, even when empty
        raise WeightsError(f"{where}: shape {_short(shape)} is too large for numpy")
    return _Entry(dtype_name, tuple(shape), begin, end)


def _check_layout(entries: Mapping[str, _Entry], data_size: int, path: str) -> None:
    """The byte ranges, in order, must tile the data section: no overlap, no hole, none past its end."""
    position, previous = 0, ""
    for key, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        where = f"{path}: tensor {key!r}: data offsets {entry.begin}..{entry.end}"
        if entry.end > data_size:
            raise WeightsError(f"{where} end past the data section ({data_size} bytes): truncated or corrupt")
        if entry.begin < position:
            raise WeightsError(f"{where} overlap those of tensor {previous!r} (ending at {position})")
        if entry.begin > position:
            after = f"after tensor {previous!r}" if previous else "at the start of the data section"
            raise WeightsError(f"{where} leave a hole of {entry.begin - position} bytes {after}")
        position, previous = entry.end, key
    if position != data_size:
        last = f"after the last tensor {previous!r}" if previous else "but no tensor"
        raise WeightsError(f"{path}: the data section has {data_size - position} bytes {last}: corrupt file")


def _array(data: np.ndarray, entry: _Entry) -> np.ndarray:
    raw = data[entry.begin:entry.end]
    if entry.dtype == "BF16":
        array = (raw.view(_BF16_BITS).astype(np.uint32) << 16).view(np.float32).reshape(entry.shape)
        array.flags.writeable = False
        return array
    return raw.view(_SAFETENSORS_DTYPES[entry.dtype]).reshape(entry.shape)


def save_safetensors(path: str | os.PathLike, tensors: Mapping[str, np.ndarray]) -> None:
    """Write numpy arrays as a ``.safetensors`` file (readable by ``safetensors`` and PyTorch)."""
    header: dict[str, Any] = {}
    offset = 0
    arrays = []
    for key, value in tensors.items():
        if not isinstance(key, str) or key == "__metadata__":
            raise WeightsError(f"{key!r}: a safetensors tensor name is a string other than '__metadata__'")
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


NONFINITE_POLICIES = ("warn", "error", "ignore")
_nonfinite_policy: ContextVar[str] = ContextVar("trtnet_nonfinite_weights", default="warn")
_LOGGER = logging.getLogger("trtnet.weights")
_LOGGER.addHandler(logging.NullHandler())  # shown through warnings; logged for applications that configure logging


@contextlib.contextmanager
def nonfinite_weights(policy: str) -> Iterator[None]:
    """Within the block, loaded weights holding NaN or Inf warn (``"warn"``, the default: a
    :class:`~trtnet.errors.NonFiniteWeightsWarning`, also logged to ``trtnet.weights``), are a
    :class:`WeightsError` (``"error"``) or load silently (``"ignore"``).

    >>> with nonfinite_weights("error"):
    ...     pass  # model.load_safetensors(path) here refuses NaN/Inf
    """
    if policy not in NONFINITE_POLICIES:
        raise TrtnetError(f"nonfinite_weights: policy must be one of {', '.join(NONFINITE_POLICIES)}, got {policy!r}"
                          f"{did_you_mean(str(policy), NONFINITE_POLICIES)}")
    token = _nonfinite_policy.set(policy)
    try:
        yield
    finally:
        _nonfinite_policy.reset(token)


def nonfinite_counts(arrays: Mapping[str, np.ndarray]) -> dict[str, str]:
    """``{key: "2 NaN, 1 +Inf"}`` for the float arrays holding NaN or Inf."""
    found = {}
    for key, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            counts = [(int(test(array).sum()), what) for test, what in
                      ((np.isnan, "NaN"), (np.isposinf, "+Inf"), (np.isneginf, "-Inf"))]
            found[key] = ", ".join(f"{n} {what}" for n, what in counts if n)
    return found


def nonfinite_message(arrays: Mapping[str, np.ndarray], source: str) -> str | None:
    """One line naming the arrays holding NaN or Inf and how many, or None when every value is finite."""
    found = nonfinite_counts(arrays)
    if not found:
        return None
    listed = [f"{key!r} ({counts})" for key, counts in list(found.items())[:10]]
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    return f"{source}: {len(found)} weight(s) hold non-finite values: {', '.join(listed)}{more}"


def audit_values(module: "Module", params: Mapping[str, "Parameter"], accepted: Mapping[str, np.ndarray],
                 source: str) -> list[str]:
    """Problems of values about to be loaded that can't be right: a BatchNorm ``running_var`` below 0 (always)
    and, under the ``"error"`` policy of :func:`nonfinite_weights`, NaN/Inf; under ``"warn"`` NaN/Inf
    warn instead. A key is a running variance when its parameter is a BatchNorm module's ``running_var``."""
    from trtnet.nn.normalization import _NormBase  # the nn package imports this module

    variances = {id(m.running_var) for _, m in module.named_modules()
                 if isinstance(m, _NormBase) and m.running_var is not None}
    problems = []
    for key, array in accepted.items():
        if id(params[key]) in variances and array.size and (negative := int((array < 0).sum())):
            problems.append(f"{key!r} is a BatchNorm running_var with {negative} negative value(s) (min "
                            f"{array.min():g}): a variance can't be below 0")
    policy = _nonfinite_policy.get()
    if policy == "error":
        problems += [f"{key!r} holds non-finite values ({counts}); loading NaN/Inf is refused (nonfinite policy "
                     "'error')" for key, counts in nonfinite_counts(accepted).items()]
    elif policy == "warn" and (message := nonfinite_message(accepted, source)):
        _LOGGER.warning(message)
        warnings.warn(message, NonFiniteWeightsWarning, stacklevel=_user_stacklevel())
    return problems


def _user_stacklevel() -> int:
    """The ``warnings.warn`` stacklevel, from its caller, of the innermost frame outside trtnet."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and is_trtnet_file(frame.f_code.co_filename):
        level, frame = level + 1, frame.f_back
    return level


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
    for key, param in module.state_dict_entries():  # parameters and persistent buffers
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
        else:  # a snapshot, as torch's load_state_dict copies (read_safetensors' read-only arrays need none)
            accepted[key] = array.copy() if array.flags.writeable else array
    problems += audit_values(module, params, accepted, source)
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
