"""trtnet's dtypes and their numpy, TensorRT, torch and safetensors spellings.

numpy has no bfloat16, so bf16 values are carried in float32 arrays (already rounded to bf16) and
turned into raw bf16 bits only when TensorRT is handed the weights.

>>> from trtnet import dtypes
>>> dtypes.get("fp16").name, dtypes.get("half") is dtypes.float16
('float16', True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trtnet.errors import TrtnetError, did_you_mean


@dataclass(frozen=True)
class DType:
    """A tensor element type. ``carrier`` is the numpy dtype trtnet stores its values in."""

    name: str
    carrier: np.dtype
    trt_name: str  # attribute of the TensorRT module: trt.float32, trt.bfloat16, ...
    is_float: bool

    def __repr__(self) -> str:
        return f"trtnet.{self.name}"

    def to_trt(self):
        from trtnet import backend

        return getattr(backend.trt(), self.trt_name)


float32 = DType("float32", np.dtype(np.float32), "float32", True)
float16 = DType("float16", np.dtype(np.float16), "float16", True)
bfloat16 = DType("bfloat16", np.dtype(np.float32), "bfloat16", True)
int8 = DType("int8", np.dtype(np.int8), "int8", False)
int32 = DType("int32", np.dtype(np.int32), "int32", False)
int64 = DType("int64", np.dtype(np.int64), "int64", False)
uint8 = DType("uint8", np.dtype(np.uint8), "uint8", False)
bool_ = DType("bool", np.dtype(np.bool_), "bool", False)
# Quantized types (outputs of F.quantize, inputs of F.dequantize): no arithmetic on them, so not ``is_float``.
float8_e4m3fn = DType("float8_e4m3fn", np.dtype(np.float32), "fp8", False)
int4 = DType("int4", np.dtype(np.int8), "int4", False)

ALL = (float32, float16, bfloat16, int8, int32, int64, uint8, bool_, float8_e4m3fn, int4)
QUANTIZED = (int8, float8_e4m3fn, int4)
_BY_NAME = {d.name: d for d in ALL}
_ALIASES = {"fp32": float32, "float": float32, "fp16": float16, "half": float16, "bf16": bfloat16, "int": int32,
            "fp8": float8_e4m3fn, "e4m3": float8_e4m3fn, "float8": float8_e4m3fn}
_NUMPY = {np.dtype(np.float32): float32, np.dtype(np.float16): float16, np.dtype(np.int8): int8,
          np.dtype(np.int32): int32, np.dtype(np.int64): int64, np.dtype(np.uint8): uint8, np.dtype(np.bool_): bool_}
_TRT_DATATYPE = {"FLOAT": float32, "HALF": float16, "BF16": bfloat16, "INT8": int8, "INT32": int32,
                 "INT64": int64, "UINT8": uint8, "BOOL": bool_, "FP8": float8_e4m3fn, "INT4": int4}


_NO_FLOAT64 = "TensorRT has no float64 tensors; use float32 (model.to(trtnet.float32), x.float())"
_NO_COMPLEX = ("TensorRT has no complex dtype; carry the real and imaginary parts as two float32 tensors (or a "
               "trailing dim of 2, as torch.view_as_real)")
_UNREPRESENTABLE = {"float64": _NO_FLOAT64, "double": _NO_FLOAT64, "fp64": _NO_FLOAT64, "complex64": _NO_COMPLEX,
                    "complex128": _NO_COMPLEX, "cfloat": _NO_COMPLEX, "cdouble": _NO_COMPLEX, "complex32": _NO_COMPLEX}


def get(name: str | DType) -> DType:
    """Look a dtype up by trtnet/PyTorch name or common alias (``fp16``, ``bf16``, ``half``...)."""
    if isinstance(name, DType):
        return name
    key = str(name).lower().removeprefix("torch.").removeprefix("trtnet.")
    found = _BY_NAME.get(key) or _ALIASES.get(key)
    if found is None and key in _UNREPRESENTABLE:
        raise TrtnetError(f"dtype {name!r} is not supported: {_UNREPRESENTABLE[key]}")
    if found is None:
        raise TrtnetError(f"unknown dtype {name!r}{did_you_mean(key, [*_BY_NAME, *_ALIASES])}")
    return found


def from_numpy(dtype: np.dtype) -> DType:
    found = _NUMPY.get(np.dtype(dtype))
    if found is None:
        raise TrtnetError(f"numpy dtype {np.dtype(dtype)} has no trtnet equivalent")
    return found


_BY_TRT_VALUE: dict = {}  # trt.DataType -> DType: reading an enum's ``.name`` costs more than the lookup


def from_trt(trt_dtype) -> DType:
    """trtnet dtype of a ``trt.DataType`` value."""
    found = _BY_TRT_VALUE.get(trt_dtype)
    if found is None:
        found = _BY_TRT_VALUE[trt_dtype] = _TRT_DATATYPE[trt_dtype.name]
    return found


def round_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 values rounded (to nearest even) to the closest bfloat16, still as float32."""
    return (bfloat16_bits(values).astype(np.uint32) << 16).view(np.float32)


def bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """The raw bfloat16 bit patterns (uint16) of float32 values, rounded to nearest even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = (bits.astype(np.uint64) + 0x7FFF + ((bits >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        out[nan] = 0x7FC0
    return out


def convert(values: np.ndarray, dtype: DType) -> np.ndarray:
    """``values`` in ``dtype``'s carrier (bf16 values rounded), contiguous."""
    if dtype is bfloat16:
        return round_to_bfloat16(np.asarray(values, dtype=np.float32))
    return np.ascontiguousarray(values, dtype=dtype.carrier)
