"""Reductions over dims (``IReduceLayer``): mean, sum, amax, amin."""

from __future__ import annotations

from typing import Sequence

from trtnet import graph
from trtnet.functional._util import normalize_dim, out, trt
from trtnet.tensor import Tensor


def reduce(op: str, x: Tensor, dim: int | Sequence[int] | None, keepdim: bool, operation: str) -> Tensor:
    """Lower one ``ReduceOperation`` over ``dim`` (all dims when None)."""
    dims = range(x.ndim) if dim is None else ([dim] if isinstance(dim, int) else dim)
    axes = 0
    for d in dims:
        axes |= 1 << normalize_dim(d, x.ndim)
    layer = graph.current().network.add_reduce(x.itensor, getattr(trt().ReduceOperation, operation), axes, keepdim)
    return out(graph.current().add(op, layer))


def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return reduce("mean", x, dim, keepdim, "AVG")


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return reduce("sum", x, dim, keepdim, "SUM")


def amax(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return reduce("amax", x, dim, keepdim, "MAX")


def amin(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return reduce("amin", x, dim, keepdim, "MIN")
