"""Which size a tensor dim is: a dynamic dim traced back through the layers that keep it to the size it equals.

:func:`origin` walks pointwise layers, broadcasting (the one dynamic operand, or all agreeing), matmul, shuffles
(permutation, 0 placeholders, the inferred -1, a shape-tensor input), concatenation (the sum along the axis),
reductions, gathers, and layers shaped by a shape tensor (slice, fill, resize), whose elements
:func:`shape_value` reads through constants, SHAPE, gathers, static slices, concatenation and int arithmetic.
Usually that ends at a network input's dim, so ``y.size(0) == x.size(0)`` is decided and both materialize as the
same layers; a layer it doesn't know makes the dim its own size (correct values, fewer decisions). Memoized per
graph by tensor name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trtnet import graph, netinfo
from trtnet.errors import ShapeError
from trtnet.symbolic import INF, SymInt, dim_size, dims_of, graph_state


def _dims(g: graph.Graph, itensor: Any) -> tuple[int, ...]:
    """``itensor``'s build-time shape, read from TensorRT once per graph and tensor name."""
    dims = graph_state(g)["dims"]
    if itensor.name not in dims:
        dims[itensor.name] = dims_of(itensor)
    return dims[itensor.name]


#: How many layers a size is traced back through at most (beyond, it is that tensor's own dim).
MAX_TRACE_DEPTH = 200


def origin(g: graph.Graph, itensor: Any, dim: int) -> "SymInt | int":
    """The size dim ``dim`` of ``itensor`` is, traced back through the layers that keep it (memoized by name)."""
    graph.flush_names()  # memos and producers are keyed by TensorRT's tensor names
    state = graph_state(g)
    memo_key = (itensor.name, dim)
    if memo_key in state["origins"]:
        return state["origins"][memo_key]
    static = _dims(g, itensor)[dim]
    if static != -1:
        return static
    if memo_key not in state["origins"]:
        if state["depth"] >= MAX_TRACE_DEPTH:
            return _leaf(g, itensor, dim)
        state["depth"] += 1
        try:
            state["origins"][memo_key] = _trace_back(g, itensor, dim)
        finally:
            state["depth"] -= 1
    return state["origins"][memo_key]


def _producer(g: graph.Graph, itensor: Any) -> tuple[str, Any, list[Any]] | None:
    """(LayerType name, the downcast layer, its inputs) of the layer making ``itensor``, read once per graph."""
    if itensor.is_network_input:
        return None
    producers = graph_state(g)["producers"]
    if itensor.name not in producers:
        layer = g.producer(itensor.name)
        if layer is not None:
            kind = g.backend.trt.ILayer.type.fget(layer).name  # ILayer's: a downcast layer's .type may be its own
            _, layer = netinfo.downcast(layer)
            layer = (kind, layer, [layer.get_input(i) for i in range(layer.num_inputs)])
        producers[itensor.name] = layer
    return producers[itensor.name]


def _leaf(g: graph.Graph, itensor: Any, dim: int) -> "SymInt | int":
    from trtnet.tensor import Tensor

    name = itensor.name
    if itensor.is_network_input:
        low, high = graph_state(g)["ranges"].get(name, ((0,) * (dim + 1), (INF,) * (dim + 1)))
        if low[dim] == high[dim]:  # a profile fixing a dynamic dim: the size is that int
            return int(low[dim])
        return dim_size(("input", name, dim), low[dim], high[dim], Tensor(itensor), dim, f"{name}.size({dim})")
    return dim_size(("dim", name, dim), 0, INF, Tensor(itensor), dim, f"{name}.size({dim})")


_SHAPED_BY = {"SLICE": 2, "FILL": 0, "RESIZE": 1}  # layers whose output shape may be an input shape tensor
_SAME_SHAPE = {"ACTIVATION", "UNARY", "CAST", "IDENTITY", "SOFTMAX", "CUMULATIVE", "QUANTIZE", "DEQUANTIZE",
               "PARAMETRIC_RELU", "NORMALIZATION", "SCALE", "LRN"}
_BROADCAST = {"ELEMENTWISE", "SELECT"}


def _trace_back(g: graph.Graph, itensor: Any, dim: int) -> "SymInt | int":
    producer = _producer(g, itensor)
    if producer is None:
        return _leaf(g, itensor, dim)
    kind, layer, inputs = producer
    rank = len(_dims(g, itensor))
    found: Any = None
    if kind in _SAME_SHAPE and inputs and len(_dims(g, inputs[0])) == rank:
        found = origin(g, inputs[0], dim)
    elif kind in _BROADCAST or (kind == "CONCATENATION" and dim != layer.axis):
        found = _broadcast(g, [t for t in inputs if t is not None and len(_dims(g, t)) == rank], dim)
    elif kind == "CONCATENATION":
        found = sum(origin(g, t, dim) for t in inputs)
    elif kind == "MATRIX_MULTIPLY":
        found = _matmul(g, layer, inputs, rank, dim)
    elif kind == "SHUFFLE":
        found = _shuffle(g, layer, inputs, dim)
    elif kind in _SHAPED_BY and len(inputs) > _SHAPED_BY[kind] and inputs[_SHAPED_BY[kind]] is not None:
        found = _positive(shape_value(g, inputs[_SHAPED_BY[kind]], dim))
    elif kind == "REDUCE":
        axes = [a for a in range(len(_dims(g, inputs[0]))) if layer.axes >> a & 1]
        kept = list(range(len(_dims(g, inputs[0])))) if layer.keep_dims else [a for a in range(len(_dims(g, inputs[0]))) if a not in axes]
        if dim < len(kept) and kept[dim] not in axes:
            found = origin(g, inputs[0], kept[dim])
    elif kind in ("CONVOLUTION", "DECONVOLUTION", "POOLING", "RESIZE") and dim == 0:
        found = origin(g, inputs[0], 0)
    elif kind == "POOLING" and dim == 1:
        found = origin(g, inputs[0], 1)
    elif kind == "GATHER" and layer.num_elementwise_dims == 0:
        found = _gather(g, layer, inputs, dim)
    return found if found is not None else _leaf(g, itensor, dim)


def _positive(value: "SymInt | int | None") -> "SymInt | int | None":
    """A size read from a shape tensor, None for TensorRT's 0 and -1 placeholders (traced by their own rules)."""
    return None if isinstance(value, int) and value <= 0 else value


_VALUE_OPS = {"SUM": lambda a, b: a + b, "SUB": lambda a, b: a - b, "PROD": lambda a, b: a * b,
              "FLOOR_DIV": lambda a, b: a // b, "MAX": lambda a, b: a if a >= b else b,
              "MIN": lambda a, b: a if a <= b else b}


def shape_value(g: graph.Graph, itensor: Any, index: int) -> "SymInt | int | None":
    """Element ``index`` of a 0-/1-D int shape tensor as a size, when the layers computing it are ones sizes
    pass through (constants, shapes, gathers, static slices, concatenation, int arithmetic); else None."""
    graph.flush_names()
    recorded = graph_state(g)["shapes"].get(itensor.name)
    if recorded is not None:
        return recorded[index] if index < len(recorded) else None
    shape = _dims(g, itensor)
    if len(shape) > 1 or itensor.is_network_input or (shape and shape[0] != -1 and index >= shape[0]):
        return None
    values = graph_state(g)["values"]
    key = (itensor.name, index)
    if key not in values:
        values[key] = None  # a cycle or a failure leaves it unknown
        try:
            values[key] = _compute_value(g, itensor, index)
        except (ShapeError, ZeroDivisionError):
            pass
    return values[key]


def _compute_value(g: graph.Graph, itensor: Any, index: int) -> "SymInt | int | None":
    producer = _producer(g, itensor)
    if producer is None:
        return None
    kind, layer, inputs = producer

    def element(tensor: Any, at: int) -> "SymInt | int | None":
        shape = _dims(g, tensor)
        return shape_value(g, tensor, 0 if shape in ((), (1,)) else at)

    if kind == "CONSTANT":
        flat = np.asarray(layer.weights).reshape(-1)
        return int(flat[index]) if index < flat.size and flat.dtype.kind in "iu" else None
    if kind == "SHAPE":
        return origin(g, inputs[0], index)
    if kind in ("CAST", "IDENTITY") or (kind == "SHUFFLE" and len(inputs) == 1 and _dims(g, inputs[0]) in ((), (1,))):
        return element(inputs[0], index)
    if kind == "CONCATENATION":
        for piece in inputs:
            length = _dims(g, piece)[0] if _dims(g, piece) else 1
            if length == -1:
                return None
            if index < length:
                return shape_value(g, piece, index)
            index -= length
        return None
    if kind == "SLICE":
        if any(t is not None for t in inputs[1:4]) or layer.mode != g.backend.trt.SampleMode.STRICT_BOUNDS:
            return None
        return shape_value(g, inputs[0], layer.start[0] + index * layer.stride[0]) if len(layer.start) == 1 else None
    if kind == "GATHER" and layer.mode == g.backend.trt.GatherMode.DEFAULT and layer.axis == 0:
        at = element(inputs[1], index)
        return shape_value(g, inputs[0], at) if isinstance(at, int) and at >= 0 else None
    if kind == "ELEMENTWISE" and layer.op.name in _VALUE_OPS:
        a, b = element(inputs[0], index), element(inputs[1], index)
        return None if a is None or b is None else _VALUE_OPS[layer.op.name](a, b)
    return None


def _broadcast(g: graph.Graph, inputs: list[Any], dim: int) -> "SymInt | int | None":
    """The broadcast dim: the one dynamic operand's, or the shared one when every dynamic operand agrees."""
    dynamic = [origin(g, t, dim) for t in inputs if _dims(g, t)[dim] == -1]
    others = {_dims(g, t)[dim] for t in inputs if _dims(g, t)[dim] != -1}
    if not dynamic or others - {1}:
        return None
    first = dynamic[0]
    if all(isinstance(d, SymInt) and d.same(first) for d in dynamic) and not isinstance(first, int):
        return first
    return None


def _matmul(g: graph.Graph, layer: Any, inputs: list[Any], rank: int, dim: int) -> "SymInt | int | None":
    trt = g.backend.trt
    ops = (layer.op0, layer.op1)
    if trt.MatrixOperation.VECTOR in ops or any(len(_dims(g, t)) != rank for t in inputs):
        return None
    if dim < rank - 2:
        return _broadcast(g, inputs, dim)
    if dim == rank - 2:
        return origin(g, inputs[0], rank - 2 if ops[0] == trt.MatrixOperation.NONE else rank - 1)
    return origin(g, inputs[1], rank - 1 if ops[1] == trt.MatrixOperation.NONE else rank - 2)


def _shuffle(g: graph.Graph, layer: Any, inputs: list[Any], dim: int) -> "SymInt | int | None":
    second = list(layer.second_transpose)
    d = second[dim] if dim < len(second) else dim
    if len(inputs) > 1 and inputs[1] is not None:
        return _positive(shape_value(g, inputs[1], d))
    source = inputs[0]
    first = list(layer.first_transpose)[:len(_dims(g, source))]
    transposed = [origin(g, source, p) for p in first]
    reshape = layer.reshape_dims
    if reshape is None:
        return transposed[d] if d < len(transposed) else None
    reshape = list(reshape)
    if d >= len(reshape):
        return None
    if reshape[d] == 0 and layer.zero_is_placeholder:
        return transposed[d]
    if reshape[d] == -1:
        known = math.prod(transposed[k] if (v == 0 and layer.zero_is_placeholder) else v
                          for k, v in enumerate(reshape) if k != d)
        if isinstance(known, int) and known == 0:
            return None
        return math.prod(transposed) // known
    return None


def _gather(g: graph.Graph, layer: Any, inputs: list[Any], dim: int) -> "SymInt | int | None":
    data, indices = inputs[0], inputs[1]
    axis = layer.axis
    if layer.mode == g.backend.trt.GatherMode.ELEMENT:
        return origin(g, indices, dim)
    if layer.mode != g.backend.trt.GatherMode.DEFAULT:
        return None
    q = len(_dims(g, indices))
    if dim < axis:
        return origin(g, data, dim)
    if dim < axis + q:
        return origin(g, indices, dim - axis)
    return origin(g, data, dim - q + 1)
