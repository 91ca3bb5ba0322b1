"""The k largest / smallest entries along one dim (``ITopKLayer``): the lowering :func:`topk_layer` and ``topk``."""

from __future__ import annotations

from typing import NamedTuple

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out, trt
from trtnet.functional.shape import reshape
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor

#: ``ITopKLayer`` takes ``k`` up to this value (TensorRT 10 / TensorRT-RTX 1.x: "Valid range of TopK K is [0, 3841)").
MAX_K = 3840


class TopK(NamedTuple):
    values: Tensor
    indices: Tensor


def topk_layer(op: str, x: Tensor, k: int, dim: int, largest: bool,
               indices_dtype: dtypes.DType = dtypes.int32) -> TopK:
    """Lower one TopK: the ``k`` largest (or smallest) entries of ``x`` along ``dim``, sorted (largest first for
    ``largest``, else smallest first), and their positions in ``indices_dtype`` (int32 or int64). Order among equal
    values is TensorRT's."""
    if x.ndim == 0:  # torch takes a 0-d input as one element and keeps it 0-d (k 0 or 1)
        normalize_dim(dim, 1)
        if k not in (0, 1):
            raise ShapeError(f"{op}: selected index k out of range (k={k} for a 0-d input)")
        values, indices = topk_layer(op, reshape(x, (1,)), 1, 0, largest, indices_dtype)
        return TopK(reshape(values, ()), reshape(indices, ()))
    d = normalize_dim(dim, x.ndim)
    n = x.static_shape[d]
    if not 0 <= k <= MAX_K:
        raise TrtnetError(f"{op}: k={k} is outside TensorRT's TopK range [0, {MAX_K}]")
    if n != -1 and k > n:
        raise ShapeError(f"{op}: k={k} is larger than dim {dim} of {x.static_shape}")
    if indices_dtype not in (dtypes.int32, dtypes.int64):
        raise TrtnetError(f"{op}: indices_dtype must be int32 or int64, got {indices_dtype.name}")
    if x.ndim == 1:  # TensorRT's TopK wants rank >= 2: run it on [1, n]
        values, indices = topk_layer(op, reshape(x, (1, n)), k, 1, largest, indices_dtype)
        return TopK(reshape(values, (k,)), reshape(indices, (k,)))
    operation = trt().TopKOperation.MAX if largest else trt().TopKOperation.MIN
    layer = graph.current().network.add_topk(x.itensor, operation, int(k), 1 << d, indices_dtype.to_trt())
    graph.current().add(op, layer)
    return TopK(out(layer, 0), out(layer, 1))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopK:  # noqa: A002
    """``torch.topk``: (values, int64 indices), always sorted. ``k <= 3840`` (TensorRT's limit). Among equal values
    the indices may differ from eager PyTorch's (its tie order is unspecified too)."""
    values, indices = topk_layer("topk", input, k, dim, largest, dtypes.int32)
    return TopK(values, cast(indices, dtypes.int64))
