"""Post-training quantization: ``trtnet.quantize(model, calibration, dtype="int8"|"fp8", method=...)``.

The returned model (the same object) carries a :class:`Quantization` plan; tracing it puts Q/DQ pairs before the
input and the weight of every convolution, linear and matmul (``trtnet.functional.quantize`` is the one place that
does so, at lowering): weights per output channel with scales from their values, activations per tensor with scales
from calibration on trtnet's CPU executor (:mod:`trtnet.calibrate`). Scales are keyed by the module path of the op
that reads the activation (``features.0``; a module's later ops ``path/matmul#2``, a matmul's second activation
``key:1``) and saved to / loaded from JSON; TensorRT's legacy calibration cache imports where names match.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from trtnet import dtypes, fileio
from trtnet.build import Input
from trtnet.calibrate import METHODS, Batch, Statistics, _Traced, collect, skipped
from trtnet.errors import TrtnetError, did_you_mean
from trtnet.functional.quantize import fake_quantize, quantized_max
from trtnet.nn.module import Module
from trtnet.tensor import Tensor

_FORMAT = "trtnet-quantization-scales"
_DTYPES = {"int8": dtypes.int8, "fp8": dtypes.float8_e4m3fn}


@dataclass
class Quantization:
    """A model's quantization: the quantized type, activation scales by key, and the module paths kept in
    higher precision. Active while the model is traced (``model.quantization``)."""

    dtype: dtypes.DType
    scales: dict[str, float]
    skip: frozenset[str] = frozenset()
    method: str = ""
    tensor_names: dict[str, str] = field(default_factory=dict)  # key -> the activation's tensor name when calibrated
    residual_adds: bool = True  # Q/DQ on the identity branch of residual adds (keys of the adds' scopes)

    def skips(self, scope: str) -> bool:
        return skipped(scope, self.skip)

    def activation(self, key: str, tensor: Tensor) -> Tensor:
        scale = self.scales.get(key)
        if scale is None:
            raise TrtnetError(f"no {self.dtype.name} scale for the activation {key!r}{did_you_mean(key, self.scales)}: "
                              "calibrate this model, load scales saved for it, or skip the module")
        return fake_quantize(tensor, scale, self.dtype)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the scales as JSON (atomically)."""
        document = {"format": _FORMAT, "version": 1, "dtype": _short_name(self.dtype), "method": self.method,
                    "skip": sorted(self.skip), "scales": self.scales, "tensors": self.tensor_names,
                    "residual_adds": self.residual_adds}
        with fileio.atomic_write(path, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=1, sort_keys=True)


def _short_name(dtype: dtypes.DType) -> str:
    return next(name for name, d in _DTYPES.items() if d is dtype)


def _dtype(dtype: str | dtypes.DType) -> dtypes.DType:
    wanted = dtypes.get(dtype) if isinstance(dtype, dtypes.DType) or str(dtype).lower() not in _DTYPES else _DTYPES[str(dtype).lower()]
    if wanted not in _DTYPES.values():
        raise TrtnetError(f"quantize: dtype must be 'int8' or 'fp8', got {dtype!r}")
    return wanted


def skip_paths(model: Module, skip: Iterable[str | type]) -> frozenset[str]:
    """Module paths for ``skip`` entries: paths as given, types as the paths of their instances."""
    paths = {path: module for path, module in model.named_modules() if path}
    found: set[str] = set()
    for target in skip:
        if isinstance(target, str):
            if target not in paths:
                raise TrtnetError(f"skip: no module {target!r} in {type(model).__name__}{did_you_mean(target, paths)}")
            found.add(target)
        else:
            matches = {path for path, module in paths.items() if isinstance(module, target)}
            if not matches:
                raise TrtnetError(f"skip: {type(model).__name__} has no {target.__name__} module")
            found |= matches
    return frozenset(found)


def quantize(model: Module, calibration: Iterable[Batch] | Statistics | None = None, dtype: str = "int8",
             method: str = "max", *, skip: Sequence[str | type] = (), percentile: float = 99.99,
             scales: str | os.PathLike[str] | None = None, inputs: Sequence[Input] | None = None,
             progress: bool | None = None, residual_adds: bool = True) -> Module:
    """Quantize ``model`` to INT8 or FP8: set ``model.quantization`` and return the model.

    ``calibration``: batches (arrays for a single-input model, else dicts by input name) run on the CPU executor,
    or :class:`trtnet.calibrate.Statistics` already collected; or None with ``scales``: a JSON file saved by
    :meth:`Quantization.save` or a TensorRT calibration cache. ``method``: max (the default: the most accurate on the
    repository's models, see benchmarks/quantize_accuracy.py), percentile, entropy or mse.
    ``skip``: module paths or types kept in higher precision. ``inputs``: input specs (default: the model's).
    ``residual_adds``: Q/DQ on the identity branch of each residual add (a convolution's output plus a tensor of
    its shape), calibrated like the other activations, so TensorRT fuses convolution and add; False leaves the adds
    in float (a scales file keeps its own setting)."""
    if not isinstance(model, Module):
        raise TrtnetError(f"quantize expects a trtnet Module, got {type(model).__name__}")
    wanted = _dtype(dtype)
    if method not in METHODS:
        raise TrtnetError(f"unknown calibration method {method!r}{did_you_mean(method, METHODS)}; use one of "
                          f"{', '.join(METHODS)}")
    skipped_paths = skip_paths(model, skip)
    if (calibration is None) == (scales is None):
        raise TrtnetError("quantize needs either calibration batches (or statistics) or scales=, not both")
    if scales is not None:
        plan = load_scales(scales, model, wanted, skipped_paths, inputs)
    else:
        stats = calibration if isinstance(calibration, Statistics) else collect(
            model, calibration, inputs=inputs, skip=skipped_paths, histograms=method != "max", progress=progress)
        if stats.skip != skipped_paths:
            raise TrtnetError("these statistics were collected with another skip list; collect them again")
        ranges = stats.ranges(method, wanted, percentile)
        plan = Quantization(wanted, _scales_from_ranges(ranges, wanted), skipped_paths, method, dict(stats.tensor_names),
                            residual_adds)
    object.__setattr__(model, "quantization", plan)
    return model


def _scales_from_ranges(ranges: dict[str, float], dtype: dtypes.DType) -> dict[str, float]:
    """scale = amax / the type's largest value (1.0 for an activation that was always zero)."""
    top = quantized_max(dtype)
    return {key: (amax / top if amax > 0 else 1.0) for key, amax in ranges.items()}


def load_scales(path: str | os.PathLike[str], model: Module, dtype: dtypes.DType, skip: frozenset[str],
                inputs: Sequence[Input] | None = None) -> Quantization:
    """A plan from a trtnet JSON scales file or a TensorRT calibration cache (matched by tensor name or key)."""
    path = fileio.check_input_file(path, "scales")
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    if text.startswith("TRT-"):
        return _from_calibration_cache(text, path, model, dtype, skip, inputs)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrtnetError(f"{path}: not a trtnet scales file nor a TensorRT calibration cache ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise TrtnetError(f"{path}: not a trtnet scales file (no \"format\": \"{_FORMAT}\")")
    saved = _DTYPES.get(document.get("dtype"))
    if saved is not dtype:
        raise TrtnetError(f"{path}: holds {document.get('dtype')} scales, but {_short_name(dtype)} was asked for")
    scales = {str(k): float(v) for k, v in document["scales"].items()}
    return Quantization(dtype, scales, frozenset(document.get("skip", ())) | skip, document.get("method", ""),
                        dict(document.get("tensors", {})), bool(document.get("residual_adds", False)))


def _from_calibration_cache(text: str, path: str, model: Module, dtype: dtypes.DType, skip: frozenset[str],
                            inputs: Sequence[Input] | None) -> Quantization:
    """TensorRT's cache: a ``TRT-xxxx-EntropyCalibration2`` header, then ``name: hex`` lines, the hex being the
    big-endian bits of the float32 INT8 scale. FP8 scales are rescaled from the INT8 range (amax = 127 * scale)."""
    cache: dict[str, float] = {}
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        name, _, value = line.rpartition(":")
        try:
            cache[name.strip()] = struct.unpack(">f", bytes.fromhex(value.strip().zfill(8)))[0]
        except ValueError:
            raise TrtnetError(f"{path}:{number}: expected 'tensor name: 8 hex digits', got {line!r}") from None
    traced = _Traced(model, inputs, skip)
    specs = list(inputs or model.default_inputs or [])
    if not specs:
        raise TrtnetError(f"{type(model).__name__} declares no default_inputs: pass inputs=[trtnet.Input(...)]")
    names = traced.network({spec.name: _zeros(spec) for spec in specs})[1]
    scales, missing = {}, []
    for key, tensor_name in names.items():
        scale = cache.get(tensor_name, cache.get(key))
        if scale is None:
            missing.append(f"{key} (tensor {tensor_name!r})")
        else:
            scales[key] = scale * 127.0 / quantized_max(dtype)
    if missing:
        raise TrtnetError(f"{path}: no scale for {len(missing)} activation(s): {', '.join(missing[:10])}; the cache "
                          f"has {', '.join(sorted(cache)[:10])}; skip those modules or calibrate")
    return Quantization(dtype, scales, skip, "calibration cache", names)


def _zeros(spec: Input) -> np.ndarray:
    shape = spec.opt if spec.is_dynamic else spec.shape
    return np.zeros(shape, (spec.dtype or dtypes.float32).carrier)


__all__ = ["METHODS", "Quantization", "load_scales", "quantize", "skip_paths"]
