"""Binary elementwise ops (one ``IElementWiseLayer`` each), with PyTorch broadcasting and type promotion; the
division family (``div`` rounding modes, ``floor_divide``, ``remainder``, ``fmod``) composed from them."""

from __future__ import annotations

from typing import Any

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import TrtnetError
from trtnet.functional._util import broadcast_operands, broadcast_shape
from trtnet.functional.promotion import promoted, result_type
from trtnet.functional.quantize import quantized_add_operands
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

_OPERATIONS = {
    "add": "SUM", "sub": "SUB", "mul": "PROD", "div": "DIV", "pow": "POW", "maximum": "MAX",
    "minimum": "MIN", "floor_divide": "FLOOR_DIV", "eq": "EQUAL", "gt": "GREATER", "lt": "LESS",
    "logical_and": "AND", "logical_or": "OR", "logical_xor": "XOR",
}
_COMPARISONS = {"eq", "gt", "lt"}  # bool results; the others keep the operands' (promoted) dtype


def elementwise(op: str, a: Any, b: Any) -> Tensor:
    """Lower ``op`` (a key of the table above) on two operands promoted to one dtype (``torch.result_type``)."""
    a, b = broadcast_operands(a, b, op)
    g = graph.current()
    if op == "add" and g.quantization is not None:
        a, b = quantized_add_operands(a, b)  # Q/DQ on a residual add's identity branch under a quantization plan
    operation = getattr(g.backend.trt.ElementWiseOperation, _OPERATIONS[op])
    layer = g.network.add_elementwise(a.itensor, b.itensor, operation)
    dtype = dtypes.bool_ if op in _COMPARISONS else a.dtype
    return g.output(op, layer, broadcast_shape(a, b), dtype)


def _scaled(other: Any, alpha: Any, op: str, input: Any) -> Any:
    """``alpha * other`` for add/sub (torch refuses a float alpha with integer operands)."""
    if alpha == 1:
        return other
    if isinstance(alpha, float) and not result_type(input, other, op=op).is_float:
        raise TrtnetError(f"{op}: For integral input tensors, argument alpha must not be a floating point number.")
    return mul(other, alpha) if isinstance(other, Tensor) else other * alpha


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``torch.add``: ``input + alpha * other``."""
    return elementwise("add", input, _scaled(other, alpha, "add", input))


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``torch.sub``: ``input - alpha * other``."""
    return elementwise("sub", input, _scaled(other, alpha, "sub", input))


def mul(input: Any, other: Any) -> Tensor:
    return elementwise("mul", input, other)


def _float_operands(input: Any, other: Any, op: str) -> tuple[Any, Any]:
    """Integer and bool operands of a true division become float32, as torch's ``/``."""
    if result_type(input, other, op=op).is_float:
        return input, other
    return tuple(promoted(v, dtypes.float32) if isinstance(v, (Tensor, Parameter, np.ndarray)) else float(v)
                 for v in (input, other))


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``torch.div``: true division (integers give float32), ``rounding_mode="trunc"`` rounds toward zero,
    ``"floor"`` toward -inf (``floor_divide``)."""
    if rounding_mode is None:
        return elementwise("div", *_float_operands(input, other, "div"))
    if rounding_mode == "floor":
        return elementwise("floor_divide", input, other)
    if rounding_mode == "trunc":
        return _in_float32("div", input, other, _trunc_divide)
    raise TrtnetError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}")


true_divide = divide = div


def floor_divide(input: Any, other: Any) -> Tensor:
    """``torch.floor_divide`` (``//``): the quotient rounded toward -inf, as Python."""
    return elementwise("floor_divide", input, other)


def _in_float32(op: str, input: Any, other: Any, compose: Any) -> Tensor:
    """``compose(input, other)`` in float32 for float16/bfloat16 operands, rounded once at the end (torch's opmath:
    a rounded intermediate quotient would truncate to the wrong integer)."""
    dtype = result_type(input, other, op=op)
    if dtype not in (dtypes.float16, dtypes.bfloat16):
        return compose(input, other)
    from trtnet.functional.unary import cast

    wide = [cast(v, dtypes.float32) if isinstance(v, Tensor) else v for v in (input, other)]
    return cast(compose(*wide), dtype)


def _trunc_divide(input: Any, other: Any) -> Tensor:
    if result_type(input, other, op="div").is_float:
        from trtnet.functional.pointwise import trunc

        return trunc(elementwise("div", input, other))
    return elementwise("div", input, other)  # integer DIV truncates toward zero


def remainder(input: Any, other: Any) -> Tensor:
    """``torch.remainder`` (``%``): ``input - floor_divide(input, other) * other``, the sign of ``other`` as Python."""
    return _in_float32("remainder", input, other, lambda a, b: sub(a, mul(floor_divide(a, b), b)))


def fmod(input: Any, other: Any) -> Tensor:
    """``torch.fmod``: ``input - trunc(input / other) * other``, the sign of ``input`` as C."""
    return _in_float32("fmod", input, other, lambda a, b: sub(a, mul(_trunc_divide(a, b), b)))


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    return elementwise("pow", input, exponent)


def maximum(input: Any, other: Any) -> Tensor:
    """``torch.maximum`` (NaN propagates); on bool tensors a logical or."""
    if result_type(input, other, op="maximum") is dtypes.bool_:
        return elementwise("logical_or", input, other)
    return elementwise("maximum", input, other)


def minimum(input: Any, other: Any) -> Tensor:
    """``torch.minimum`` (NaN propagates); on bool tensors a logical and."""
    if result_type(input, other, op="minimum") is dtypes.bool_:
        return elementwise("logical_and", input, other)
    return elementwise("minimum", input, other)
