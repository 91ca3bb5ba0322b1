"""Max pooling with ``return_indices=True`` (TensorRT's pooling gives no indices), a composition for static
spatial sizes: every window is gathered (``-inf`` where it reaches past the input), the maximum taken, and the
*first* position holding it (PyTorch's rule) found with an equality mask and a min-reduction over the window;
a constant table turns (output position, window offset) into PyTorch's index, flat over the input's spatial dims."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from trtnet.functional import indexing
from trtnet.functional._util import as_tensor
from trtnet.functional.dims import squeeze
from trtnet.functional.elementwise import add
from trtnet.functional.gathering import gather_layer
from trtnet.functional.pointwise import eq, where
from trtnet.functional.reduce import amax, amin
from trtnet.functional.shape import shuffle
from trtnet.tensor import Tensor


def max_with_indices(op: str, x: Tensor, positions: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """(max, int64 index) over windows of ``x`` ``(N, C, *spatial)``: ``positions[d]`` is ``(out_d, k_d)``, the input
    positions along spatial dim ``d`` of each output position's window (outside ``[0, size)``: padding)."""
    nd, sizes = len(positions), x.static_shape[2:]
    low = [min(0, int(p.min())) for p in positions]
    high = [max(n, int(p.max()) + 1) for p, n in zip(positions, sizes)]
    padded = x
    if low != [0] * nd or high != list(sizes):
        start, size = [0, 0, *low], [*x.static_shape[:2], *(h - lo for lo, h in zip(low, high))]
        padded = indexing.strided_slice(op, x, start, size, [1] * x.ndim, mode="fill", fill=-math.inf)
    windows = padded
    for d, p in enumerate(positions):  # dims become N, C, o1, k1, o2, k2, ...
        windows = gather_layer(op, windows, as_tensor((p - low[d]).astype(np.int32)), 2 + 2 * d)
    outs, count = [p.shape[0] for p in positions], math.prod(p.shape[1] for p in positions)
    # one shuffle: (N, C, o1, k1, o2, k2, ...) -> (N, C, o1, o2, ..., k1*k2*...); N and C copied by placeholder
    order = [0, 1, *range(2, 2 + 2 * nd, 2), *range(3, 3 + 2 * nd, 2)]
    windows = shuffle(op, windows, permutation=None if nd == 1 else order, reshape_dims=[0, 0, *outs, count],
                      zero_copies_input=True)
    values = amax(windows, -1, keepdim=True)
    offsets = np.arange(count, dtype=np.int32).reshape((1,) * (nd + 2) + (count,))
    # first offset holding the maximum (the last one when nothing equals it: a NaN window)
    first = amin(where(eq(windows, values), as_tensor(offsets), count - 1), -1)
    index = gather_layer(op, as_tensor(_index_table(positions, sizes).ravel()),
                         add(first, as_tensor(_row_starts(outs, count))), 0)
    return squeeze(values, -1), index


def _index_table(positions: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """``(*outs, prod(k))`` int64: PyTorch's flat input index of each window offset of each output position."""
    nd = len(positions)
    strides = [math.prod(sizes[d + 1:]) for d in range(nd)]
    table = np.zeros([p.shape[0] for p in positions] + [p.shape[1] for p in positions], np.int64)
    for d, (p, stride) in enumerate(zip(positions, strides)):
        shape = [1] * (2 * nd)
        shape[d], shape[nd + d] = p.shape
        table = table + (p * stride).reshape(shape)
    outs = [p.shape[0] for p in positions]
    return table.reshape(*outs, -1)


def _row_starts(outs: Sequence[int], count: int) -> np.ndarray:
    """``(1, 1, *outs)`` int32: where each output position's row starts in the flat index table."""
    return (np.arange(math.prod(outs), dtype=np.int32) * count).reshape((1, 1, *outs))
