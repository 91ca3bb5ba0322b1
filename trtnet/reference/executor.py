"""Run an ``INetworkDefinition`` layer by layer with torch CPU ops."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
    loops,
    matmul,
    normalization,
    plugin,
    pointwise,
    pooling,
    quantization,
    reduce,
    resize,
    scatter,
    shape_ops,
    slicing,
)


@dataclass(frozen=True)
class _Output:
    name: str
    shape: tuple[int, ...]  # as declared; -1 = dynamic
    dtype: torch.dtype


@dataclass(frozen=True)
class _Step:
    """One layer, with everything the run loop needs read from the network once per ``execute`` call."""

    layer_type: Any
    layer: Any
    inputs: tuple[str | None, ...]
    outputs: tuple[_Output, ...]
    fn: registry.LayerFn
    takes_donations: bool
    outputs_view_weights: bool
    frees: tuple[str, ...] = ()  # tensors no later step reads, dropped after this one


def execute(
    network: Any, feeds: Mapping[str, np.ndarray | torch.Tensor], *, intermediates: bool = False
) -> dict[str, torch.Tensor]:
    """Execute ``network`` on CPU for the input arrays in ``feeds`` (keyed by input-tensor name).

    Returns the marked outputs by tensor name, or with ``intermediates=True`` every layer output (outputs included),
    as torch tensors of the dtypes the network declares.
    """
    env = _validated_feeds(network, feeds)
    output_names = [network.get_output(i).name for i in range(network.num_outputs)]
    steps = _in_dependency_order(loops.fold([_step(network.get_layer(i)) for i in range(network.num_layers)], _loop_step))
    if not intermediates:
        steps = _with_frees(steps, set(output_names))
    with torch.inference_mode():
        _Run(env).steps(steps)
    if intermediates:
        return {out.name: env[out.name] for step in steps for out in step.outputs}
    return {name: env[name] for name in output_names}


def execute_layers(
    network: Any, layers: Sequence[int], values: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Execute only the layers of ``network`` with the indices ``layers`` (in dependency order), reading every
    tensor they read but don't produce from ``values`` (by tensor name; a network input, a constant or another
    layer's output). Returns every output of those layers, in the dtypes the network declares.

    A given value must have the tensor's declared shape (dims other than -1) and is converted to its declared
    dtype; a missing one is a :class:`TrtnetError` naming the layer and the tensor. ``execute`` is this for all
    layers with the network inputs as ``values``; the layerwise checker runs one module call's layers this way.
    """
    steps = _in_dependency_order(loops.fold([_step(network.get_layer(i)) for i in layers], _loop_step))
    produced = {out.name for step in steps for out in step.outputs}
    env: dict[str, torch.Tensor] = {}
    for step in steps:
        for index, name in enumerate(step.inputs):
            if name is None or name in produced or name in env:
                continue
            if name not in values:
                raise TrtnetError(f"layer {step.layer.name!r} reads tensor {name!r}, which the layers run don't "
                                  "produce and no value was given for")
            env[name] = _feed_tensor(step.layer.get_input(index), values[name])
    with torch.inference_mode():
        _Run(env).steps(steps)
    return {name: env[name] for name in produced}


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
    if not _fits(tuple(data.shape), declared):
        raise TrtnetError(f"feed {tensor.name!r} has shape {list(data.shape)}, but the input is declared {list(declared)} (-1 = any)")
    dtype = dtypes.to_torch(tensor.dtype)
    if data.dtype.is_floating_point and not dtype.is_floating_point:
        raise TrtnetError(f"feed {tensor.name!r} holds {data.dtype} values, but the input is {tensor.dtype}")
    return data.to(device="cpu", dtype=dtype)


def _fits(shape: tuple[int, ...], declared: tuple[int, ...]) -> bool:
    return len(shape) == len(declared) and all(d in (-1, s) for d, s in zip(declared, shape))


def _step(layer: Any) -> _Step:
    layer_type, layer = registry.downcast(layer)
    tensors = [layer.get_input(i) for i in range(layer.num_inputs)]
    outputs = [layer.get_output(i) for i in range(layer.num_outputs)]
    return _Step(
        layer_type,
        layer,
        tuple(t.name if t is not None else None for t in tensors),
        tuple(_Output(t.name, tuple(t.shape), dtypes.to_torch(t.dtype)) for t in outputs),
        registry.implementation(layer_type, layer.name),
        registry.takes_donations(layer_type),
        registry.outputs_view_weights(layer_type),
    )


@dataclass(frozen=True)
class _LoopType:
    name: str = "LOOP"


def _loop_step(loop: loops.Loop) -> _Step:
    """One step running a whole loop (:mod:`trtnet.reference.loops`): it reads what the loop reads from outside
    and produces the loop outputs; its body steps run on a fresh environment per iteration."""
    body = _in_dependency_order(list(loop.body))
    outputs = tuple(out for step in loop.loop_outputs for out in step.outputs)

    def run(_: Any, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return loops.run(loop, dict(zip(loop.reads, inputs)), lambda env: _Run(env).steps(body))

    return _Step(_LoopType(), loop, loop.reads, outputs, run, False, False)


def _in_dependency_order(steps: list[_Step]) -> list[_Step]:
    """Network order, except that a layer moves after the producers of its inputs (``set_input`` may name a
    tensor a later layer produces)."""
    producer = {out.name: index for index, step in enumerate(steps) for out in step.outputs}
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(index: int) -> None:
        if state.get(index) == "done":
            return
        if state.get(index) == "visiting":
            raise TrtnetError(f"layer {steps[index].layer.name!r} depends on its own output (cycle in the network)")
        state[index] = "visiting"
        for name in steps[index].inputs:
            if name in producer:
                visit(producer[name])
        state[index] = "done"
        order.append(index)

    for index in range(len(steps)):
        visit(index)
    return [steps[i] for i in order]


def _with_frees(steps: list[_Step], keep: set[str]) -> list[_Step]:
    """The steps, each listing the tensors (not in ``keep``) that no later step reads."""
    last = {name: index for index, step in enumerate(steps) for name in step.inputs if name is not None}
    frees: dict[int, list[str]] = {}
    for name, index in last.items():
        if name not in keep:
            frees.setdefault(index, []).append(name)
    return [replace(step, frees=tuple(frees.get(index, ()))) for index, step in enumerate(steps)]


def _storage(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


class _Run:
    """The tensors by name while the steps run, and which memory a layer may overwrite.

    A tensor is donated to the layer that reads it last when no other live tensor shares its memory and the
    memory is the run's own: not a feed (the caller's) and not a view of the network's weights.
    """

    def __init__(self, env: dict[str, torch.Tensor]) -> None:
        self.env = env
        self.users: Counter[int] = Counter(_storage(t) for t in env.values())
        self.foreign = set(self.users)

    def steps(self, steps: list[_Step]) -> None:
        for step in steps:
            results = self._call(step)
            for out, result in zip(step.outputs, results):
                self._put(out.name, _as_declared(step, out, result))
                if step.outputs_view_weights:
                    self.foreign.add(_storage(self.env[out.name]))
            for name in step.frees:
                self.users[_storage(self.env.pop(name))] -= 1

    def _put(self, name: str, tensor: torch.Tensor) -> None:
        if name in self.env:
            self.users[_storage(self.env[name])] -= 1
        self.env[name] = tensor
        self.users[_storage(tensor)] += 1

    def _donated(self, step: _Step, name: str | None) -> bool:
        if name is None or name not in step.frees or step.inputs.count(name) != 1:
            return False
        tensor = self.env[name]
        storage = _storage(tensor)
        return storage != 0 and storage not in self.foreign and self.users[storage] == 1 and tensor.is_contiguous()

    def _call(self, step: _Step) -> Sequence[torch.Tensor]:
        layer, layer_type, fn = step.layer, step.layer_type, step.fn
        inputs = []
        for name in step.inputs:
            if name is not None and name not in self.env:
                raise TrtnetError(f"layer {layer.name!r} reads tensor {name!r} before any layer produced it")
            inputs.append(dtypes.compute(self.env[name]) if name is not None else None)
        try:
            if step.takes_donations:
                results = fn(layer, inputs, tuple(self._donated(step, name) for name in step.inputs))
            else:
                results = fn(layer, inputs)
        except TrtnetError:
            raise
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            raise TrtnetError(f"layer {layer.name!r} ({layer_type.name}) failed in the reference executor: {exc}") from exc
        return [results] if isinstance(results, torch.Tensor) else results


def _as_declared(step: _Step, out: _Output, result: torch.Tensor) -> torch.Tensor:
    """The result in the output's declared dtype, after checking it has the declared (static) shape."""
    if not _fits(tuple(result.shape), out.shape):
        raise TrtnetError(
            f"layer {step.layer.name!r} ({step.layer_type.name}) produced {out.name!r} with shape "
            f"{list(result.shape)}, but the network declares {list(out.shape)}"
        )
    return result.to(out.dtype)
