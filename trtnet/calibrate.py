"""Calibration on a CPU: run the float network with trtnet's executor over calibration batches, collect statistics
of every activation a convolution or matrix multiply reads (and of each residual add's identity branch), and choose
each activation's range (``amax``).

Statistics are histograms of ``|x|`` with 2048 bins over ``[0, max|x|]`` (a first pass finds the maxima, a second
fills the histograms; ``method="max"`` needs only the first). Methods, as TensorRT and pytorch-quantization define
them: ``max`` (the largest magnitude seen), ``percentile`` (that percentile of ``|x|``), ``entropy`` (TensorRT's
entropy calibration: the clipping threshold minimising the KL divergence between the clipped reference histogram
and its quantized version), ``mse`` (the threshold minimising the expected squared quantization error).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trtnet import dtypes
from trtnet.build import Input, trace
from trtnet.errors import TrtnetError, did_you_mean
from trtnet.nn.module import Module
from trtnet.tensor import Tensor

BINS = 2048
METHODS = ("max", "percentile", "entropy", "mse")
_START_BIN = 128  # smallest clipping threshold tried by entropy and mse: 128 of the 2048 bins

Batch = np.ndarray | Mapping[str, np.ndarray]


@dataclass
class Statistics:
    """Per activation key: the traced tensor's name, its max magnitude, its |x| histogram (2048 bins over
    ``[0, amax]``, None if only maxima were collected) and how many batches were seen."""

    tensor_names: dict[str, str]
    amax: dict[str, float]
    histograms: dict[str, np.ndarray | None]
    batches: int = 0
    skip: frozenset[str] = field(default_factory=frozenset)

    def ranges(self, method: str, dtype: dtypes.DType, percentile: float = 99.99) -> dict[str, float]:
        """``amax`` per key chosen by ``method`` for quantizing to ``dtype``."""
        if method not in METHODS:
            raise TrtnetError(f"unknown calibration method {method!r}{did_you_mean(method, METHODS)}; use one of "
                              f"{', '.join(METHODS)}")
        if method == "max":
            return dict(self.amax)
        if not 0 < percentile <= 100:
            raise TrtnetError(f"percentile must be in (0, 100], got {percentile}")
        ranges = {}
        for key, amax in self.amax.items():
            counts = self.histograms.get(key)
            if counts is None:
                raise TrtnetError(f"method {method!r} needs histograms: calibrate with histograms=True")
            if amax == 0:
                ranges[key] = 0.0
            elif method == "percentile":
                ranges[key] = percentile_amax(counts, amax, percentile)
            elif method == "entropy":
                ranges[key] = entropy_amax(counts, amax, dtype)
            else:
                ranges[key] = mse_amax(counts, amax, dtype)
        return ranges


# ---- choosing the range from a histogram ------------------------------------------------------------------------
def percentile_amax(counts: np.ndarray, amax: float, percentile: float) -> float:
    """The upper edge of the bin where the cumulative share of |x| reaches ``percentile``."""
    cumulative = np.cumsum(counts) / counts.sum()
    index = int(np.searchsorted(cumulative, percentile / 100.0))
    return float(min(index + 1, len(counts)) * amax / len(counts))


def round_to_e4m3(values: np.ndarray) -> np.ndarray:
    """Values (float64) rounded half to even onto the FP8 E4M3 grid, saturated to +-448."""
    magnitude = np.minimum(np.abs(values), 448.0)
    exponent = np.floor(np.log2(np.maximum(magnitude, 2.0**-6)))
    step = 2.0 ** (exponent - 3)  # 3 mantissa bits; subnormals share the step of the smallest binade
    return np.sign(values) * np.minimum(np.round(magnitude / step) * step, 448.0)


def _fake_quantized(values: np.ndarray, amax: float, dtype: dtypes.DType) -> np.ndarray:
    """Non-negative ``values`` quantized with range ``amax`` and dequantized (float64)."""
    if dtype is dtypes.float8_e4m3fn:
        scale = amax / 448.0
        return round_to_e4m3(values / scale) * scale
    levels = 127.0 if dtype is dtypes.int8 else 7.0
    scale = amax / levels
    return np.clip(np.round(values / scale), 0, levels) * scale


def _grouping(count: int, amax: float, dtype: dtypes.DType) -> np.ndarray:
    """For the first ``count`` bins clipped at ``amax``: the quantized level each bin falls in.

    INT8 follows TensorRT: the bins are split into 128 equal groups. FP8 groups the bins whose centres round to
    the same E4M3 value."""
    if dtype is dtypes.float8_e4m3fn:
        centres = (np.arange(count) + 0.5) * (amax / count)
        return np.unique(_fake_quantized(centres, amax, dtype), return_inverse=True)[1]
    levels = 128 if dtype is dtypes.int8 else 8
    return np.minimum(np.arange(count) * levels // count, levels - 1)


def entropy_amax(counts: np.ndarray, amax: float, dtype: dtypes.DType) -> float:
    """TensorRT's entropy calibration: the threshold (a bin edge from bin 128 on) minimising KL(P || Q), where P is
    the histogram clipped there (outliers added to the last bin) and Q is P quantized to the type's levels, each
    level's mass spread evenly over its non-empty bins."""
    counts = counts.astype(np.float64)
    width = amax / len(counts)
    best_divergence, best_edge = np.inf, len(counts)
    for edge in range(_START_BIN, len(counts) + 1):
        reference = counts[:edge].copy()
        reference[-1] += counts[edge:].sum()
        groups = _grouping(edge, edge * width, dtype)
        nonzero = (counts[:edge] != 0).astype(np.float64)
        mass = np.bincount(groups, weights=counts[:edge])
        occupied = np.bincount(groups, weights=nonzero)
        expanded = np.where(nonzero > 0, mass[groups] / np.maximum(occupied[groups], 1), 0.0)
        divergence = _kl(reference, expanded)
        if divergence < best_divergence:
            best_divergence, best_edge = divergence, edge
    return float(best_edge * width)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / max(q.sum(), 1e-300)
    where = p > 0
    if np.any(q[where] == 0):
        return np.inf
    return float(np.sum(p[where] * np.log(p[where] / q[where])))


def mse_amax(counts: np.ndarray, amax: float, dtype: dtypes.DType) -> float:
    """The threshold (a bin edge from bin 128 on) minimising the histogram-weighted squared quantization error."""
    width = amax / len(counts)
    centres = (np.arange(len(counts)) + 0.5) * width
    edges = np.arange(_START_BIN, len(counts) + 1)
    errors = [np.sum(counts * (_fake_quantized(centres, e * width, dtype) - centres) ** 2) for e in edges]
    return float(edges[int(np.argmin(errors))] * width)


# ---- running the executor over the batches ----------------------------------------------------------------------
class Recorder:
    """The plan active while calibrating: nothing is inserted; every activation operand is recorded by key."""

    dtype = None
    residual_adds = True

    def __init__(self, skip: frozenset[str]) -> None:
        self.skip = skip
        self.tensors: dict[str, Tensor] = {}

    def skips(self, scope: str) -> bool:
        return skipped(scope, self.skip)

    def activation(self, key: str, tensor: Tensor) -> Tensor:
        self.tensors[key] = tensor
        return tensor


def skipped(scope: str, skip: frozenset[str]) -> bool:
    """Whether the module call ``scope`` (``path`` or ``path#N``) is, or lies inside, a skipped module."""
    path = scope.split("#", 1)[0]
    return any(path == s or path.startswith(s + ".") or path.startswith(s + "/") for s in skip)


def input_specs(model: Module, batch: Batch, inputs: Sequence[Input] | None) -> dict[str, np.ndarray]:
    """A calibration batch as feeds keyed by input name (an array stands for the model's only input)."""
    specs = list(inputs or model.default_inputs or [])
    if not specs:
        raise TrtnetError(f"{type(model).__name__} declares no default_inputs: pass inputs=[trtnet.Input(...)]")
    if isinstance(batch, Mapping):
        feeds = {name: np.asarray(value) for name, value in batch.items()}
    elif len(specs) == 1:
        feeds = {specs[0].name: np.asarray(batch)}
    else:
        raise TrtnetError(f"{type(model).__name__} has {len(specs)} inputs: give each calibration batch as a dict "
                          "{input name: array}")
    names = [spec.name for spec in specs]
    if sorted(feeds) != sorted(names):
        raise TrtnetError(f"a calibration batch holds {sorted(feeds)}, but the model's inputs are {names}")
    return feeds


def split_batches(arrays: Mapping[str, np.ndarray], names: Sequence[str], batch_size: int,
                  source: str = "calibration data") -> list[dict[str, np.ndarray]]:
    """Samples stacked on dim 0, by input name (any one name for a single-input model), as batches of
    ``batch_size`` feeds."""
    if len(arrays) == 1 and len(names) == 1:
        arrays = {names[0]: next(iter(arrays.values()))}
    missing = [name for name in names if name not in arrays]
    if missing:
        raise TrtnetError(f"{source}: no array for input(s) {missing}; it holds {sorted(arrays)}")
    counts = {len(arrays[name]) for name in names}
    if len(counts) != 1:
        raise TrtnetError(f"{source}: the inputs' arrays hold different numbers of samples ({sorted(counts)})")
    if batch_size < 1:
        raise TrtnetError(f"the calibration batch size must be positive, got {batch_size}")
    total = counts.pop()
    return [{name: np.asarray(arrays[name][start:start + batch_size]) for name in names}
            for start in range(0, total, batch_size)]


class _Traced:
    """The float network traced once per distinct set of input shapes, with the recorded activations marked."""

    def __init__(self, model: Module, inputs: Sequence[Input] | None, skip: frozenset[str]) -> None:
        self.model, self.skip = model, skip
        self.specs = {spec.name: spec for spec in (inputs or model.default_inputs or [])}
        self.networks: dict[tuple, tuple[Any, dict[str, str]]] = {}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The recorded activations for one batch, by key."""
        from trtnet import reference

        network, names = self.network(feeds)
        results = reference.execute(network.network, feeds)
        return {key: (feeds[name] if name in feeds else results[name].float().numpy()) for key, name in names.items()}

    def network(self, feeds: dict[str, np.ndarray]) -> tuple[Any, dict[str, str]]:
        shapes = tuple(sorted((name, value.shape) for name, value in feeds.items()))
        if shapes not in self.networks:
            specs = [Input(name, feeds[name].shape, self.specs[name].dtype if name in self.specs else None)
                     for name in feeds]
            recorder = Recorder(self.skip)
            previous = self.model.__dict__.get("quantization")
            object.__setattr__(self.model, "quantization", recorder)
            try:
                network = trace(self.model, specs)
            finally:
                object.__setattr__(self.model, "quantization", previous)
            names = {}
            for key, tensor in recorder.tensors.items():
                itensor = tensor.itensor
                if not itensor.is_network_input and not itensor.is_network_output:
                    network.network.mark_output(itensor)
                names[key] = itensor.name
            self.networks[shapes] = (network, names)
        return self.networks[shapes]


def collect(model: Module, batches: Iterable[Batch], *, inputs: Sequence[Input] | None = None,
            skip: frozenset[str] = frozenset(), histograms: bool = True, progress: bool | None = None) -> Statistics:
    """Run the float model over ``batches`` on the CPU executor and gather the activation statistics."""
    batches = list(batches)
    if not batches:
        raise TrtnetError("calibration needs at least one batch")
    traced = _Traced(model, inputs, skip)
    feeds = [input_specs(model, batch, inputs) for batch in batches]
    show = sys.stderr.isatty() if progress is None else progress
    passes = 2 if histograms else 1
    amax: dict[str, float] = {}
    counts: dict[str, np.ndarray | None] = {}
    for index, batch in enumerate(feeds):
        _draw(show, "calibrating", index, len(feeds) * passes)
        for key, values in traced.run(batch).items():
            amax[key] = max(amax.get(key, 0.0), float(np.abs(values).max(initial=0.0)))
    if histograms:
        counts = {key: np.zeros(BINS, np.int64) for key in amax}
        for index, batch in enumerate(feeds):
            _draw(show, "calibrating", len(feeds) + index, len(feeds) * passes)
            for key, values in traced.run(batch).items():
                if amax[key] > 0:
                    counts[key] += np.histogram(np.abs(values), bins=BINS, range=(0.0, amax[key]))[0]
    _draw(show, "calibrating", len(feeds) * passes, len(feeds) * passes, end=True)
    names = next(iter(traced.networks.values()))[1]
    if not names:
        raise TrtnetError(f"{type(model).__name__} has no convolution, linear or matmul to quantize (or all are skipped)")
    return Statistics(names, amax, counts or {key: None for key in amax}, len(feeds), skip)


def _draw(show: bool, label: str, done: int, total: int, end: bool = False) -> None:
    if not show:
        return
    filled = int(30 * done / max(total, 1))
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} batch runs")
    sys.stderr.write("\n" if end else "")
    sys.stderr.flush()
