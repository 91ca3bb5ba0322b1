"""Python's index and slice rules on sizes known only at run time.

A size is an int or a :class:`~trtnet.symbolic.SymInt` (``x.shape[i]`` of a dynamic dim); the rules are computed
with SymInt arithmetic, so they fold to ints for static shapes and stay symbolic (later ``y.shape`` knows them)
otherwise. ``min``/``max`` are decided at build time when the profile ranges decide them; else they are exact
integer expressions (``relu(v) = v * (1 + v // 2**40)`` for ``|v| < 2**40``), materialized as shape-tensor layers.
"""

from __future__ import annotations

from typing import Any, Callable

from trtnet import symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.symbolic import SymInt

Size = int | SymInt

SIGN_SCALE = 2 ** 40  # v // 2**40 is -1 for a negative size, 0 for a non-negative one (|v| < 2**40, as TensorRT)


def as_size(value: Any, arg: str) -> Size:
    """An int or a SymInt, else a :class:`TrtnetError` naming ``arg``."""
    if not symbolic.is_size(value):
        raise TrtnetError(f"{arg} must be an int or a size (x.shape[i]), got {type(value).__name__} ({value!r})")
    return value if isinstance(value, SymInt) else int(value)


def _decided(comparison: Callable[[], bool]) -> bool | None:
    """The comparison's value when the sizes' ranges decide it, else None."""
    try:
        return bool(comparison())
    except ShapeError:
        return None


def relu(v: Size) -> Size:
    """``max(v, 0)``."""
    if _decided(lambda: v >= 0):
        return v
    if _decided(lambda: v <= 0):
        return 0
    return v * (1 + v // SIGN_SCALE)


def maximum(a: Size, b: Size) -> Size:
    return b + relu(a - b)


def minimum(a: Size, b: Size) -> Size:
    return a - relu(a - b)


def from_end(i: Size, n: Size) -> Size:
    """``i`` counted from the end of a dim of size ``n`` when negative (``i + n``), else ``i``."""
    negative = _decided(lambda: i < 0)
    if negative is not None:
        return i + n if negative else i
    return i - (i // SIGN_SCALE) * n


def clamped(i: Size | None, n: Size, default: Size) -> Size:
    """A slice bound as Python's ``slice.indices`` (positive step): counted from the end, clamped to [0, n]."""
    return default if i is None else minimum(relu(from_end(i, n)), n)


def slice_extent(n: Size, start: Size | None, stop: Size | None, step: int) -> tuple[Size, Size]:
    """(first index, number of elements) of ``range(n)[start:stop:step]`` for ``step > 0``."""
    begin, end = clamped(start, n, 0), clamped(stop, n, n)
    count = (end - begin + step - 1) // step
    if start is None or stop is None:  # end >= begin already: 0 = begin <= end, or begin <= n = end
        return begin, count
    return begin, relu(count)
