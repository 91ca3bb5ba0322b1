"""``PLUGIN_V3`` layers: run the plugin's torch reference registered with :func:`trtnet.plugins.reference`.

Everything is read from the real layer, not from trtnet: ``IPluginV3Layer.plugin`` (``get_plugin()`` on bindings that
spell it so) gives the ``IPluginV3``; its ``CORE`` capability interface names it (``plugin_namespace::plugin_name``),
its ``RUNTIME`` interface's ``get_fields_to_serialize()`` holds the attributes the engine will carry. Those fields are
decoded back to Python values the way ``tensorrt.plugin`` (quickly-deployable plugins) encodes them:

- ``CHAR`` -> ``str`` (UTF-8), ``UNKNOWN`` -> ``bytes``;
- numeric fields -> a numpy array of the field's type, or a Python scalar when it holds one element (QDP stores
  scalar attributes as 1-element arrays) unless the reference's parameter is annotated as an array / tensor.

A ``PluginFieldCollection`` does not keep its fields' buffers alive once ``get_fields_to_serialize`` returns (seen
with the bindings: reading them later can give stale bytes), so when the runtime interface is a ``tensorrt.plugin``
plugin's own Python object, the values of its ``attrs`` dict are taken for the fields it serialized (same names, the
values they were encoded from).

Then ``trtnet.plugins.reference_for(plugin_id)(*inputs, **attributes)`` computes the outputs (inputs as torch tensors,
fp16/bf16 widened to float32 like every executor input; outputs rounded to the declared dtypes).

TensorRT-RTX has no plugins (no ``add_plugin``/``add_plugin_v3``), so this path cannot be exercised there: its
end-to-end test (``tests/test_onnx_ports.py``) runs only on enterprise TensorRT >= 10.6
(``trtnet.backend.get().supports_plugins``). The field decoding is tested with the real ``PluginField`` classes on
either backend.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from trtnet import backend, plugins
from trtnet.errors import TrtnetError
from trtnet.reference.registry import Inputs, register

_NUMPY_TYPES = {
    "FLOAT16": np.float16, "FLOAT32": np.float32, "FLOAT64": np.float64, "INT8": np.int8, "INT16": np.int16,
    "INT32": np.int32, "INT64": np.int64,
}


def plugin_of(layer: Any) -> Any:
    """The ``IPluginV3`` of a plugin layer."""
    plugin = getattr(layer, "plugin", None)
    if plugin is None and hasattr(layer, "get_plugin"):
        plugin = layer.get_plugin()
    if plugin is None:
        raise TrtnetError(f"layer {layer.name!r}: could not read its plugin (IPluginV3Layer.plugin)")
    return plugin


def plugin_id_of(plugin: Any) -> str:
    """``namespace::name`` from the plugin's CORE capability interface."""
    core = plugin.get_capability_interface(backend.trt().PluginCapabilityType.CORE)
    return f"{core.plugin_namespace}::{core.plugin_name}"


def _array_annotated(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return any(word in str(text) for word in ("ndarray", "Tensor", "list", "Sequence", "tuple"))


def decode_fields(fields: Any, reference: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Python values of a ``PluginFieldCollection`` (see the module docstring for the rules)."""
    annotations: dict[str, Any] = {}
    if reference is not None:
        try:
            annotations = {n: p.annotation for n, p in inspect.signature(reference).parameters.items()}
        except (TypeError, ValueError):
            annotations = {}
    values: dict[str, Any] = {}
    for index in range(len(fields)):
        field = fields[index]
        kind = field.type.name
        raw = np.ascontiguousarray(np.asarray(field.data)).tobytes()
        if kind == "CHAR":
            values[field.name] = raw.decode("utf-8").rstrip("\x00")
        elif kind == "UNKNOWN":
            values[field.name] = raw
        elif kind in _NUMPY_TYPES:
            array = np.frombuffer(raw, dtype=_NUMPY_TYPES[kind]).copy()
            keep_array = field.name in annotations and _array_annotated(annotations[field.name])
            values[field.name] = array[0].item() if array.size == 1 and not keep_array else array
        else:
            raise TrtnetError(f"plugin field {field.name!r} has type {kind}, which the reference executor can't decode")
    return values


@register("PLUGIN_V3")
def plugin_v3(layer: Any, inputs: Inputs) -> torch.Tensor | tuple[torch.Tensor, ...]:
    plugin = plugin_of(layer)
    plugin_id = plugin_id_of(plugin)
    reference = plugins.reference_for(plugin_id)
    runtime = plugin.get_capability_interface(backend.trt().PluginCapabilityType.RUNTIME)
    attributes = decode_fields(runtime.get_fields_to_serialize(), reference)
    python_attrs = getattr(runtime, "attrs", None)  # a tensorrt.plugin plugin's own Python object: its exact values
    if isinstance(python_attrs, dict):
        attributes.update({name: python_attrs[name] for name in attributes if name in python_attrs})
    result = reference(*inputs, **attributes)
    if isinstance(result, (tuple, list)):
        return tuple(torch.as_tensor(t) for t in result)
    return torch.as_tensor(result)
