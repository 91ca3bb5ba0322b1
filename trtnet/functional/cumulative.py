"""Cumulative sums (``ICumulativeLayer``): the lowering :func:`cumulative` and ``cumsum``.

TensorRT's ``CumulativeOperation`` has only ``SUM``; cumulative products, maxima and minima are log-step scans of
slice and elementwise layers (:mod:`trtnet.functional.scan`).
"""

from __future__ import annotations

import numpy as np

from trtnet import dtypes, graph
from trtnet.functional._util import normalize_dim, out, trt
from trtnet.functional.shape import reshape
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor


def cumulative(op: str, x: Tensor, dim: int, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Lower one cumulative sum of ``x`` along ``dim`` (inclusive unless ``exclusive``; backwards if ``reverse``).
    The axis is a rank-0 int32 build-time constant, as TensorRT requires."""
    if x.ndim == 0:  # torch takes a 0-d input as one element (dims 0 and -1 name it)
        normalize_dim(dim, 1)
        return reshape(cumulative(op, reshape(x, (1,)), 0, exclusive, reverse), ())
    g = graph.current()
    axis = g.constant(np.array(normalize_dim(dim, x.ndim), dtype=np.int32), dtypes.int32)
    layer = g.network.add_cumulative(x.itensor, axis.itensor, trt().CumulativeOperation.SUM, bool(exclusive),
                                     bool(reverse))
    return out(g.add(op, layer))


def cumsum(input: Tensor, dim: int, *, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.cumsum``: bool and integer inputs are summed in int64 (PyTorch's promotion) unless ``dtype`` is given."""
    if dtype is not None:
        input = cast(input, dtype)
    elif not input.dtype.is_float:
        input = cast(input, dtypes.int64)
    return cumulative("cumsum", input, dim)
