"""Custom ops as TensorRT quickly-deployable Python plugins, each paired with a torch reference.

For what trtnet primitives cannot express: define the plugin with ``tensorrt.plugin`` (enterprise
TensorRT >= 10.6: ``@trtp.register`` + ``@trtp.impl``), register its torch reference implementation
here, and insert it with :func:`trtnet.functional.plugin`. The CPU executor and the checker run the
reference where no GPU engine can run. TensorRT-RTX has no plugins: inserting one there is an error.

    import tensorrt.plugin as trtp

    @trtp.register("demo::scale")
    def _scale_desc(x: trtp.TensorDesc, factor: float) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl("demo::scale")
    def _scale_impl(x: trtp.Tensor, factor: float, outputs, stream) -> None:
        ...  # a CUDA kernel (Triton, torch on the stream, ...)

    @trtnet.plugins.reference("demo::scale")
    def _scale_ref(x: torch.Tensor, factor: float) -> torch.Tensor:
        return x * factor

    y = trtnet.functional.plugin("demo::scale", x, factor=2.0)   # inside forward
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from trtnet import backend
from trtnet.errors import TrtnetError, did_you_mean

Reference = Callable[..., Any]
_REFERENCES: dict[str, Reference] = {}


def reference(plugin_id: str) -> Callable[[Reference], Reference]:
    """Decorator: the torch implementation of plugin ``namespace::name`` (inputs as torch tensors,
    then the plugin's attributes as keyword arguments; returns a tensor or a tuple of tensors)."""
    split_plugin_id(plugin_id)

    def register(fn: Reference) -> Reference:
        _REFERENCES[plugin_id] = fn
        return fn

    return register


def reference_for(plugin_id: str) -> Reference:
    """The registered torch reference of ``plugin_id``."""
    found = _REFERENCES.get(plugin_id)
    if found is None:
        raise TrtnetError(f"plugin {plugin_id!r} has no torch reference{did_you_mean(plugin_id, _REFERENCES)}: "
                          f"register one with @trtnet.plugins.reference({plugin_id!r}) so it can be checked")
    return found


def split_plugin_id(plugin_id: str) -> tuple[str, str]:
    namespace, sep, name = plugin_id.partition("::")
    if not sep or not namespace or not name:
        raise TrtnetError(f"plugin id {plugin_id!r} must look like 'namespace::name'")
    return namespace, name


def plugin_module(plugin_id: str) -> ModuleType:
    """``tensorrt.plugin`` of the active backend, or a clear error where plugins don't exist."""
    active = backend.get()
    if active.is_rtx:
        raise TrtnetError(f"plugin {plugin_id!r}: TensorRT-RTX has no plugins (no add_plugin, no tensorrt.plugin). "
                          "Express the op with trtnet primitives, or build with enterprise TensorRT >= 10.6 "
                          "(pip install tensorrt; TRTNET_BACKEND=tensorrt)")
    if not active.supports_plugins:
        raise TrtnetError(f"plugin {plugin_id!r}: {active.name} {active.version} has no tensorrt.plugin "
                          "(quickly-deployable plugins need TensorRT >= 10.6)")
    return importlib.import_module(f"{active.name}.plugin")
