"""Gathering by index (``IGatherLayer``, lowered in :func:`gather_layer`): ``embedding``, ``index_select`` and
``torch.gather``; :func:`positions`, the index of each entry along a dim."""

from __future__ import annotations

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import as_tensor, normalize_dim, out, parameter_values
from trtnet.functional.unary import cast
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


def gather_layer(op: str, x: Tensor, indices: Tensor, axis: int, mode: str = "default") -> Tensor:
    """Lower one gather: ``x`` with dim ``axis`` replaced by the dims of ``indices`` (int32/int64).

    ``mode="element"`` is ``torch.gather`` (``GatherMode.ELEMENT``): ``indices`` has ``x``'s rank, the output its
    shape, ``out[..., i, ...] = x[..., indices[..., i, ...], ...]`` along ``axis``."""
    if not isinstance(indices, Tensor) or indices.dtype not in (dtypes.int32, dtypes.int64):
        got = indices.dtype.name if isinstance(indices, Tensor) else type(indices).__name__
        raise TrtnetError(f"{op}: indices must be an int32 or int64 tensor, got {got}")
    if mode not in ("default", "element"):
        raise TrtnetError(f"{op}: gather mode must be 'default' or 'element', got {mode!r}")
    if mode == "element" and indices.ndim != x.ndim:
        raise ShapeError(f"{op}: element gather needs indices of the input's rank, got {indices.static_shape} for {x.static_shape}")
    layer = graph.current().network.add_gather(x.itensor, indices.itensor, normalize_dim(axis, x.ndim))
    if mode == "element":
        layer.mode = graph.current().backend.trt.GatherMode.ELEMENT
    return out(graph.current().add(op, layer))


def positions(x: Tensor, dim: int, dtype: dtypes.DType = dtypes.int32) -> Tensor:
    """``0, 1, ..., n - 1`` along dim ``dim`` of a tensor of ``x``'s rank (size 1 in every other dim): a constant
    for a static dim, an ``arange`` of its run-time size for a dynamic one."""
    dim = normalize_dim(dim, x.ndim)
    n = x.static_shape[dim]
    shape = [1] * x.ndim
    if n != -1:
        shape[dim] = n
        return graph.current().constant(np.arange(n).reshape(shape), dtype)
    from trtnet.functional.creation import arange
    from trtnet.functional.dims import unsqueeze
    from trtnet.functional.unary import cast

    result = cast(arange(x.shape[dim]), dtype)
    for k in range(x.ndim):
        if k != dim:
            result = unsqueeze(result, k)
    return result


def embedding(input: Tensor, weight: Parameter | np.ndarray, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``torch.nn.functional.embedding``: rows of ``weight [num_embeddings, dim]`` for integer ``input`` of any shape.

    ``padding_idx`` only matters for training. ``max_norm``: each looked-up row whose ``norm_type``-norm exceeds it
    is scaled by ``max_norm / (norm + 1e-7)`` (torch's ``embedding_renorm_``); the weights themselves are constants,
    so torch's in-place rewrite of ``weight`` does not carry over to later calls."""
    values, weight_dtype = parameter_values(weight, "weight")
    if values.ndim != 2:
        raise ShapeError(f"embedding: weight must be [num_embeddings, embedding_dim], got {values.shape}")
    if max_norm is None:
        return gather_layer("embedding", as_tensor(weight), input, 0)
    rows = values.astype(np.float32)
    norms = np.linalg.norm(rows, ord=float(norm_type), axis=1, keepdims=True)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(np.float32)
    table = graph.current().constant((rows * scale).astype(values.dtype), weight_dtype)
    return gather_layer("embedding", table, input, 0)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``torch.index_select`` with a 1-D (or 0-d: one element) integer index tensor; a 0-d input is one element."""
    from trtnet.functional.shape import reshape

    if isinstance(index, Tensor) and index.ndim == 0:
        index = reshape(index, (1,))
    if isinstance(index, Tensor) and index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got {index.static_shape}")
    if input.ndim == 0:
        normalize_dim(dim, 1)
        if isinstance(index, Tensor) and index.static_shape[0] not in (1, -1):
            raise ShapeError(f"index_select(): Index to scalar can have only 1 value, got {index.static_shape[0]} "
                             "value(s)")
        return reshape(gather_layer("index_select", reshape(input, (1,)), index, 0), ())
    return gather_layer("index_select", input, index, dim)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``torch.gather``: ``out[..., i, ...] = input[..., index[..., i, ...], ...]`` along ``dim``; ``index`` has
    ``input``'s rank and is no larger in any other dim (an element-mode gather of the leading block)."""
    if isinstance(index, Tensor) and 0 in index.static_shape:  # torch checks neither dtype nor rank of an empty index
        normalize_dim(dim, input.ndim or 1)
        return cast(index, input.dtype)  # the empty result, index's shape
    if not isinstance(index, Tensor) or index.dtype is not dtypes.int64 and index.dtype is not dtypes.int32:
        raise TrtnetError("gather(): Expected dtype int64 for index")
    if input.ndim == 0:  # torch takes a 0-d input as a 1-element vector
        normalize_dim(dim, 1)
        if index.ndim > 1:
            raise ShapeError(f"Index tensor must have the same number of dimensions as input tensor (gather: input (), "
                             f"index {index.static_shape})")
        from trtnet.functional.shape import reshape

        picked = gather(reshape(input, (1,)), 0, reshape(index, (1,)) if index.ndim == 0 else index)
        return reshape(picked, ()) if index.ndim == 0 else picked
    if index.ndim != input.ndim:
        raise ShapeError("Index tensor must have the same number of dimensions as input tensor "
                         f"(gather: input {input.static_shape}, index {index.static_shape})")
    d = normalize_dim(dim, input.ndim)
    sizes = list(input.static_shape)
    for k, (n, m) in enumerate(zip(input.static_shape, index.static_shape)):
        if k == d:
            continue
        if -1 in (n, m) and n != m:
            raise ShapeError(f"gather: dim {k} of index {index.static_shape} and input {input.static_shape} must be "
                             "equal when either is dynamic")
        if m > n:
            raise ShapeError(f"Size does not match at dimension {k} expected index {index.static_shape} to be smaller "
                             f"than self {input.static_shape} apart from dimension {d}")
        sizes[k] = m
    if sizes[:d] + sizes[d + 1:] != list(input.static_shape[:d] + input.static_shape[d + 1:]):
        from trtnet.functional.indexing import narrow

        for k, m in enumerate(sizes):
            if k != d and m != input.static_shape[k]:
                input = narrow(input, k, 0, m)
    return gather_layer("gather", input, index, d, mode="element")
