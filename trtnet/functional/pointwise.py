"""Pointwise math (``IUnaryLayer`` through :func:`unary`), comparisons and logic (``IElementWiseLayer`` through
:func:`elementwise`), ``clamp``, and ``where`` (``ISelectLayer``, lowered here)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import as_tensor, out, prepend_ones
from trtnet.functional.elementwise import elementwise, maximum, minimum
from trtnet.functional.promotion import result_type
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor


# ---- unary math -----------------------------------------------------------------------------
def sqrt(x: Tensor) -> Tensor:
    return unary("sqrt", x, "SQRT")


def rsqrt(x: Tensor) -> Tensor:
    """``1 / sqrt(x)`` (TensorRT has no reciprocal square root: two unary layers)."""
    return unary("rsqrt", sqrt(x), "RECIP")


def exp(x: Tensor) -> Tensor:
    return unary("exp", x, "EXP")


def log(x: Tensor) -> Tensor:
    return unary("log", x, "LOG")


def abs(x: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    return unary("abs", x, "ABS")


def reciprocal(x: Tensor) -> Tensor:
    return unary("reciprocal", x, "RECIP")


def sin(x: Tensor) -> Tensor:
    return unary("sin", x, "SIN")


def cos(x: Tensor) -> Tensor:
    return unary("cos", x, "COS")


def erf(x: Tensor) -> Tensor:
    return unary("erf", x, "ERF")


def floor(x: Tensor) -> Tensor:
    return unary("floor", x, "FLOOR")


def ceil(x: Tensor) -> Tensor:
    return unary("ceil", x, "CEIL")


def sign(input: Tensor) -> Tensor:
    return unary("sign", input, "SIGN")


def trunc(input: Tensor) -> Tensor:
    """``torch.trunc``: rounds toward zero (``ceil`` below 0, ``floor`` above); integers pass through."""
    if not input.dtype.is_float:
        return input
    return where(lt(input, 0), ceil(input), floor(input))


def logical_not(input: Tensor) -> Tensor:
    return unary("logical_not", _as_bool(input, "logical_not"), "NOT")


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.clamp``: ``min(max(x, min), max)``; either bound may be None (not both), a scalar or a tensor.
    When ``min > max`` every element becomes ``max``, as in PyTorch."""
    if min is None and max is None:
        raise TrtnetError("clamp: at least one of 'min' or 'max' must not be None")
    result = input
    if min is not None:
        result = maximum(result, min)
    if max is not None:
        result = minimum(result, max)
    return result


clip = clamp


# ---- comparisons and logic --------------------------------------------------------------------
def eq(a: Any, b: Any) -> Tensor:
    return elementwise("eq", a, b)


def ne(a: Any, b: Any) -> Tensor:
    return unary("ne", eq(a, b), "NOT")


def gt(a: Any, b: Any) -> Tensor:
    return elementwise("gt", a, b)


def lt(a: Any, b: Any) -> Tensor:
    return elementwise("lt", a, b)


def ge(a: Any, b: Any) -> Tensor:
    """``a >= b`` as ``(a > b) or (a == b)`` (NaN compares False, as in PyTorch)."""
    return elementwise("logical_or", gt(a, b), eq(a, b))


def le(a: Any, b: Any) -> Tensor:
    return elementwise("logical_or", lt(a, b), eq(a, b))


def _as_bool(x: Any, op: str) -> Tensor:
    """A bool tensor: others are ``x != 0`` (NaN is True), as torch's logical ops cast."""
    if isinstance(x, Tensor):
        return x if x.dtype is dtypes.bool_ else ne(x, 0)
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return as_tensor(np.asarray(builtins.bool(x)), dtype=dtypes.bool_)
    raise TrtnetError(f"{op} takes tensors, got {type(x).__name__}")


def logical_and(input: Any, other: Any) -> Tensor:
    return elementwise("logical_and", _as_bool(input, "logical_and"), _as_bool(other, "logical_and"))


def logical_or(input: Any, other: Any) -> Tensor:
    return elementwise("logical_or", _as_bool(input, "logical_or"), _as_bool(other, "logical_or"))


def logical_xor(input: Any, other: Any) -> Tensor:
    return elementwise("logical_xor", _as_bool(input, "logical_xor"), _as_bool(other, "logical_xor"))


def _bitwise(op: str, logical: Any, *operands: Any) -> Tensor:
    """Bitwise ops exist in TensorRT for bool only (where they are the logical ops)."""
    for value in operands:
        if isinstance(value, Tensor) and value.dtype is not dtypes.bool_:
            raise TrtnetError(f"{op} on {value.dtype.name} tensors is not supported: TensorRT has no bitwise "
                              "integer ops; for masks use bool tensors (comparison results) or torch.logical_* ")
    return logical(*operands)


def bitwise_and(input: Any, other: Any) -> Tensor:
    return _bitwise("bitwise_and", logical_and, input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:
    return _bitwise("bitwise_or", logical_or, input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    return _bitwise("bitwise_xor", logical_xor, input, other)


def bitwise_not(input: Tensor) -> Tensor:
    return _bitwise("bitwise_not", logical_not, input)


# ---- select -----------------------------------------------------------------------------------
def where(condition: Tensor, input: Any, other: Any, *, dtype: dtypes.DType | None = None) -> Tensor:
    """``torch.where(condition, input, other)``: one ``ISelectLayer``; the three operands broadcast, the branches
    are promoted as torch does (``dtype`` when both are scalars). A non-bool condition is ``condition != 0``."""
    if not isinstance(condition, Tensor):
        raise TrtnetError("where: condition must be a tensor (e.g. the result of x > 0)")
    condition = _as_bool(condition, "where")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        if dtype is None:
            raise TrtnetError("where: with two scalar branches give dtype=")
        target = dtype
    else:
        target = result_type(input, other, op="where")  # torch's type promotion of the branches
    rank = builtins.max(t.ndim for t in (condition, input, other) if isinstance(t, Tensor))
    a, b = (cast(t, target) if isinstance(t, Tensor) else graph.current().constant(np.asarray(t).reshape(
        (1,) * (rank - np.ndim(t)) + np.shape(t)), target) for t in (input, other))
    condition, a, b = (prepend_ones(t, rank - t.ndim) for t in (condition, a, b))
    for dims in zip(condition.static_shape, a.static_shape, b.static_shape):
        sizes = {d for d in dims if d not in (1, -1)}
        if len(sizes) > 1:
            raise ShapeError(f"where: shapes {condition.static_shape}, {a.static_shape} and {b.static_shape} don't broadcast")
    layer = graph.current().network.add_select(condition.itensor, a.itensor, b.itensor)
    return out(graph.current().add("where", layer))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``Tensor.masked_fill``: ``value`` (converted to ``input``'s dtype, as torch) where ``mask`` is True."""
    value = cast(value, input.dtype) if isinstance(value, Tensor) else as_tensor(value, like=input, dtype=input.dtype)
    return where(mask, value, input)
