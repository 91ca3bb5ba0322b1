"""Inputs of the windowed ops (conv, transposed conv, pooling) in 1-3 spatial dims, as PyTorch accepts them.

``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; TensorRT's N-d layers take 2-D and 3-D windows, so a 1-D op
runs as 2-D on ``(N, C, 1, L)`` (a unit height) and its output drops that dim again."""

from __future__ import annotations

from typing import Sequence

from trtnet.errors import ShapeError
from trtnet.functional.dims import squeeze, unsqueeze
from trtnet.tensor import Tensor


def batched(op: str, x: Tensor, nd: int) -> tuple[Tensor, bool]:
    """``x`` as ``(N, C, *spatial)`` and whether it came unbatched (PyTorch's rank check and wording)."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of "
                         f"size: {list(x.static_shape)}")
    return (unsqueeze(x, 0), True) if x.ndim == nd + 1 else (x, False)


def unbatched(y: Tensor, was_unbatched: bool) -> Tensor:
    """The output in the input's layout (drops the batch dim :func:`batched` added)."""
    return squeeze(y, 0) if was_unbatched else y


def as_2d(x: Tensor) -> Tensor:
    """``(N, C, L)`` as ``(N, C, 1, L)``."""
    return unsqueeze(x, 2)


def from_2d(y: Tensor) -> Tensor:
    """``(N, C, 1, L)`` back to ``(N, C, L)``."""
    return squeeze(y, 2)


def window_2d(values: Sequence[int], unit: int) -> tuple[int, ...]:
    """A 1-D window argument for its 2-D run: ``unit`` (1 for kernel/stride/dilation, 0 for padding) first."""
    return (unit, *values)
