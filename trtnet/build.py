"""From a Module to a serialized engine: inputs and profiles, tracing, builder config, the build itself.

Building imports neither torch nor onnx.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from trtnet import dtypes, fileio, graph, interrupts, log, symbolic
from trtnet.errors import BuildError, TrtnetError, WeightsError
from trtnet.nn.module import Module, _flatten_tensors
from trtnet.tensor import Tensor


#: TensorRT dims are int64; TensorRT(-RTX) refuses tensors of more than 2**40 elements ("tensor volume exceeds").
MAX_DIM = 2**63 - 1
MAX_VOLUME = 2**40


def check_volume(shape: Sequence[int], where: str) -> None:
    """Refuse a shape of more than :data:`MAX_VOLUME` elements (TensorRT's limit; past it builds fail)."""
    volume = 1
    for d in shape:
        volume *= int(d)
    if volume > MAX_VOLUME:
        raise TrtnetError(f"{where} has {volume:.3g} elements; TensorRT holds at most 2**40 ({MAX_VOLUME:.3g}) "
                          "in one tensor")


@dataclass
class Input:
    """A network input. ``shape`` uses -1 for dynamic dims, which then need ``min``/``opt``/``max``.
    ``dtype`` defaults to the model's dtype (``model.to(...)``).

    >>> Input("input", (-1, 3, 224, 224), min=(1, 3, 224, 224), opt=(8, 3, 224, 224), max=(32, 3, 224, 224)).is_dynamic
    True
    """

    name: str
    shape: Sequence[int]
    dtype: dtypes.DType | str | None = None
    min: Sequence[int] | None = None
    opt: Sequence[int] | None = None
    max: Sequence[int] | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.dtype is not None:
            self.dtype = dtypes.get(self.dtype)
        for d in self.shape:
            if d < -1:
                raise TrtnetError(f"input {self.name!r}: shape {self.shape} may hold sizes >= 0 and -1 (dynamic) only")
            if d > MAX_DIM:
                raise TrtnetError(f"input {self.name!r}: dim {d} of shape {self.shape} is beyond TensorRT's 64-bit dims")
        if not self.is_dynamic:
            check_volume(self.shape, f"input {self.name!r} of shape {self.shape}")
            for which in ("min", "opt", "max"):
                given = getattr(self, which)
                if given is not None and tuple(given) != self.shape:
                    raise TrtnetError(f"input {self.name!r}: {which} shape {tuple(given)} differs from the static shape {self.shape}")
            return
        profile = {w: getattr(self, w) for w in ("min", "opt", "max")}
        absent = [w for w, v in profile.items() if v is None]
        if absent:
            raise TrtnetError(f"input {self.name!r} has dynamic shape {self.shape}: give {'/'.join(absent)} shapes")
        for which, given in profile.items():
            given = tuple(int(d) for d in given)
            setattr(self, which, given)
            if len(given) != len(self.shape):
                raise TrtnetError(f"input {self.name!r}: {which} shape {given} has rank {len(given)}, shape {self.shape} has {len(self.shape)}")
            for axis, (want, got) in enumerate(zip(self.shape, given)):
                if want != -1 and want != got:
                    raise TrtnetError(f"input {self.name!r}: {which} shape {given} differs from the static dim {axis} of {self.shape}")
                if got < 1:
                    raise TrtnetError(f"input {self.name!r}: {which} shape {given} must be positive")
        for axis in range(len(self.shape)):
            if not self.min[axis] <= self.opt[axis] <= self.max[axis]:
                raise TrtnetError(f"input {self.name!r}: dim {axis} needs min <= opt <= max, got "
                                  f"{self.min[axis]} / {self.opt[axis]} / {self.max[axis]}")
        check_volume(self.max, f"input {self.name!r}: max shape {self.max}")

    @property
    def is_dynamic(self) -> bool:
        return -1 in self.shape

    def profile_shapes(self) -> dict[str, tuple[int, ...]]:
        """min/opt/max (all equal to ``shape`` for a static input)."""
        if not self.is_dynamic:
            return {"min": self.shape, "opt": self.shape, "max": self.shape}
        return {"min": tuple(self.min), "opt": tuple(self.opt), "max": tuple(self.max)}


@dataclass
class BuildConfig:
    """Builder options. ``tf32`` is off unless asked for, so fp32 engines compare with PyTorch."""

    workspace: int | None = None  # bytes
    tf32: bool = False
    compute_capabilities: list[str] = field(default_factory=list)  # TensorRT-RTX, e.g. ["SM89"]
    optimization_level: int | None = None
    progress: bool | None = None  # None: when stderr is a terminal
    log_level: str = "warning"


@dataclass
class Network:
    """A traced model: the graph (network, keep-alive, module calls) and its declared inputs/outputs."""

    graph: graph.Graph
    inputs: list[Input]
    outputs: list[str]

    @property
    def network(self) -> Any:
        return self.graph.network


def trace(model: Module, inputs: Sequence[Input] | None = None, *, output_names: Sequence[str] | None = None,
          log_level: str = "warning") -> Network:
    """Lower ``model`` into a strongly typed INetworkDefinition (no engine is built)."""
    if not isinstance(model, Module):
        raise TrtnetError(f"expected a trtnet Module, got {type(model).__name__}")
    inputs = list(inputs or model.default_inputs or [])
    if not inputs:
        raise TrtnetError(f"{type(model).__name__} declares no default_inputs: pass inputs=[trtnet.Input(...)]")
    names = [spec.name for spec in inputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TrtnetError(f"input names must be unique: {', '.join(map(repr, repeated))} given more than once")
    module_paths, parameter_names, unset = model.trace_tables()
    if unset:
        shown = ", ".join(unset[:20]) + (f", ... ({len(unset)} in all)" if len(unset) > 20 else "")
        raise WeightsError(f"{type(model).__name__}: {len(unset)} parameter(s) have no values (load a state_dict "
                           f"or safetensors file first): {shown}")
    g = graph.Graph(log.make_logger(log_level))
    g.module_paths, g.parameter_names = module_paths, parameter_names
    g.quantization = getattr(model, "quantization", None)  # set by trtnet.quantize
    with g:
        tensors = [_add_input(g, spec, model.model_dtype) for spec in inputs]
        outputs = _flatten_tensors(model(*tensors))
        if not outputs:
            raise TrtnetError(f"{type(model).__name__}.forward returned no trtnet Tensor")
        names = list(output_names or (["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]))
        if len(names) != len(outputs):
            raise TrtnetError(f"{len(names)} output names for {len(outputs)} outputs")
        for tensor, name in zip(outputs, names):
            g.mark_output(tensor, name)
        g.check_trt_errors()
    return Network(g, inputs, names)


def _add_input(g: graph.Graph, spec: Input, model_dtype: dtypes.DType) -> Tensor:
    dtype = spec.dtype or model_dtype
    tensor = Tensor(g.network.add_input(spec.name, dtype.to_trt(), spec.shape))
    shapes = spec.profile_shapes()
    symbolic.declare_input(g, spec.name, shapes["min"], shapes["max"])  # decides comparisons of its sizes
    if dtype.is_float and dtype is not model_dtype:
        from trtnet.functional import cast

        with g.module_scope(spec.name):
            tensor = cast(tensor, model_dtype)
    return tensor


def make_config(net: Network, options: BuildConfig) -> Any:
    g = net.graph
    trt = g.backend.trt
    config = g.builder.create_builder_config()
    if not options.tf32:
        g.backend.clear_tf32(config)
    if options.workspace is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace))
    if options.optimization_level is not None:
        config.builder_optimization_level = int(options.optimization_level)
    g.backend.set_compute_capabilities(config, options.compute_capabilities)
    if any(spec.is_dynamic for spec in net.inputs):
        profile = g.builder.create_optimization_profile()
        for spec in net.inputs:
            shapes = spec.profile_shapes()
            profile.set_shape(spec.name, shapes["min"], shapes["opt"], shapes["max"])
        config.add_optimization_profile(profile)
    show_progress = sys.stderr.isatty() if options.progress is None else options.progress
    g.keep_alive.append(monitor := log.make_progress_monitor(draw=show_progress))  # also cancels on Ctrl-C
    config.progress_monitor = monitor
    return config


def serialize(net: Network, options: BuildConfig | None = None) -> memoryview:
    """Build the engine of a traced network; raises :class:`BuildError` with TensorRT's messages, also when
    TensorRT reported an error but produced an engine anyway."""
    options = options or BuildConfig()
    net.graph.backend.check_datatype_targets(net.network, options.compute_capabilities)
    config = make_config(net, options)
    net.graph.check_trt_errors()
    errors_before = len(net.graph.logger.errors)
    with interrupts.inside_tensorrt():  # Ctrl-C cancels the build: KeyboardInterrupt, not BuildError
        serialized = net.graph.builder.build_serialized_network(net.network, config)
    messages = net.graph.logger.errors[errors_before:]
    if serialized is None or messages:  # an engine built after TensorRT reported an error is not trusted
        layers = [n for n in _layer_names(net.network) if any(re.search(rf"\b{re.escape(n)}\b", m) for m in messages)]
        where = f" (layers involved: {', '.join(layers)})" if layers else ""
        detail = "\n  ".join(messages) or "TensorRT gave no message; rerun with log_level='verbose'"
        raise BuildError(f"TensorRT could not build the engine{where}:\n  {detail}", messages, layers)
    return memoryview(serialized)


def _layer_names(network: Any) -> list[str]:
    return [network.get_layer(i).name for i in range(network.num_layers)]


def build(model: Module, inputs: Sequence[Input] | None = None, *, path: str | os.PathLike | None = None,
          output_names: Sequence[str] | None = None, **options: Any) -> bytes:
    """Trace ``model``, build a serialized engine, optionally write it to ``path``, return its bytes.

    ``options`` are :class:`BuildConfig` fields: ``workspace``, ``tf32``, ``compute_capabilities``,
    ``optimization_level``, ``progress``, ``log_level``."""
    config = BuildConfig(**options)
    net = trace(model, inputs, output_names=output_names, log_level=config.log_level)
    engine = bytes(serialize(net, config))
    if path is not None:
        save(engine, path)
    return engine


def save(engine: bytes | memoryview, path: str | os.PathLike) -> None:
    """Write a serialized engine to ``path`` atomically (:func:`trtnet.fileio.atomic_write`)."""
    fileio.write_bytes(path, engine)
