"""Spread and size of tensors, composed of reductions and elementwise layers: ``var``, ``std``, ``vector_norm``,
``norm``."""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError, TrtnetWarning
from trtnet.functional._util import normalize_dim
from trtnet.functional.elementwise import div, mul, pow, sub
from trtnet.functional.pointwise import abs as absolute, ne, sqrt
from trtnet.functional.reduce import amax, amin, mean, sum as reduce_sum
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor

Dims = int | Sequence[int] | None


def _count(op: str, x: Tensor, dim: Dims) -> int:
    """How many elements each reduction over ``dim`` takes (those dims must be static)."""
    wanted = [] if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    dims = [normalize_dim(d, max(x.ndim, 1)) for d in wanted] or list(range(x.ndim))
    sizes = [x.static_shape[d] for d in dims] if x.ndim else [1]
    if -1 in sizes:
        raise ShapeError(f"{op}: the reduced dims {tuple(dims)} of {x.static_shape} must be static")
    return math.prod(sizes)


def var(input: Tensor, dim: Dims | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """``torch.var``: ``sum((x - mean)^2) / max(0, N - correction)`` over ``dim`` (all when None); ``correction``
    defaults to 1, ``unbiased=False`` means 0 (``var(x, False)`` as torch's old overload). Reduced dims are static."""
    if isinstance(dim, bool):  # torch.var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TrtnetError("var: give either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not input.dtype.is_float:
        raise TrtnetError(f"std and var only support floating point and complex dtypes, got {input.dtype.name}")
    if input.dtype is not dtypes.float32:  # squares summed in float32, rounded once (torch's opmath)
        return cast(var(cast(input, dtypes.float32), dim, None, keepdim, correction=correction), input.dtype)
    n = _count("var", input, dim)
    if n - correction <= 0:
        warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      f"factor (input numel divided by output numel): N={n}, correction={correction}",
                      TrtnetWarning, stacklevel=2)
    centered = sub(input, mean(input, dim, keepdim=True))
    squares = reduce_sum(mul(centered, centered), dim, keepdim)
    return div(squares, float(max(0.0, n - correction)))


def std(input: Tensor, dim: Dims | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """``torch.std``: ``sqrt(var(...))``, same arguments."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def vector_norm(x: Tensor, ord: float = 2, dim: Dims = None, keepdim: bool = False, *,  # noqa: A002
                dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.linalg.vector_norm``: ``ord`` 2, 1, inf (max ``|x|``), -inf (min ``|x|``), 0 (count of non-zeros)
    or any p (``sum(|x|^p)^(1/p)``) over ``dim`` (all when None)."""
    if dtype is not None:
        x = cast(x, dtypes.get(dtype))
    if not x.dtype.is_float:
        raise TrtnetError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype.name}")
    if x.dtype is not dtypes.float32:  # torch's opmath: |x|^p summed in float32 (fp16 would overflow), rounded once
        return cast(vector_norm(cast(x, dtypes.float32), ord, dim, keepdim), x.dtype)
    if isinstance(ord, str):
        raise TrtnetError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    dims = () if dim is None else dim
    if ord == 0:
        return reduce_sum(cast(ne(x, 0), x.dtype), dims, keepdim, dtype=x.dtype)
    size = absolute(x)
    if ord == math.inf:
        return amax(size, dims, keepdim)
    if ord == -math.inf:
        return amin(size, dims, keepdim)
    if ord == 1:
        return reduce_sum(size, dims, keepdim)
    if ord == 2:
        return sqrt(reduce_sum(mul(x, x), dims, keepdim))
    return pow(reduce_sum(pow(size, float(ord)), dims, keepdim), 1.0 / ord)


def norm(input: Tensor, p: Any = "fro", dim: Dims = None, keepdim: bool = False,
         dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.norm``: ``"fro"`` (the 2-norm over ``dim``, all when None) or a number ``p`` (``vector_norm``);
    ``"nuc"`` (singular values) is refused."""
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        raise TrtnetError(f"norm: p={p!r} is not supported (TensorRT has no singular value decomposition); "
                          "use p='fro' or a number")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)
