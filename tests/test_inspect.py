"""``trtnet inspect``: ResNet-50's layers with module paths and torch's parameter count; MACs against torch hooks;
``--json -`` against its schema; what a plan file tells on a CPU-only machine; the engine inspector on a GPU."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import trtnet
from trtnet import inspection
from trtnet.cli import main

torch = pytest.importorskip("torch")
jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import resnet, resnet_torch  # noqa: E402

DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
SCHEMA = json.loads((REPO / "docs" / "schemas" / "inspect-1.json").read_text())


def _torch_macs(model: torch.nn.Module, example: torch.Tensor) -> int:
    """Multiply-accumulates of every Conv2d and Linear, counted with forward hooks."""
    total = 0

    def count(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(example)
    for handle in handles:
        handle.remove()
    return total


@pytest.fixture(scope="module")
def resnet50_listing() -> tuple[dict, torch.nn.Module]:
    torch.manual_seed(0)
    reference = resnet_torch.resnet50().eval()
    model = resnet.resnet50()
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    net = trtnet.trace(model, log_level="error")
    return inspection.inspect_network(model, net, "resnet50"), reference


def test_resnet50_totals_are_torchs(resnet50_listing: tuple[dict, torch.nn.Module]) -> None:
    listing, reference = resnet50_listing
    totals = listing["totals"]
    torch_parameters = sum(p.numel() for p in reference.parameters())
    assert torch_parameters == 25_557_032
    assert totals["parameters"] == torch_parameters
    assert totals["buffers"] == sum(b.numel() for b in reference.buffers())
    assert totals["weight_bytes"] == sum(v.numel() * v.element_size() for v in reference.state_dict().values())
    assert totals["macs"] == _torch_macs(reference, torch.zeros(1, 3, 224, 224))
    print(f"\nResNet-50: {totals['layers']} layers, {totals['parameters']:,} parameters, "
          f"{totals['weight_mb']:.1f} MB, {totals['macs'] / 1e9:.3f} GMACs")


def test_resnet50_every_layer_has_its_module(resnet50_listing: tuple[dict, torch.nn.Module]) -> None:
    listing, reference = resnet50_listing
    rows = listing["layers"]
    assert [r["index"] for r in rows] == list(range(listing["totals"]["layers"]))
    for row in rows:
        if row["module"]:  # named after its module: the path itself, path/op_N, path.weight, path#2
            assert row["name"] == row["module"] or row["name"].startswith(tuple(row["module"] + c for c in "/.#")), row
    leaf_paths = {name for name, m in reference.named_modules() if not list(m.children())}
    listed = {row["module"].split("#")[0] for row in rows}
    assert leaf_paths <= listed, f"torch modules without a layer: {sorted(leaf_paths - listed)[:10]}"
    convs = [r for r in rows if r["type"] == "CONVOLUTION"]
    assert len(convs) == sum(isinstance(m, torch.nn.Conv2d) for m in reference.modules()) == 53
    first = rows[0]
    assert (first["module"], first["type"], first["inputs"][0]["shape"], first["outputs"][0]["shape"]) == (
        "conv1", "CONVOLUTION", [1, 3, 224, 224], [1, 64, 112, 112])
    per_module = {m["path"]: m for m in listing["modules"]}
    assert per_module["layer1.0.conv1"]["parameters"] == 64 * 64
    assert per_module["fc"]["parameters"] == 2048 * 1000 + 1000
    assert per_module["layer4"]["parameters"] == sum(p.numel() for p in reference.layer4.parameters())
    assert "layer1.0.conv1" in inspection.format_network(listing)


def test_cli_json_on_stdout_validates(capsys: pytest.CaptureFixture) -> None:
    code = main(["inspect", DIGITS, "--weights", DIGITS_WEIGHTS, "--input", "input:fp32:-1x1x8x8",
                 "--min", "1x1x8x8", "--opt", "4x1x8x8", "--max", "16x1x8x8", "--json", "-"])
    captured = capsys.readouterr()
    assert code == 0
    listing = json.loads(captured.out)
    jsonschema.validate(listing, SCHEMA)
    assert listing["inputs"][0]["profile"] == {"min": [1, 1, 8, 8], "opt": [4, 1, 8, 8], "max": [16, 1, 8, 8]}
    assert listing["inputs"][0]["shape"] == [-1, 1, 8, 8]
    assert "totals:" in captured.err and "totals" not in captured.out.split("{", 1)[0]


def test_engine_file_read_without_gpu(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plan = tmp_path / "digits.engine"
    assert main(["build", DIGITS, "--weights", DIGITS_WEIGHTS, "-o", str(plan),
                 "--compute-capability", "SM80,SM89"]) == 0
    capsys.readouterr()
    assert main(["inspect", str(plan), "--json", str(tmp_path / "engine.json")]) == 0
    text = capsys.readouterr().out
    info = json.loads((tmp_path / "engine.json").read_text())
    jsonschema.validate(info, SCHEMA)
    trt_backend = trtnet.backend.get()
    assert info["size_bytes"] == plan.stat().st_size
    assert info["io_names_found"] == {"inputs": ["input"], "outputs": ["output"]}
    if trt_backend.is_rtx:
        assert info["plan_version"] == ".".join(trt_backend.version.split(".")[:3])
        assert info["compute_capabilities"] == ["80", "89"]
        assert "sm80, sm89 (plan header)" in text


def test_engine_inspector_needs_a_gpu() -> None:
    from trtnet.runtime import gpu_available

    if gpu_available()[0]:
        pytest.skip("a GPU can deserialize engines here: test_engine_inspector_lists_layers covers it")
    info = inspection.inspect_engine(trtnet.build(_tiny_model(), [trtnet.Input("x", (1, 3, 8, 8))], log_level="error"))
    assert info["layers"] is None
    assert "needs a GPU" in inspection.format_engine(info)


@pytest.mark.gpu
def test_engine_inspector_lists_layers() -> None:
    plan = trtnet.build(_tiny_model(), [trtnet.Input("x", (1, 3, 8, 8))], log_level="error")
    info = inspection.inspect_engine(plan)
    assert info["layers"], "the engine inspector listed no layers"


def _tiny_model() -> trtnet.nn.Module:
    model = trtnet.nn.Sequential(trtnet.nn.Conv2d(3, 4, 3), trtnet.nn.ReLU())
    model.load_state_dict({"0.weight": np.ones((4, 3, 3, 3), np.float32), "0.bias": np.zeros(4, np.float32)})
    return model
