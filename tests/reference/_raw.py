"""Raw TensorRT networks for the reference-executor tests: strongly typed, built by hand with ``add_*`` calls.

``RawNet`` keeps every numpy array it hands TensorRT alive, builds the network (asserting TensorRT accepts it) and
executes it with ``trtnet.reference.execute``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from trtnet import backend
from trtnet.reference import execute

trt = backend.trt()


class _RecordingLogger(trt.ILogger):
    def __init__(self) -> None:
        trt.ILogger.__init__(self)
        self.errors: list[str] = []

    def log(self, severity: Any, msg: str) -> None:
        if severity <= trt.ILogger.Severity.ERROR and "CUDA driver version is insufficient" not in msg:
            self.errors.append(msg)


@functools.lru_cache(maxsize=None)
def _builder() -> tuple[Any, _RecordingLogger]:
    logger = _RecordingLogger()
    return trt.Builder(logger), logger


def torch_dtype_to_trt(dtype: torch.dtype) -> Any:
    return {
        torch.float32: trt.float32,
        torch.float16: trt.float16,
        torch.bfloat16: trt.bfloat16,
        torch.int32: trt.int32,
        torch.int64: trt.int64,
        torch.bool: trt.bool,
        torch.int8: trt.int8,
    }[dtype]


class RawNet:
    """One strongly typed network under construction."""

    def __init__(self) -> None:
        self.builder, self._logger = _builder()
        self.network = self.builder.create_network(backend.get().network_flags())
        self._alive: list[Any] = []

    def input(self, name: str, shape: tuple[int, ...], dtype: Any = None) -> Any:
        return self.network.add_input(name, dtype or trt.float32, shape)

    def keep(self, array: np.ndarray) -> np.ndarray:
        """``array`` as a contiguous array that stays alive until the network is built."""
        array = np.require(array, requirements="C")  # unlike np.ascontiguousarray, keeps 0-d arrays 0-d
        self._alive.append(array)
        return array

    def const(self, array: np.ndarray) -> Any:
        array = self.keep(np.asarray(array))
        return self.network.add_constant(array.shape, array).get_output(0)

    def bf16_weights(self, values: torch.Tensor) -> Any:
        """``trt.Weights`` of bf16 values (numpy has no bfloat16: raw bits behind a pointer)."""
        bits = self.keep(values.to(torch.bfloat16).contiguous().view(torch.int16).numpy())
        return trt.Weights(trt.bfloat16, bits.ctypes.data, bits.size)

    def shape_const(self, values: list[int], dtype: Any = np.int64) -> Any:
        return self.const(np.array(values, dtype=dtype))

    def mark(self, *tensors: Any) -> None:
        for tensor in tensors:
            self.network.mark_output(tensor)

    def build(self) -> None:
        """Build the engine (CPU-only AOT); fail with TensorRT's errors if it refuses the network."""
        self._logger.errors.clear()
        config = self.builder.create_builder_config()
        backend.get().clear_tf32(config)
        engine = self.builder.build_serialized_network(self.network, config)
        assert engine is not None, "TensorRT refused the network:\n" + "\n".join(self._logger.errors)

    def run(self, feeds: dict[str, Any] | None = None, *, build: bool = True, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Build (unless ``build=False``), then execute with the reference executor."""
        if build:
            self.build()
        return execute(self.network, feeds or {}, **kwargs)


def single(net: RawNet, output: Any, feeds: dict[str, Any] | None = None) -> torch.Tensor:
    """Mark ``output``, build, execute, and return its value."""
    net.mark(output)
    return net.run(feeds)[output.name]


def randn(*shape: int, seed: int = 0, dtype: np.dtype = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(actual: torch.Tensor, expected: Any, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Assert equal shape and close values (dtype of ``actual`` preserved)."""
    expected = torch.as_tensor(expected)
    assert tuple(actual.shape) == tuple(expected.shape), f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    torch.testing.assert_close(actual.double(), expected.double(), atol=atol, rtol=rtol)
