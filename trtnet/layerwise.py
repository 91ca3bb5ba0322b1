"""Layerwise comparison of a traced network with its torch reference, module call by module call.

The reference runs with a forward pre-hook and a forward hook on every module (:class:`ModuleRecorder`); each
call's input and output tensors are recorded in completion order (children before their parents), a module's
2nd call named ``path#2`` as trtnet's ``ModuleCall.name`` does. The root call is named ``ROOT``. Two views:

- **accumulated**: a call's output in the run of the whole network against the reference's. A row carries the
  drift of everything before it, so in fp16 a correct port drifts past the tolerance somewhere, and a wrong op
  between modules shows up at the next module.
- **isolated**: each call is executed from the *reference's* inputs to that call, so a row is that call's own
  error. The trtnet side of a call is the span of network layers it added (``ModuleCall.first_layer`` to
  ``end_layer``), run with :func:`trtnet.reference.execute_layers`. A child call whose inputs, in that run,
  are exactly the reference's inputs to it (the parent's inputs, or outputs of children already replaced) is
  not executed: its outputs are the reference's (its own error is its own row). What the parent's layers
  compute between its children (``F.relu`` in a forward, a residual add) therefore runs on reference values,
  and a wrong op there fails the parent's row while every child passes. A tensor the span reads that is
  neither an input of the call nor a replaced child's output (a constant made in an earlier call, a value
  captured from outside) comes from the accumulated run. Each layer runs once in its innermost call, plus
  the children downstream of a parent's own ops: about one more network run in all.

Matching rule (both views): a call is compared when both sides have a call of that name; calls present on one
side only (``F.relu`` instead of a module, helpers created inside ``forward``) are not compared. Accumulated:
the root is not compared (its outputs are the network outputs), nor a container whose every output is a
descendant's output (a ``Sequential``). Isolated: a call whose outputs all come from replaced children is not
compared (it computed nothing of them); a call whose reference inputs don't pair with its trtnet inputs (count,
static shape) can't be isolated and keeps only its accumulated comparison. ``first divergence`` is the first
call, in the reference's completion order, whose comparison fails: in the isolated view the first whose own
error is out of tolerance (accumulated fallbacks don't count), so an op between modules is attributed to the
forward that ran it.

Layer rows use the check's tolerance with ``atol`` scaled by the tensor's largest ``|expected|`` (see
:func:`layer_tolerance`). Recorded tensors are copied once per tensor version (in-place ops such as
``ReLU(inplace=True)`` and ``out += identity`` would overwrite them); a tensor passed on unchanged from one
call to the next is not copied again. (Copy-on-write through a torch dispatch mode would save the copies, but
entering one imports torch._dynamo, which costs more than all the copies of a ResNet-50.)
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trtnet.compare import Comparison, Tolerance, compare
from trtnet.errors import TrtnetError
from trtnet.graph import ModuleCall
from trtnet.reference import execute_layers
from trtnet.report import LayerRow

MODES = ("isolated", "accumulated", "both")
#: The name of the root module's call in layer rows (its trtnet path is "").
ROOT = "(root)"


def layerwise_mode(layerwise: bool | str | None) -> str | None:
    """``check(layerwise=...)`` as a mode: False/None off, True ``"isolated"``, else one of :data:`MODES`."""
    if layerwise is None or layerwise is False:
        return None
    if layerwise is True:
        return "isolated"
    if layerwise not in MODES:
        raise TrtnetError(f"check: layerwise must be True, False or one of {', '.join(MODES)}, got {layerwise!r}")
    return layerwise


@dataclass
class RefCall:
    """One call of a reference module: its path, call name, and the tensors it was given and returned."""

    path: str
    name: str
    inputs: list[torch.Tensor]
    outputs: list[torch.Tensor]


class ModuleRecorder:
    """Forward pre-hooks and hooks on every module of a torch module (the root included): ``records`` in
    completion order. Inputs are recorded only with ``inputs=True`` (the isolated view needs them)."""

    def __init__(self, module: Any, enabled: bool, inputs: bool = True) -> None:
        self.module, self.enabled, self.with_inputs = module, enabled, inputs
        self.records: list[RefCall] = []
        self._handles: list[Any] = []
        self._modes = contextlib.ExitStack()
        self._counts: dict[str, int] = defaultdict(int)
        self._pending: dict[int, list[list[torch.Tensor]]] = defaultdict(list)  # id(module) -> inputs stack
        self._copies: dict[int, tuple[torch.Tensor, int, torch.Tensor]] = {}  # id -> (tensor, version, copy)

    def __enter__(self) -> "ModuleRecorder":
        if self.enabled:  # no_grad, not inference_mode: inference tensors have no version counter
            self._modes.enter_context(torch.inference_mode(False))
            self._modes.enter_context(torch.no_grad())
            for path, sub in self.module.named_modules():
                if self.with_inputs:
                    self._handles.append(sub.register_forward_pre_hook(self._pre_hook, with_kwargs=True))
                self._handles.append(sub.register_forward_hook(self._hook(path)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._copies.clear()
        self._modes.close()

    def _copy(self, tensor: torch.Tensor) -> torch.Tensor:
        """A copy of ``tensor``'s current value, shared by every record of the same tensor at the same version."""
        seen = self._copies.get(id(tensor))
        if seen is not None and seen[0] is tensor and seen[1] == tensor._version:
            return seen[2]
        copy = tensor.detach().to("cpu", copy=True)
        self._copies[id(tensor)] = (tensor, tensor._version, copy)  # holding tensor keeps its id unique
        return copy

    def _pre_hook(self, module: Any, args: Any, kwargs: Any) -> None:
        self._pending[id(module)].append([self._copy(t) for t in flatten_tensors([args, kwargs])])

    def _hook(self, path: str) -> Any:
        def record(module: Any, args: Any, output: Any) -> None:
            self._counts[path] += 1
            count = self._counts[path]
            name = (path or ROOT) if count == 1 else f"{path or ROOT}#{count}"
            inputs = self._pending[id(module)].pop() if self.with_inputs else []
            self.records.append(RefCall(path, name, inputs, [self._copy(t) for t in flatten_tensors(output)]))

        return record


def flatten_tensors(value: Any) -> list[torch.Tensor]:
    """The tensors in a nest of tuples, lists and dict values, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in flatten_tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flatten_tensors(item)]
    return []


def layer_rows(net: Any, values: Mapping[str, Any], feeds: Mapping[str, Any], records: Sequence[RefCall],
               tolerance: Tolerance, mode: str = "accumulated") -> list[LayerRow]:
    """Pair the reference's recorded calls with the traced network's by call name (module docstring).

    ``values``: every tensor of the accumulated run (``execute(..., intermediates=True)``) by name; ``feeds``: the
    network inputs. Rows are in the reference's completion order. A row's ``comparison`` is the isolated one
    where ``mode`` asks for it and the call could be isolated, else the accumulated one; with ``mode="both"``
    ``accumulated`` holds the accumulated comparison beside an isolated one."""
    calls = {_call_name(call): call for call in net.graph.module_calls}
    isolated: dict[tuple[str, str], Comparison] = {}
    wanted = None  # the calls given an accumulated comparison (None: all)
    if mode != "accumulated":
        isolation = _Isolation(net, calls, {**values, **feeds}, records)
        isolated = isolation.comparisons(tolerance)
        wanted = None if mode == "both" else isolation.not_isolated
    accumulated = _accumulated(calls, values, feeds, records, tolerance, wanted)
    rows = []
    for record in records:
        call = calls.get(record.name)
        if call is None:
            continue
        for tensor in call.outputs:
            key = (record.name, tensor.name)
            own, drift = isolated.get(key), accumulated.get(key)
            if own is not None:
                rows.append(LayerRow(record.name, tensor.name, own, "isolated", drift if mode == "both" else None))
            elif drift is not None:
                rows.append(LayerRow(record.name, tensor.name, drift, "accumulated"))
    return rows


def first_divergent(rows: Sequence[LayerRow], view: str,
                    passes: Callable[[Comparison], bool] | None = None) -> str | None:
    """The module of the first failing row of ``view`` ("isolated" or "accumulated"), in row order; ``passes``
    judges a row (default: within the tolerance; a quantized check: :func:`trtnet.verdict.quantized_verdict`)."""
    for row in rows:
        comparison = row.comparison if row.view == view else row.accumulated if view == "accumulated" else None
        if comparison is not None and not (passes(comparison) if passes else comparison.passed):
            return row.module
    return None


def _call_name(call: ModuleCall) -> str:
    return call.name if call.path else (ROOT if call.call == 1 else f"{ROOT}#{call.call}")


def _accumulated(calls: Mapping[str, ModuleCall], values: Mapping[str, Any], feeds: Mapping[str, Any],
                 records: Sequence[RefCall], tolerance: Tolerance,
                 wanted: set[str] | None) -> dict[tuple[str, str], Comparison]:
    produced_by: dict[str, str] = {}  # tensor name -> path of the first compared call that returned it
    result = {}
    for record in records:
        call = calls.get(record.name)
        if call is None or not record.path:
            continue
        names = [t.name for t in call.outputs]
        if names and all(produced_by.get(n, "").startswith(record.path + ".") for n in names):
            continue  # a container returning a descendant's output
        for tensor_name in names:
            produced_by.setdefault(tensor_name, record.path)
        for tensor_name, ref in zip(names, record.outputs):
            actual = values.get(tensor_name, feeds.get(tensor_name))
            if actual is not None and (wanted is None or record.name in wanted):
                result[record.name, tensor_name] = compare(record.name, actual, ref, layer_tolerance(tolerance, ref))
    return result


class _Isolation:
    """Runs each compared call's layer span from the reference's inputs (module docstring, isolated view)."""

    def __init__(self, net: Any, calls: Mapping[str, ModuleCall], accumulated: Mapping[str, Any],
                 records: Sequence[RefCall]) -> None:
        self.network = net.network
        self.calls = list(net.graph.module_calls)
        self.position = {id(call): index for index, call in enumerate(self.calls)}
        self.names = calls
        self.accumulated = accumulated
        self.refs = {record.name: record for record in records}
        self.reads = _reads(self.network)
        self.not_isolated: set[str] = set()  # calls whose reference inputs don't pair with their inputs

    def comparisons(self, tolerance: Tolerance) -> dict[tuple[str, str], Comparison]:
        result = {}
        for name, ref in self.refs.items():
            call = self.names.get(name)
            if call is None:
                continue
            outputs = self._run(call, ref)
            if outputs is None:
                self.not_isolated.add(name)
            for tensor, expected in zip(call.outputs, ref.outputs):
                if outputs is not None and tensor.name in outputs:
                    result[name, tensor.name] = compare(name, outputs[tensor.name], expected,
                                                        layer_tolerance(tolerance, expected))
        return result

    def _run(self, call: ModuleCall, ref: RefCall) -> dict[str, torch.Tensor] | None:
        """The call's outputs computed by its own layers from the reference's inputs (those coming straight from
        replaced children left out); None when the reference's inputs don't pair with the call's."""
        if len(ref.inputs) != len(call.inputs) or not all(
                _fits(value, tensor) for value, tensor in zip(ref.inputs, call.inputs)):
            return None
        given = {tensor.name: value for tensor, value in zip(call.inputs, ref.inputs)}  # reference values
        skipped: set[int] = set()
        for child in self._children(call):
            if self._replaceable(child, call, given):
                given.update((t.name, v) for t, v in zip(child.outputs, self.refs[_call_name(child)].outputs))
                skipped.update(range(child.first_layer, child.end_layer))
        layers = [i for i in range(call.first_layer, call.end_layer) if i not in skipped]
        computed = execute_layers(self.network, layers, _Fallback(given, self.accumulated)) if layers else {}
        inputs = {t.name for t in call.inputs}
        return {t.name: computed[t.name] if t.name in computed else given[t.name] for t in call.outputs
                if t.name in computed or t.name in inputs}

    def _children(self, call: ModuleCall) -> list[ModuleCall]:
        """The calls made directly inside ``call`` (their layer spans nest in its span), in call order."""
        start = self.position[id(call)] + 1
        children: list[ModuleCall] = []
        for other in self.calls[start:]:
            if other.first_layer >= call.end_layer and not (other.first_layer == other.end_layer == call.end_layer):
                break
            if other.end_layer > call.end_layer:
                break
            if children and other.first_layer < children[-1].end_layer:
                continue  # a grandchild
            children.append(other)
        return children

    def _replaceable(self, child: ModuleCall, parent: ModuleCall, given: Mapping[str, torch.Tensor]) -> bool:
        """The child gets exactly the reference's inputs to it, its reference outputs fit its tensors, and
        nothing outside it reads a tensor it makes other than its outputs."""
        ref = self.refs.get(_call_name(child))
        if ref is None or len(ref.inputs) != len(child.inputs) or len(ref.outputs) != len(child.outputs):
            return False
        for tensor, expected in zip(child.inputs, ref.inputs):
            value = given.get(tensor.name)
            if value is None or not (value is expected or (value.shape == expected.shape and torch.equal(value, expected))):
                return False
        if not all(_fits(value, tensor) for value, tensor in zip(ref.outputs, child.outputs)):
            return False
        inner = range(child.first_layer, child.end_layer)
        made = {out for i in inner for out in self.reads.outputs[i]} - {t.name for t in child.outputs}
        return not any(name in made for i in range(parent.first_layer, parent.end_layer) if i not in inner
                       for name in self.reads.inputs[i])


class _Fallback(Mapping):
    """``given`` values, else the accumulated run's."""

    def __init__(self, given: Mapping[str, Any], accumulated: Mapping[str, Any]) -> None:
        self.given, self.accumulated = given, accumulated

    def __getitem__(self, name: str) -> Any:
        return self.given[name] if name in self.given else self.accumulated[name]

    def __contains__(self, name: object) -> bool:
        return name in self.given or name in self.accumulated

    def __iter__(self) -> Any:
        return iter({**self.accumulated, **self.given})

    def __len__(self) -> int:
        return len({**self.accumulated, **self.given})


@dataclass
class _Reads:
    inputs: list[list[str]]  # per layer index: the tensor names it reads
    outputs: list[list[str]]  # per layer index: the tensor names it makes


def _reads(network: Any) -> _Reads:
    inputs, outputs = [], []
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        inputs.append([t.name for t in (layer.get_input(i) for i in range(layer.num_inputs)) if t is not None])
        outputs.append([layer.get_output(i).name for i in range(layer.num_outputs)])
    return _Reads(inputs, outputs)


def _fits(value: torch.Tensor, tensor: Any) -> bool:
    declared = tensor.static_shape
    return len(value.shape) == len(declared) and all(d in (-1, s) for d, s in zip(declared, value.shape))


def layer_tolerance(tolerance: Tolerance, expected: Any) -> Tolerance:
    """The tolerance of a layer row: ``atol`` scaled by the tensor's largest finite ``|expected|`` (when above 1).

    Intermediate activations are not normalised like outputs: after a BatchNorm with a small running variance
    values reach 10-100 while their neighbours sit near 0, and the absolute rounding error of a reduced-precision
    network grows with that range, not with each element. An unscaled atol flags such near-zero elements in
    every fp16/bf16 run; the scaled one keeps "first divergence" for real mistakes (shape changes, missing or
    wrong ops), which are off by the order of the values themselves."""
    values = expected.detach() if isinstance(expected, torch.Tensor) else torch.as_tensor(expected)
    if values.numel() == 0:
        return tolerance
    values = values if values.is_floating_point() else values.double()
    low, high = torch.aminmax(values)  # one pass, no temporary; NaN or inf only when some are
    peak = max(-float(low), float(high))
    if not math.isfinite(peak):
        finite = values[torch.isfinite(values)].abs()
        peak = float(finite.max()) if finite.numel() else 0.0
    return Tolerance(tolerance.atol * max(1.0, peak), tolerance.rtol)

