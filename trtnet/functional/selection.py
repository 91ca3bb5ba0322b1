"""Order statistics along a dim: ``kthvalue`` and ``median`` (two ``ITopKLayer`` s and an element gather).

Neither exports to ONNX (``aten::kthvalue`` / ``aten::median`` fail with both exporters). TensorRT has no sort; the
k-th smallest is the largest of the k smallest: ``TopK(MIN, k)`` then ``TopK(MAX, 1)`` on its values, and the index is
gathered from the first TopK's indices at the position the second found (independent of TopK's output order).
When ``n - k + 1 < k`` the mirror image is cheaper (``TopK(MAX, n - k + 1)`` then ``TopK(MIN, 1)``). TensorRT's TopK
takes k <= 3840, so a row may have up to 7681 entries for the median.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim
from trtnet.functional.dims import squeeze
from trtnet.functional.gathering import gather_layer
from trtnet.functional.pointwise import where
from trtnet.functional.shape import reshape
from trtnet.functional.topk import MAX_K, topk_layer
from trtnet.functional.unary import cast, unary
from trtnet.tensor import Tensor


class KthResult(NamedTuple):
    """``(values, indices)`` like ``torch.return_types.kthvalue``; indices are int64."""

    values: Tensor
    indices: Tensor


def _kth(op: str, x: Tensor, k: int, dim: int, keepdim: bool) -> KthResult:
    if x.ndim == 0:
        normalize_dim(dim, 1)
        values, indices = _kth(op, reshape(x, (1,)), k, 0, False)
        return KthResult(reshape(values, ()), reshape(indices, ()))
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    if n == -1:
        raise ShapeError(f"{op}: dim {dim} of {x.static_shape} is dynamic; it must be static")
    if not 1 <= k <= n:
        raise TrtnetError(f"{op}: k={k} is out of range for dim {dim} of size {n} (1 <= k <= {n})")
    work = x
    if x.dtype.is_float:  # NaN sorts last, as in eager; TopK never sees NaN (its NaN order is unspecified)
        work = where(unary(f"{op}_isnan", x, "ISNAN"), math.inf, x)
    smallest = k <= n - k + 1
    count = k if smallest else n - k + 1
    if count > MAX_K:
        raise TrtnetError(f"{op}: k={k} of {n} needs a TopK of {count} entries, beyond TensorRT's TopK limit of {MAX_K} "
                          f"(rows of up to {2 * MAX_K + 1} entries work for every k; use a plugin or split the row)")
    first = topk_layer(op, work, count, d, largest=not smallest)
    if count == 1:
        index = first.indices
        values = first.values
    else:
        last = topk_layer(op, first.values, 1, d, largest=smallest)  # the k-th: the extreme of the `count` kept
        index = gather_layer(f"{op}_index", first.indices, last.indices, d, mode="element")
        values = last.values
    if x.dtype.is_float:
        values = gather_layer(f"{op}_value", x, index, d, mode="element")  # NaN back where it was
    if not keepdim:
        values, index = squeeze(values, d), squeeze(index, d)
    return KthResult(values, cast(index, dtypes.int64))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> KthResult:
    """``torch.kthvalue``: the k-th smallest (1-based) along ``dim`` and its index (int64). Values equal eager's; with
    ties the index may point at another equal element (eager's tie choice is unspecified too), it always satisfies
    ``input.gather(dim, index) == value``. NaN counts as the largest value, as in eager (a row holding both +inf and
    NaN may return one for the other at their boundary). ``dim`` must be static; TopK limits k (see module doc)."""
    return _kth("kthvalue", input, int(k), dim, keepdim)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> KthResult | Tensor:
    """``torch.median``: the **lower** median, ``kthvalue(input, (n - 1) // 2 + 1, dim, keepdim)``; without ``dim``
    the median of all elements as a rank-0 tensor (values only, as in eager)."""
    if dim is None:
        if -1 in input.static_shape:
            raise ShapeError(f"median: without dim, the input {input.static_shape} must be static")
        flat = reshape(input, (-1,))
        return reshape(_kth("median", flat, (flat.static_shape[0] - 1) // 2 + 1, 0, False).values, ())
    n = input.static_shape[normalize_dim(dim, max(input.ndim, 1))] if input.ndim else 1
    if n == -1:
        raise ShapeError(f"median: dim {dim} of {input.static_shape} is dynamic; it must be static")
    return _kth("median", input, (n - 1) // 2 + 1, dim, keepdim)
