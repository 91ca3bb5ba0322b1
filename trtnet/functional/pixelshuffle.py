"""``pixel_shuffle``, ``pixel_unshuffle`` and ``channel_shuffle``: reshape, transpose, reshape (``IShuffleLayer``s).

Dynamic dims are carried as their symbolic sizes (leading dims, ``pixel_shuffle``'s height and width,
``channel_shuffle``'s trailing dims); the channel dim must be static."""

from __future__ import annotations

from typing import Sequence

from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional.shape import reshape_sizes, shuffle
from trtnet.symbolic import SymInt
from trtnet.tensor import Tensor


def _regroup(op: str, x: Tensor, lead: int, middle: Sequence[int | SymInt], order: Sequence[int],
             final: Sequence[int | SymInt]) -> Tensor:
    """``x`` reshaped to ``x.shape[:lead] + middle``, those trailing dims permuted by ``order``, reshaped to
    ``x.shape[:lead] + final``."""
    kept = list(x.shape[:lead])
    split = reshape_sizes(op, x, kept + list(middle))
    moved = shuffle(op, split, permutation=list(range(lead)) + [lead + k for k in order])
    return reshape_sizes(op, moved, kept + list(final))


def _channels(op: str, x: Tensor, dim: int) -> int:
    c = x.static_shape[dim]
    if c == -1:
        raise ShapeError(f"{op}: the channel dim of {x.static_shape} must be static")
    return c


def _check_factor(op: str, factor: int, name: str) -> None:
    if not isinstance(factor, int) or isinstance(factor, bool) or factor <= 0:
        raise TrtnetError(f"{op} expects a positive {name}, but got {factor!r}")


def _check_rank(op: str, x: Tensor) -> None:
    if x.ndim < 3:
        raise ShapeError(f"{op} expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``torch.nn.functional.pixel_shuffle``: ``(*, C*r*r, H, W)`` -> ``(*, C, H*r, W*r)``."""
    op, r = "pixel_shuffle", upscale_factor
    _check_factor(op, r, "upscale_factor")
    _check_rank(op, input)
    c = _channels(op, input, -3)
    if c % (r * r):
        raise ShapeError(f"{op} expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    h, w = input.shape[-2:]
    return _regroup(op, input, input.ndim - 3, [c // (r * r), r, r, h, w], [0, 3, 1, 4, 2],
                    [c // (r * r), h * r, w * r])


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``torch.nn.functional.pixel_unshuffle``: ``(*, C, H*r, W*r)`` -> ``(*, C*r*r, H, W)``; H and W static."""
    op, r = "pixel_unshuffle", downscale_factor
    _check_factor(op, r, "downscale_factor")
    _check_rank(op, input)
    c = _channels(op, input, -3)
    h, w = input.static_shape[-2:]
    if -1 in (h, w):
        raise ShapeError(f"{op}: the height and width of {input.static_shape} must be static")
    for name, size, dim in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise ShapeError(f"{op} expects {name} to be divisible by downscale_factor, but "
                             f"input.size({dim})={size} is not divisible by {r}")
    return _regroup(op, input, input.ndim - 3, [c, h // r, r, w // r, r], [0, 2, 4, 1, 3], [c * r * r, h // r, w // r])


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``torch.nn.functional.channel_shuffle``: ``(N, C, *)`` with the channels of ``groups`` groups interleaved."""
    op = "channel_shuffle"
    if input.ndim <= 2:
        raise ShapeError(f"{op} expects input with > 2 dims, but got input with sizes {list(input.static_shape)}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
        raise TrtnetError(f"Number of groups to divide channels in must be positive. Value of groups:{groups!r}")
    c = _channels(op, input, 1)
    if c % groups:
        raise ShapeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = list(input.shape[2:])
    return _regroup(op, input, 1, [groups, c // groups, *rest], [1, 0, *range(2, 2 + len(rest))], [c, *rest])
