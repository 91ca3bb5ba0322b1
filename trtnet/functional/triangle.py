"""``tril`` and ``triu``: a select between the input and zero by ``j - i`` against the diagonal (``i``, ``j`` the
positions in the last two dims: constants when static, ranges of the run-time sizes when dynamic)."""

from __future__ import annotations

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError
from trtnet.functional.elementwise import sub
from trtnet.functional.gathering import positions
from trtnet.functional.pointwise import ge, le, where
from trtnet.tensor import Tensor


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions")
    rows, cols = input.static_shape[-2:]
    if -1 in (rows, cols):
        offset = sub(positions(input, -1), positions(input, -2))  # j - i: [.., 1, m] - [.., n, 1]
        keep = le(offset, diagonal) if lower else ge(offset, diagonal)
    else:  # one constant mask
        mask = np.tri(rows, cols, int(diagonal), dtype=bool) if lower else ~np.tri(rows, cols, int(diagonal) - 1,
                                                                                  dtype=bool)
        keep = graph.current().constant(mask.reshape((1,) * (input.ndim - 2) + mask.shape), dtypes.bool_)
    return where(keep, input, False if input.dtype is dtypes.bool_ else 0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.tril``: the lower triangle (``j - i <= diagonal``) of the last two dims, zeros elsewhere."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """``torch.triu``: the upper triangle (``j - i >= diagonal``) of the last two dims, zeros elsewhere."""
    return _triangle("triu", input, diagonal, False)
