"""Reductions over dims (``IReduceLayer``): mean, sum, amax, amin."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError
from trtnet.functional._util import normalize_dim, out, trt
from trtnet.functional.dims import reshape_to
from trtnet.tensor import Tensor


def reduce(op: str, x: Tensor, dim: int | Sequence[int] | None, keepdim: bool, operation: str) -> Tensor:
    """Lower one ``ReduceOperation`` over ``dim``: all dims when None or empty (``dim=()``), as PyTorch.

    A 0-d ``x`` (dims 0 and -1 name it, as in PyTorch) is reduced as a 1-element vector and stays 0-d."""
    wanted = [] if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if x.ndim == 0:
        for d in wanted:
            if d not in (-1, 0):
                raise ShapeError(f"{op}: dim={d} is out of range for a 0-d tensor (expected to be in [-1, 0])")
        x, dims, keepdim = reshape_to(op, x, [1], [None]), [0], False
    else:
        dims = [normalize_dim(d, x.ndim) for d in wanted] or list(range(x.ndim))
    for d in set(dims):
        if dims.count(d) > 1:
            raise ShapeError(f"{op}: dim {d} appears multiple times in the list of dims")
    axes = 0
    for d in dims:
        axes |= 1 << d
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
