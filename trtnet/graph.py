"""The network under construction: one ``INetworkDefinition`` plus everything trtnet keeps beside it.

A ``Graph`` is active while a model is traced (``with Graph() as g: model(...)``). It owns

- the TensorRT builder and network (strongly typed, flags from :mod:`trtnet.backend`);
- the **one keep-alive registry**: every numpy array handed to TensorRT as weights is appended to
  ``Graph.keep_alive`` and stays referenced until the graph is dropped (after serialization);
- module-path scoping and naming: a layer created by op ``add`` inside module ``layer1.0`` is named
  ``layer1.0/add_1``; when a module returns, the layer that produced its output is renamed to the
  module path (``layer1.0.conv1``) and so is the tensor. ``module_calls`` lists module paths with the
  tensors they returned, in call order: the checker compares them with PyTorch forward hooks.
  A module called twice (torchvision's shared ``relu``) names its second call ``layer1.0.relu#2``.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from trtnet import backend, dtypes, log
from trtnet.errors import LayerError, TrtnetError
from trtnet.tensor import Tensor

_state = threading.local()


@dataclass(slots=True)
class ModuleCall:
    """One call of a module while tracing: its path and class, which call it was, its ``name`` (the path,
    ``path#N`` from the 2nd call on), the tensors it was given and returned, and the network layers
    ``first_layer`` up to ``end_layer`` (exclusive) that it added."""

    path: str
    call: int
    outputs: list[Tensor]
    class_name: str = ""
    inputs: list[Tensor] = field(default_factory=list)
    first_layer: int = 0
    end_layer: int = 0
    name: str = ""


def current() -> "Graph":
    """The active graph; trtnet ops only work while a model is being traced."""
    graph = getattr(_state, "graph", None)
    if graph is None:
        raise TrtnetError("trtnet ops run only while a network is built: call them inside "
                          "trtnet.build(...)/trtnet.trace(...) or a module's forward, not at import time")
    return graph


def flush_names() -> None:
    """Name the active graph's last layer in TensorRT now (see :meth:`Graph.add`); a no-op outside a trace."""
    g = getattr(_state, "graph", None)
    if g is not None and g._unnamed is not None:
        g.flush_names()


class Graph:
    """A strongly typed ``INetworkDefinition`` under construction, with naming and keep-alive."""

    def __init__(self, logger: Any = None) -> None:
        self.backend = backend.get()
        trt = self.backend.trt
        self.logger = logger or log.make_logger()
        self.builder = trt.Builder(self.logger)
        self._network = self.builder.create_network(self.backend.network_flags())
        self.keep_alive: list[Any] = []
        self.module_calls: list[ModuleCall] = []
        self._call_counts: dict[str, int] = {}
        self._scope_prefixes: list[str] = [""]  # "path/" of each module-call scope (the root's ""), innermost last
        self.module_paths: dict[int, str] = {}  # id(module) -> its path in the traced model
        self.parameter_names: dict[int, str] = {}  # id(parameter) -> its state_dict key
        self._op_counts: dict[str, int] = {}
        self._constants: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        self._producers: dict[str, Any] = {}  # tensor name -> layer that outputs it
        self.quantization: Any = None  # a trtnet.quantize plan: Q/DQ at conv/matmul/add lowering
        self._logged_errors: list[str] | None = getattr(self.logger, "errors", None)  # a RoutedLogger's
        self._errors_seen = len(self._logged_errors or ())
        self._unnamed: tuple[Any, Any, str] | None = None  # (layer, output, name) not yet named in TensorRT

    @property
    def network(self) -> Any:
        """The ``INetworkDefinition``; every layer in it carries its trtnet name (see :meth:`add`)."""
        if self._unnamed is not None:
            self.flush_names()
        return self._network

    # ---- activation -------------------------------------------------------------------------
    def __enter__(self) -> "Graph":
        if getattr(_state, "graph", None) is not None:
            raise TrtnetError("a trtnet network is already being built in this thread")
        _state.graph = self
        return self

    def __exit__(self, *exc: object) -> None:
        if self._unnamed is not None:
            self.flush_names()
        _state.graph = None

    # ---- scoping and naming -----------------------------------------------------------------
    @property
    def scope(self) -> str:
        return self._scope_prefixes[-1][:-1]

    def enter_scope(self, path: str) -> None:
        """Name what follows after ``path`` (a module call) until the matching :meth:`exit_scope`."""
        self._scope_prefixes.append(f"{path}/" if path else "")

    def exit_scope(self) -> None:
        self._scope_prefixes.pop()

    @contextlib.contextmanager
    def module_scope(self, path: str) -> Iterator[None]:
        self.enter_scope(path)
        try:
            yield
        finally:
            self.exit_scope()

    def unique_name(self, op: str) -> str:
        """``scope/op_N``, numbered per scope and op; at the root just ``op_N``."""
        key = self._scope_prefixes[-1] + op
        count = self._op_counts[key] = self._op_counts.get(key, 0) + 1
        return f"{key}_{count}"

    def name_layer(self, layer: Any, name: str, renamed: bool = True) -> None:
        """Name a layer and its outputs (``name``, or ``name:i`` for a layer with several outputs);
        ``renamed=False`` for a fresh layer, whose outputs trtnet has not named yet."""
        if self._unnamed is not None:
            self.flush_names()
        count = layer.num_outputs
        layer.name = name
        for index in range(count):
            tensor = layer.get_output(index)
            if renamed:
                self._producers.pop(tensor.name, None)
            tensor_name = name if count == 1 else f"{name}:{index}"
            tensor.name = tensor_name
            self._producers[tensor_name] = layer

    def flush_names(self) -> None:
        """Give the last added layer and its output their name in TensorRT (see :meth:`add`)."""
        layer, output, name = self._unnamed
        self._unnamed = None
        layer.name = output.name = name

    def mark_output(self, tensor: Tensor, name: str) -> None:
        """Mark ``tensor`` as a network output called ``name`` (through an identity layer when it is a
        network input or already an output)."""
        if self._unnamed is not None:
            self.flush_names()
        itensor = tensor.itensor
        if itensor.is_network_input or itensor.is_network_output:
            itensor = self.add("identity", self.network.add_identity(itensor)).get_output(0)
            self.flush_names()
        layer = self._producers.pop(itensor.name, None)
        itensor.name = name
        if layer is not None:
            self._producers[name] = layer
        self.network.mark_output(itensor)

    def producer(self, tensor_name: str) -> Any:
        """The layer whose output is named ``tensor_name`` (None for network inputs)."""
        return self._producers.get(tensor_name)

    def add(self, op: str, layer: Any, name: str | None = None) -> Any:
        """Register a freshly added layer: name it after the current scope and ``op``. Raises
        :class:`LayerError` if TensorRT reported an error since the last check (see :meth:`check_trt_errors`).

        A one-output layer gets its name in TensorRT when the network is next used (:attr:`network`, the next
        ``add``, :attr:`Tensor.name <trtnet.tensor.Tensor.name>`): a module's output layer, renamed to the
        module path when the module returns, is then named once, not twice."""
        if layer is None or layer.num_outputs == 1:
            self._add_one_output(op, layer, name)
            return layer
        self.check_trt_errors()
        if self._unnamed is not None:
            self.flush_names()
        self.name_layer(layer, name or self.unique_name(op), renamed=False)
        return layer

    def output(self, op: str, layer: Any, static_shape: tuple[int, ...] | None = None,
               dtype: dtypes.DType | None = None) -> Tensor:
        """:meth:`add` a one-output layer and return its output as a Tensor (``static_shape`` and ``dtype`` when
        the lowering knows them: each saves a TensorRT query)."""
        return Tensor(self._add_one_output(op, layer, None), static_shape, dtype)

    def _add_one_output(self, op: str, layer: Any, name: str | None) -> Any:
        """:meth:`add` for a layer with one output; returns that output (named when the network is next used)."""
        if self._logged_errors is not None and len(self._logged_errors) > self._errors_seen:
            self.check_trt_errors()
        if layer is None:
            raise TrtnetError(f"TensorRT refused to add the {op} layer in {self.scope or 'the model'}")
        if self._unnamed is not None:
            self.flush_names()
        name = name or self.unique_name(op)
        output = layer.get_output(0)
        self._producers[name] = layer
        self._unnamed = (layer, output, name)
        return output

    def layer_output(self, layer: Any, index: int = 0) -> Any:
        """Output ``index`` of ``layer`` (the last added layer's without asking TensorRT)."""
        if index == 0 and self._unnamed is not None and self._unnamed[0] is layer:
            return self._unnamed[1]
        return layer.get_output(index)

    def check_trt_errors(self) -> None:
        """Raise :class:`LayerError` for errors TensorRT logged since the last check.

        TensorRT logs bad layer parameters (a stride of 0) and carries on with a default; trtnet stops at the
        op instead. The error carries TensorRT's text and the Python stack at the moment TensorRT logged it,
        so it points at the op and the user's line even when found later (at the next layer or call end)."""
        errors = self._logged_errors
        if errors is None or len(errors) <= self._errors_seen:
            return
        new = errors[self._errors_seen:]
        stacks = self.logger.error_stacks[self._errors_seen:]
        self._errors_seen = len(errors)
        detail = "\n  ".join(new)
        raise LayerError(f"TensorRT rejected a layer parameter:\n  {detail}", new, stacks[0])

    def begin_call(self, module: Any, inputs: list[Tensor]) -> ModuleCall:
        """Start recording a call of ``module`` given ``inputs`` and enter its scope (:meth:`exit_scope` leaves it).
        The call is named by the module's path (``path#N`` from the 2nd call on); a module created inside a
        forward, outside the state_dict tree, by its class and a number in the current scope (``relu_1``)."""
        class_name = type(module).__name__
        path = self.module_paths.get(id(module))
        if path is None:
            path = self.unique_name(class_name.lower())
        count = self._call_counts[path] = self._call_counts.get(path, 0) + 1
        first = self._network.num_layers
        name = path if count == 1 else f"{path}#{count}"
        call = ModuleCall(path, count, [], class_name, inputs, first, first, name)
        self.module_calls.append(call)
        self._scope_prefixes.append(f"{name}/" if name else "")
        return call

    def end_call(self, call: ModuleCall, outputs: list[Tensor]) -> None:
        """Record what a module call returned (raising :class:`LayerError` for errors TensorRT logged in it);
        its output layers take the call's name when they were added inside it (named ``name/...``), as
        ``name`` or ``name:i`` for several outputs."""
        self.check_trt_errors()
        call.end_layer = self._network.num_layers
        call.outputs = outputs
        path = call.name
        if not path:
            return
        prefix = path + "/"
        for index, tensor in enumerate(outputs):
            itensor = tensor.itensor
            unnamed = self._unnamed is not None and itensor is self._unnamed[1]  # the usual case: the last layer
            tensor_name = self._unnamed[2] if unnamed else itensor.name
            if not tensor_name.startswith(prefix):
                continue
            producer = self._producers.get(tensor_name)
            if producer is None:
                continue
            name = path if len(outputs) == 1 else f"{path}:{index}"
            if unnamed:  # named once, when the next layer is added
                del self._producers[tensor_name]
                self._producers[name] = producer
                self._unnamed = (producer, itensor, name)
            elif producer.num_outputs == 1:
                del self._producers[tensor_name]
                producer.name = itensor.name = name
                self._producers[name] = producer
            else:
                self.name_layer(producer, name)

    # ---- weights and constants --------------------------------------------------------------
    def weights(self, values: np.ndarray, dtype: dtypes.DType) -> Any:
        """``trt.Weights`` over ``values`` in ``dtype``, kept alive with the graph."""
        trt = self.backend.trt
        if dtype is dtypes.bfloat16:
            bits = dtypes.bfloat16_bits(values)
            self.keep_alive.append(bits)
            return trt.Weights(trt.bfloat16, bits.ctypes.data, bits.size)
        array = dtypes.convert(values, dtype)
        self.keep_alive.append(array)
        return trt.Weights(array)

    def constant(self, values: np.ndarray, dtype: dtypes.DType, name: str | None = None,
                 cache_key: object = None) -> Tensor:
        """A constant layer holding ``values`` (shape kept); cached per ``cache_key`` and shape if given."""
        values = np.asarray(values)
        key = (id(cache_key), values.shape) if cache_key is not None else None
        if key is not None and key in self._constants:
            return self._constants[key]
        layer = self._network.add_constant(tuple(values.shape), self.weights(values, dtype))
        if name in self._producers:  # a parameter at a second shape (a tied weight): name#2
            name = f"{name}#{1 + sum(n.partition('#')[0] == name for n in self._producers)}"
        tensor = Tensor(self._add_one_output("constant", layer, name), tuple(values.shape), dtype)
        if key is not None:
            self._constants[key] = tensor
            self.keep_alive.append(cache_key)
        return tensor
