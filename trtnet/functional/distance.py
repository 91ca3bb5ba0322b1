"""Pairwise distances: ``cdist`` for every p.

``torch.cdist`` does not export to ONNX correctly: the TorchScript exporter drops the ``abs`` and returns wrong
numbers (NaN, zeros) for every p != 2 without a warning; the dynamo exporter fails for every p. trtnet builds it
from elementwise / unary / reduce layers (or a matrix multiply for p = 2, like eager).
"""

from __future__ import annotations

import math

from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import prepend_ones
from trtnet.functional.dims import unsqueeze
from trtnet.functional.elementwise import add, maximum, mul, pow, sub
from trtnet.functional.linear import matmul
from trtnet.functional.pointwise import abs, ne, sqrt
from trtnet.functional.reduce import amax, sum
from trtnet.functional.shape import transpose
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor

_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _euclidean_mm(x1: Tensor, x2: Tensor) -> Tensor:
    """``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))``: one matrix multiply, O(P * R) memory (eager's path for P or R > 25).
    Loses accuracy for nearly coincident points (cancellation), as eager does."""
    a2 = sum(mul(x1, x1), -1, keepdim=True)  # [..., P, 1]
    b2 = transpose(sum(mul(x2, x2), -1, keepdim=True), -1, -2)  # [..., 1, R]
    ab = matmul(x1, x2, transpose_b=True)  # [..., P, R]
    return sqrt(maximum(sub(add(a2, b2), mul(ab, 2.0)), 0.0))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """``torch.cdist``: ``x1 [..., P, M]``, ``x2 [..., R, M]`` -> ``[..., P, R]`` p-norm distances (batch dims broadcast).

    Direct formula on ``|x1[:, None] - x2[None]|`` (``[..., P, R, M]`` intermediate): p = 0 counts non-zero
    differences, p = 1 sums, p = inf takes the max, p = 2 ``sqrt(sum(d * d))``, other p ``sum(d ** p) ** (1 / p)``.
    p = 2 goes through a matrix multiply when eager does (``compute_mode``; "if necessary" means P > 25 or R > 25,
    and is assumed when P or R is dynamic)."""
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):
        raise TrtnetError("cdist: x1 and x2 must be trtnet Tensors")
    if not x1.dtype.is_float or x1.dtype is not x2.dtype:
        raise TrtnetError(f"cdist: x1 and x2 must be float tensors of one dtype, got {x1.dtype.name} and {x2.dtype.name}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(f"cdist: x1 {x1.static_shape} and x2 {x2.static_shape} must have at least 2 dims ([..., rows, features])")
    if -1 not in (x1.static_shape[-1], x2.static_shape[-1]) and x1.static_shape[-1] != x2.static_shape[-1]:
        raise ShapeError(f"cdist: x1 {x1.static_shape} and x2 {x2.static_shape} must have the same number of features (last dim)")
    p = float(p)
    if math.isnan(p) or p < 0:
        raise TrtnetError(f"cdist: p must be >= 0 (or inf), got {p}")
    if compute_mode not in _COMPUTE_MODES:
        raise TrtnetError(f"cdist: compute_mode must be one of {_COMPUTE_MODES}, got {compute_mode!r}")
    rank = max(x1.ndim, x2.ndim)
    x1, x2 = prepend_ones(x1, rank - x1.ndim), prepend_ones(x2, rank - x2.ndim)
    rows1, rows2 = x1.static_shape[-2], x2.static_shape[-2]
    if p == 2.0 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == "use_mm_for_euclid_dist_if_necessary" and (rows1 > 25 or rows2 > 25 or -1 in (rows1, rows2)))):
        return _euclidean_mm(x1, x2)
    diff = abs(sub(unsqueeze(x1, -2), unsqueeze(x2, -3)))  # [..., P, R, M]
    if p == 0.0:
        return sum(cast(ne(diff, 0.0), x1.dtype), -1)
    if p == 1.0:
        return sum(diff, -1)
    if math.isinf(p):
        return amax(diff, -1)
    if p == 2.0:
        return sqrt(sum(mul(diff, diff), -1))
    return pow(sum(pow(diff, p), -1), 1.0 / p)

