"""Shape ops: reshape/view/flatten/unflatten/permute (``IShuffleLayer``) and concatenation. Targets hold ints and
:class:`trtnet.symbolic.SymInt` sizes; any number of dims may be dynamic."""

from __future__ import annotations

import math
from typing import Sequence

from trtnet import graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import normalize_dim, out
from trtnet.symbolic import SymInt
from trtnet.tensor import Tensor


def shuffle(op: str, x: Tensor, *, permutation: Sequence[int] | None = None,
            reshape_dims: Sequence[int] | None = None, zero_copies_input: bool = False,
            shape: Tensor | None = None) -> Tensor:
    """Lower a shuffle: transpose by ``permutation``, then reshape to ``reshape_dims`` or to the runtime
    ``shape`` tensor (0 copies the input dim only when ``zero_copies_input``; PyTorch has no such placeholder)."""
    layer = graph.current().network.add_shuffle(x.itensor)
    if permutation is not None:
        layer.first_transpose = tuple(permutation)
    if reshape_dims is not None or shape is not None:
        layer.zero_is_placeholder = zero_copies_input
    if reshape_dims is not None:
        layer.reshape_dims = tuple(reshape_dims)
    if shape is not None:
        layer.set_input(1, shape.itensor)
    return out(graph.current().add(op, layer))


def _check_target(op: str, sizes: Sequence[int | SymInt]) -> None:
    """PyTorch's checks of a reshape target: sizes >= -1, at most one -1."""
    for d in sizes:
        if isinstance(d, int) and d < -1:
            raise ShapeError(f"{op}: invalid shape dimension {d} in {tuple(sizes)}")
    if sum(isinstance(d, int) and d == -1 for d in sizes) > 1:
        raise ShapeError(f"{op} {tuple(sizes)}: only one dimension can be inferred")


def _never_equal(a: int | SymInt, b: int | SymInt) -> bool:
    """Whether two volumes differ at every runtime size (decided by the sizes' ranges)."""
    try:
        return bool(a != b)
    except ShapeError:  # equal for some sizes only: TensorRT checks at run time
        return False


def _infer(op: str, x: Tensor, sizes: list[int | SymInt]) -> list[int | SymInt]:
    """The target with its -1 replaced by ``numel / known`` where that divides exactly at build time; a
    static shape that doesn't divide is PyTorch's error."""
    if -1 not in [d for d in sizes if isinstance(d, int)]:
        if _never_equal(math.prod(sizes), x.numel()):
            raise ShapeError(f"{op}: shape '{list(sizes)}' is invalid for input of size {x.numel()}")
        return sizes
    at = next(k for k, d in enumerate(sizes) if isinstance(d, int) and d == -1)
    known = math.prod(d for k, d in enumerate(sizes) if k != at)
    numel = x.numel()
    if isinstance(known, int) and isinstance(numel, int):
        if known == 0 and numel == 0:
            raise ShapeError(f"{op}: cannot reshape tensor of 0 elements into shape {list(sizes)} because the "
                             "unspecified dimension size -1 can be any value and is ambiguous")
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape '{list(sizes)}' is invalid for input of size {numel}")
        return sizes[:at] + [numel // known] + sizes[at + 1:]
    if isinstance(known, int) and known == 0:
        raise ShapeError(f"{op}: shape '{list(sizes)}' can't infer -1 next to a zero-sized dim")
    inferred = numel // known
    if isinstance(inferred, SymInt) and any(a.kind != "dim" for m, _ in inferred.terms.values() for a in m):
        return sizes  # not an exact quotient: TensorRT infers the -1 at run time
    return sizes[:at] + [inferred] + sizes[at + 1:]


def reshape_sizes(op: str, x: Tensor, sizes: Sequence[int | SymInt]) -> Tensor:
    """Reshape ``x`` to ``sizes`` (ints, SymInts, at most one -1), any number of them dynamic.

    Static targets become static ``reshape_dims``; a dynamic size equal to ``x``'s own dim at that index is
    TensorRT's 0 placeholder, one other dynamic size TensorRT's -1; beyond that the target is a shape tensor
    (:func:`trtnet.symbolic.shape_tensor`)."""
    sizes = list(sizes)
    _check_target(op, sizes)
    sizes = _infer(op, x, sizes)
    if not any(isinstance(d, SymInt) for d in sizes):
        return shuffle(op, x, reshape_dims=sizes)
    own = x.shape
    spec: list[int | None] = []
    for k, d in enumerate(sizes):
        if not isinstance(d, SymInt):
            spec.append(d)
        elif k < len(own) and isinstance(own[k], SymInt) and own[k].same(d):
            spec.append(0)
        else:
            spec.append(None)
    literal_zero = any(isinstance(d, int) and d == 0 for d in sizes)
    moved = spec.count(None)
    if not literal_zero and (moved == 0 or (moved == 1 and -1 not in spec)):
        return shuffle(op, x, reshape_dims=[-1 if d is None else d for d in spec], zero_copies_input=0 in spec)
    return shuffle(op, x, shape=symbolic.shape_tensor(sizes))


def reshape(x: Tensor, shape: Sequence[int | SymInt]) -> Tensor:
    """``torch.reshape``: ints and sizes (``x.shape[0]``), one -1 inferred; any number of dynamic dims."""
    return reshape_sizes("reshape", x, symbolic.sizes_arg([shape], "reshape", "shape"))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``torch.flatten``, with any number of dynamic dims."""
    if x.ndim == 0:
        return reshape_sizes("flatten", x, [1])
    start, end = normalize_dim(start_dim, x.ndim, "start_dim"), normalize_dim(end_dim, x.ndim, "end_dim")
    if start > end:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    shape = x.shape
    return reshape_sizes("flatten", x, [*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:]])


def unflatten(x: Tensor, dim: int, sizes: Sequence[int | SymInt]) -> Tensor:
    """``torch.unflatten``: dim ``dim`` split into ``sizes`` (ints and sizes, one -1 inferred from that dim)."""
    d = normalize_dim(dim, x.ndim)
    sizes = symbolic.sizes_arg([sizes], "unflatten", "sizes")
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    _check_target("unflatten", sizes)
    shape = x.shape
    if -1 in [s for s in sizes if isinstance(s, int)]:
        at = next(k for k, s in enumerate(sizes) if isinstance(s, int) and s == -1)
        known = math.prod(s for k, s in enumerate(sizes) if k != at)
        if isinstance(known, int) and isinstance(shape[d], int) and (known == 0 or shape[d] % known):
            raise ShapeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                             f"({shape[d]}) in the input tensor")
        if not isinstance(known, int) or known != 0:
            sizes = sizes[:at] + [shape[d] // known] + sizes[at + 1:]
    elif isinstance(shape[d], int) and isinstance(math.prod(sizes), int) and math.prod(sizes) != shape[d]:
        raise ShapeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                         f"({shape[d]}) in the input tensor")
    return reshape_sizes("unflatten", x, [*shape[:d], *sizes, *shape[d + 1:]])


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    order = [normalize_dim(d, x.ndim) for d in dims]
    if sorted(order) != list(range(x.ndim)):
        raise ShapeError(f"permute {tuple(dims)} is not a permutation of the {x.ndim} dims of {x.static_shape}")
    return shuffle("permute", x, permutation=order)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim == 0:  # dims 0 and -1 name a 0-d tensor, as in torch
        normalize_dim(dim0, 1), normalize_dim(dim1, 1)
        return shuffle("transpose", x, permutation=[])
    order = list(range(x.ndim))
    a, b = normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim)
    order[a], order[b] = order[b], order[a]
    return shuffle("transpose", x, permutation=order)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``torch.cat``: equal ranks and dtypes; a 1-D empty tensor (size (0,)) next to others is skipped, as torch."""
    tensors = list(tensors)
    if not tensors:
        raise TrtnetError("cat needs at least one tensor")
    kept = [t for t in tensors if t.static_shape != (0,)]
    tensors = kept or tensors
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
