"""Adding and removing size-1 dims (``IShuffleLayer`` reshapes), ``stack``, and runtime shape tensors
(``IShapeLayer``) for ops whose output keeps a dynamic dim of their input.

Dynamic dims are carried through reshapes as their symbolic sizes (:func:`trtnet.functional.shape.reshape_sizes`),
any number of them.
"""

from __future__ import annotations

from typing import Sequence

from trtnet import graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out
from trtnet.functional.shape import cat, reshape_sizes
from trtnet.symbolic import SymInt
from trtnet.tensor import Tensor


def shape_of(x: Tensor) -> Tensor:
    """The runtime shape of ``x`` as an int64 1-D tensor (one ``IShapeLayer``)."""
    layer = graph.current().network.add_shape(x.itensor)
    return out(graph.current().add("shape", layer))


def runtime_shape(x: Tensor, sizes: Sequence[int | SymInt]) -> Tensor | None:
    """An int64 shape tensor equal to ``sizes`` (ints >= 0 and SymInts) and to ``x``'s runtime dim where they are -1
    (same index, same rank); None when the shape is static (ints, no -1)."""
    keep = [isinstance(s, int) and s == -1 for s in sizes]
    if not any(keep):
        return symbolic.shape_tensor(sizes)
    if len(sizes) != x.ndim:
        raise TrtnetError(f"runtime_shape: {len(sizes)} sizes for a tensor of rank {x.ndim}")
    shape = x.shape
    return symbolic.shape_tensor([shape[k] if kept else s for k, (s, kept) in enumerate(zip(sizes, keep))])


def reshape_to(op: str, x: Tensor, dims: Sequence[int], sources: Sequence[int | None]) -> Tensor:
    """Reshape to static ``dims`` except where ``dims[k] == -1``: that dim is the dynamic input dim ``sources[k]``
    (any number of them, at any index)."""
    if any(d == 0 for d in dims) and -1 in x.static_shape:
        raise ShapeError(f"{op}: zero-sized dims are not supported with a dynamic input {x.static_shape}")
    if list(dims) == list(x.static_shape) and all(s in (k, None) for k, s in enumerate(sources)):
        return x
    shape = x.shape
    return reshape_sizes(op, x, [shape[src] if d == -1 else d for d, src in zip(dims, sources)])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """``torch.unsqueeze``: a size-1 dim at ``dim`` (in ``[-rank-1, rank]``)."""
    d = normalize_dim(dim, x.ndim + 1)
    shape = x.shape
    return reshape_sizes("unsqueeze", x, [*shape[:d], 1, *shape[d:]])


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
    shape = x.shape
    return reshape_sizes("squeeze", x, [shape[i] for i in range(x.ndim) if i not in drop])


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``torch.stack``: tensors of one shape joined along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise TrtnetError("stack needs at least one tensor")
    for t in tensors[1:]:
        if t.static_shape != tensors[0].static_shape:
            raise ShapeError(f"stack expects tensors of equal shape, got {tensors[0].static_shape} and {t.static_shape}")
    d = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)
