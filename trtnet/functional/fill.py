"""``IFillLayer``: ramps (LINSPACE) of a shape known only at run time, e.g. the row and column indices of a
causal mask over dynamic sequence lengths."""

from __future__ import annotations

import numpy as np

from trtnet import dtypes, graph
from trtnet.functional._util import out, trt
from trtnet.tensor import Tensor


def linspace_fill(op: str, shape: Tensor, start: int, deltas: list[int], dtype: dtypes.DType = dtypes.int64) -> Tensor:
    """A tensor of the runtime ``shape`` (a 1-D int64 shape tensor) holding ``start + sum_k deltas[k] * index_k``
    (one delta per output dim), in ``dtype``."""
    g = graph.current()
    rank = len(deltas)
    layer = g.network.add_fill((0,) * rank, trt().FillOperation.LINSPACE, dtype.to_trt())
    layer.set_input(0, shape.itensor)
    layer.set_input(1, g.constant(np.asarray(start), dtype).itensor)
    layer.set_input(2, g.constant(np.asarray(deltas), dtype).itensor)
    return out(g.add(op, layer))
