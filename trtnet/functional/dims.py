"""Adding and removing size-1 dims (``IShuffleLayer`` reshapes), ``stack``, and runtime shape tensors
(``IShapeLayer``) for ops whose output keeps a dynamic dim of their input.

Dynamic dims (-1) are carried through reshapes with TensorRT's 0 placeholder when they stay at the same
index, otherwise as the one inferred -1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out
from trtnet.functional.shape import cat, shuffle
from trtnet.tensor import Tensor


def shape_of(x: Tensor) -> Tensor:
    """The runtime shape of ``x`` as an int64 1-D tensor (one ``IShapeLayer``)."""
    layer = graph.current().network.add_shape(x.itensor)
    return out(graph.current().add("shape", layer))


def runtime_shape(x: Tensor, sizes: Sequence[int]) -> Tensor | None:
    """An int64 shape tensor equal to ``sizes`` where they are >= 0 and to ``x``'s runtime dim where they are -1
    (same index, same rank); None when ``sizes`` has no -1 (the shape is static)."""
    if -1 not in sizes:
        return None
    if len(sizes) != x.ndim:
        raise TrtnetError(f"runtime_shape: {len(sizes)} sizes for a tensor of rank {x.ndim}")
    from trtnet.functional.elementwise import add, mul

    g = graph.current()
    keep = np.array([1 if s == -1 else 0 for s in sizes], dtype=np.int64)
    fixed = np.array([0 if s == -1 else s for s in sizes], dtype=np.int64)
    return add(mul(shape_of(x), g.constant(keep, dtypes.int64)), g.constant(fixed, dtypes.int64))


def reshape_to(op: str, x: Tensor, dims: Sequence[int], sources: Sequence[int | None]) -> Tensor:
    """Reshape to static ``dims`` except where ``dims[k] == -1``: that dim is the dynamic input dim ``sources[k]``.

    A dynamic dim that keeps its index is copied by placeholder; at most one other is inferred."""
    spec: list[int] = []
    inferred = 0
    for k, (d, src) in enumerate(zip(dims, sources)):
        if d != -1:
            if d == 0:
                raise ShapeError(f"{op}: zero-sized dims are not supported with a dynamic input {x.static_shape}")
            spec.append(d)
        elif src == k:
            spec.append(0)
        else:
            inferred += 1
            spec.append(-1)
    if inferred > 1:
        raise ShapeError(f"{op}: {x.static_shape} -> {tuple(dims)} moves more than one dynamic dim; "
                         "TensorRT can infer only one")
    if list(dims) == list(x.static_shape) and all(s in (k, None) for k, s in enumerate(sources)):
        return x
    return shuffle(op, x, reshape_dims=spec, zero_copies_input=True)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """``torch.unsqueeze``: a size-1 dim at ``dim`` (in ``[-rank-1, rank]``)."""
    d = normalize_dim(dim, x.ndim + 1)
    dims = list(x.static_shape[:d]) + [1] + list(x.static_shape[d:])
    sources = list(range(d)) + [None] + list(range(d, x.ndim))
    return reshape_to("unsqueeze", x, dims, [s if s is not None and x.static_shape[s] == -1 else None for s in sources])


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """``torch.squeeze``: drop size-1 dims (all of them, or those of ``dim`` that have size 1; others are kept).

    Dynamic dims are never dropped (their size is unknown while building)."""
    if dim is None:
        drop = {i for i, d in enumerate(x.static_shape) if d == 1}
    else:
        wanted = [dim] if isinstance(dim, int) else list(dim)
        drop = {normalize_dim(d, max(x.ndim, 1)) for d in wanted}
        drop = {d for d in drop if d < x.ndim and x.static_shape[d] == 1}
    if not drop:
        return x
    kept = [i for i in range(x.ndim) if i not in drop]
    return reshape_to("squeeze", x, [x.static_shape[i] for i in kept], [i if x.static_shape[i] == -1 else None for i in kept])


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``torch.stack``: tensors of one shape joined along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise TrtnetError("stack needs at least one tensor")
    for t in tensors[1:]:
        if t.static_shape != tensors[0].shape:
            raise ShapeError(f"stack expects tensors of equal shape, got {tensors[0].shape} and {t.static_shape}")
    d = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)
