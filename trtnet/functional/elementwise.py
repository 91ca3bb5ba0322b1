"""Binary elementwise ops (one ``IElementWiseLayer`` each), with PyTorch broadcasting."""

from __future__ import annotations

from typing import Any

from trtnet import graph
from trtnet.functional._util import broadcast_operands, out, trt
from trtnet.tensor import Tensor

_OPERATIONS = {
    "add": "SUM", "sub": "SUB", "mul": "PROD", "div": "DIV", "pow": "POW", "maximum": "MAX",
    "minimum": "MIN", "floor_divide": "FLOOR_DIV", "eq": "EQUAL", "gt": "GREATER", "lt": "LESS",
    "logical_and": "AND", "logical_or": "OR", "logical_xor": "XOR",
}


def elementwise(op: str, a: Any, b: Any) -> Tensor:
    """Lower ``op`` (a key of the table above) on two operands; scalars become constants of the tensor's dtype."""
    a, b = broadcast_operands(a, b, op)
    operation = getattr(trt().ElementWiseOperation, _OPERATIONS[op])
    layer = graph.current().network.add_elementwise(a.itensor, b.itensor, operation)
    return out(graph.current().add(op, layer))


def add(a: Any, b: Any) -> Tensor:
    return elementwise("add", a, b)


def sub(a: Any, b: Any) -> Tensor:
    return elementwise("sub", a, b)


def mul(a: Any, b: Any) -> Tensor:
    return elementwise("mul", a, b)


def div(a: Any, b: Any) -> Tensor:
    return elementwise("div", a, b)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    return elementwise("pow", a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return elementwise("maximum", a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return elementwise("minimum", a, b)
