"""New tensors of given sizes: ``zeros``/``ones``/``full``/``empty``, their ``_like`` forms, and ``arange``.

Sizes are ints and :class:`trtnet.symbolic.SymInt` s. A static result is a constant (``full`` broadcasts a
one-element constant with a stride-0 slice, so the engine holds one value); a dynamic one reads its shape from
a shape tensor (:func:`trtnet.symbolic.shape_tensor`); ``arange`` of a dynamic length is an ``IFillLayer``
ramp (LINSPACE).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from trtnet import dtypes, graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional.indexing import strided_slice
from trtnet.symbolic import SymInt
from trtnet.tensor import Tensor


def _default_dtype(value: Any, dtype: dtypes.DType | str | None) -> dtypes.DType:
    """torch's inference: bool -> bool, int -> int64, float -> float32 (when no dtype is given)."""
    if dtype is not None:
        return dtypes.get(dtype)
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(value, (int, np.integer)):
        return dtypes.int64
    return dtypes.float32


def full(size: Sequence[Any], fill_value: Any, *, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.full``: a tensor of ``size`` (ints and sizes) filled with ``fill_value``."""
    sizes = symbolic.sizes_arg([size], "full")
    for s in sizes:
        if isinstance(s, int) and s < 0:
            raise ShapeError(f"full: trying to create tensor with negative dimension {s}: {sizes}")
    if isinstance(fill_value, complex):
        raise TrtnetError(f"full: complex values are not supported, got {fill_value!r}: TensorRT has no complex dtype")
    dtype = _default_dtype(fill_value, dtype)
    g = graph.current()
    one = g.constant(np.full((1,) * len(sizes), fill_value), dtype)
    if all(isinstance(s, int) and s == 1 for s in sizes):
        return one
    static = [0 if isinstance(s, SymInt) else s for s in sizes]  # dynamic sizes come from the shape tensor
    return strided_slice("full", one, [0] * len(sizes), static, [0] * len(sizes),
                         runtime_size=symbolic.shape_tensor(sizes))


def zeros(*size: Any, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.zeros`` (float32 unless ``dtype`` is given)."""
    return full(symbolic.sizes_arg(size, "zeros"), 0.0, dtype=dtype)


def ones(*size: Any, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.ones`` (float32 unless ``dtype`` is given)."""
    return full(symbolic.sizes_arg(size, "ones"), 1.0, dtype=dtype)


def empty(*size: Any, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.empty``: TensorRT has no uninitialized memory, so zeros."""
    return full(symbolic.sizes_arg(size, "empty"), 0.0, dtype=dtype)


def full_like(input: Tensor, fill_value: Any, *, dtype: dtypes.DType | str | None = None, layout: Any = None,
              device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """``torch.full_like``: ``input``'s shape (read at run time where dynamic), its dtype unless given. ``layout``,
    ``device``, ``requires_grad``, ``memory_format`` are accepted and ignored (the engine decides placement)."""
    return full(input.shape, fill_value, dtype=dtype or input.dtype)


def zeros_like(input: Tensor, *, dtype: dtypes.DType | str | None = None, **factory: Any) -> Tensor:
    return full_like(input, 0, dtype=dtype, **factory)


def ones_like(input: Tensor, *, dtype: dtypes.DType | str | None = None, **factory: Any) -> Tensor:
    return full_like(input, 1, dtype=dtype, **factory)


def empty_like(input: Tensor, *, dtype: dtypes.DType | str | None = None, **factory: Any) -> Tensor:
    return full_like(input, 0, dtype=dtype, **factory)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.arange(end)`` / ``(start, end, step)``: ints and sizes, or floats (a static length then).

    dtype as torch: int64 when every argument is an int or a size, float32 otherwise."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        if not (symbolic.is_size(value) or isinstance(value, (float, np.floating))):
            raise TrtnetError(f"arange(): argument '{name}' must be a number or a size, got {type(value).__name__}")
    integral = all(symbolic.is_size(v) for v in (start, end, step))
    dtype = dtypes.get(dtype) if dtype is not None else dtypes.int64 if integral else dtypes.float32
    if not any(isinstance(v, SymInt) for v in (start, end, step)):
        if step == 0:
            raise TrtnetError("arange(): step must be nonzero")
        length = math.ceil((end - start) / step)
        if length < 0:
            raise TrtnetError("arange(): upper bound and larger bound inconsistent with step sign")
        values = np.asarray(start, np.float64) + np.arange(length, dtype=np.float64) * step
        return graph.current().constant(values, dtype)
    if not integral:
        raise TrtnetError("arange(): with a dynamic size, start, end and step must be ints or sizes (torch would make "
                          "a float length); scale an integer arange instead")
    if isinstance(step, int) and step == 0:
        raise TrtnetError("arange(): step must be nonzero")
    positive = step > 0  # a SymInt step must be decided by its range
    length = (end - start + step - 1) // step if positive else (end - start + step + 1) // step
    if isinstance(length, int) and length < 0:
        raise TrtnetError("arange(): upper bound and larger bound inconsistent with step sign")
    from trtnet.functional.fill import linspace_fill  # the one IFillLayer lowering

    shape = symbolic.scalar_tensor(length)  # the 1-D shape [length] of the ramp
    if isinstance(start, int) and isinstance(step, int):
        return linspace_fill("arange", shape, start, [step], dtype)
    from trtnet.functional.elementwise import add, mul
    from trtnet.functional.unary import cast

    ramp = linspace_fill("arange", shape, 0, [1], dtypes.int64)
    values = add(mul(ramp, symbolic.scalar_tensor(step)), symbolic.scalar_tensor(start))
    return values if dtype is dtypes.int64 else cast(values, dtype)
