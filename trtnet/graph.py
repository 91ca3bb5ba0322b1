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
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from trtnet import backend, dtypes, log
from trtnet.errors import LayerError, TrtnetError

if TYPE_CHECKING:
    from trtnet.tensor import Tensor

_state = threading.local()


@dataclass
class ModuleCall:
    """One call of a module while tracing: its path and class, which call it was, the tensors it was given
    and returned, and the network layers ``first_layer`` up to ``end_layer`` (exclusive) that it added."""

    path: str
    call: int
    outputs: list["Tensor"]
    class_name: str = ""
    inputs: list["Tensor"] = field(default_factory=list)
    first_layer: int = 0
    end_layer: int = 0

    @property
    def name(self) -> str:
        return self.path if self.call == 1 else f"{self.path}#{self.call}"


def current() -> "Graph":
    """The active graph; trtnet ops only work while a model is being traced."""
    graph = getattr(_state, "graph", None)
    if graph is None:
        raise TrtnetError("trtnet ops run only while a network is built: call them inside "
                          "trtnet.build(...)/trtnet.trace(...) or a module's forward, not at import time")
    return graph


class Graph:
    """A strongly typed ``INetworkDefinition`` under construction, with naming and keep-alive."""

    def __init__(self, logger: Any = None) -> None:
        self.backend = backend.get()
        trt = self.backend.trt
        self.logger = logger or log.make_logger()
        self.builder = trt.Builder(self.logger)
        self.network = self.builder.create_network(self.backend.network_flags())
        self.keep_alive: list[Any] = []
        self.module_calls: list[ModuleCall] = []
        self._call_counts: dict[str, int] = defaultdict(int)
        self._scopes: list[str] = [""]  # module-call paths, the root first
        self._scope_prefixes: list[str] = [""]  # "path/" of each scope: what unique_name puts before an op
        self.module_paths: dict[int, str] = {}  # id(module) -> its path in the traced model
        self.parameter_names: dict[int, str] = {}  # id(parameter) -> its state_dict key
        self._op_counts: dict[str, int] = {}
        self._constants: dict[tuple[int, tuple[int, ...]], "Tensor"] = {}
        self._producers: dict[str, Any] = {}  # tensor name -> layer that outputs it
        self._errors_seen = len(getattr(self.logger, "errors", ()))

    # ---- activation -------------------------------------------------------------------------
    def __enter__(self) -> "Graph":
        if getattr(_state, "graph", None) is not None:
            raise TrtnetError("a trtnet network is already being built in this thread")
        _state.graph = self
        return self

    def __exit__(self, *exc: object) -> None:
        _state.graph = None

    # ---- scoping and naming -----------------------------------------------------------------
    @property
    def scope(self) -> str:
        return self._scopes[-1]

    def enter_scope(self, path: str) -> None:
        """Name what follows after ``path`` (a module call) until the matching :meth:`exit_scope`."""
        self._scopes.append(path)
        self._scope_prefixes.append(f"{path}/" if path else "")

    def exit_scope(self) -> None:
        self._scopes.pop()
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

    def name_module_outputs(self, path: str, outputs: list["Tensor"]) -> None:
        """Rename the layers that produced a module call's ``outputs`` (and their tensors) to the call's
        ``path`` (``path:i`` for several outputs) when they were added inside it (named ``path/...``)."""
        prefix = path + "/"
        for index, tensor in enumerate(outputs):
            tensor_name = tensor.itensor.name
            if tensor_name.startswith(prefix):
                producer = self._producers.get(tensor_name)
                if producer is not None:
                    self.name_layer(producer, path if len(outputs) == 1 else f"{path}:{index}")

    def name_layer(self, layer: Any, name: str, renamed: bool = True) -> None:
        """Name a layer and its outputs (``name``, or ``name:i`` for a layer with several outputs);
        ``renamed=False`` for a fresh layer, whose outputs trtnet has not named yet."""
        layer.name = name
        count = layer.num_outputs
        for index in range(count):
            tensor = layer.get_output(index)
            if renamed:
                self._producers.pop(tensor.name, None)
            tensor_name = name if count == 1 else f"{name}:{index}"
            tensor.name = tensor_name
            self._producers[tensor_name] = layer

    def mark_output(self, tensor: "Tensor", name: str) -> None:
        """Mark ``tensor`` as a network output called ``name`` (through an identity layer when it is a
        network input or already an output)."""
        itensor = tensor.itensor
        if itensor.is_network_input or itensor.is_network_output:
            itensor = self.add("identity", self.network.add_identity(itensor)).get_output(0)
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
        :class:`LayerError` if TensorRT reported an error since the last check (see :meth:`check_trt_errors`)."""
        self.check_trt_errors()
        if layer is None:
            raise TrtnetError(f"TensorRT refused to add the {op} layer in {self.scope or 'the model'}")
        self.name_layer(layer, name or self.unique_name(op), renamed=False)
        return layer

    def check_trt_errors(self) -> None:
        """Raise :class:`LayerError` for errors TensorRT logged since the last check.

        TensorRT logs bad layer parameters (a stride of 0) and carries on with a default; trtnet stops at the
        op instead. The error carries TensorRT's text and the Python stack at the moment TensorRT logged it,
        so it points at the op and the user's line even when found later (at the next layer or call end)."""
        errors = getattr(self.logger, "errors", None)
        if errors is None or len(errors) <= self._errors_seen:
            return
        new = errors[self._errors_seen:]
        stacks = self.logger.error_stacks[self._errors_seen:]
        self._errors_seen = len(errors)
        detail = "\n  ".join(new)
        raise LayerError(f"TensorRT rejected a layer parameter:\n  {detail}", new, stacks[0])

    def begin_call(self, path: str, class_name: str = "", inputs: list["Tensor"] | None = None) -> ModuleCall:
        """Start recording a module call; its ``name`` is the path, ``path#N`` from the 2nd call on."""
        self._call_counts[path] += 1
        first = self.network.num_layers
        call = ModuleCall(path, self._call_counts[path], [], class_name, list(inputs or []), first, first)
        self.module_calls.append(call)
        return call

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
                 cache_key: object = None) -> "Tensor":
        """A constant layer holding ``values`` (shape kept); cached per ``cache_key`` and shape if given."""
        from trtnet.tensor import Tensor

        values = np.asarray(values)
        key = (id(cache_key), values.shape) if cache_key is not None else None
        if key is not None and key in self._constants:
            return self._constants[key]
        layer = self.network.add_constant(tuple(values.shape), self.weights(values, dtype))
        if name is not None and name in self._producers:  # a parameter at a second shape (a tied weight): name#2
            name = f"{name}#{1 + sum(n.partition('#')[0] == name for n in self._producers)}"
        self.add("constant", layer, name)
        tensor = Tensor(layer.get_output(0), tuple(values.shape), dtype)
        if key is not None:
            self._constants[key] = tensor
            self.keep_alive.append(cache_key)
        return tensor
