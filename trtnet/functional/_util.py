"""Helpers shared by the lowerings: operand conversion, rank alignment, argument normalisation."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


def trt() -> Any:
    """The TensorRT module of the graph being traced (chosen once per graph, not per op)."""
    return graph.current().backend.trt


def out(layer: Any, index: int = 0, static_shape: tuple[int, ...] | None = None,
        dtype: dtypes.DType | None = None) -> Tensor:
    """Output ``index`` of ``layer`` as a Tensor; ``static_shape`` and ``dtype`` when the lowering knows them
    (each saves a TensorRT query)."""
    return Tensor(graph.current().layer_output(layer, index), static_shape, dtype)


def broadcast_shape(a: Tensor, b: Tensor) -> tuple[int, ...] | None:
    """The shape two broadcast operands of equal rank give, when both are static (None otherwise)."""
    shape_a, shape_b = a.static_shape, b.static_shape
    if -1 in shape_a or -1 in shape_b:
        return None
    if shape_a == shape_b:
        return shape_a
    return tuple(da if db == 1 else db for da, db in zip(shape_a, shape_b))


def ntuple(value: int | Sequence[int], n: int, arg: str) -> tuple[int, ...]:
    """``3 -> (3, 3)``; a sequence must have ``n`` ints, or one (repeated, as PyTorch's conv and pooling)."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise TrtnetError(f"{arg} must be an int or {n} ints, got {value!r}")
    return values


def check_window(op: str, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
                 dilation: Sequence[int] = ()) -> None:
    """Refuse window arguments TensorRT would log an error for and then ignore (it keeps its default), in
    PyTorch's words: kernel, stride and dilation >= 1, padding >= 0."""
    if any(k < 1 for k in kernel):
        raise TrtnetError(f"{op}: kernel size should be greater than zero, but got kernel_size={tuple(kernel)}")
    if any(s < 1 for s in stride):
        raise TrtnetError(f"{op}: non-positive stride is not supported, got stride={tuple(stride)}")
    if any(d < 1 for d in dilation):
        raise TrtnetError(f"{op}: dilation should be greater than zero, but got dilation={tuple(dilation)}")
    if any(p < 0 for p in padding):
        raise TrtnetError(f"{op}: negative padding is not supported, got padding={tuple(padding)}")


def check_kernel_fits(op: str, extents: Sequence[int], padded: Sequence[int]) -> None:
    """A (dilated) kernel of ``extents`` must fit the ``padded`` input sizes (dynamic dims, -1, are skipped)."""
    if any(0 < n < e for e, n in zip(extents, padded)):
        raise ShapeError(f"{op}: calculated padded input size per channel: {tuple(padded)}. Kernel size: "
                         f"{tuple(extents)}. Kernel size can't be greater than actual input size")


def check_groups(op: str, groups: int) -> None:
    """``groups`` must be a positive int (PyTorch's wording)."""
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise TrtnetError(f"{op}: groups must be a positive integer, got {groups!r}")


def normalize_dim(dim: int, rank: int, arg: str = "dim") -> int:
    if not -rank <= dim < rank:
        raise ShapeError(f"{arg}={dim} is out of range for a tensor of rank {rank}")
    return dim % rank


def parameter_values(weight: Parameter | np.ndarray, arg: str) -> tuple[np.ndarray, dtypes.DType]:
    """Values and dtype of a Parameter or numpy array used as layer weights."""
    if isinstance(weight, Parameter):
        if not weight.is_set:
            raise TrtnetError(f"{arg} is an unset Parameter; load the weights before building")
        return weight.numpy(), weight.dtype
    if isinstance(weight, np.ndarray):
        return weight, dtypes.from_numpy(weight.dtype)
    raise TrtnetError(f"{arg} must be a trtnet Parameter or numpy array, got {type(weight).__name__}")


def weights_for(weight: Parameter | np.ndarray | None, dtype: dtypes.DType, arg: str) -> Any:
    """``trt.Weights`` of a parameter in ``dtype`` (the input's dtype: networks are strongly typed)."""
    if weight is None:
        return trt().Weights(dtype.to_trt())
    values, weight_dtype = parameter_values(weight, arg)
    check_same_dtype(weight_dtype, dtype, arg)
    return graph.current().weights(values, dtype)


def check_same_dtype(got: dtypes.DType, want: dtypes.DType, arg: str) -> None:
    if got is not want:
        raise TrtnetError(f"{arg} is {got.name} but the input is {want.name}: networks are strongly typed; "
                          f"convert the model with model.to(trtnet.{want.name}) or cast the input with .to()")


def as_tensor(value: Any, like: Tensor | None = None, dtype: dtypes.DType | None = None) -> Tensor:
    """A Tensor for a Tensor, Parameter, numpy array or Python scalar (constants take ``like``'s dtype).

    Public as ``trtnet.functional.as_tensor``: how model code uses a raw Parameter (a ViT class token) as a
    tensor; the constant layer is named by the parameter's state_dict key and created once per shape."""
    if isinstance(value, Tensor):
        return value
    g = graph.current()
    if isinstance(value, Parameter):
        array, param_dtype = parameter_values(value, "parameter")
        if like is not None and array.ndim < like.ndim:  # a view: the constant holds the parameter's memory
            array = array.reshape((1,) * (like.ndim - array.ndim) + array.shape)
        return g.constant(array, param_dtype, name=g.parameter_names.get(id(value)), cache_key=value)
    target = dtype or (like.dtype if like is not None else None)
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise TrtnetError(f"complex values are not supported, got {value!r}: TensorRT has no complex dtype")
    if target is None:
        target = dtypes.float32 if array.dtype.kind == "f" else dtypes.from_numpy(array.dtype)
    if not target.is_float and array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
        raise TrtnetError(f"a non-integer value {value!r} combined with a {target.name} tensor would be truncated; "
                          "convert the tensor with .float() first (trtnet does not promote dtypes)")
    if like is not None and array.ndim < like.ndim:
        array = array.reshape((1,) * (like.ndim - array.ndim) + array.shape)
    return g.constant(array, target)


def prepend_ones(x: Tensor, count: int) -> Tensor:
    """``x`` with ``count`` leading size-1 dims (TensorRT wants equal ranks for broadcasting)."""
    if count == 0:
        return x
    from trtnet.functional.shape import reshape

    return reshape(x, (1,) * count + tuple(x.shape))  # sizes: any number of dynamic dims


def broadcast_operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Two Tensors of equal rank and dtype from tensors/scalars/arrays: PyTorch broadcasting and type promotion."""
    a_tensor, b_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    if not a_tensor and not b_tensor:
        raise TrtnetError(f"{op} needs at least one trtnet Tensor operand")
    if not (a_tensor and b_tensor and a.dtype is b.dtype):  # tensors of one dtype need no promotion
        from trtnet.functional.promotion import promoted, result_type

        dtype = result_type(a, b, op=op)  # torch's type promotion
        a = promoted(a, dtype, like=b if b_tensor else None)
        b = promoted(b, dtype, like=a)
    if a.static_shape == b.static_shape:
        return a, b
    rank = max(a.ndim, b.ndim)
    a, b = prepend_ones(a, rank - a.ndim), prepend_ones(b, rank - b.ndim)
    for da, db in zip(a.static_shape, b.static_shape):
        if da != db and 1 not in (da, db) and -1 not in (da, db):
            raise ShapeError(f"{op}: shapes {a.static_shape} and {b.static_shape} don't broadcast")
    return a, b
