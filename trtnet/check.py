"""``trtnet.check``: does a trtnet port compute what its eager-PyTorch original computes?

The same safetensors file is loaded into both models (strictly, on both sides), the trtnet model is traced and
its engine **built** (so every checked network is shown to build), then run on seeded random inputs (or inputs
from a file): on the GPU engine where one can run, else on the CPU reference executor (:mod:`trtnet.reference`),
which executes the very ``INetworkDefinition`` that was built. Every output is compared with :func:`compare`
under the dtype's default :class:`Tolerance` (overridable).

**Reduced precision.** For ``dtype="fp16"``/``"bf16"`` the trtnet model runs in that dtype (``model.to(dtype)``:
weights, inputs and activations), while the reference stays **float32** (``reference.float()``): the check
answers "how far is the half-precision engine from the real model", which is what a deployment needs, and
eager CPU PyTorch is slow or lacks kernels for some half ops. Both sides get the *same* input values: the
random inputs are rounded to the engine dtype first and fed to the reference widened back to float32, so input
rounding is not counted as error. The tolerance is the engine dtype's (``tolerance_for("fp16")``...).
To tell precision from a bug, eager PyTorch also runs in that dtype (a deep copy of the reference,
``.to("cpu", dtype)``, on the same rounded inputs): ``report.eager_in_dtype`` holds its error against the float32
reference, and an output that misses the tolerance passes by :mod:`trtnet.verdict`'s precision rule when
trtnet's error is within :data:`trtnet.verdict.PRECISION_FACTOR` of eager PyTorch's own. Where eager PyTorch
can't run the dtype on CPU, ``report.eager_in_dtype_error`` says so and only the tolerance rule applies.
TF32 is off on both sides: trtnet builds without ``BuilderFlag.TF32`` and PyTorch's
``torch.backends.cuda.matmul.allow_tf32``/``torch.backends.cudnn.allow_tf32`` are cleared while the
reference runs (restored afterwards). The reference runs on the device of its parameters (CPU for a module
from a spec string).

**Layerwise** (``layerwise=True`` or ``"isolated"``, ``"accumulated"``, ``"both"``; True is ``"isolated"``)
always uses the CPU reference executor with every layer output kept (also when the outputs were computed on
the GPU: marking module outputs as extra engine outputs would change fusion, i.e. change what is being
checked). Every module call of the reference is recorded with forward hooks and paired by name with trtnet's
``ModuleCall``; ``isolated`` runs each call from the reference's inputs to it (a row is that module's own
error), ``accumulated`` compares the whole network's run (a row carries the drift before it), ``both`` shows
the accumulated comparison beside the isolated one. ``first_divergent`` is the first failing row of the
isolated view (of the accumulated one in ``"accumulated"`` mode). Matching and attribution rules:
:mod:`trtnet.layerwise`. Layer rows are diagnostics: the verdict (``report.passed``) is decided by the outputs.

**Dynamic inputs** are checked at the profile's min, opt and max (:func:`shape_points`; equal points once) from
one trace and one engine build: each point has its own seeded inputs (a generator seeded with ``seed`` per point),
comparisons, warnings and layer rows, in ``report.points`` (a :class:`CheckReport` each, ``label`` ``"min"``...).
The top-level report is the opt point's, with the weights' warnings and every point's (prefixed with its
title); ``report.passed`` needs every point to pass. Input values given (``input_arrays``) take the opt point's
place (``label="given"`` when their shapes are not opt's); ``save_inputs`` writes the opt point's values.

**Verdict** (rules: :mod:`trtnet.verdict`). Non-finite values fail unless matched position for position, an
output with nothing finite to compare fails, and ``report.warnings`` flag a reference output that is empty,
non-finite, all zero, constant, below the tolerance's scale, or hardly dependent on the input: the reference
also runs on a second seeded input (``seed + 1``), and an output that stays within tolerance of the first
proves nothing about the port. ``warnings_as_errors=True`` fails a check with any warning.

>>> import trtnet, trtnet.nn as nn, torch
>>> ref = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
>>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
>>> model.load_state_dict(ref.state_dict())
<All keys matched successfully>
>>> report = trtnet.check(model, ref, inputs=[trtnet.Input("x", (2, 4))], layerwise=True)
>>> report.passed, [row.module for row in report.layers], report.first_divergent
(True, ['0', '1'], None)
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from trtnet import backend, dtypes, fileio, loading, verdict, weights as weights_io
from trtnet.build import BuildConfig, Input, trace
from trtnet.cache import serialize  # through the engine cache when one is active (trtnet check --cache)
from trtnet.compare import Comparison, Tolerance, compare, tolerance_for
from trtnet.errors import TrtnetError, WeightsError, did_you_mean
from trtnet.nn.module import Module
from trtnet.report import CheckReport, InputSpec, LayerRow

#: Integer inputs are drawn uniformly from ``[0, INT_INPUT_HIGH)`` (small enough to index any table).
INT_INPUT_HIGH = 10

DEVICES = ("auto", "cpu", "gpu")
QUANTIZED_DTYPES = ("int8", "fp8")
#: Samples per batch when calibration data comes from a file.
CALIBRATION_BATCH = 32
#: The targets an FP8 check builds for: the ones that run E4M3 (a default-target build is refused).
FP8_TARGETS = ("SM89", "SM120")


def check(model: Module | str, reference: Any, weights: str | os.PathLike | Mapping[str, Any] | None = None,
          inputs: Sequence[Input] | None = None, dtype: str = "fp32", device: str = "auto", layerwise: bool | str = False,
          atol: float | None = None, rtol: float | None = None, seed: int = 0,
          input_arrays: Mapping[str, Any] | str | os.PathLike | None = None,
          save_inputs: str | os.PathLike | None = None, log_level: str = "error",
          nonfinite_weights: str = "warn", warnings_as_errors: bool = False,
          calibration: Iterable[Any] | str | os.PathLike | None = None, calibration_method: str = "max",
          scales: str | os.PathLike | None = None, min_sqnr: float | None = None,
          min_top1: float | None = None) -> CheckReport:
    """Compare trtnet ``model`` with the PyTorch ``reference`` and return a :class:`CheckReport`.

    ``model``: a trtnet Module or a spec ``path/file.py:factory`` / ``package.module:factory``.
    ``reference``: a ``torch.nn.Module`` or a spec whose factory returns one (same state_dict names).
    ``weights``: a ``.safetensors`` file (or a state_dict mapping) loaded strictly into both; None uses the
    weights both already hold. ``inputs``: the network inputs (default: ``model.default_inputs``; dynamic
    inputs are checked at min, opt and max, see the module docstring). ``input_arrays``: input values by name, or
    a ``.npz`` / ``.safetensors`` file of them, instead of seeded random values (float: standard normal; int:
    uniform in ``[0, 10)``; bool: fair coin); with a profile they replace the opt point's. ``save_inputs``: write
    the values used (the opt point's) to a ``.npz``/``.safetensors`` file.
    ``device``: ``"gpu"`` (the engine, required), ``"cpu"`` (the reference executor) or ``"auto"``.
    ``nonfinite_weights``: NaN/Inf in the model's weights ``"warn"`` (listed in ``report.warnings``), are an
    ``"error"`` or pass silently (``"ignore"``); see :func:`trtnet.weights.nonfinite_weights`.
    ``warnings_as_errors``: any warning of the report (see :mod:`trtnet.verdict`) fails the check.
    ``dtype="int8"``/``"fp8"``: the float32 model is quantized (:func:`trtnet.quantize`) on ``calibration`` (batches,
    or a ``.npz``/``.safetensors`` file of samples on dim 0, split in batches of :data:`CALIBRATION_BATCH`) with
    ``calibration_method``, or with ``scales`` (a scales JSON or TensorRT calibration cache), and judged by the
    quantized rule of :mod:`trtnet.verdict` (SQNR >= ``min_sqnr`` dB, top-1 agreement >= ``min_top1`` %); FP8 builds
    for its targets SM89 and SM120.

    Mutates its arguments: ``model.to(dtype)``, ``reference.eval().float()``. Raises :class:`TrtnetError`
    (or a subclass) when the check can't be carried out: bad weights, a network that doesn't trace or build,
    outputs that don't pair up. A numeric mismatch is not an error: see ``report.passed``.
    See the module docstring for the reduced-precision and layerwise rules.
    """
    torch = _import_torch()
    from trtnet import layerwise as layerwise_

    mode = layerwise_.layerwise_mode(layerwise)
    timing: dict[str, float] = {}
    rule = _quantized_rule(dtype, calibration, scales, min_sqnr, min_top1)
    dtype_ = dtypes.float32 if rule else dtypes.get(dtype)
    if not dtype_.is_float or dtype_ not in (dtypes.float32, dtypes.float16, dtypes.bfloat16):
        raise TrtnetError(f"check: dtype must be fp32, fp16, bf16, int8 or fp8, got {dtype!r}")
    tolerance = tolerance_for(dtype_.name, atol, rtol)
    use_gpu, gpu_reason = _choose_device(device)

    model_desc = model if isinstance(model, str) else _class_name(model)
    reference_desc = reference if isinstance(reference, str) else _class_name(reference)
    model = loading.load_model(model) if isinstance(model, str) else model
    if not isinstance(model, Module):
        raise TrtnetError(f"check: model must be a trtnet Module or a spec string, got {_class_name(model)}")
    reference = load_reference(reference) if isinstance(reference, str) else reference
    if not isinstance(reference, torch.nn.Module):
        raise TrtnetError(f"check: reference must be a torch.nn.Module or a spec string, got {_class_name(reference)}")
    if weights is not None:
        with weights_io.nonfinite_weights(nonfinite_weights):
            load_weights_into_both(model, reference, weights)
        if not isinstance(weights, Mapping):
            model_desc += f" (weights {os.fspath(weights)})"
    weight_warnings = [] if nonfinite_weights == "ignore" else _nonfinite_warnings(model, weights)
    model.to(dtype_)
    reference.eval().float()

    specs, given, file = _resolve_inputs(model, inputs, input_arrays, dtype_)
    points = [(label, _input_values(specs, shapes, given if given_here else {}, file, dtype_, seed))
              for label, shapes, given_here in shape_points(specs, given)]
    if save_inputs is not None:  # the values of the opt point (or the given ones): what --load-inputs reads back
        save_input_arrays(save_inputs, next(values for label, (values, _) in points if _is_main(label)))

    if rule:
        start = time.perf_counter()
        _quantize(model, specs, rule.dtype, calibration, calibration_method, scales)
        timing["calibrate"] = time.perf_counter() - start
        model_desc += f" ({rule.dtype}, {model.quantization.method or 'scales'})"
    start = time.perf_counter()
    net = loading.call_user(lambda: trace(model, specs, log_level=log_level), f"tracing {model_desc}")
    timing["trace"] = time.perf_counter() - start
    start = time.perf_counter()
    targets = list(FP8_TARGETS) if rule and rule.dtype == "fp8" else []
    engine = serialize(net, BuildConfig(tf32=False, progress=False, log_level=log_level, compute_capabilities=targets))
    timing["build"] = time.perf_counter() - start

    b = backend.get()
    if use_gpu:
        from trtnet.runtime import Engine

        runner = Engine(engine, log_level=log_level)
        executor = f"TensorRT engine on GPU ({gpu_reason})"
    else:
        runner = None
        why = f"; no GPU: {gpu_reason}" if device == "auto" else ""
        executor = (f"CPU reference executor (trtnet.reference; engine built with {b.name} {b.version}, "
                    f"{len(engine) / 1e6:.1f} MB, not run{why})")
    if mode and use_gpu:
        executor += "; layerwise: CPU reference executor"
    run = _PointRun(torch, net, runner, reference, reference_desc, specs, dtype_, tolerance, seed, mode, rule)
    header = dict(model=model_desc, reference=f"{reference_desc} (PyTorch {torch.__version__}, float32)",
                  dtype=rule.dtype if rule else dtype_.name, executor=executor, tolerance=tolerance,
                  warnings_as_errors=warnings_as_errors, quantized=rule)
    reports = [CheckReport(**header, **run.check(values), inputs=rows, label=label) for label, (values, rows) in points]
    main = next(r for r in reports if _is_main(r.label))
    for report in reports:
        for phase, seconds in report.timing.items():
            timing[phase] = timing.get(phase, 0.0) + seconds
    if len(reports) == 1:
        main.timing, main.warnings = {**timing}, weight_warnings + main.warnings
        return main
    point_warnings = [f"at {r.title}: {text}" for r in reports for text in r.warnings]
    return dataclasses.replace(main, timing=timing, warnings=weight_warnings + point_warnings, points=reports)


@dataclasses.dataclass
class _PointRun:
    """What checking one profile point needs: the traced network, the engine runner (None: the CPU executor),
    the reference; :meth:`check` runs both sides on one point's input values."""

    torch: Any
    net: Any
    runner: Any
    reference: Any
    reference_desc: str
    specs: list[Input]
    dtype: dtypes.DType
    tolerance: Tolerance
    seed: int
    mode: str | None
    rule: verdict.QuantizedRule | None = None

    def check(self, values: dict[str, np.ndarray]) -> dict[str, Any]:
        """The per-point fields of a :class:`CheckReport` for ``values`` (input name -> array)."""
        from trtnet import layerwise as layerwise_
        from trtnet.reference import execute

        torch, net, mode, timing = self.torch, self.net, self.mode, {}
        start = time.perf_counter()
        cpu_values: dict[str, Any] | None = None
        if self.runner is not None:
            outputs = self.runner.run({name: _torch_feed(torch, value) for name, value in values.items()})
            torch.cuda.synchronize()
            outputs = {name: tensor.cpu() for name, tensor in outputs.items()}
        else:
            cpu_values = execute(net.network, _executor_feeds(torch, values), intermediates=bool(mode))
            outputs = {name: cpu_values[name] for name in net.outputs}
        timing["run"] = time.perf_counter() - start

        start = time.perf_counter()
        reference = self.reference
        ref_feeds = [_reference_feed(torch, values[spec.name], reference) for spec in self.specs]
        with _tf32_disabled(torch), layerwise_.ModuleRecorder(reference, bool(mode), mode != "accumulated") as recorder:
            ref_result = loading.call_user(lambda: reference(*ref_feeds), f"running the reference {self.reference_desc}")
        ref_outputs = _flatten_torch(torch, ref_result)
        timing["reference"] = time.perf_counter() - start
        if len(ref_outputs) != len(net.outputs):
            raise TrtnetError(f"check: the reference returned {len(ref_outputs)} tensor(s), the trtnet model "
                              f"{len(net.outputs)} ({', '.join(net.outputs)}): outputs can't be paired")
        expected = dict(zip(net.outputs, ref_outputs))
        comparisons = [compare(name, outputs[name], value, self.tolerance) for name, value in expected.items()]
        start = time.perf_counter()
        warnings = _reference_output_warnings(torch, reference, self.specs, values, expected, self.dtype,
                                              self.tolerance, self.seed + 1)
        timing["input_dependence"] = time.perf_counter() - start
        start = time.perf_counter()
        eager, eager_error = _eager_in_dtype(torch, reference, self.reference_desc, self.specs, values, expected,
                                             self.dtype, self.tolerance)
        if self.dtype is not dtypes.float32:
            timing["eager_in_dtype"] = time.perf_counter() - start

        layers: list[LayerRow] = []
        if mode:
            start = time.perf_counter()
            if cpu_values is None:
                cpu_values = execute(net.network, _executor_feeds(torch, values), intermediates=True)
            layers = layerwise_.layer_rows(net, cpu_values, _executor_feeds(torch, values), recorder.records,
                                           self.tolerance, mode)
            timing["layerwise"] = time.perf_counter() - start
        passes = None if self.rule is None else (lambda c: verdict.quantized_verdict(c, self.rule).passed)
        first = layerwise_.first_divergent(layers, "accumulated" if mode == "accumulated" else "isolated", passes)
        return dict(outputs=comparisons, layers=layers, first_divergent=first, timing=timing, warnings=warnings,
                    eager_in_dtype=eager, eager_in_dtype_error=eager_error)


# ---- quantized checks --------------------------------------------------------------------------
def _quantized_rule(dtype: str, calibration: Any, scales: Any, min_sqnr: float | None,
                    min_top1: float | None) -> verdict.QuantizedRule | None:
    """The quantized rule of an int8/fp8 check (None for a float one, which takes none of the quantized options)."""
    name = str(dtype).lower()
    if name not in QUANTIZED_DTYPES:
        given = [option for option, value in (("calibration", calibration), ("scales", scales),
                                              ("min_sqnr", min_sqnr), ("min_top1", min_top1)) if value is not None]
        if given:
            raise TrtnetError(f"check: {given[0]}= needs dtype='int8' or 'fp8', got dtype={dtype!r}")
        return None
    if (calibration is None) == (scales is None):
        raise TrtnetError(f"check: dtype={name!r} needs calibration= (input batches or a .npz/.safetensors file of "
                          "samples) or scales= (a scales JSON or TensorRT calibration cache), not both")
    return verdict.quantized_rule(name, min_sqnr, min_top1)


def _quantize(model: Module, specs: Sequence[Input], dtype: str, calibration: Any, method: str, scales: Any) -> None:
    """Quantize the float32 ``model`` (calibrating on the CPU executor, or loading ``scales``)."""
    from trtnet.calibrate import split_batches
    from trtnet.quantize import quantize

    if isinstance(calibration, (str, os.PathLike)):
        path = fileio.check_input_file(calibration, "calibration")
        calibration = split_batches(read_input_arrays(path), [spec.name for spec in specs], CALIBRATION_BATCH,
                                    f"calibration {path}")
    quantize(model, calibration, dtype, method, scales=scales, inputs=specs)


# ---- models and weights ------------------------------------------------------------------------
def load_reference(spec: str) -> Any:
    """The torch module returned by the factory named by ``path/file.py:factory`` or ``module:factory``."""
    torch = _import_torch()
    result = loading.call_factory(spec, "REFERENCE")
    if not isinstance(result, torch.nn.Module):
        hint = " (a trtnet model: pass it as MODEL)" if isinstance(result, Module) else ""
        factory_name = spec.rpartition(":")[2]
        raise TrtnetError(f"REFERENCE {spec!r}: {factory_name}() returned {_class_name(result)}, not a torch.nn.Module{hint}")
    return result


def load_weights_into_both(model: Module, reference: Any, weights: str | os.PathLike | Mapping[str, Any]) -> None:
    """Load ``weights`` strictly into the trtnet ``model`` and the torch ``reference``; errors name the side."""
    torch = _import_torch()
    if isinstance(weights, Mapping):
        source = "state_dict"
        model.load_state_dict(weights, strict=True, source=source)
        state = {k: v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)) for k, v in weights.items()}
    else:
        source = os.fspath(weights)
        arrays = weights_io.read_safetensors(source)  # read once: both sides get the same values
        model.load_state_dict(arrays, strict=True, source=source)  # WeightsError names the file and keys
        state = {key: torch.from_numpy(np.array(value)) for key, value in arrays.items()}
    try:
        reference.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).replace("\n\t", "\n  ").replace("\n", "\n  ")
        raise WeightsError(f"{source}: loading into the reference {_class_name(reference)} "
                           f"(load_state_dict strict=True) failed:\n  {detail}") from None


def _nonfinite_warnings(model: Module, weights: str | os.PathLike | Mapping[str, Any] | None) -> list[str]:
    """The line naming the model's weights that hold NaN or Inf, if any (as loading warned it)."""
    source = "weights" if weights is None or isinstance(weights, Mapping) else os.fspath(weights)
    message = weights_io.nonfinite_message({k: p.source for k, p in [*model.named_parameters(), *model.named_buffers()]
                                            if p.is_set}, source)
    return [message] if message else []


# ---- inputs ------------------------------------------------------------------------------------
def read_input_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Input values from a ``.npz`` or ``.safetensors`` file, by input name."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        try:
            with np.load(path) as npz:
                return {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as exc:
            raise TrtnetError(f"{path}: cannot read input arrays ({exc})") from None
    if path.endswith(".safetensors"):
        return {key: np.array(value) for key, value in weights_io.read_safetensors(path).items()}
    raise TrtnetError(f"{path}: input files are .npz or .safetensors")


def save_input_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write input values to a ``.npz`` or ``.safetensors`` file (bf16 values as float32)."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        with fileio.atomic_write(path) as handle:
            np.savez(handle, **arrays)
    elif path.endswith(".safetensors"):
        weights_io.save_safetensors(path, arrays)
    else:
        raise TrtnetError(f"{path}: input files are .npz or .safetensors")


def _resolve_inputs(model: Module, inputs: Sequence[Input] | None, given: Any,
                    dtype: dtypes.DType) -> tuple[list[Input], dict[str, np.ndarray], str | None]:
    """The network inputs, the input values given (by name, validated against them) and the file they came from."""
    file = None
    if given is not None and not isinstance(given, Mapping):
        file = os.fspath(given)
        given = read_input_arrays(file)
    given = {k: _as_numpy(v) for k, v in (given or {}).items()}
    specs = list(inputs or model.default_inputs or [])
    if not specs:
        if not given:
            raise TrtnetError(f"{type(model).__name__} declares no default_inputs: pass inputs=[trtnet.Input(...)] "
                              "or input arrays")
        specs = [Input(name, array.shape, None if array.dtype.kind == "f" else dtypes.from_numpy(array.dtype))
                 for name, array in given.items()]
    names = [spec.name for spec in specs]
    unknown = [name for name in given if name not in names]
    if unknown:
        raise TrtnetError(f"input values for {unknown[0]!r}, which is not an input of the model"
                          f"{did_you_mean(unknown[0], names)}; inputs: {', '.join(names)}")
    for spec in specs:
        array = given.get(spec.name)
        if array is None:
            continue
        if len(array.shape) != len(spec.shape) or any(d != -1 and d != s for d, s in zip(spec.shape, array.shape)):
            raise TrtnetError(f"input {spec.name!r}: values have shape {array.shape}, the input is {spec.shape} (-1 = any)")
        if (array.dtype.kind == "f") != (spec.dtype or dtype).is_float:
            raise TrtnetError(f"input {spec.name!r}: values are {array.dtype}, the input is {(spec.dtype or dtype).name}")
        if spec.is_dynamic:
            bounds = spec.profile_shapes()
            if not all(lo <= s <= hi for lo, s, hi in zip(bounds["min"], array.shape, bounds["max"])):
                raise TrtnetError(f"input {spec.name!r}: shape {array.shape} is outside min {bounds['min']} / max {bounds['max']}")
    return specs, given, file


def shape_points(specs: Sequence[Input], given: Mapping[str, np.ndarray] | None = None
                 ) -> list[tuple[str, dict[str, tuple[int, ...]], bool]]:
    """The profile points a check runs at: ``(label, shape by input, uses the given values)``, in the order min,
    opt, max; equal points are one (``"min=opt"``; a static model has the one point ``"min=opt=max"``). Given
    input values take the opt point's place; where their shapes are not opt's, that point is labelled ``"given"``
    (and a point merged with opt keeps its own seeded values)."""
    merged: list[tuple[list[str], dict[str, tuple[int, ...]]]] = []
    for which in ("min", "opt", "max"):
        shapes = {spec.name: spec.profile_shapes()[which] for spec in specs}
        same = next((labels for labels, other in merged if other == shapes), None)
        if same is None:
            merged.append(([which], shapes))
        else:
            same.append(which)
    points = [("=".join(labels), shapes, bool(given) and "opt" in labels) for labels, shapes in merged]
    if given:
        index = next(i for i, (_, _, uses) in enumerate(points) if uses)
        label, shapes, _ = points[index]
        actual = {name: tuple(given[name].shape) if name in given else shape for name, shape in shapes.items()}
        if actual != shapes:
            rest = "=".join(w for w in label.split("=") if w != "opt")
            points[index:index + 1] = ([(rest, shapes, False)] if rest else []) + [("given", actual, True)]
    return points


def _is_main(label: str) -> bool:
    """The point whose report is the top level of a dynamic check's: opt's, or the given values'."""
    return label == "given" or "opt" in label.split("=")


def _input_values(specs: Sequence[Input], shapes: Mapping[str, tuple[int, ...]], given: Mapping[str, np.ndarray],
                  file: str | None, dtype: dtypes.DType, seed: int) -> tuple[dict[str, np.ndarray], list[InputSpec]]:
    """One point's values (numpy, in the input dtype's carrier, already rounded) and report rows: the ``given``
    ones, the others seeded random at ``shapes`` (a generator seeded with ``seed`` for each point)."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    rows = []
    for spec in specs:
        input_dtype = spec.dtype or dtype
        if spec.name in given:
            array, source = given[spec.name], {"file": file} if file else {}
        else:
            array, source = _random_array(rng, shapes[spec.name], input_dtype), {"seed": seed}
        values[spec.name] = dtypes.convert(array, input_dtype)
        rows.append(InputSpec(spec.name, tuple(array.shape), input_dtype.name, **source))
    return values, rows


def _random_array(rng: np.random.Generator, shape: Sequence[int], dtype: dtypes.DType) -> np.ndarray:
    """Seeded input values: float standard normal, bool a fair coin, integers uniform in ``[0, INT_INPUT_HIGH)``."""
    if dtype.is_float:
        return rng.standard_normal(shape, dtype=np.float32)
    if dtype is dtypes.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(0, INT_INPUT_HIGH, shape)


def _as_numpy(value: Any) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        return weights_io.to_numpy(value, "input", "input values")
    return np.asarray(value)


def _torch_feed(torch: Any, array: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(array))


def _executor_feeds(torch: Any, values: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {name: _torch_feed(torch, array) for name, array in values.items()}


def _reference_feed(torch: Any, array: np.ndarray, reference: Any) -> Any:
    """The reference's copy of an input: float values as float32, integers as int64, on its device."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point():
        tensor = tensor.float()
    elif tensor.dtype != torch.bool:
        tensor = tensor.long()
    param = next(reference.parameters(), None)
    return tensor.to(param.device) if param is not None else tensor


# ---- verdict evidence: a second input, eager PyTorch in the check dtype -----------------------------
def _reference_output_warnings(torch: Any, reference: Any, specs: Sequence[Input], values: Mapping[str, np.ndarray],
                               expected: Mapping[str, Any], dtype: dtypes.DType, tolerance: Tolerance,
                               seed: int) -> list[str]:
    """:func:`trtnet.verdict.reference_warnings` of every output, the reference also run on inputs drawn with ``seed``
    (same shapes and dtypes as ``values``) to see whether its outputs depend on the input at all."""
    rng = np.random.default_rng(seed)
    second = {spec.name: dtypes.convert(_random_array(rng, values[spec.name].shape, spec.dtype or dtype),
                                        spec.dtype or dtype) for spec in specs}
    source = f"a second seeded input (seed {seed})"
    try:
        with _tf32_disabled(torch):
            outputs = _flatten_torch(torch, reference(*[_reference_feed(torch, second[s.name], reference) for s in specs]))
    except Exception as exc:  # noqa: BLE001 - the user's model on an input it may not accept: reported, not raised
        return [f"input dependence not checked: the reference failed on {source}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"]
    warnings = []
    for (name, first), other in zip(expected.items(), outputs):
        moved = compare(name, other, first, tolerance) if tuple(other.shape) == tuple(first.shape) else None
        warnings += verdict.reference_warnings(name, first, tolerance, moved, source)
    return warnings


def _eager_in_dtype(torch: Any, reference: Any, reference_desc: str, specs: Sequence[Input],
                    values: Mapping[str, np.ndarray], expected: Mapping[str, Any], dtype: dtypes.DType,
                    tolerance: Tolerance) -> tuple[list[Comparison], str | None]:
    """Eager PyTorch in the check's reduced ``dtype`` (a CPU deep copy of ``reference``, the same rounded inputs)
    compared with the float32 ``expected`` outputs: the precision rule's yardstick. ``([], why)`` when it can't run."""
    if dtype is dtypes.float32:
        return [], None
    torch_dtype = {dtypes.float16: torch.float16, dtypes.bfloat16: torch.bfloat16}[dtype]
    try:
        eager = copy.deepcopy(reference).to("cpu", torch_dtype)
        feeds = []
        for spec in specs:
            tensor = torch.from_numpy(np.ascontiguousarray(values[spec.name]))
            feeds.append(tensor.to(torch_dtype) if tensor.is_floating_point()
                         else tensor if tensor.dtype == torch.bool else tensor.long())
        with _tf32_disabled(torch):
            outputs = _flatten_torch(torch, eager(*feeds))
    except Exception as exc:  # noqa: BLE001 - e.g. "not implemented for 'Half'": reported, tolerance rule only
        detail = str(exc).splitlines()[0] if str(exc) else ""
        return [], (f"eager PyTorch can't run {reference_desc} in {dtype.name} on CPU ({type(exc).__name__}: "
                    f"{detail}): no precision rule, the tolerance rule only")
    if len(outputs) != len(expected):
        return [], (f"eager PyTorch in {dtype.name} returned {len(outputs)} tensor(s), in float32 {len(expected)}: "
                    "no precision rule, the tolerance rule only")
    return [compare(name, out, ref, tolerance) for (name, ref), out in zip(expected.items(), outputs)], None


# ---- running -----------------------------------------------------------------------------------
def _choose_device(device: str) -> tuple[bool, str]:
    from trtnet.runtime import gpu_available

    key = {"cuda": "gpu"}.get(device, device)
    if key not in DEVICES:
        raise TrtnetError(f"check: device must be one of {', '.join(DEVICES)}, got {device!r}")
    if key == "cpu":
        return False, "CPU executor requested"
    ok, reason = gpu_available()
    if key == "gpu" and not ok:
        raise TrtnetError(f"device='gpu' but engines can't run here: {reason}")
    return ok, reason


@contextlib.contextmanager
def _tf32_disabled(torch: Any):
    """TF32 off for the reference, restored afterwards. Where cuDNN's global flags are frozen (what importing
    ``torch.testing._internal`` does) its ``flags()`` context manager sets them instead."""
    cudnn = torch.backends.cudnn
    saved = torch.backends.cuda.matmul.allow_tf32, cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    with contextlib.ExitStack() as stack:
        try:
            cudnn.allow_tf32 = False
        except RuntimeError:
            stack.enter_context(cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark,
                                            deterministic=cudnn.deterministic, allow_tf32=False))
        try:
            with torch.inference_mode():
                yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = saved[0]
            if not stack._exit_callbacks:
                cudnn.allow_tf32 = saved[1]


def _flatten_torch(torch: Any, result: Any) -> list[Any]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _flatten_torch(torch, item)]
    if isinstance(result, dict):
        return [t for item in result.values() for t in _flatten_torch(torch, item)]
    return []


# ---- misc --------------------------------------------------------------------------------------
def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise TrtnetError(f"trtnet.check needs PyTorch (`pip install torch`): {exc}") from exc
    return torch


def _class_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


__all__ = ["check", "load_reference", "load_weights_into_both", "read_input_arrays",
           "save_input_arrays"]
