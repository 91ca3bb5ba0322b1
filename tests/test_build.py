"""Building: Input validation, profiles, builder options, backends, build errors, imports, progress, logs."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet import backend
from trtnet.build import BuildConfig, make_config, serialize
from _netinspect import layer_named, trt

TRT = trt()
REPO = Path(__file__).resolve().parent.parent


def small_model() -> trtnet.Module:
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    model.load_state_dict(ref.state_dict())
    return model


STATIC = [trtnet.Input("input", (1, 3, 8, 8))]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the repository importable."""
    environment = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment, timeout=120, cwd=REPO)


# ---- Input validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(shape=(-1, 3)), "input 'x' has dynamic shape (-1, 3): give min/opt/max shapes"),
    (dict(shape=(-1, 3), min=(1, 3)), "input 'x' has dynamic shape (-1, 3): give opt/max shapes"),
    (dict(shape=(-1, 3), min=(1, 3), opt=(2, 3)), "give max shapes"),
    (dict(shape=(-1, 3), min=(4, 3), opt=(2, 3), max=(8, 3)), "input 'x': dim 0 needs min <= opt <= max, got 4 / 2 / 8"),
    (dict(shape=(-1, 3), min=(1, 3), opt=(9, 3), max=(8, 3)), "dim 0 needs min <= opt <= max, got 1 / 9 / 8"),
    (dict(shape=(2, -1), min=(2, 5), opt=(2, 4), max=(2, 6)), "dim 1 needs min <= opt <= max, got 5 / 4 / 6"),
    (dict(shape=(-1, 3), min=(1, 3, 1), opt=(2, 3), max=(4, 3)), "input 'x': min shape (1, 3, 1) has rank 3, shape (-1, 3) has 2"),
    (dict(shape=(-1, 3), min=(1, 3), opt=(2,), max=(4, 3)), "opt shape (2,) has rank 1, shape (-1, 3) has 2"),
    (dict(shape=(-1, 3), min=(1, 3), opt=(2, 3), max=(4, 5)), "input 'x': max shape (4, 5) differs from the static dim 1 of (-1, 3)"),
    (dict(shape=(2, 3), min=(1, 3)), "input 'x': min shape (1, 3) differs from the static shape (2, 3)"),
    (dict(shape=(-1, 3), min=(0, 3), opt=(2, 3), max=(4, 3)), "input 'x': min shape (0, 3) must be positive"),
    (dict(shape=(-2, 3)), "input 'x': shape (-2, 3) may hold sizes >= 0 and -1 (dynamic) only"),
])
def test_input_validation(kwargs, message) -> None:
    with pytest.raises(trtnet.TrtnetError) as info:
        trtnet.Input("x", **kwargs)
    assert message in str(info.value)


def test_input_errors_come_before_tensorrt_is_imported() -> None:
    result = run_python("""
        import sys, trtnet
        errors = 0
        for kwargs in [dict(shape=(-1, 3)), dict(shape=(-1, 3), min=(4, 3), opt=(2, 3), max=(8, 3)),
                       dict(shape=(-1, 3), min=(1, 3, 1), opt=(2, 3), max=(4, 3)),
                       dict(shape=(-1, 3), min=(1, 4), opt=(2, 3), max=(4, 3))]:
            try:
                trtnet.Input("x", **kwargs)
            except trtnet.TrtnetError:
                errors += 1
        print(errors, sorted(m for m in sys.modules if m.split(".")[0] in ("tensorrt", "tensorrt_rtx")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "[]"]


def test_valid_inputs() -> None:
    static = trtnet.Input("x", (2, 3), min=(2, 3))  # equal to the static shape: fine
    assert static.profile_shapes() == {"min": (2, 3), "opt": (2, 3), "max": (2, 3)} and not static.is_dynamic
    dynamic = trtnet.Input("x", [-1, 3, -1], min=[1, 3, 4], opt=[2, 3, 4], max=[8, 3, 16], dtype="fp16")
    assert dynamic.is_dynamic and dynamic.dtype is trtnet.float16
    assert dynamic.profile_shapes() == {"min": (1, 3, 4), "opt": (2, 3, 4), "max": (8, 3, 16)}


# ---- dynamic batch ----------------------------------------------------------------------------------
def test_dynamic_batch_build() -> None:
    spec = trtnet.Input("input", (-1, 3, 16, 16), min=(1, 3, 16, 16), opt=(4, 3, 16, 16), max=(8, 3, 16, 16))
    net = trtnet.trace(small_model(), [spec])
    assert tuple(net.network.get_input(0).shape) == (-1, 3, 16, 16)
    assert tuple(net.network.get_output(0).shape) == (-1, 3)
    config = make_config(net, BuildConfig())
    assert config.num_optimization_profiles == 1
    engine = trtnet.build(small_model(), [spec])
    assert isinstance(engine, bytes) and len(engine) > 0


def test_static_build_has_no_profile_and_saves(tmp_path: Path) -> None:
    net = trtnet.trace(small_model(), STATIC)
    assert make_config(net, BuildConfig()).num_optimization_profiles == 0
    path = tmp_path / "model.engine"
    engine = trtnet.build(small_model(), STATIC, path=path)
    assert path.read_bytes() == engine and len(engine) > 0


def test_default_inputs_and_output_names() -> None:
    model = small_model()
    model.default_inputs = [trtnet.Input("pixels", (2, 3, 8, 8))]
    net = trtnet.trace(model, output_names=["logits"])
    assert net.network.get_input(0).name == "pixels"
    assert net.network.get_output(0).name == "logits"
    assert len(serialize(net)) > 0
    with pytest.raises(trtnet.TrtnetError, match="2 output names for 1 outputs"):
        trtnet.trace(small_model(), STATIC, output_names=["a", "b"])
    with pytest.raises(trtnet.TrtnetError, match="declares no default_inputs"):
        trtnet.trace(small_model())
    with pytest.raises(trtnet.TrtnetError, match="expected a trtnet Module, got Sequential"):
        trtnet.trace(torch.nn.Sequential(), STATIC)


# ---- builder config ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def net() -> trtnet.Network:
    return trtnet.trace(small_model(), STATIC)


def test_tf32_cleared_by_default(net) -> None:
    assert make_config(net, BuildConfig()).get_flag(TRT.BuilderFlag.TF32) is False
    assert make_config(net, BuildConfig(tf32=True)).get_flag(TRT.BuilderFlag.TF32) is True
    fresh = net.graph.builder.create_builder_config()
    assert fresh.get_flag(TRT.BuilderFlag.TF32) is True  # TensorRT's own default, which trtnet overrides


def test_workspace_and_optimization_level(net) -> None:
    config = make_config(net, BuildConfig(workspace=3 << 20, optimization_level=1))
    assert config.get_memory_pool_limit(TRT.MemoryPoolType.WORKSPACE) == 3 << 20
    assert config.builder_optimization_level == 1
    default = make_config(net, BuildConfig())
    assert default.get_memory_pool_limit(TRT.MemoryPoolType.WORKSPACE) == \
        net.graph.builder.create_builder_config().get_memory_pool_limit(TRT.MemoryPoolType.WORKSPACE)
    assert len(serialize(net, BuildConfig(workspace=256 << 20, optimization_level=1))) > 0


@pytest.mark.skipif(not backend.get().is_rtx, reason="compute-capability targets are a TensorRT-RTX option")
def test_compute_capabilities(net) -> None:
    config = make_config(net, BuildConfig(compute_capabilities=["SM89"]))
    assert config.num_compute_capabilities == 1
    assert config.get_compute_capability(0) == TRT.ComputeCapability.SM89
    config = make_config(net, BuildConfig(compute_capabilities=["sm80", "SM120"]))
    assert config.num_compute_capabilities == 2
    assert [config.get_compute_capability(i) for i in range(2)] == [TRT.ComputeCapability.SM80,
                                                                    TRT.ComputeCapability.SM120]
    assert make_config(net, BuildConfig()).num_compute_capabilities == 0  # TensorRT-RTX's default targets
    assert len(trtnet.build(small_model(), STATIC, compute_capabilities=["SM89"])) > 0
    with pytest.raises(trtnet.TrtnetError) as info:
        make_config(net, BuildConfig(compute_capabilities=["SM89", "SM90"]))
    assert "unknown compute capability 'SM90'" in str(info.value)
    assert "SM89" in str(info.value)  # lists the known ones


def test_strongly_typed_flag_is_looked_up_by_name() -> None:
    flag = TRT.NetworkDefinitionCreationFlag.STRONGLY_TYPED
    assert backend.get().network_flags() == 1 << int(flag)
    net = trtnet.trace(small_model(), STATIC)
    assert net.network.get_flag(flag)


def test_unknown_build_option() -> None:
    with pytest.raises(TypeError, match="max_workspace_size"):
        trtnet.build(small_model(), STATIC, max_workspace_size=1)


# ---- backends ---------------------------------------------------------------------------------------
BUILD_SNIPPET = """
    import numpy as np, trtnet, trtnet.nn as nn
    from trtnet.backend import BackendUnavailable
    model = nn.Linear(2, 2)
    model.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.zeros(2, np.float32)})
    try:
        trtnet.build(model, [trtnet.Input("x", (1, 2))])
    except BackendUnavailable as exc:
        assert isinstance(exc, trtnet.TrtnetError)
        print("ERROR:", exc)
    else:
        print("BUILT with", trtnet.backend.get().name)
"""


def test_nonsense_backend_is_a_clear_error() -> None:
    result = run_python(BUILD_SNIPPET, TRTNET_BACKEND="nonsense")
    assert result.returncode == 0, result.stderr
    assert "ERROR: TRTNET_BACKEND='nonsense' is not a backend; use 'tensorrt' or 'tensorrt_rtx'" in result.stdout


@pytest.mark.skipif(not backend.get().is_rtx, reason="checks the TensorRT-RTX alias")
def test_backend_alias() -> None:
    result = run_python(BUILD_SNIPPET, TRTNET_BACKEND="rtx")
    assert result.returncode == 0, result.stderr
    assert "BUILT with tensorrt_rtx" in result.stdout


def test_no_backend_names_the_pip_command() -> None:
    result = run_python("import sys\nsys.modules['tensorrt'] = None\nsys.modules['tensorrt_rtx'] = None\n"
                        + textwrap.dedent(BUILD_SNIPPET), TRTNET_BACKEND="")
    assert result.returncode == 0, result.stderr
    assert "ERROR: no TensorRT found (tensorrt:" in result.stdout
    assert "pip install tensorrt-rtx" in result.stdout and "pip install tensorrt`" in result.stdout


def test_forced_backend_that_is_missing_names_the_pip_command() -> None:
    result = run_python("import sys\nsys.modules['tensorrt'] = None\n" + textwrap.dedent(BUILD_SNIPPET),
                        TRTNET_BACKEND="tensorrt")
    assert result.returncode == 0, result.stderr
    assert "ERROR: TRTNET_BACKEND=tensorrt but `import tensorrt` failed" in result.stdout
    assert "pip install tensorrt-rtx" in result.stdout


# ---- build failures ---------------------------------------------------------------------------------
class Merge(trtnet.Module):
    def forward(self, x, y):
        return x + y


class TwoInputs(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.merge = Merge()
        self.act = nn.ReLU()

    def forward(self, x, y):
        return self.act(self.merge(x, y))


def mismatched_profiles() -> list[trtnet.Input]:
    """Each input is valid and the add broadcasts as far as shapes known while tracing go (-1 vs -1), but at
    the optimisation profile's opt shapes the batch sizes are 2 and 3: TensorRT refuses at build time."""
    return [trtnet.Input("x", (-1, 4), min=(1, 4), opt=(2, 4), max=(4, 4)),
            trtnet.Input("y", (-1, 4), min=(3, 4), opt=(3, 4), max=(8, 4))]


def test_build_error_carries_tensorrt_messages_and_the_layer(caplog) -> None:
    net = trtnet.trace(TwoInputs(), mismatched_profiles())  # trtnet's own checks pass
    assert layer_named(net, "merge").op == TRT.ElementWiseOperation.SUM
    with caplog.at_level(logging.ERROR, logger="trtnet.tensorrt"):
        with pytest.raises(trtnet.BuildError) as info:
            trtnet.build(TwoInputs(), mismatched_profiles())
    error = info.value
    assert isinstance(error, trtnet.TrtnetError)
    assert error.layers == ["merge"]
    assert error.trt_messages and any("merge" in m for m in error.trt_messages)
    message = str(error)
    assert message.startswith("TensorRT could not build the engine (layers involved: merge):")
    assert all(m in message for m in error.trt_messages)
    assert any(r.name == "trtnet.tensorrt" and r.levelno >= logging.ERROR and "merge" in r.getMessage()
               for r in caplog.records)


def test_build_error_lists_only_this_builds_messages() -> None:
    with pytest.raises(trtnet.BuildError):
        trtnet.build(TwoInputs(), mismatched_profiles())
    with pytest.raises(trtnet.BuildError) as info:
        trtnet.build(TwoInputs(), mismatched_profiles())
    assert len(info.value.trt_messages) == 1  # not the previous build's too


# ---- no torch, no onnx ------------------------------------------------------------------------------
def test_build_path_imports_neither_torch_nor_onnx(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 6, 2))
    path = tmp_path / "w.safetensors"
    save_file(ref.state_dict(), str(path))
    engine_path = tmp_path / "w.engine"
    result = run_python(f"""
        import sys
        import trtnet, trtnet.nn as nn
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
        model.load_safetensors({str(path)!r})
        model.to(trtnet.float16)
        engine = trtnet.build(model, [trtnet.Input("input", (1, 3, 8, 8))], path={str(engine_path)!r}, progress=False)
        assert len(engine) > 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx", "onnxscript"))
        assert "torch" not in sys.modules and "onnx" not in sys.modules, loaded
        print("OK", len(engine))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK")
    assert engine_path.stat().st_size > 0


# ---- progress ---------------------------------------------------------------------------------------
def test_progress_bar_writes_phases_to_stderr(capsys) -> None:
    trtnet.build(small_model(), STATIC, progress=True)
    err = capsys.readouterr().err
    assert "Building engine" in err
    assert "[########################]" in err  # phases run to completion
    assert err.count("\n") >= 1


def test_progress_quiet_when_stderr_is_not_a_terminal(capsys) -> None:
    assert not sys.stderr.isatty()
    trtnet.build(small_model(), STATIC)
    trtnet.build(small_model(), STATIC, progress=False)
    assert "Building engine" not in capsys.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shown_by_default_on_a_terminal(monkeypatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    trtnet.build(small_model(), STATIC)
    assert "Building engine" in terminal.getvalue()
    monkeypatch.setattr(sys, "stderr", quiet := FakeTerminal())
    trtnet.build(small_model(), STATIC, progress=False)
    assert "Building engine" not in quiet.getvalue()


# ---- log routing ------------------------------------------------------------------------------------
def trt_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "trtnet.tensorrt"]


def test_info_messages_reach_python_logging(caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="trtnet.tensorrt"):
        trtnet.build(small_model(), STATIC, log_level="info")
    records = trt_records(caplog)
    assert records, "no TensorRT message reached logger trtnet.tensorrt"
    assert {r.levelno for r in records} <= {logging.INFO, logging.WARNING, logging.ERROR}
    assert any(r.levelno == logging.INFO for r in records)
    assert any("Engine generation completed" in r.getMessage() for r in records)


def test_verbose_level_gives_debug_records(caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="trtnet.tensorrt"):
        trtnet.build(small_model(), STATIC, log_level="verbose")
    assert any(r.levelno == logging.DEBUG for r in trt_records(caplog))


def test_default_level_drops_info(caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="trtnet.tensorrt"):
        trtnet.build(small_model(), STATIC)
    assert all(r.levelno >= logging.WARNING for r in trt_records(caplog))


def test_unknown_log_level() -> None:
    with pytest.raises((ValueError, trtnet.TrtnetError), match="log level must be one of error, warning, info, verbose"):
        trtnet.build(small_model(), STATIC, log_level="loud")


def test_messages_reach_a_logging_config_made_after_import() -> None:
    """An application that configures logging after importing trtnet still gets TensorRT's messages."""
    result = run_python("""
        import logging, sys, numpy as np, trtnet, trtnet.nn as nn
        model = nn.Linear(2, 2)
        model.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.zeros(2, np.float32)})
        trtnet.build(model, [trtnet.Input("x", (1, 2))])
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s|%(levelname)s|%(message)s")
        trtnet.build(model, [trtnet.Input("x", (1, 2))], log_level="info")
    """)
    assert result.returncode == 0, result.stderr
    assert "trtnet.tensorrt|INFO|" in result.stdout
    assert "[TensorRT]" not in result.stderr  # and no second copy on stderr


def test_messages_go_to_stderr_when_logging_is_not_configured() -> None:
    result = run_python("""
        import numpy as np, trtnet, trtnet.nn as nn
        model = nn.Linear(2, 2)
        model.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.zeros(2, np.float32)})
        trtnet.build(model, [trtnet.Input("x", (1, 2))], log_level="info")
    """)
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stderr.splitlines() if "Engine generation completed" in l]
    assert len(lines) == 1 and lines[0].startswith("[TensorRT] INFO: ")
