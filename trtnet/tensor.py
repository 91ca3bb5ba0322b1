"""``Tensor``: a symbolic tensor of the network being built (wraps a TensorRT ``ITensor``).

Operators and methods carry PyTorch's names and lower through :mod:`trtnet.functional`, so model
code reads like eager PyTorch: ``(x @ w).relu().flatten(1)``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Sequence

from trtnet import dtypes


def _functional() -> ModuleType:
    import trtnet.functional as F  # functional imports Tensor: import it when first used

    return F


class Tensor:
    """A tensor of the network under construction. ``shape`` uses -1 for dynamic dimensions."""

    __array_priority__ = 1000  # numpy scalars on the left defer to Tensor's reflected operators

    def __init__(self, itensor: Any) -> None:
        self.itensor = itensor

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.itensor.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.itensor.shape)

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_trt(self.itensor.dtype)

    @property
    def ndim(self) -> int:
        return len(self.itensor.shape)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    def __repr__(self) -> str:
        return f"Tensor(name={self.name!r}, shape={self.shape}, dtype={self.dtype.name})"

    def __bool__(self) -> bool:
        raise TypeError("a trtnet Tensor has no value while the network is built; use trtnet.functional.where "
                        "instead of Python control flow on tensor values")

    # ---- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Any) -> "Tensor":
        return _functional().add(self, other)

    def __radd__(self, other: Any) -> "Tensor":
        return _functional().add(other, self)

    def __sub__(self, other: Any) -> "Tensor":
        return _functional().sub(self, other)

    def __rsub__(self, other: Any) -> "Tensor":
        return _functional().sub(other, self)

    def __mul__(self, other: Any) -> "Tensor":
        return _functional().mul(self, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return _functional().mul(other, self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _functional().div(self, other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _functional().div(other, self)

    def __pow__(self, other: Any) -> "Tensor":
        return _functional().pow(self, other)

    def __matmul__(self, other: Any) -> "Tensor":
        return _functional().matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _functional().matmul(other, self)

    def __neg__(self) -> "Tensor":
        return _functional().neg(self)

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> "Tensor":
        return _functional().reshape(self, _shape_args(shape))

    def view(self, *shape: int | Sequence[int]) -> "Tensor":
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        return _functional().flatten(self, start_dim, end_dim)

    def permute(self, *dims: int | Sequence[int]) -> "Tensor":
        return _functional().permute(self, _shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        return _functional().transpose(self, dim0, dim1)

    # ---- activations and casts --------------------------------------------------------------
    def relu(self) -> "Tensor":
        return _functional().relu(self)

    def sigmoid(self) -> "Tensor":
        return _functional().sigmoid(self)

    def tanh(self) -> "Tensor":
        return _functional().tanh(self)

    def to(self, dtype: dtypes.DType | str) -> "Tensor":
        return _functional().cast(self, dtypes.get(dtype))

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def bfloat16(self) -> "Tensor":
        return self.to(dtypes.bfloat16)


def _shape_args(args: tuple) -> tuple[int, ...]:
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)
