"""``argmax``/``argmin`` and ``max``/``min`` in all of torch's forms (all elements, ``dim`` with (values, indices),
two tensors).

The index is exact and the first occurrence, as eager PyTorch on the CPU: ``min(where(x == extreme, position, n))``
over the dim; a row holding NaN gives its first NaN (NaN is the extreme both ways, as in torch). The values are then
an element gather at that index, so values and indices always agree.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim
from trtnet.functional.dims import squeeze
from trtnet.functional.elementwise import maximum, minimum
from trtnet.functional.gathering import gather_layer, positions
from trtnet.functional.pointwise import eq, gt, where
from trtnet.functional.reduce import amax, amin, refuse_empty_extreme
from trtnet.functional.shape import reshape
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor


_NO_HIT = 2**31 - 1  # the position of a non-extreme entry: above every real one


class MaxMin(NamedTuple):
    """``(values, indices)`` like ``torch.return_types.max``; indices are int64."""

    values: Tensor
    indices: Tensor


def _first_extreme(op: str, x: Tensor, d: int, largest: bool) -> Tensor:
    """int32 index (dim ``d`` kept, size 1) of the first largest/smallest entry along dim ``d``."""
    work = cast(x, dtypes.int32) if x.dtype is dtypes.bool_ else x
    hit = eq(work, (amax if largest else amin)(work, d, keepdim=True))
    if x.dtype.is_float:
        nan = unary(f"{op}_isnan", x, "ISNAN")
        row_has_nan = gt(amax(cast(nan, dtypes.int32), d, keepdim=True), 0)
        hit = where(row_has_nan, nan, hit)
    return amin(where(hit, positions(x, d), _NO_HIT), d, keepdim=True)


def _reduce_all(op: str, x: Tensor, keepdim: bool, largest: bool) -> tuple[Tensor, Tensor]:
    if -1 in x.static_shape:
        raise ShapeError(f"{op}: without dim, the input {x.static_shape} must be static")
    refuse_empty_extreme(op, x, None)
    flat = reshape(x, (-1,))
    index = _first_extreme(op, flat, 0, largest)
    values = gather_layer(f"{op}_value", flat, index, 0, mode="element")
    shape = (1,) * x.ndim if keepdim else ()
    return reshape(values, shape), reshape(cast(index, dtypes.int64), shape)


def _along(op: str, x: Tensor, dim: int, keepdim: bool, largest: bool) -> MaxMin:
    if x.ndim == 0:  # as a 1-element vector (the index is computed, never a bare constant output)
        normalize_dim(dim, 1)
        return _along(op, reshape(x, (1,)), 0, False, largest)
    d = normalize_dim(dim, x.ndim)
    refuse_empty_extreme(op, x, d)
    index = _first_extreme(op, x, d, largest)
    values = gather_layer(f"{op}_value", x, index, d, mode="element")
    index = cast(index, dtypes.int64)
    return MaxMin(values, index) if keepdim else MaxMin(squeeze(values, d), squeeze(index, d))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """``torch.argmax``: int64 index of the first maximum along ``dim`` (of the flattened input when None)."""
    if input.dtype is dtypes.bool_:
        raise TrtnetError("argmax(): does not support bool input")
    if dim is None:
        return _reduce_all("argmax", input, keepdim, True)[1]
    return _along("argmax", input, dim, keepdim, True).indices


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """``torch.argmin``: int64 index of the first minimum along ``dim`` (of the flattened input when None)."""
    if input.dtype is dtypes.bool_:
        raise TrtnetError("argmin(): does not support bool input")
    if dim is None:
        return _reduce_all("argmin", input, keepdim, False)[1]
    return _along("argmin", input, dim, keepdim, False).indices


def _extreme(op: str, input: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor | MaxMin:
    if isinstance(dim, Tensor):
        if keepdim:
            raise TrtnetError(f"{op}(input, other) takes no keepdim")
        return (maximum if largest else minimum)(input, dim)
    if dim is None:
        return _reduce_all(op, input, False, largest)[0]
    if not isinstance(dim, (int, np.integer)):
        raise TrtnetError(f"{op}: dim must be an int or a tensor (the other operand), got {dim!r}")
    return _along(op, input, int(dim), keepdim, largest)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxMin:  # noqa: A001 - PyTorch's name
    """``torch.max``: of all elements (0-d); ``max(input, dim, keepdim=False)`` -> ``(values, indices)``;
    ``max(input, other)`` -> ``maximum``."""
    return _extreme("max", input, dim, keepdim, True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxMin:  # noqa: A001 - PyTorch's name
    """``torch.min``: of all elements (0-d); ``min(input, dim, keepdim=False)`` -> ``(values, indices)``;
    ``min(input, other)`` -> ``minimum``."""
    return _extreme("min", input, dim, keepdim, False)
