"""TensorRT dtypes as torch dtypes, and layer weights as torch tensors."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import numpy as np
import torch

from trtnet import backend
from trtnet.errors import TrtnetError

_TORCH_BY_TRT_NAME = {
    "FLOAT": torch.float32,
    "HALF": torch.float16,
    "BF16": torch.bfloat16,
    "INT8": torch.int8,
    "UINT8": torch.uint8,
    "INT32": torch.int32,
    "INT64": torch.int64,
    "BOOL": torch.bool,
    "FP8": torch.float8_e4m3fn,
    "INT4": torch.int8,  # int4 values (a quantize layer's output) carried unpacked in int8
}

REDUCED_FLOATS = (torch.float16, torch.bfloat16, torch.float8_e4m3fn)


@functools.lru_cache(maxsize=None)
def _torch_by_trt() -> dict[Any, torch.dtype]:
    trt = backend.trt()
    return {getattr(trt.DataType, name): dtype for name, dtype in _TORCH_BY_TRT_NAME.items()}


def to_torch(trt_dtype: Any) -> torch.dtype:
    """The torch dtype of a TensorRT ``DataType``; TrtnetError for types the executor can't hold (FP8, INT4, ...)."""
    try:
        return _torch_by_trt()[trt_dtype]
    except KeyError:
        raise TrtnetError(f"the reference executor does not support TensorRT dtype {trt_dtype}") from None


def compute(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor a layer computes with: fp16/bf16/fp8 widened to float32, everything else unchanged."""
    return tensor.float() if tensor.dtype in REDUCED_FLOATS else tensor


def weights(value: Any) -> torch.Tensor | None:
    """A layer's weights (numpy view or ``trt.Weights``) as a flat torch tensor in compute dtype; None if empty."""
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        if not value.flags.writeable:
            value = value.copy()
        return compute(torch.from_numpy(value).reshape(-1))
    if value is None or value.size == 0:
        return None
    return compute(_read_raw_weights(value))


def _read_raw_weights(value: Any) -> torch.Tensor:
    """Read ``trt.Weights`` numpy can't view (bf16) from the underlying ``nvinfer1::Weights`` struct.

    The Python bindings expose neither the pointer nor a buffer for bf16 weights, so this reads the pybind11
    instance's value pointer (``{DataType type; void const* values; int64_t count}``) and checks the type and
    count it finds against the ones the bindings report before trusting the pointer.
    """
    dtype = to_torch(value.dtype)
    struct_address = ctypes.c_void_p.from_address(id(value) + object.__basicsize__).value
    if struct_address:
        type_code = ctypes.c_int32.from_address(struct_address).value
        data_address = ctypes.c_void_p.from_address(struct_address + 8).value
        count = ctypes.c_int64.from_address(struct_address + 16).value
        if type_code == int(value.dtype) and count == value.size and data_address:
            nbytes = count * torch.empty((), dtype=dtype).element_size()
            raw = (ctypes.c_uint8 * nbytes).from_address(data_address)
            return torch.frombuffer(bytearray(raw), dtype=dtype)
    raise TrtnetError(f"cannot read {value.dtype} weights through these TensorRT Python bindings")
