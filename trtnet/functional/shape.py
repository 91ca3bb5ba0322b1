"""Shape ops: reshape/flatten/permute (``IShuffleLayer``) and concatenation."""

from __future__ import annotations

import math
from typing import Sequence

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out
from trtnet.tensor import Tensor


def shuffle(op: str, x: Tensor, *, permutation: Sequence[int] | None = None,
            reshape_dims: Sequence[int] | None = None, zero_copies_input: bool = False) -> Tensor:
    """Lower a shuffle: transpose by ``permutation``, then reshape (0 copies the input dim only when
    ``zero_copies_input``; PyTorch has no such placeholder)."""
    layer = graph.current().network.add_shuffle(x.itensor)
    if permutation is not None:
        layer.first_transpose = tuple(permutation)
    if reshape_dims is not None:
        layer.zero_is_placeholder = zero_copies_input
        layer.reshape_dims = tuple(reshape_dims)
    return out(graph.current().add(op, layer))


def _resolve(shape: tuple[int, ...], spec: tuple[int, ...]) -> tuple[int, ...]:
    """PyTorch's reshape rules on a static shape: one -1 is inferred; volumes must agree."""
    if spec.count(-1) > 1:
        raise ShapeError(f"reshape {spec}: only one dimension can be -1")
    known = math.prod(d for d in spec if d != -1)
    volume = math.prod(shape)
    if -1 in spec:
        if known == 0 or volume % known:
            raise ShapeError(f"cannot reshape {shape} to {spec}")
        spec = tuple(volume // known if d == -1 else d for d in spec)
    if math.prod(spec) != volume:
        raise ShapeError(f"cannot reshape a tensor of shape {shape} ({volume} elements) to {spec}")
    return spec


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """``torch.reshape``. With dynamic input dims, the target may hold one -1 (TensorRT infers it)."""
    spec = tuple(int(d) for d in shape)
    if -1 not in x.static_shape:
        return shuffle("reshape", x, reshape_dims=_resolve(x.static_shape, spec))
    if spec.count(-1) > 1:
        raise ShapeError(f"reshape {x.static_shape} -> {spec}: with dynamic dimensions the target may hold one -1; "
                         "use flatten() for the batch dimension")
    return shuffle("reshape", x, reshape_dims=spec)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``torch.flatten``; works with a dynamic batch (kept dims are copied by placeholder)."""
    start, end = normalize_dim(start_dim, x.ndim, "start_dim"), normalize_dim(end_dim, x.ndim, "end_dim")
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = x.static_shape[start:end + 1]
    product = -1 if -1 in merged else math.prod(merged)
    dims = [0 if d == -1 else d for d in x.static_shape[:start]] + [product] + list(x.static_shape[end + 1:])
    if dims.count(-1) > 1:
        raise ShapeError(f"flatten {x.static_shape}: more than one dynamic dimension after the flattened ones")
    return shuffle("flatten", x, reshape_dims=dims, zero_copies_input=True)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    order = [normalize_dim(d, x.ndim) for d in dims]
    if sorted(order) != list(range(x.ndim)):
        raise ShapeError(f"permute {tuple(dims)} is not a permutation of the {x.ndim} dims of {x.static_shape}")
    return shuffle("permute", x, permutation=order)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    order = list(range(x.ndim))
    a, b = normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim)
    order[a], order[b] = order[b], order[a]
    return shuffle("transpose", x, permutation=order)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``torch.cat``: equal ranks and dtypes."""
    tensors = list(tensors)
    if not tensors:
        raise TrtnetError("cat needs at least one tensor")
    first = tensors[0]
    axis = normalize_dim(dim, first.ndim)
    for number, t in enumerate(tensors[1:], start=1):
        if t.ndim != first.ndim or t.dtype is not first.dtype:
            raise ShapeError(f"cat: {first.static_shape}/{first.dtype.name} and {t.static_shape}/{t.dtype.name} differ in rank or dtype")
        for d, (want, got) in enumerate(zip(first.static_shape, t.static_shape)):
            if d != axis and want != got and -1 not in (want, got):
                raise ShapeError(f"cat: sizes of tensors must match except in dimension {axis}. Expected size "
                                 f"{want} but got size {got} for tensor number {number} in the list")
    layer = graph.current().network.add_concatenation([t.itensor for t in tensors])
    layer.axis = axis
    return out(graph.current().add("cat", layer))
