"""Pointwise math (``IUnaryLayer`` through :func:`unary`), comparisons and logic (``IElementWiseLayer`` through
:func:`elementwise`), ``clamp``, and ``where`` (``ISelectLayer``, lowered here)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import out, prepend_ones
from trtnet.functional.elementwise import elementwise, maximum, minimum
from trtnet.functional.unary import unary
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


def logical_not(x: Tensor) -> Tensor:
    return unary("logical_not", _as_bool(x, "logical_not"), "NOT")


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
    if not isinstance(x, Tensor) or x.dtype is not dtypes.bool_:
        raise TrtnetError(f"{op} takes bool tensors (comparison results); got "
                          f"{x.dtype.name if isinstance(x, Tensor) else type(x).__name__}")
    return x


def logical_and(a: Tensor, b: Tensor) -> Tensor:
    return elementwise("logical_and", _as_bool(a, "logical_and"), _as_bool(b, "logical_and"))


def logical_or(a: Tensor, b: Tensor) -> Tensor:
    return elementwise("logical_or", _as_bool(a, "logical_or"), _as_bool(b, "logical_or"))


def logical_xor(a: Tensor, b: Tensor) -> Tensor:
    return elementwise("logical_xor", _as_bool(a, "logical_xor"), _as_bool(b, "logical_xor"))


# ---- select -----------------------------------------------------------------------------------
def where(condition: Tensor, input: Any, other: Any, *, dtype: dtypes.DType | None = None) -> Tensor:
    """``torch.where(condition, input, other)``: one ``ISelectLayer``; the three operands broadcast.

    Python scalars take the dtype of the other (tensor) operand, or ``dtype`` when both are scalars."""
    if not isinstance(condition, Tensor) or condition.dtype is not dtypes.bool_:
        raise TrtnetError("where: condition must be a bool tensor (e.g. the result of x > 0)")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    if like is None and dtype is None:
        raise TrtnetError("where: with two scalar branches give dtype=")
    target = like.dtype if like is not None else dtype
    rank = builtins.max(t.ndim for t in (condition, input, other) if isinstance(t, Tensor))
    a, b = (t if isinstance(t, Tensor) else graph.current().constant(np.asarray(t).reshape(
        (1,) * (rank - np.ndim(t)) + np.shape(t)), target) for t in (input, other))
    if a.dtype is not b.dtype:
        raise TrtnetError(f"where: branches are {a.dtype.name} and {b.dtype.name}; networks are strongly typed, "
                          "cast one with .to()")
    condition, a, b = (prepend_ones(t, rank - t.ndim) for t in (condition, a, b))
    for dims in zip(condition.static_shape, a.static_shape, b.static_shape):
        sizes = {d for d in dims if d not in (1, -1)}
        if len(sizes) > 1:
            raise ShapeError(f"where: shapes {condition.static_shape}, {a.static_shape} and {b.static_shape} don't broadcast")
    layer = graph.current().network.add_select(condition.itensor, a.itensor, b.itensor)
    return out(graph.current().add("where", layer))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``Tensor.masked_fill``: ``value`` where ``mask`` is True."""
    return where(mask, value, input)
