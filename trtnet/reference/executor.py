"""Run an ``INetworkDefinition`` layer by layer with torch CPU ops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from trtnet.errors import TrtnetError, did_you_mean
from trtnet.reference import dtypes, registry

# Importing the layer families fills the registry.
from trtnet.reference import (  # noqa: F401  (imported for their registrations)
    constants,
    conv,
    gather,
    matmul,
    normalization,
    plugin,
    pointwise,
    pooling,
    quantization,
    reduce,
    resize,
    shape_ops,
    slicing,
)


def execute(
    network: Any, feeds: Mapping[str, np.ndarray | torch.Tensor], *, intermediates: bool = False
) -> dict[str, torch.Tensor]:
    """Execute ``network`` on CPU for the input arrays in ``feeds`` (keyed by input-tensor name).

    Returns the marked outputs by tensor name, or with ``intermediates=True`` every layer output (outputs included),
    as torch tensors of the dtypes the network declares.
    """
    env = _validated_feeds(network, feeds)
    output_names = [network.get_output(i).name for i in range(network.num_outputs)]
    layers = _in_dependency_order([registry.downcast(network.get_layer(i)) for i in range(network.num_layers)])
    last_use = {} if intermediates else _last_uses(layers, output_names)
    with torch.inference_mode():
        for index, (layer_type, layer) in enumerate(layers):
            _run_layer(layer_type, layer, env)
            for name in last_use.get(index, ()):
                del env[name]
    if intermediates:
        return {t.name: env[t.name] for _, layer in layers for t in _outputs(layer)}
    return {name: env[name] for name in output_names}


def _validated_feeds(network: Any, feeds: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    inputs = {network.get_input(i).name: network.get_input(i) for i in range(network.num_inputs)}
    for name in feeds:
        if name not in inputs:
            raise TrtnetError(f"feed {name!r} is not an input of the network{did_you_mean(name, inputs)}; inputs: {sorted(inputs)}")
    missing = [name for name in inputs if name not in feeds]
    if missing:
        raise TrtnetError(f"no feed for network input(s) {missing}")
    return {name: _feed_tensor(tensor, feeds[name]) for name, tensor in inputs.items()}


def _feed_tensor(tensor: Any, value: Any) -> torch.Tensor:
    declared = tuple(tensor.shape)
    data = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    shape = tuple(data.shape)
    if len(shape) != len(declared) or any(d != -1 and d != s for d, s in zip(declared, shape)):
        raise TrtnetError(f"feed {tensor.name!r} has shape {list(shape)}, but the input is declared {list(declared)} (-1 = any)")
    dtype = dtypes.to_torch(tensor.dtype)
    if data.dtype.is_floating_point and not dtype.is_floating_point:
        raise TrtnetError(f"feed {tensor.name!r} holds {data.dtype} values, but the input is {tensor.dtype}")
    return data.to(device="cpu", dtype=dtype)


def _outputs(layer: Any) -> list[Any]:
    return [layer.get_output(i) for i in range(layer.num_outputs)]


def _input_names(layer: Any) -> list[str | None]:
    tensors = [layer.get_input(i) for i in range(layer.num_inputs)]
    return [t.name if t is not None else None for t in tensors]


def _in_dependency_order(layers: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Network order, except that a layer moves after the producers of its inputs (``set_input`` may name a
    tensor a later layer produces)."""
    producer = {t.name: index for index, (_, layer) in enumerate(layers) for t in _outputs(layer)}
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(index: int) -> None:
        if state.get(index) == "done":
            return
        if state.get(index) == "visiting":
            raise TrtnetError(f"layer {layers[index][1].name!r} depends on its own output (cycle in the network)")
        state[index] = "visiting"
        for name in _input_names(layers[index][1]):
            if name in producer:
                visit(producer[name])
        state[index] = "done"
        order.append(index)

    for index in range(len(layers)):
        visit(index)
    return [layers[i] for i in order]


def _last_uses(layers: list[tuple[Any, Any]], keep: list[str]) -> dict[int, list[str]]:
    """For each layer index, the tensors no later layer reads (and that aren't outputs): free them after it."""
    last: dict[str, int] = {}
    for index, (_, layer) in enumerate(layers):
        for name in _input_names(layer):
            if name is not None:
                last[name] = index
    by_layer: dict[int, list[str]] = {}
    for name, index in last.items():
        if name not in keep:
            by_layer.setdefault(index, []).append(name)
    return by_layer


def _run_layer(layer_type: Any, layer: Any, env: dict[str, torch.Tensor]) -> None:
    fn = registry.implementation(layer_type, layer.name)
    inputs = []
    for name in _input_names(layer):
        if name is None:
            inputs.append(None)
        elif name not in env:
            raise TrtnetError(f"layer {layer.name!r} reads tensor {name!r} before any layer produced it")
        else:
            inputs.append(dtypes.compute(env[name]))
    try:
        results = fn(layer, inputs)
    except TrtnetError:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise TrtnetError(f"layer {layer.name!r} ({layer_type.name}) failed in the reference executor: {exc}") from exc
    if isinstance(results, torch.Tensor):
        results = [results]
    for tensor, result in zip(_outputs(layer), results):
        env[tensor.name] = _as_declared(layer_type, layer, tensor, result)


def _as_declared(layer_type: Any, layer: Any, tensor: Any, result: torch.Tensor) -> torch.Tensor:
    """The result in the output's declared dtype, after checking it has the declared (static) shape."""
    declared = tuple(tensor.shape)
    shape = tuple(result.shape)
    if len(declared) != len(shape) or any(d != -1 and d != s for d, s in zip(declared, shape)):
        raise TrtnetError(
            f"layer {layer.name!r} ({layer_type.name}) produced {tensor.name!r} with shape {list(shape)}, "
            f"but the network declares {list(declared)}"
        )
    return result.to(dtypes.to_torch(tensor.dtype))
