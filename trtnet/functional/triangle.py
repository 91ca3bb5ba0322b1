"""``tril`` and ``triu``: a select between the input and zero with a constant triangular mask of the last two dims."""

from __future__ import annotations

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError
from trtnet.functional.pointwise import where
from trtnet.tensor import Tensor


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions")
    rows, cols = input.static_shape[-2:]
    if -1 in (rows, cols):
        raise ShapeError(f"{op}: the last two dims of {input.static_shape} must be static")
    keep = np.tri(rows, cols, int(diagonal), dtype=bool)  # j - i <= diagonal
    if not lower:
        keep = ~np.tri(rows, cols, int(diagonal) - 1, dtype=bool)  # j - i >= diagonal
    mask = graph.current().constant(keep.reshape((1,) * (input.ndim - 2) + keep.shape), dtypes.bool_)
    return where(mask, input, False if input.dtype is dtypes.bool_ else 0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.tril``: the lower triangle (``j - i <= diagonal``) of the last two dims, zeros elsewhere."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.triu``: the upper triangle (``j - i >= diagonal``) of the last two dims, zeros elsewhere."""
    return _triangle("triu", input, diagonal, False)
