"""``Tensor``: a symbolic tensor of the network being built (wraps a TensorRT ``ITensor``).

Operators and methods carry PyTorch's names and lower through :mod:`trtnet.functional`, so model
code reads like eager PyTorch: ``(x @ w).relu().flatten(1)``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Sequence

from trtnet import dtypes
from trtnet.errors import TrtnetError


def _functional() -> ModuleType:
    import trtnet.functional as F  # functional imports Tensor: import it when first used

    return F


def _symbolic() -> ModuleType:
    import trtnet.symbolic as symbolic  # symbolic makes Tensors: import it when first used

    return symbolic


class Tensor:
    """A tensor of the network under construction. ``shape`` holds a SymInt for each dynamic dimension,
    ``static_shape`` -1."""

    __array_priority__ = 1000  # numpy scalars on the left defer to Tensor's reflected operators

    def __init__(self, itensor: Any, static_shape: tuple[int, ...] | None = None,
                 dtype: dtypes.DType | None = None) -> None:
        """``static_shape``, ``dtype``: what the caller knows (a constant's), saving TensorRT a query each."""
        self.itensor = itensor
        self._static_shape = static_shape
        self._size: Any = None
        self._dtype = dtype

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        from trtnet import graph  # graph imports Tensor

        graph.flush_names()
        return self.itensor.name

    @property
    def shape(self) -> "symbolic.Size":
        """``torch.Size``-like: ints for static dims, a :class:`trtnet.symbolic.SymInt` for each dynamic dim."""
        if self._size is None:
            self._size = _symbolic().size_of(self)
        return self._size

    @property
    def static_shape(self) -> tuple[int, ...]:
        """The build-time shape, -1 for each dynamic dimension (what lowerings validate against).

        Cached: a Tensor is made once its layer is configured (``set_input`` before ``functional._util.out``)."""
        if self._static_shape is None:
            self._static_shape = _symbolic().dims_of(self.itensor)
        return self._static_shape

    @property
    def dtype(self) -> dtypes.DType:
        """Cached as :attr:`static_shape` (a strongly typed network fixes it once the layer is configured)."""
        if self._dtype is None:
            self._dtype = dtypes.from_trt(self.itensor.dtype)
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._static_shape if self._static_shape is not None else self.static_shape)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> Any:
        """``torch.Tensor.size``: the :attr:`shape`, or the size of ``dim`` (an int or a SymInt)."""
        if dim is None:
            return self.shape
        return self.shape[_functional()._util.normalize_dim(dim, self.ndim)]

    def numel(self) -> Any:
        """The number of elements (a SymInt when a dim is dynamic)."""
        return self.shape.numel()

    def __repr__(self) -> str:
        return f"Tensor(name={self.name!r}, shape={self.static_shape}, dtype={self.dtype.name})"

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

    def __rpow__(self, other: Any) -> "Tensor":
        return _functional().pow(other, self)

    def __abs__(self) -> "Tensor":
        return _functional().abs(self)

    def __floordiv__(self, other: Any) -> "Tensor":
        return _functional().floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> "Tensor":
        return _functional().floor_divide(other, self)

    def __mod__(self, other: Any) -> "Tensor":
        return _functional().remainder(self, other)

    def __rmod__(self, other: Any) -> "Tensor":
        return _functional().remainder(other, self)

    # ---- comparisons (bool tensors, as in PyTorch; hashing stays by identity) ------------------
    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return _functional().eq(self, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return _functional().ne(self, other)

    def __gt__(self, other: Any) -> "Tensor":
        return _functional().gt(self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return _functional().ge(self, other)

    def __lt__(self, other: Any) -> "Tensor":
        return _functional().lt(self, other)

    def __le__(self, other: Any) -> "Tensor":
        return _functional().le(self, other)

    def __and__(self, other: Any) -> "Tensor":
        return _functional().bitwise_and(self, other)

    def __rand__(self, other: Any) -> "Tensor":
        return _functional().bitwise_and(other, self)

    def __or__(self, other: Any) -> "Tensor":
        return _functional().bitwise_or(self, other)

    def __ror__(self, other: Any) -> "Tensor":
        return _functional().bitwise_or(other, self)

    def __xor__(self, other: Any) -> "Tensor":
        return _functional().bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> "Tensor":
        return _functional().bitwise_xor(other, self)

    def __invert__(self) -> "Tensor":
        return _functional().bitwise_not(self)

    def eq(self, other: Any) -> "Tensor":
        return _functional().eq(self, other)

    def ne(self, other: Any) -> "Tensor":
        return _functional().ne(self, other)

    def gt(self, other: Any) -> "Tensor":
        return _functional().gt(self, other)

    def ge(self, other: Any) -> "Tensor":
        return _functional().ge(self, other)

    def lt(self, other: Any) -> "Tensor":
        return _functional().lt(self, other)

    def le(self, other: Any) -> "Tensor":
        return _functional().le(self, other)

    def logical_not(self) -> "Tensor":
        return _functional().logical_not(self)

    def where(self, condition: "Tensor", other: Any) -> "Tensor":
        """``x.where(condition, other)`` = ``torch.where(condition, x, other)``."""
        return _functional().where(condition, self, other)

    def masked_fill(self, mask: "Tensor", value: Any) -> "Tensor":
        return _functional().masked_fill(self, mask, value)

    # ---- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        return _functional().getitem(self, index)

    def __iter__(self):
        raise TypeError("a trtnet Tensor can't be iterated while the network is built; use unbind(), split() or "
                        "indexing with ints")

    def __len__(self) -> int:
        if not self.static_shape or self.static_shape[0] == -1:
            raise TypeError(f"len() of a tensor of shape {self.static_shape} is unknown while building")
        return self.static_shape[0]

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        return _functional().narrow(self, dim, start, length)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple["Tensor", ...]:
        return _functional().split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        return _functional().chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        return _functional().unbind(self, dim)

    def flip(self, *dims: int | Sequence[int]) -> "Tensor":
        return _functional().flip(self, _shape_args(dims))

    def roll(self, shifts: Any, dims: Any = None) -> "Tensor":
        return _functional().roll(self, shifts, dims)

    def index_select(self, dim: int, index: "Tensor") -> "Tensor":
        return _functional().index_select(self, dim, index)

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        """``x.reshape(b, s, -1)``: ints and sizes (``x.shape[0]``), one -1 inferred."""
        return _functional().reshape(self, _symbolic().sizes_arg(shape, "reshape", "shape"))

    def view(self, *shape: Any) -> "Tensor":
        return _functional().reshape(self, _symbolic().sizes_arg(shape, "view", "size"))

    def unflatten(self, dim: int, sizes: Sequence[Any]) -> "Tensor":
        return _functional().unflatten(self, dim, sizes)

    # ---- new tensors of this dtype (trtnet.functional.creation) ------------------------------
    def new_zeros(self, *size: Any, dtype: dtypes.DType | str | None = None, device: Any = None,
                  requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> "Tensor":
        return _functional().full(_symbolic().sizes_arg(size, "new_zeros"), 0, dtype=dtype or self.dtype)

    def new_ones(self, *size: Any, dtype: dtypes.DType | str | None = None, device: Any = None,
                 requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> "Tensor":
        return _functional().full(_symbolic().sizes_arg(size, "new_ones"), 1, dtype=dtype or self.dtype)

    def new_empty(self, *size: Any, dtype: dtypes.DType | str | None = None, device: Any = None,
                 requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> "Tensor":
        return _functional().full(_symbolic().sizes_arg(size, "new_empty"), 0, dtype=dtype or self.dtype)

    def new_full(self, size: Sequence[Any], fill_value: Any, *, dtype: dtypes.DType | str | None = None,
                 device: Any = None, requires_grad: bool = False, layout: Any = None,
                 pin_memory: bool = False) -> "Tensor":  # device... accepted and ignored, as in to()
        return _functional().full(_symbolic().sizes_arg([size], "new_full"), fill_value, dtype=dtype or self.dtype)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        return _functional().flatten(self, start_dim, end_dim)

    def permute(self, *dims: int | Sequence[int]) -> "Tensor":
        return _functional().permute(self, _shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        return _functional().transpose(self, dim0, dim1)

    @property
    def T(self) -> "Tensor":  # noqa: N802 - PyTorch's name
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> "Tensor":  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)

    def squeeze(self, dim: int | Sequence[int] | None = None) -> "Tensor":
        return _functional().squeeze(self, dim)

    def unsqueeze(self, dim: int) -> "Tensor":
        return _functional().unsqueeze(self, dim)

    def expand(self, *sizes: int | Sequence[int]) -> "Tensor":
        return _functional().expand(self, _shape_args(sizes))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return _functional().expand_as(self, other)

    def repeat(self, *repeats: int | Sequence[int]) -> "Tensor":
        return _functional().repeat(self, _shape_args(repeats))

    # ---- reductions -------------------------------------------------------------------------
    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().mean(self, dim, keepdim)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().sum(self, dim, keepdim)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().amax(self, dim, keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().amin(self, dim, keepdim)

    def softmax(self, dim: int, dtype: dtypes.DType | str | None = None) -> "Tensor":
        return _functional().softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: int, dtype: dtypes.DType | str | None = None) -> "Tensor":
        return _functional().log_softmax(self, dim, dtype=dtype)

    # ---- pointwise math ---------------------------------------------------------------------
    def pow(self, exponent: Any) -> "Tensor":
        return _functional().pow(self, exponent)

    def sqrt(self) -> "Tensor":
        return _functional().sqrt(self)

    def rsqrt(self) -> "Tensor":
        return _functional().rsqrt(self)

    def exp(self) -> "Tensor":
        return _functional().exp(self)

    def log(self) -> "Tensor":
        return _functional().log(self)

    def abs(self) -> "Tensor":
        return _functional().abs(self)

    def reciprocal(self) -> "Tensor":
        return _functional().reciprocal(self)

    def sin(self) -> "Tensor":
        return _functional().sin(self)

    def cos(self) -> "Tensor":
        return _functional().cos(self)

    def erf(self) -> "Tensor":
        return _functional().erf(self)

    def floor(self) -> "Tensor":
        return _functional().floor(self)

    def ceil(self) -> "Tensor":
        return _functional().ceil(self)

    def neg(self) -> "Tensor":
        return _functional().neg(self)

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002 - PyTorch's names
        return _functional().clamp(self, min, max)

    clip = clamp

    def add(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return _functional().add(self, other, alpha=alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return _functional().sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> "Tensor":
        return _functional().mul(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> "Tensor":
        return _functional().div(self, other, rounding_mode=rounding_mode)

    def matmul(self, other: Any) -> "Tensor":
        return _functional().matmul(self, other)

    def maximum(self, other: Any) -> "Tensor":
        return _functional().maximum(self, other)

    def minimum(self, other: Any) -> "Tensor":
        return _functional().minimum(self, other)

    # ---- activations and casts --------------------------------------------------------------
    def relu(self) -> "Tensor":
        return _functional().relu(self)

    def sigmoid(self) -> "Tensor":
        return _functional().sigmoid(self)

    def tanh(self) -> "Tensor":
        return _functional().tanh(self)

    def gelu(self, approximate: str = "none") -> "Tensor":
        return _functional().gelu(self, approximate)

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(other)`` (its dtype), ``to(device, dtype)``: devices ("cuda", "cpu", torch.device)
        and ``non_blocking``/``copy``/``memory_format`` are accepted and ignored (the engine decides placement)."""
        dtype = kwargs.pop("dtype", None)
        unknown = set(kwargs) - {"device", "non_blocking", "copy", "memory_format"}
        if unknown:
            raise TypeError(f"to() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif not _is_device(arg) and not isinstance(arg, bool):
                dtype = arg
        return self if dtype is None else _functional().cast(self, dtypes.get(dtype))

    def float(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.float32)

    def half(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.float16)

    def bfloat16(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.bfloat16)

    def int(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.int32)

    def long(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.int64)

    def bool(self, memory_format: Any = None) -> "Tensor":  # memory_format: ignored, as in to()
        return self.to(dtypes.bool_)

    def double(self) -> "Tensor":
        return self.to("float64")  # refused with the reason (trtnet.dtypes)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # ---- scans and order statistics (trtnet.functional.scan / selection / topk) -------------
    def cumsum(self, dim: int, *, dtype: dtypes.DType | str | None = None) -> "Tensor":
        return _functional().cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: dtypes.DType | str | None = None) -> "Tensor":
        return _functional().cumprod(self, dim, dtype=dtype)

    def cummax(self, dim: int) -> Any:
        return _functional().cummax(self, dim)

    def cummin(self, dim: int) -> Any:
        return _functional().cummin(self, dim)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        return _functional().kthvalue(self, k, dim, keepdim)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _functional().median(self, dim, keepdim)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        return _functional().topk(self, k, dim, largest, sorted)


    # ---- tensor-op vocabulary (issue 9): trtnet.functional extrema / sorting / statistics / scatter / ... -------
    def contiguous(self, memory_format: Any = None) -> "Tensor":
        return self

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def repeat_interleave(self, repeats: int, dim: int | None = None, *, output_size: int | None = None) -> "Tensor":
        return _functional().repeat_interleave(self, repeats, dim, output_size=output_size)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return _functional().max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return _functional().min(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        return _functional().argmin(self, dim, keepdim)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        return _functional().sort(self, dim, descending, stable=stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> "Tensor":
        return _functional().argsort(self, dim, descending, stable)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> "Tensor":
        return _functional().logsumexp(self, dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        return _functional().prod(self, dim, keepdim, dtype=dtype)

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> "Tensor":
        return _functional().var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> "Tensor":
        return _functional().std(self, dim, unbiased, keepdim, correction=correction)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        return _functional().norm(self, p, dim, keepdim, dtype)

    def floor_divide(self, other: Any) -> "Tensor":
        return _functional().floor_divide(self, other)

    def remainder(self, other: Any) -> "Tensor":
        return _functional().remainder(self, other)

    def fmod(self, other: Any) -> "Tensor":
        return _functional().fmod(self, other)

    def sign(self) -> "Tensor":
        return _functional().sign(self)

    def trunc(self) -> "Tensor":
        return _functional().trunc(self)

    def logical_and(self, other: Any) -> "Tensor":
        return _functional().logical_and(self, other)

    def logical_or(self, other: Any) -> "Tensor":
        return _functional().logical_or(self, other)

    def logical_xor(self, other: Any) -> "Tensor":
        return _functional().logical_xor(self, other)

    def tril(self, diagonal: int = 0) -> "Tensor":
        return _functional().tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> "Tensor":
        return _functional().triu(self, diagonal)

    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        return _functional().gather(self, dim, index)

    def scatter(self, dim: int, index: "Tensor", src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> "Tensor":
        return _functional().scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim: int, index: "Tensor", src: "Tensor") -> "Tensor":
        return _functional().scatter_add(self, dim, index, src)

    def index_add(self, dim: int, index: "Tensor", source: "Tensor", *, alpha: Any = 1) -> "Tensor":
        return _functional().index_add(self, dim, index, source, alpha=alpha)

    def index_put(self, indices: Sequence["Tensor"], values: Any, accumulate: bool = False) -> "Tensor":
        return _functional().index_put(self, indices, values, accumulate)

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        """torch functions called on trtnet Tensors (``torch.cat([x, y])``) stop with the trtnet name to use."""
        name = getattr(func, "__name__", str(func))
        if "Tensor." in getattr(func, "__qualname__", ""):
            raise TrtnetError(f"torch.Tensor.{name} got a trtnet Tensor: torch tensors and trtnet Tensors don't mix "
                              "while a network is built; make a constant with trtnet.functional.as_tensor(array)")
        hint = (f"use trtnet.functional.{name}" if callable(getattr(_functional(), name, None))
                else "trtnet.functional has no op of that name")
        raise TrtnetError(f"torch.{name} was called on a trtnet Tensor; {hint} (trtnet Tensors are TensorRT "
                          "network tensors, torch functions can't take them)")


def _is_device(arg: Any) -> bool:
    """A torch device or its spelling ("cuda", "cuda:0", "cpu"), as ``Tensor.to`` takes them."""
    if type(arg).__name__ == "device":
        return True
    return isinstance(arg, str) and arg.split(":")[0] in ("cuda", "cpu", "mps", "meta")


def _shape_args(args: tuple) -> tuple[int, ...]:
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)
