"""The table of layer implementations, keyed by TensorRT ``LayerType``, and layer downcasting.

A layer implementation takes the downcast layer (e.g. an ``IConvolutionLayer``) and its input tensors (None for an
unset optional input; fp16/bf16 already widened to float32) and returns its output tensor(s). The executor rounds
the outputs to the dtypes the network declares. Implementations registered with ``donation=True`` also take
``donated``: per input, whether the executor hands that tensor over (no later layer reads it and nothing else
shares its memory), so they may compute in place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trtnet import backend
from trtnet.errors import TrtnetError

if TYPE_CHECKING:
    import torch

Inputs = Sequence["torch.Tensor | None"]
LayerFn = Callable[[Any, Inputs], "torch.Tensor | Sequence[torch.Tensor]"]

_BY_TYPE_NAME: dict[str, LayerFn] = {}
_DONATION_AWARE: set[str] = set()
_WEIGHT_VIEWS: set[str] = set()


def register(*type_names: str, donation: bool = False, weight_views: bool = False) -> Callable[[LayerFn], LayerFn]:
    """Decorator: implement the layer types named (``LayerType`` member names, e.g. ``"CONVOLUTION"``).

    ``donation``: the function takes ``donated`` (see the module docstring). ``weight_views``: its outputs may be
    views of the network's weights, which nothing may overwrite.
    """

    def add(fn: LayerFn) -> LayerFn:
        for name in type_names:
            _BY_TYPE_NAME[name] = fn
            if donation:
                _DONATION_AWARE.add(name)
            if weight_views:
                _WEIGHT_VIEWS.add(name)
        return fn

    return add


def takes_donations(layer_type: Any) -> bool:
    return layer_type.name in _DONATION_AWARE


def outputs_view_weights(layer_type: Any) -> bool:
    return layer_type.name in _WEIGHT_VIEWS


def _normalized(name: str) -> str:
    return name.replace("_", "").lower()


@functools.lru_cache(maxsize=None)
def _classes_by_type() -> dict[Any, type]:
    """LayerType -> concrete layer class, matched by name: ``MATRIX_MULTIPLY`` -> ``IMatrixMultiplyLayer``."""
    trt = backend.trt()
    classes = {_normalized(n[1:-len("Layer")]): getattr(trt, n) for n in dir(trt) if n.startswith("I") and n.endswith("Layer")}
    members = [n for n in dir(trt.LayerType) if n.isupper()]
    return {getattr(trt.LayerType, n): classes[_normalized(n)] for n in members if _normalized(n) in classes}


@functools.lru_cache(maxsize=None)
def _fns_by_type() -> dict[Any, LayerFn]:
    trt = backend.trt()
    return {getattr(trt.LayerType, n): fn for n, fn in _BY_TYPE_NAME.items() if hasattr(trt.LayerType, n)}


def downcast(layer: Any) -> tuple[Any, Any]:
    """(``LayerType``, the layer as its concrete class so its type-specific attributes are readable).

    The type is read first: once downcast, ``IPoolingLayer.type`` and ``IActivationLayer.type`` are the pooling and
    activation types, shadowing ``ILayer.type``.
    """
    layer_type = layer.type
    cls = _classes_by_type().get(layer_type)
    if cls is not None:
        layer.__class__ = cls
    return layer_type, layer


def implementation(layer_type: Any, layer_name: str) -> LayerFn:
    """The function executing layers of this type; TrtnetError naming the layer and its type if there is none."""
    fn = _fns_by_type().get(layer_type)
    if fn is None:
        raise TrtnetError(f"layer {layer_name!r}: the reference executor does not support layer type {layer_type.name}")
    return fn


def supported_layer_types() -> list[str]:
    """Names of the LayerType members the executor implements on this TensorRT."""
    return sorted(t.name for t in _fns_by_type())
