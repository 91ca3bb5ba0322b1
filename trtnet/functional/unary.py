"""Unary math (``IUnaryLayer``) and dtype casts (``ICastLayer``)."""

from __future__ import annotations

from trtnet import dtypes, graph
from trtnet.functional._util import out, trt
from trtnet.tensor import Tensor


def unary(op: str, x: Tensor, operation: str) -> Tensor:
    """Lower one ``UnaryOperation`` (by name) on ``x``."""
    layer = graph.current().network.add_unary(x.itensor, getattr(trt().UnaryOperation, operation))
    return out(graph.current().add(op, layer))


def neg(x: Tensor) -> Tensor:
    return unary("neg", x, "NEG")


def cast(x: Tensor, dtype: dtypes.DType | str) -> Tensor:
    """``x`` converted to ``dtype``; a no-op when it already has it."""
    dtype = dtypes.get(dtype)
    if x.dtype is dtype:
        return x
    layer = graph.current().network.add_cast(x.itensor, dtype.to_trt())
    return out(graph.current().add("cast", layer), static_shape=x.static_shape, dtype=dtype)
