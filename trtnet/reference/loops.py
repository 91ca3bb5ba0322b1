"""Loops (``ILoop``) in the reference executor: each loop's layers found in the network, its body run per iteration.

A loop is its boundary layers (TRIP_LIMIT, ITERATOR, RECURRENCE, LOOP_OUTPUT; grouped by
``ILoopBoundaryLayer.loop``) and its body: every layer that depends on an iterator or recurrence output of the
loop. TensorRT lets data leave a loop only through a loop output, so nothing else may read a body tensor; layers
that read only tensors from outside are loop-invariant and run once, before the loop. The boundary layers follow
TensorRT's definitions (NvInfer.h, "Working with Loops"):

- TRIP_LIMIT ``COUNT``: a 0-D integer read before the loop; ``WHILE``: a 0-D bool computed in the body from the
  iteration's recurrence values, the iteration runs only while it is true. Both may be present.
- ITERATOR: iteration ``i`` yields ``x[i]`` along ``axis``, ``x[M-1-i]`` when ``reverse`` (M: the COUNT limit).
- RECURRENCE: iteration 0 yields input 0 (the initial value), iteration ``i`` the value input 1 had in ``i-1``.
- LOOP_OUTPUT ``LAST_VALUE`` (of a recurrence): the value after the last iteration; ``CONCATENATE``/``REVERSE``:
  the input of every iteration stacked along a new ``axis`` (in reverse iteration order for ``REVERSE``), whose
  length, input 1, must be the number of iterations (NvInfer.h leaves longer outputs' tail undefined; TensorRT-RTX
  refuses them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from trtnet.errors import TrtnetError
from trtnet.reference.registry import Inputs, register

BOUNDARY = ("TRIP_LIMIT", "ITERATOR", "RECURRENCE", "LOOP_OUTPUT")

Step = TypeVar("Step")  # the executor's step: .layer_type, .layer, .inputs (names), .outputs (with .name)


@dataclass(frozen=True)
class Loop:
    """One loop's steps and the tensors it reads from outside (``reads`` by name, in first-read order, and
    ``read_tensors``, their ITensors)."""

    name: str
    trip_limits: tuple[Any, ...]
    iterators: tuple[Any, ...]
    recurrences: tuple[Any, ...]
    loop_outputs: tuple[Any, ...]
    body: tuple[Any, ...]
    reads: tuple[str, ...]
    read_tensors: tuple[Any, ...]

    def get_input(self, index: int) -> Any:
        """The ITensor of read ``index`` (as ``ILayer.get_input``: the executor checks values given for it)."""
        return self.read_tensors[index]


@register(*BOUNDARY)
def outside_its_loop(layer: Any, inputs: Inputs) -> torch.Tensor:
    """The registry's entry for the boundary layers (so ``supported_layer_types`` lists them): :func:`fold` always
    replaces them by their loop, so running one alone is a bug."""
    raise TrtnetError(f"layer {layer.name!r} belongs to loop {layer.loop.name!r}, which runs only as a whole; "
                      "run all of the loop's layers")


def fold(steps: Sequence[Step], as_step: Callable[[Loop], Step]) -> list[Step]:
    """``steps`` with the layers of each loop replaced by ``as_step(loop)``, at the place of its first layer."""
    loops: dict[Any, list[Any]] = {}
    for step in steps:
        if step.layer_type.name in BOUNDARY:
            loops.setdefault(step.layer.loop, []).append(step)
    if not loops:
        return list(steps)
    consumers: dict[str, list[Any]] = {}
    for step in steps:
        for name in step.inputs:
            if name is not None:
                consumers.setdefault(name, []).append(step)
    members: dict[int, Loop] = {}
    for loop, boundary in loops.items():
        found = _loop(loop, boundary, consumers)
        for step in (*boundary, *found.body):
            if id(step) in members:
                raise TrtnetError(f"layer {step.layer.name!r} is inside loops {members[id(step)].name!r} and "
                                  f"{found.name!r}; nested loops are not supported by the reference executor")
            members[id(step)] = found
    folded, placed = [], set()
    for step in steps:
        loop = members.get(id(step))
        if loop is None:
            folded.append(step)
        elif id(loop) not in placed:
            placed.add(id(loop))
            folded.append(as_step(loop))
    return folded


def _loop(loop: Any, boundary: list[Any], consumers: Mapping[str, list[Any]]) -> Loop:
    by_type = {kind: tuple(s for s in boundary if s.layer_type.name == kind) for kind in BOUNDARY}
    if not by_type["TRIP_LIMIT"]:
        raise TrtnetError(f"loop {loop.name!r} has no trip limit (TensorRT requires one)")
    for s in by_type["RECURRENCE"]:
        if len(s.inputs) < 2 or s.inputs[1] is None:
            raise TrtnetError(f"recurrence {s.layer.name!r} of loop {loop.name!r} has no next value (input 1)")
    inside = {out.name for s in (*by_type["ITERATOR"], *by_type["RECURRENCE"]) for out in s.outputs}
    body: dict[int, Any] = {}
    pending = list(inside)
    while pending:
        for step in consumers.get(pending.pop(), ()):
            if step.layer_type.name in BOUNDARY:
                if step.layer.loop is not loop:
                    raise TrtnetError(f"layer {step.layer.name!r} of loop {step.layer.loop.name!r} reads a tensor "
                                      f"of loop {loop.name!r}; nested loops are not supported by the reference executor")
                continue
            if id(step) not in body:
                body[id(step)] = step
                pending.extend(out.name for out in step.outputs)
                inside.update(out.name for out in step.outputs)
    reads: dict[str, Any] = {}
    for step in (*boundary, *body.values()):
        for index, name in enumerate(step.inputs):
            if name is not None and name not in inside and name not in reads:
                reads[name] = step.layer.get_input(index)
    return Loop(loop.name, by_type["TRIP_LIMIT"], by_type["ITERATOR"], by_type["RECURRENCE"], by_type["LOOP_OUTPUT"],
                tuple(body.values()), tuple(reads), tuple(reads.values()))


def run(loop: Loop, values: Mapping[str, torch.Tensor], run_body: Callable[[dict[str, torch.Tensor]], None]
        ) -> list[torch.Tensor]:
    """Run ``loop`` on the tensors it reads (``values``); ``run_body(env)`` runs the body steps on ``env``,
    adding their outputs. Returns the loop outputs' values in ``loop.loop_outputs`` order."""
    counts = [trip_count(s.layer, values[s.inputs[0]]) for s in loop.trip_limits if s.layer.kind.name == "COUNT"]
    conditions = [s.inputs[0] for s in loop.trip_limits if s.layer.kind.name == "WHILE"]
    if not counts and not conditions:
        raise TrtnetError(f"loop {loop.name!r}: no COUNT or WHILE trip limit")
    if loop.iterators and not counts:
        raise TrtnetError(f"loop {loop.name!r} iterates over a tensor but has no COUNT trip limit")
    limit = min(counts) if counts else None
    states = {s.outputs[0].name: values[s.inputs[0]] for s in loop.recurrences}
    stacked: dict[str, list[torch.Tensor]] = {s.outputs[0].name: [] for s in loop.loop_outputs
                                              if s.layer.kind.name != "LAST_VALUE"}
    iteration = 0
    while limit is None or iteration < limit:
        env = {**values, **states}
        for s in loop.iterators:
            env[s.outputs[0].name] = iterate(s.layer, values[s.inputs[0]], iteration, limit)
        run_body(env)
        if conditions and not all(bool(env[name]) for name in conditions):
            break
        for s in loop.loop_outputs:
            if s.outputs[0].name in stacked:
                stacked[s.outputs[0].name].append(env[s.inputs[0]])
        states = {s.outputs[0].name: env[s.inputs[1]] for s in loop.recurrences}
        iteration += 1
    results = []
    for s in loop.loop_outputs:
        if s.outputs[0].name in stacked:
            results.append(loop_output(s.layer, stacked[s.outputs[0].name], values[s.inputs[1]]))
        elif s.inputs[0] in states:
            results.append(states[s.inputs[0]])
        else:
            raise TrtnetError(f"layer {s.layer.name!r}: a LAST_VALUE loop output must read a recurrence of its loop")
    return results


def trip_count(layer: Any, count: torch.Tensor) -> int:
    """TRIP_LIMIT ``COUNT``: the 0-D integer input."""
    if count.dim() != 0 or count.dtype.is_floating_point:
        raise TrtnetError(f"layer {layer.name!r}: a COUNT trip limit must be a 0-D integer, got {count.dtype} "
                          f"of shape {list(count.shape)}")
    return int(count)


def iterate(layer: Any, tensor: torch.Tensor, iteration: int, count: int) -> torch.Tensor:
    """ITERATOR: slice ``iteration`` (from the end when ``reverse``) of ``tensor`` along ``axis``."""
    axis = layer.axis % tensor.dim()
    index = count - 1 - iteration if layer.reverse else iteration
    if not 0 <= index < tensor.shape[axis]:
        raise TrtnetError(f"layer {layer.name!r}: iteration {iteration} of {count} is past the {tensor.shape[axis]} "
                          f"slices of axis {axis} of {list(tensor.shape)}")
    return tensor.select(axis, index)


def loop_output(layer: Any, values: list[torch.Tensor], length: torch.Tensor) -> torch.Tensor:
    """LOOP_OUTPUT ``CONCATENATE``/``REVERSE``: ``values`` (one per iteration) stacked along a new ``axis``."""
    if int(length) != len(values) or not values:
        raise TrtnetError(f"layer {layer.name!r}: output length {int(length)} differs from the {len(values)} "
                          "iterations run (TensorRT-RTX refuses other lengths at build time)")
    if layer.kind.name == "REVERSE":
        values = values[::-1]
    return torch.stack(values, dim=layer.axis % (values[0].dim() + 1))
