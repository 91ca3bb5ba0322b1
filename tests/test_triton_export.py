"""``trtnet export-triton``: every generated config.pbtxt parses with Triton's own ``ModelConfig`` protobuf and
matches the network's inputs and outputs; the plan is the engine; batching options checked against the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtnet import inspection
from trtnet.cli import main

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
text_format = pytest.importorskip("google.protobuf.text_format")

REPO = Path(__file__).resolve().parent.parent
DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
DYNAMIC = ["--input", "input:fp32:-1x1x8x8", "--min", "1x1x8x8", "--opt", "4x1x8x8", "--max", "16x1x8x8"]


def _export(tmp_path: Path, *options: str) -> tuple[int, object]:
    code = main(["export-triton", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(tmp_path / "repo"), *options])
    if code != 0:
        return code, None
    name = options[options.index("--name") + 1] if "--name" in options else "digits"
    config = model_config_pb2.ModelConfig()
    text_format.Parse((tmp_path / "repo" / name / "config.pbtxt").read_text(), config)
    return code, config


def _io(config: object) -> tuple[list, list]:
    dtype = model_config_pb2.DataType.Name
    return ([(t.name, dtype(t.data_type), list(t.dims)) for t in config.input],
            [(t.name, dtype(t.data_type), list(t.dims)) for t in config.output])


def test_dynamic_batch_export(tmp_path: Path) -> None:
    code, config = _export(tmp_path, *DYNAMIC, "--dynamic-batching", "--instances", "2", "--version", "3")
    assert code == 0
    assert (config.name, config.platform, config.max_batch_size) == ("digits", "tensorrt_plan", 16)
    assert _io(config) == ([("input", "TYPE_FP32", [1, 8, 8])], [("output", "TYPE_FP32", [10])])
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 16]
    assert [(g.count, model_config_pb2.ModelInstanceGroup.Kind.Name(g.kind)) for g in config.instance_group] == [
        (2, "KIND_GPU")]
    plan = (tmp_path / "repo" / "digits" / "3" / "model.plan").read_bytes()
    found = inspection.inspect_engine(plan)["io_names_found"]  # the plan's IO are the config's
    assert found == {"inputs": ["input"], "outputs": ["output"]}


def test_static_export_keeps_full_dims(tmp_path: Path) -> None:
    code, config = _export(tmp_path, "--name", "digits_static")
    assert code == 0
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert _io(config) == ([("input", "TYPE_FP32", [1, 1, 8, 8])], [("output", "TYPE_FP32", [1, 10])])
    assert (tmp_path / "repo" / "digits_static" / "1" / "model.plan").stat().st_size > 0


def test_fp16_io_and_smaller_max_batch(tmp_path: Path) -> None:
    code, config = _export(tmp_path, "--input", "input:fp16:-1x1x8x8", "--min", "2x1x8x8", "--opt", "4x1x8x8",
                           "--max", "16x1x8x8", "--dtype", "fp16", "--max-batch-size", "8", "--dynamic-batching")
    assert code == 0
    assert config.max_batch_size == 8
    assert _io(config) == ([("input", "TYPE_FP16", [1, 8, 8])], [("output", "TYPE_FP16", [10])])
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]


@pytest.mark.parametrize("options, message", [
    (["--max-batch-size", "4"], "must be dynamic (-1) in every input and output"),
    ([*DYNAMIC, "--max-batch-size", "32"], "exceeds the optimization profile's max batch 16"),
    (["--dynamic-batching"], "--dynamic-batching needs batching"),
    (["--name", "../evil"], "a Triton model name is a folder name"),
    ([*DYNAMIC, "--instances", "0"], "needs at least 1 instance"),
])
def test_options_that_dont_fit_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, options: list[str],
                                           message: str) -> None:
    code, _ = _export(tmp_path, *options)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "repo").exists() or not list((tmp_path / "repo").rglob("model.plan"))
