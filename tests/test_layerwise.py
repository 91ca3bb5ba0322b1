"""Layerwise views (trtnet.layerwise): the isolated view gives each module call its own error, so a correct
fp16 port shows no divergence, a planted stride names its module, and a wrong op between modules is attributed
to the forward that runs it; ``execute_layers`` runs a span of a real network."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors.torch")

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402
from trtnet.reference import execute, execute_layers  # noqa: E402
from trtnet.report import format_table, to_json  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _measured_weights import save_measured_weights  # noqa: E402
from models import resnet, resnet_torch  # noqa: E402

SHAPE = (1, 3, 64, 64)


@pytest.fixture(scope="module")
def resnet50_weights(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Seeded ResNet-50 weights, BatchNorm statistics measured on 3 random 4x3x64x64 batches."""
    torch.manual_seed(50)
    return save_measured_weights(resnet_torch.resnet50(), tmp_path_factory.mktemp("w") / "r50.safetensors", (4, 3, 64, 64), 50)


def check_resnet50(weights: str, model: nn.Module, layerwise: str) -> trtnet.report.CheckReport:
    return trtnet.check(model, resnet_torch.resnet50(), weights=weights, inputs=[trtnet.Input("input", SHAPE)],
                        dtype="fp16", layerwise=layerwise)


@pytest.fixture(scope="module")
def correct_fp16(resnet50_weights: str) -> trtnet.report.CheckReport:
    return check_resnet50(resnet50_weights, resnet.resnet50(), "both")


@pytest.fixture(scope="module")
def wrong_stride_fp16(resnet50_weights: str) -> trtnet.report.CheckReport:
    model = resnet.resnet50()
    block = model.layer3[0]
    block.conv2.stride = (1, 1)  # BUG: torchvision's layer3.0.conv2 has stride 2
    block.downsample[0].stride = (1, 1)  # (so that the residual add still traces)
    return check_resnet50(resnet50_weights, model, "isolated")


def test_correct_resnet50_fp16_isolated_has_no_divergence(correct_fp16) -> None:
    report = correct_fp16
    isolated = [row for row in report.layers if row.view == "isolated"]
    assert report.first_divergent is None, format_table(report)
    assert len(isolated) == len(report.layers) > 150 and all(row.comparison.passed for row in isolated)
    # each row is the module's own error: a convolution from fp16-rounded reference inputs misses by a few
    # fp16 ulps of its range, nothing like the drift of the accumulated view beside it
    worst = max(isolated, key=lambda row: row.comparison.max_abs_err)
    drift = max(row.accumulated.max_abs_err for row in isolated if row.accumulated is not None)
    assert drift > 5 * worst.comparison.max_abs_err
    assert "FIRST DIVERGENCE: none" in format_table(report)
    accumulated_first = next((row.module for row in report.layers
                              if row.accumulated is not None and not row.accumulated.passed), "none")
    assert f"FIRST ACCUMULATED DIVERGENCE: {accumulated_first}" in format_table(report)
    print(f"resnet50 fp16 isolated: {len(isolated)} rows, worst own error {worst.comparison.max_abs_err:.3g} "
          f"({worst.module}); accumulated: worst drift {drift:.3g}, first accumulated divergence "
          f"{accumulated_first}; output max abs err {report.outputs[0].max_abs_err:.3g}")


def test_isolated_rows_include_blocks_and_root(correct_fp16) -> None:
    """A block's residual add and final relu run from the reference's branch outputs: the block has a row;
    a Sequential stage computes nothing of its own: no row."""
    modules = [row.module for row in correct_fp16.layers]
    assert "layer1.0" in modules and "layer1" not in modules and modules[-1] == "(root)"
    assert modules.index("layer1.0.relu#3") < modules.index("layer1.0") < modules.index("layer1.1.conv1")
    block = correct_fp16.layers[modules.index("layer1.0")]
    assert block.tensor == "layer1.0.relu#3" and block.accumulated is None  # accumulated: a container, skipped


def test_wrong_stride_fails_in_fp16_and_isolated_names_the_conv(wrong_stride_fp16) -> None:
    report = wrong_stride_fp16
    assert not report.passed
    assert report.first_divergent == "layer3.0.conv2", format_table(report)
    rows = {row.module: row for row in report.layers}
    conv2 = rows["layer3.0.conv2"]
    assert conv2.view == "isolated" and conv2.comparison.actual_shape == (1, 256, 8, 8)
    assert conv2.comparison.expected_shape == (1, 256, 4, 4)
    before = report.layers[:report.layers.index(conv2)]
    assert before and all(row.comparison.passed for row in before)
    # bn2 gets a 4x4 reference input the network (8x8) can't take: only its accumulated comparison is shown
    assert rows["layer3.0.bn2"].view == "accumulated"
    assert "FIRST DIVERGENCE: layer3.0.conv2 (tensor layer3.0.conv2): shape mismatch" in format_table(report)


# ---- a wrong op between modules ----------------------------------------------------------------
class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.nn.functional.silu(self.conv1(x)))


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.block = TorchBlock()
        self.head = torch.nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x)))  # BUG: the original uses F.silu


class Net(nn.Module):
    default_inputs = [trtnet.Input("x", (2, 3, 8, 8))]

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = Block()
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


def test_wrong_functional_op_is_attributed_to_the_forward_that_runs_it() -> None:
    torch.manual_seed(0)
    ref = TorchNet()
    model = Net()
    model.load_state_dict(ref.state_dict())
    report = trtnet.check(model, ref, layerwise="both")
    assert not report.passed
    assert report.first_divergent == "block", format_table(report)
    rows = {row.module: row for row in report.layers}
    assert rows["block.conv1"].comparison.passed and rows["block.conv2"].comparison.passed  # own errors
    assert not rows["block"].comparison.passed and rows["head"].comparison.passed
    # the accumulated view blames the next module, as before
    assert not rows["block.conv2"].accumulated.passed and rows["block.conv1"].accumulated.passed
    text = format_table(report)
    assert "FIRST DIVERGENCE: block (tensor block.conv2): tolerance" in text
    assert "FIRST ACCUMULATED DIVERGENCE: block.conv2" in text
    print(f"relu-for-silu: block's own max abs err {rows['block'].comparison.max_abs_err:.3g}, "
          f"block.conv2's {rows['block.conv2'].comparison.max_abs_err:.3g}")


def test_accumulated_mode_and_json() -> None:
    torch.manual_seed(0)
    ref = TorchNet()
    model = Net()
    model.load_state_dict(ref.state_dict())
    report = trtnet.check(model, ref, layerwise="accumulated")
    assert report.first_divergent == "block.conv2"
    assert {row.view for row in report.layers} == {"accumulated"} and "block" not in [r.module for r in report.layers]
    import json

    doc = json.loads(to_json(report))
    assert doc["layers"][0]["view"] == "accumulated" and doc["layers"][0]["accumulated"] is None
    with pytest.raises(TrtnetError, match="layerwise must be"):
        trtnet.check(Net(), TorchNet(), layerwise="isolate")


# ---- execute_layers ------------------------------------------------------------------------------
def test_execute_layers_runs_a_span_from_given_values() -> None:
    torch.manual_seed(1)
    ref = TorchNet()
    model = Net()
    model.load_state_dict(ref.state_dict())
    net = trtnet.trace(model, model.default_inputs)
    x = torch.randn(2, 3, 8, 8)
    everything = execute(net.network, {"x": x}, intermediates=True)
    block = next(call for call in net.graph.module_calls if call.name == "block")
    given = torch.randn(2, 4, 8, 8)
    span = execute_layers(net.network, range(block.first_layer, block.end_layer), {"stem": given})
    with torch.no_grad():
        expected = ref.block.conv2(torch.relu(ref.block.conv1(given)))
    np.testing.assert_allclose(span["block.conv2"].numpy(), expected.numpy(), atol=1e-5)
    again = execute_layers(net.network, range(block.first_layer, block.end_layer), {"stem": everything["stem"]})
    assert torch.equal(again["block.conv2"], everything["block.conv2"])
    with pytest.raises(TrtnetError, match="reads tensor 'stem', which the layers run don't produce"):
        execute_layers(net.network, range(block.first_layer, block.end_layer), {})
    with pytest.raises(TrtnetError, match="has shape \\[2, 4, 4, 4\\]"):
        execute_layers(net.network, range(block.first_layer, block.end_layer), {"stem": torch.zeros(2, 4, 4, 4)})


# ---- the reference's recorder --------------------------------------------------------------------
class InPlace(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)
        self.act = torch.nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.lin(x)
        y += 1  # in place, between modules
        return self.act(y)  # in place again


def test_recorder_keeps_values_that_in_place_ops_overwrite_later() -> None:
    from trtnet.layerwise import ModuleRecorder

    torch.manual_seed(2)
    module = InPlace()
    x = torch.randn(4, 3)
    with torch.inference_mode(), ModuleRecorder(module, True) as recorder:
        module(x)
    records = {record.name: record for record in recorder.records}
    with torch.no_grad():
        linear = module.lin(x)
    assert [r.name for r in recorder.records] == ["lin", "act", "(root)"]
    assert torch.equal(records["lin"].outputs[0], linear) and (linear < 0).any()
    assert torch.equal(records["act"].inputs[0], linear + 1)
    assert torch.equal(records["act"].outputs[0], torch.relu(linear + 1))
    assert records["(root)"].inputs[0] is records["lin"].inputs[0]  # an unchanged tensor is copied once


def test_cli_layerwise_takes_the_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from trtnet.cli import main

    models = REPO / "models"
    args = ["check", f"{models / 'digits.py'}:digits", "--weights", str(REPO / "weights" / "digits.safetensors"),
            "--reference", f"{models / 'digits_torch.py'}:digits", "--json"]
    assert main([*args, str(tmp_path / "both.json"), "--layerwise", "both"]) == 0
    assert "FIRST ACCUMULATED DIVERGENCE: none" in capsys.readouterr().out
    assert main([*args, str(tmp_path / "default.json"), "--layerwise"]) == 0
    import json

    both = json.loads((tmp_path / "both.json").read_text())["layers"]
    default = json.loads((tmp_path / "default.json").read_text())["layers"]
    assert {row["view"] for row in default} == {"isolated"} and all(row["accumulated"] is None for row in default)
    assert [row["module"] for row in both] == [row["module"] for row in default]
    assert all(row["accumulated"] is not None for row in both if row["module"] != "(root)")
