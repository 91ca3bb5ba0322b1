"""``trtnet.Engine`` and ``trtnet.runtime.gpu_available``. Engine tests are ``@pytest.mark.gpu``: tests/conftest.py
skips them, with gpu_available()'s reason, where no engine can run (every machine without an NVIDIA GPU)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
from trtnet import backend, runtime  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


# ---- everywhere ------------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_gpu_available_says_no_with_a_reason_without_cuda() -> None:
    ok, reason = runtime.gpu_available()
    assert ok is False
    assert "torch.cuda.is_available() is False" in reason and torch.__version__ in reason


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_engine_refuses_without_a_gpu() -> None:
    with pytest.raises(TrtnetError, match="cannot run TensorRT engines here: torch.cuda.is_available"):
        trtnet.Engine(b"not an engine")


def test_tensorrt_rtx_refuses_compute_capability_9_0(monkeypatch: pytest.MonkeyPatch) -> None:
    if not backend.get().is_rtx:
        pytest.skip("enterprise TensorRT runs on compute capability 9.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    ok, reason = runtime.gpu_available()
    assert ok is False
    assert "NVIDIA H100 80GB HBM3 (compute capability 9.0)" in reason
    assert "TensorRT-RTX" in reason and "enterprise TensorRT" in reason


def test_torch_dtypes_of_engine_tensors() -> None:
    trt = backend.trt()
    assert runtime.torch_dtype(trt.float16) is torch.float16
    assert runtime.torch_dtype(trt.bfloat16) is torch.bfloat16
    assert runtime.torch_dtype(trt.int64) is torch.int64
    assert runtime.torch_dtype(trt.bool) is torch.bool


def test_importing_trtnet_does_not_import_torch() -> None:
    import subprocess

    code = "import sys, trtnet, trtnet.runtime, trtnet.check; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"


# ---- on a GPU --------------------------------------------------------------------------------
def _digits(dtype: str = "fp32", batch: int | None = None) -> tuple[trtnet.Module, list[trtnet.Input]]:
    from models.digits import digits

    model = digits()
    model.load_safetensors(REPO / "weights" / "digits.safetensors")
    model.to(dtype)
    if batch is None:
        return model, [trtnet.Input("input", (-1, 1, 8, 8), min=(1, 1, 8, 8), opt=(4, 1, 8, 8), max=(16, 1, 8, 8))]
    return model, [trtnet.Input("input", (batch, 1, 8, 8))]


@pytest.mark.gpu
def test_engine_matches_the_cpu_executor() -> None:
    from trtnet.reference import execute

    model, inputs = _digits(batch=2)
    engine = trtnet.Engine(trtnet.build(model, inputs))
    assert engine.input_names == ["input"] and engine.output_names == ["output"]
    x = torch.rand(2, 1, 8, 8, device="cuda")
    out = engine(input=x)["output"]
    torch.cuda.synchronize()
    assert out.device.type == "cuda" and out.dtype == torch.float32 and out.shape == (2, 10)
    expected = execute(trtnet.trace(model, inputs).network, {"input": x.cpu()})["output"]
    torch.testing.assert_close(out.cpu(), expected, atol=1e-4, rtol=1e-3)


@pytest.mark.gpu
def test_dynamic_batch_shapes_come_from_the_context(tmp_path: Path) -> None:
    model, inputs = _digits()
    path = tmp_path / "digits.engine"
    trtnet.build(model, inputs, path=path)
    engine = trtnet.Engine(path)
    assert engine.shape("input") == (-1, 1, 8, 8)
    for batch in (1, 7, 16):
        assert engine.run({"input": torch.rand(batch, 1, 8, 8)})["output"].shape == (batch, 10)
    with pytest.raises(TrtnetError, match="outside the engine's profile"):
        engine.run({"input": torch.rand(17, 1, 8, 8)})


@pytest.mark.gpu
def test_run_numpy_and_fp16_outputs() -> None:
    model, inputs = _digits("fp16", batch=3)
    inputs = [trtnet.Input("input", (3, 1, 8, 8), trtnet.float16)]
    engine = trtnet.Engine(trtnet.build(model, inputs))
    assert engine.dtype("output") == torch.float16
    out = engine.run_numpy({"input": np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)})
    assert out["output"].dtype == np.float16 and out["output"].shape == (3, 10)


@pytest.mark.gpu
def test_engine_input_errors() -> None:
    model, inputs = _digits(batch=1)
    engine = trtnet.Engine(trtnet.build(model, inputs))
    with pytest.raises(TrtnetError, match="did you mean 'input'"):
        engine.run({"inputs": torch.rand(1, 1, 8, 8)})
    with pytest.raises(TrtnetError, match="does not fit"):
        engine.run({"input": torch.rand(1, 1, 8, 9)})
    with pytest.raises(TrtnetError, match="the engine wants torch.float32"):
        engine.run({"input": torch.ones(1, 1, 8, 8, dtype=torch.int32)})


@pytest.mark.gpu
def test_check_runs_the_engine_on_the_gpu() -> None:
    report = trtnet.check(f"{REPO / 'models' / 'digits.py'}:digits", f"{REPO / 'models' / 'digits_torch.py'}:digits",
                          weights=REPO / "weights" / "digits.safetensors", device="gpu", layerwise=True)
    assert report.passed and report.executor.startswith("TensorRT engine on GPU")
    assert "layerwise: CPU reference executor" in report.executor
