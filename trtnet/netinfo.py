"""Reading a traced network back from its ``INetworkDefinition``, without torch: layers as their concrete
classes, every attribute they expose, their tensors, the module call that added each layer.

Used by ``trtnet inspect``, ``trtnet draw`` and the engine cache key (which hashes :func:`layer_attributes`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from trtnet import backend, dtypes

# Properties that describe the layer object, not what it computes (the cache key and the listing skip them).
_BOOKKEEPING = {"metadata", "num_ranks"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # trtnet dtype name: float32, float16, ...

    def describe(self) -> str:
        return f"{'x'.join(str(d) for d in self.shape) or 'scalar'} {self.dtype}"


@functools.lru_cache(maxsize=None)
def _classes_by_type() -> dict[str, type]:
    """LayerType member name -> concrete layer class, matched by name: ``MATRIX_MULTIPLY`` -> ``IMatrixMultiplyLayer``."""
    trt = backend.trt()

    def normalized(name: str) -> str:
        return name.replace("_", "").lower()

    classes = {normalized(n[1:-len("Layer")]): getattr(trt, n) for n in dir(trt) if n.startswith("I") and n.endswith("Layer")}
    return {n: classes[normalized(n)] for n in dir(trt.LayerType) if n.isupper() and normalized(n) in classes}


def downcast(layer: Any) -> tuple[str, Any]:
    """(LayerType member name, the layer as its concrete class). The type is read first: once downcast,
    ``IPoolingLayer.type`` and ``IActivationLayer.type`` are the pooling and activation types."""
    type_name = layer.type.name
    cls = _classes_by_type().get(type_name)
    if cls is not None:
        layer.__class__ = cls
    return type_name, layer


def layers(network: Any) -> Iterator[tuple[int, str, Any]]:
    """``(index, LayerType name, downcast layer)`` for every layer of an INetworkDefinition, in order."""
    for index in range(network.num_layers):
        type_name, layer = downcast(network.get_layer(index))
        yield index, type_name, layer


def tensor_info(tensor: Any) -> TensorInfo:
    return TensorInfo(tensor.name, tuple(int(d) for d in tensor.shape), dtypes.from_trt(tensor.dtype).name)


def layer_tensors(layer: Any) -> tuple[list[TensorInfo | None], list[TensorInfo]]:
    """The layer's inputs (None for an unset optional one) and outputs."""
    inputs = [layer.get_input(i) for i in range(layer.num_inputs)]
    return ([tensor_info(t) if t is not None else None for t in inputs],
            [tensor_info(layer.get_output(i)) for i in range(layer.num_outputs)])


def layer_attributes(layer: Any) -> dict[str, Any]:
    """Every property of a downcast layer, by name: numbers, tuples for dims, enum member names, numpy
    arrays for weights (kernel, bias, scale, constant weights). A property this TensorRT can't read is left out."""
    attributes: dict[str, Any] = {}
    for cls in type(layer).__mro__:
        for name, member in vars(cls).items():
            if name in attributes or name in _BOOKKEEPING or name.startswith("_") or not isinstance(member, property):
                continue
            try:
                value = getattr(layer, name)
            except Exception:  # noqa: BLE001 - a property this layer kind or version doesn't support
                continue
            attributes[name] = _plain(value)
    return attributes


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "name") and hasattr(value, "value") and type(value).__name__[0].isupper():  # a pybind11 enum
        return f"{type(value).__name__}.{value.name}"
    if type(value).__name__ == "ILoop":  # a loop boundary layer's loop: by name (its repr holds an address)
        return value.name
    try:
        return tuple(int(d) for d in value)  # Dims, Permutation
    except (TypeError, ValueError):
        return repr(value)


def module_of_layers(module_calls: list[Any], num_layers: int) -> list[Any]:
    """For each layer index, the innermost module call whose span holds it (None: added by the root model)."""
    owner: list[Any] = [None] * num_layers
    span = [num_layers + 1] * num_layers
    for call in module_calls:
        width = call.end_layer - call.first_layer
        for index in range(call.first_layer, min(call.end_layer, num_layers)):
            if width <= span[index]:  # the later (nested) call wins a tie: it was entered inside the other
                owner[index], span[index] = call, width
    return owner


def macs(type_name: str, layer: Any, inputs: list[TensorInfo | None], outputs: list[TensorInfo]) -> int:
    """Multiply-accumulates of a convolution, deconvolution or matrix multiply (0 for other layers); a
    dynamic (-1) dim counts as 1, i.e. the figure is per unit of that dim."""
    if type_name not in ("CONVOLUTION", "DECONVOLUTION", "MATRIX_MULTIPLY") or not outputs or inputs[0] is None:
        return 0
    out = int(np.prod([abs(d) for d in outputs[0].shape]))
    if type_name == "CONVOLUTION":
        in_channels = abs(inputs[0].shape[1]) if len(inputs[0].shape) > 1 else 1
        return out * (in_channels // max(layer.num_groups, 1)) * int(np.prod(tuple(layer.kernel_size_nd)))
    if type_name == "DECONVOLUTION":
        source = int(np.prod([abs(d) for d in inputs[0].shape]))
        return source * (layer.num_output_maps // max(layer.num_groups, 1)) * int(np.prod(tuple(layer.kernel_size_nd)))
    shape = inputs[0].shape
    transposed = layer.op0.name == "TRANSPOSE"
    contracted = shape[-1] if layer.op0.name == "VECTOR" or not transposed else shape[-2]
    return out * abs(contracted)
