"""Run a serialized engine on the GPU with torch CUDA tensors (TensorRT 10+ name-based API only).

Building never needs this module (nor torch): it is imported when an engine is *run*. torch is imported
lazily, inside the functions that need it.

>>> from trtnet.runtime import gpu_available
>>> ok, reason = gpu_available()
>>> isinstance(ok, bool) and isinstance(reason, str) and len(reason) > 0
True

On a machine with a GPU::

    engine = trtnet.Engine("resnet18.engine")          # or the bytes returned by trtnet.build(...)
    logits = engine(input=torch.randn(1, 3, 224, 224, device="cuda"))["output"]
    out = engine.run_numpy({"input": np.zeros((1, 3, 224, 224), np.float32)})   # numpy in, numpy out
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trtnet import backend, log
from trtnet.errors import TrtnetError, did_you_mean

if TYPE_CHECKING:
    import numpy as np
    import torch

#: TensorRT-RTX's runtime refuses these compute capabilities (H100/H200).
RTX_UNSUPPORTED_CAPABILITIES = {(9, 0)}

# trt.DataType member name -> torch dtype attribute name
_TORCH_DTYPES = {
    "FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8", "INT32": "int32",
    "INT64": "int64", "BOOL": "bool", "UINT8": "uint8", "FP8": "float8_e4m3fn",
}


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise TrtnetError("running an engine needs PyTorch with CUDA (`pip install torch`); "
                          f"`import torch` failed: {exc}") from exc
    return torch


def gpu_available() -> tuple[bool, str]:
    """Whether this process can run TensorRT engines, and why (not).

    Checks, in order: torch imports, ``torch.cuda.is_available()``, a TensorRT backend imports, the
    GPU's compute capability is one the backend runs (TensorRT-RTX refuses 9.0, H100/H200), and the
    backend can create a ``Runtime``. The reason names the GPU when the answer is yes."""
    try:
        import torch
    except ImportError as exc:
        return False, f"torch is not installed ({exc}); engines are run on torch CUDA tensors"
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return False, f"torch.cuda.is_available() is False (torch {torch.__version__}, {build}; no usable CUDA device)"
    try:
        trt_backend = backend.get()
    except TrtnetError as exc:
        return False, str(exc)
    device = torch.cuda.current_device()
    name = torch.cuda.get_device_name(device)
    capability = tuple(torch.cuda.get_device_capability(device))
    where = f"{name} (compute capability {capability[0]}.{capability[1]})"
    if trt_backend.is_rtx and capability in RTX_UNSUPPORTED_CAPABILITIES:
        return False, (f"{where}: TensorRT-RTX {trt_backend.version} does not run on compute capability 9.0 "
                       "(H100/H200); install enterprise TensorRT (`pip install tensorrt`) for this GPU")
    try:
        runtime = trt_backend.trt.Runtime(log.make_logger("error"))
    except Exception as exc:  # noqa: BLE001 - any failure means "can't run engines here"
        return False, f"{where}: {trt_backend.name} {trt_backend.version} could not create a Runtime: {exc}"
    if runtime is None:
        return False, f"{where}: {trt_backend.name} {trt_backend.version} could not create a Runtime"
    return True, f"{where}, {trt_backend.name} {trt_backend.version}"


def torch_dtype(trt_dtype: Any) -> "torch.dtype":
    """The torch dtype of a ``trt.DataType``."""
    torch = _import_torch()
    name = _TORCH_DTYPES.get(trt_dtype.name)
    if name is None or not hasattr(torch, name):
        raise TrtnetError(f"engine tensors of type {trt_dtype.name} have no torch equivalent")
    return getattr(torch, name)


class Engine:
    """A deserialized engine plus one execution context, run on torch CUDA tensors.

    ``engine``: the serialized bytes (what :func:`trtnet.build` returns) or the path of an engine file.
    Inputs may be given in any dtype of the same kind (float/int/bool) and on any device: they are moved to
    the current CUDA device and converted to the engine's dtype. Outputs are allocated for every call, with
    the shapes the context infers from the input shapes and the engine's dtypes.
    """

    def __init__(self, engine: bytes | bytearray | memoryview | str | os.PathLike, *, log_level: str = "warning"):
        ok, reason = gpu_available()
        if not ok:
            raise TrtnetError(f"cannot run TensorRT engines here: {reason}")
        self._torch = _import_torch()
        trt_backend = backend.get()
        self.trt = trt_backend.trt
        self.source = "<bytes>"
        if isinstance(engine, (str, os.PathLike)):
            self.source = os.fspath(engine)
            try:
                with open(engine, "rb") as handle:
                    engine = handle.read()
            except OSError as exc:
                raise TrtnetError(f"{self.source}: cannot read the engine file ({exc.strerror})") from None
        self.logger = log.make_logger(log_level)
        errors_before = len(self.logger.errors)
        self.runtime = self.trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(bytes(engine))
        if self.engine is None:
            messages = "\n  ".join(self.logger.errors[errors_before:]) or "TensorRT gave no message"
            raise TrtnetError(f"{self.source}: {trt_backend.name} {trt_backend.version} could not deserialize the "
                              f"engine (built with another TensorRT version or for another GPU?):\n  {messages}")
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise TrtnetError(f"{self.source}: could not create an execution context (out of GPU memory?)")
        mode = self.trt.TensorIOMode
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_names = [n for n in names if self.engine.get_tensor_mode(n) == mode.INPUT]
        self.output_names = [n for n in names if self.engine.get_tensor_mode(n) == mode.OUTPUT]
        for name in self.input_names:
            if self.engine.get_tensor_location(name) == self.trt.TensorLocation.HOST:
                raise TrtnetError(f"engine input {name!r} is a host (shape) tensor; trtnet.Engine runs device tensors only")

    # ---- metadata ---------------------------------------------------------------------------
    def dtype(self, name: str) -> "torch.dtype":
        """The torch dtype of the I/O tensor ``name``."""
        return torch_dtype(self.engine.get_tensor_dtype(name))

    def shape(self, name: str) -> tuple[int, ...]:
        """The engine's declared shape of ``name`` (-1 for dynamic dims)."""
        return tuple(self.engine.get_tensor_shape(name))

    def profile_shapes(self, name: str, profile: int = 0) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) shapes of input ``name`` in optimization ``profile``."""
        return tuple(tuple(s) for s in self.engine.get_tensor_profile_shape(name, profile))

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {self.shape(n)}" for n in self.input_names)
        outs = ", ".join(f"{n}: {self.shape(n)}" for n in self.output_names)
        return f"Engine({self.source}; inputs {ins}; outputs {outs})"

    # ---- execution --------------------------------------------------------------------------
    def __call__(self, **inputs: Any) -> dict[str, "torch.Tensor"]:
        """``engine(input=x)``: see :meth:`run`."""
        return self.run(inputs)

    def run(self, feeds: Mapping[str, Any]) -> dict[str, "torch.Tensor"]:
        """Run on ``feeds`` (input name -> torch tensor or array); returns the outputs by name as CUDA tensors.

        The work is enqueued on ``torch.cuda.current_stream()``; the outputs are ready for any torch op on that
        stream (call ``torch.cuda.synchronize()`` before timing)."""
        torch = self._torch
        unknown = [n for n in feeds if n not in self.input_names]
        if unknown:
            raise TrtnetError(f"{unknown[0]!r} is not an input of the engine{did_you_mean(unknown[0], self.input_names)}; "
                              f"inputs: {self.input_names}")
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise TrtnetError(f"no value for engine input(s) {missing}")
        keep = []
        device = torch.device("cuda", torch.cuda.current_device())
        for name in self.input_names:
            tensor = self._input_tensor(name, feeds[name], device)
            keep.append(tensor)
            if not self.context.set_input_shape(name, tuple(tensor.shape)):
                low, opt, high = self.profile_shapes(name)
                raise TrtnetError(f"input {name!r}: shape {tuple(tensor.shape)} is outside the engine's profile "
                                  f"(min {low}, opt {opt}, max {high})")
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise TrtnetError(f"output {name!r} has data-dependent shape {shape}; trtnet.Engine does not "
                                  "support outputs whose size is known only after execution")
            outputs[name] = torch.empty(shape, dtype=self.dtype(name), device=device)
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        stream = torch.cuda.current_stream(device)
        errors_before = len(self.logger.errors)
        if not self.context.execute_async_v3(stream.cuda_stream):
            messages = "\n  ".join(self.logger.errors[errors_before:]) or "TensorRT gave no message"
            raise TrtnetError(f"execute_async_v3 failed:\n  {messages}")
        for tensor in keep:  # inputs converted here must outlive the enqueued work
            tensor.record_stream(stream)
        return outputs

    def run_numpy(self, feeds: Mapping[str, Any]) -> dict[str, "np.ndarray"]:
        """Numpy in, numpy out (synchronizes). bfloat16 outputs come back as float32 arrays."""
        torch = self._torch
        outputs = self.run({n: v if isinstance(v, torch.Tensor) else torch.as_tensor(v) for n, v in feeds.items()})
        torch.cuda.current_stream().synchronize()
        return {n: (t.float() if t.dtype == torch.bfloat16 else t).cpu().numpy() for n, t in outputs.items()}

    def _input_tensor(self, name: str, value: Any, device: Any) -> "torch.Tensor":
        torch = self._torch
        tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        want = self.dtype(name)
        if tensor.dtype != want:
            kind = lambda d: "bool" if d == torch.bool else "float" if d.is_floating_point else "int"  # noqa: E731
            if kind(tensor.dtype) != kind(want):
                raise TrtnetError(f"input {name!r}: got {tensor.dtype} values, the engine wants {want}")
            tensor = tensor.to(want)
        declared = self.shape(name)
        if len(declared) != tensor.ndim or any(d != -1 and d != s for d, s in zip(declared, tensor.shape)):
            raise TrtnetError(f"input {name!r}: shape {tuple(tensor.shape)} does not fit the engine's {declared} (-1 = any)")
        return tensor.to(device).contiguous()
