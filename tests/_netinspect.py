"""Read a traced network back from TensorRT's own INetworkDefinition (helpers for the issue-2 tests).

Layers come back from ``network.get_layer(i)`` as a plain ``ILayer``; the Python bindings give the
typed interface once the object is downcast by assigning ``__class__`` (checked against ``layer.type``).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from trtnet import backend

_LAYER_CLASSES = {
    "CONVOLUTION": "IConvolutionLayer", "POOLING": "IPoolingLayer", "ACTIVATION": "IActivationLayer",
    "SCALE": "IScaleLayer", "SHUFFLE": "IShuffleLayer", "REDUCE": "IReduceLayer",
    "MATRIX_MULTIPLY": "IMatrixMultiplyLayer", "ELEMENTWISE": "IElementWiseLayer", "CONSTANT": "IConstantLayer",
    "CONCATENATION": "IConcatenationLayer", "CAST": "ICastLayer", "IDENTITY": "IIdentityLayer", "UNARY": "IUnaryLayer",
}


def trt() -> Any:
    return backend.trt()


def layer_type(layer: Any) -> Any:
    """The ``LayerType`` of a layer, also once downcast (``IPoolingLayer.type`` is the *pooling* type,
    ``IActivationLayer.type`` the activation type: they shadow ``ILayer.type``)."""
    return trt().ILayer.type.fget(layer)


def downcast(layer: Any) -> Any:
    """``layer`` viewed through the interface matching its ``LayerType``."""
    cls = _LAYER_CLASSES.get(layer_type(layer).name)
    if cls is not None:
        layer.__class__ = getattr(trt(), cls)
    return layer


def layers(network: Any) -> list[Any]:
    """Every layer of ``network`` (an INetworkDefinition or a trtnet Network), downcast, in order."""
    network = getattr(network, "network", network)
    return [downcast(network.get_layer(i)) for i in range(network.num_layers)]


def layer_named(network: Any, name: str) -> Any:
    found = [layer for layer in layers(network) if layer.name == name]
    assert len(found) == 1, f"{len(found)} layers named {name!r}; layers: {[l.name for l in layers(network)]}"
    return found[0]


def summary(network: Any) -> list[tuple[str, str]]:
    """``(name, type)`` of every layer."""
    return [(layer.name, layer_type(layer).name) for layer in layers(network)]


def output_names(layer: Any) -> list[str]:
    return [layer.get_output(i).name for i in range(layer.num_outputs)]


def input_names(layer: Any) -> list[str]:
    return [layer.get_input(i).name for i in range(layer.num_inputs)]


def _raw_weights(w: Any) -> tuple[int, int, int]:
    """(DataType value, data pointer, count) of a ``trt.Weights``: the C++ ``nvinfer1::Weights`` struct
    {DataType type; void const* values; int64_t count} sits behind pybind11's instance pointer."""
    cpp = ctypes.c_void_p.from_address(id(w) + 16).value
    dtype = ctypes.c_int32.from_address(cpp).value
    pointer = ctypes.c_void_p.from_address(cpp + 8).value
    count = ctypes.c_int64.from_address(cpp + 16).value
    assert dtype == int(w.dtype) and count == w.size, "unexpected pybind11 layout of trt.Weights"
    return dtype, pointer, count


def weights_values(w: Any) -> np.ndarray:
    """The values TensorRT holds for ``w`` as a flat numpy array (bf16 weights come back as float32).

    numpy has no bfloat16, so ``Weights.numpy()`` returns the Weights object itself for BF16; then the raw
    bits are read from the memory the weights point at."""
    array = w if isinstance(w, np.ndarray) else w.numpy()  # properties already convert where numpy can
    if isinstance(array, np.ndarray):
        return array.reshape(-1)
    assert w.dtype == trt().DataType.BF16, f"can't read {w.dtype} weights"
    if w.size == 0:
        return np.zeros(0, np.float32)
    _, pointer, count = _raw_weights(w)
    bits = np.ctypeslib.as_array((ctypes.c_uint16 * count).from_address(pointer)).copy()
    return (bits.astype(np.uint32) << 16).view(np.float32)


def weights_pointer(w: Any) -> int:
    """Address of the memory TensorRT reads ``w`` from (numpy views share it)."""
    if isinstance(w, np.ndarray):
        return w.ctypes.data
    return _raw_weights(w)[1]


def weights_dtype(w: Any) -> Any:
    """The ``trt.DataType`` of weights read from a layer property."""
    if isinstance(w, np.ndarray):
        return {np.dtype(np.float32): trt().float32, np.dtype(np.float16): trt().float16,
                np.dtype(np.int32): trt().int32, np.dtype(np.int64): trt().int64,
                np.dtype(np.int8): trt().int8}[w.dtype]
    return w.dtype
