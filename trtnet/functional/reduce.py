"""Reductions over dims (``IReduceLayer``): mean, sum, prod, amax, amin, and the stable ``logsumexp``."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out, trt
from trtnet.functional.dims import reshape_to
from trtnet.functional.unary import cast, unary
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


def _accumulator(op: str, x: Tensor, dtype: dtypes.DType | str | None) -> Tensor:
    """``x`` in the dtype torch reduces in: ``dtype`` if given, else int64 for integer and bool inputs."""
    if dtype is not None:
        return cast(x, dtypes.get(dtype))
    return x if x.dtype.is_float else cast(x, dtypes.int64)


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: dtypes.DType | str | None = None) -> Tensor:
    if dtype is not None:
        input = cast(input, dtypes.get(dtype))
    if not input.dtype.is_float:
        raise TrtnetError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                          f"complex dtype. Got: {input.dtype.name}")
    return reduce("mean", input, dim, keepdim, "AVG")


def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,  # noqa: A001
        dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.sum``; integer and bool inputs sum in int64, as torch."""
    return reduce("sum", _accumulator("sum", input, dtype), dim, keepdim, "SUM")


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.prod`` over one dim (all elements when None); integer and bool inputs multiply in int64."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TrtnetError(f"prod: dim must be an int or None, got {dim!r}")
    return reduce("prod", _accumulator("prod", input, dtype), dim, keepdim, "PROD")


def _empty_reduced_dims(x: Tensor, dim: int | Sequence[int] | None) -> list[int]:
    """The dims of ``x`` reduced over (all when None or empty) whose static size is 0."""
    wanted = [] if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if x.ndim == 0:
        return []
    dims = [normalize_dim(d, x.ndim) for d in wanted] or list(range(x.ndim))
    return [d for d in dims if x.static_shape[d] == 0]


def refuse_empty_extreme(op: str, x: Tensor, dim: int | Sequence[int] | None) -> None:
    """PyTorch's error for a max/min over an empty dim (it has no identity)."""
    empty = _empty_reduced_dims(x, dim)
    if empty and (dim is None or dim == ()) and op in ("max", "min", "argmax", "argmin"):
        tail = "" if op.startswith("arg") else " Specify the reduction dim with the 'dim' argument."
        raise ShapeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.{tail}")
    if empty:
        raise ShapeError(f"{op}(): Expected reduction dim {empty[0]} to have non-zero size.")


def amax(input: Tensor, dim: int | Sequence[int] | None = (), keepdim: bool = False) -> Tensor:
    refuse_empty_extreme("amax", input, dim)
    return reduce("amax", input, dim, keepdim, "MAX")


def amin(input: Tensor, dim: int | Sequence[int] | None = (), keepdim: bool = False) -> Tensor:
    refuse_empty_extreme("amin", input, dim)
    return reduce("amin", input, dim, keepdim, "MIN")


def logsumexp(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """``torch.logsumexp``: ``m + log(sum(exp(x - m)))`` with ``m`` the max over ``dim`` (taken as 0 where it is
    infinite, so all-``-inf`` rows give ``-inf`` and ``+inf`` rows ``+inf``, as torch). Integers become float32."""
    from trtnet.functional.elementwise import add, sub
    from trtnet.functional.pointwise import abs as absolute, exp, log, where

    x = input if input.dtype.is_float else cast(input, dtypes.float32)
    if _empty_reduced_dims(x, dim):  # torch: log(0) = -inf, no max to subtract
        return log(reduce("logsumexp", exp(x), dim, keepdim, "SUM"))
    peak = amax(x, dim, keepdim=True)
    peak = where(unary("logsumexp_isinf", absolute(peak), "ISINF"), 0.0, peak)
    total = log(reduce("logsumexp", exp(sub(x, peak)), dim, keepdim, "SUM"))
    return add(total, peak if keepdim else reduce("logsumexp_peak", peak, dim, False, "MAX"))
