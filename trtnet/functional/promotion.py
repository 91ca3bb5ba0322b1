"""PyTorch's type promotion for the operands of one op (``torch.result_type``), the one place trtnet promotes.

Categories rank bool < integer < float. Tensors with dims decide first; a 0-d tensor counts only when its category
is higher, and a Python scalar only when its category is higher still (an int scalar then gives int64, a float
scalar float32, torch's default dtype): ``int32 tensor + 2.5`` is float32, ``float16 tensor + 2.5`` float16,
``int32 tensor + int64 0-d tensor`` int32, ``float16 + float32`` float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trtnet import dtypes
from trtnet.errors import TrtnetError
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

_INT_ORDER = (dtypes.uint8, dtypes.int8, dtypes.int32, dtypes.int64)


def _category(dtype: dtypes.DType) -> int:
    return 0 if dtype is dtypes.bool_ else 2 if dtype.is_float else 1


def _join(a: dtypes.DType | None, b: dtypes.DType, op: str) -> dtypes.DType:
    """The promoted dtype of two dtypes of one tier."""
    if a is None or a is b:
        return b
    if a in dtypes.QUANTIZED or b in dtypes.QUANTIZED:
        raise TrtnetError(f"{op}: operands are {a.name} and {b.name}; quantized tensors take no arithmetic, "
                          "dequantize them first")
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    if a.is_float:
        return dtypes.float32  # float16 with bfloat16 or float32, bfloat16 with float32
    if {a, b} == {dtypes.uint8, dtypes.int8}:
        return dtypes.int32  # torch's int16: TensorRT has none
    return max(a, b, key=_INT_ORDER.index)


def _scalar_dtype(value: Any) -> dtypes.DType:
    if isinstance(value, (bool, np.bool_)):
        return dtypes.bool_
    if isinstance(value, (int, np.integer)):
        return dtypes.int64
    if isinstance(value, (float, np.floating)):
        return dtypes.float32
    raise TrtnetError(f"an operand of type {type(value).__name__} ({value!r}) is not a tensor or a number")


def operand_dtype(value: Any) -> tuple[int, dtypes.DType]:
    """(tier, dtype): tier 2 for tensors with dims, 1 for 0-d tensors, 0 for Python/numpy scalars."""
    if isinstance(value, Tensor):
        return (2 if value.ndim else 1), value.dtype
    if isinstance(value, Parameter):
        return 2, value.dtype
    if isinstance(value, np.ndarray) and value.ndim:
        if value.dtype.kind == "c":
            raise TrtnetError(f"complex values are not supported, got an array of {value.dtype}: TensorRT has no "
                              "complex dtype; pass the real and imaginary parts as two float32 tensors")
        return 2, dtypes.float32 if value.dtype.kind == "f" else dtypes.from_numpy(value.dtype)
    if isinstance(value, (complex, np.complexfloating)):
        raise TrtnetError(f"complex values are not supported, got {value!r}: TensorRT has no complex dtype")
    return 0, _scalar_dtype(value.item() if isinstance(value, np.ndarray) else value)


def result_type(*operands: Any, op: str = "op") -> dtypes.DType:
    """``torch.result_type`` of tensors, Parameters, arrays and scalars."""
    best: dict[int, dtypes.DType | None] = {2: None, 1: None, 0: None}
    for value in operands:
        tier, dtype = operand_dtype(value)
        best[tier] = _join(best[tier], dtype, op)
    result = None
    for tier in (2, 1, 0):  # a lower tier counts only with a higher category
        dtype = best[tier]
        if dtype is not None and (result is None or _category(dtype) > _category(result)):
            result = dtype
    if result is None:
        raise TrtnetError(f"{op} needs at least one operand")
    return result


def promoted(value: Any, dtype: dtypes.DType, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor of ``dtype``: tensors are cast, constants made in ``dtype`` (rank-aligned to ``like``)."""
    from trtnet.functional._util import as_tensor
    from trtnet.functional.unary import cast

    if isinstance(value, Tensor):
        return cast(value, dtype)
    if isinstance(value, Parameter):
        return cast(as_tensor(value, like=like), dtype)
    return as_tensor(value, like=like, dtype=dtype)
