"""A dynamic model checked at min, opt and max from one trace and one build: ``trtnet.check``, ``trtnet check
--min/--opt/--max`` and ``assert_matches_torch``, against eager PyTorch twins at every profile point."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
from trtnet import backend, loading  # noqa: E402
from trtnet.cli import main  # noqa: E402
from trtnet.report import format_table, to_json  # noqa: E402
from trtnet.testing import assert_matches_torch  # noqa: E402
from trtnet.weights import save_safetensors  # noqa: E402

try:
    backend.get()
except backend.BackendUnavailable as exc:  # pragma: no cover - every test here builds engines
    pytest.skip(f"no TensorRT: {exc}", allow_module_level=True)

check_module = importlib.import_module("trtnet.check")  # trtnet.check is also the function
SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "schemas" / "check-1.json"

MODELS = '''
import torch
import trtnet
import trtnet.functional as F
import trtnet.nn as nn

BATCH = dict(min=(1, 3, 16, 16), opt=(4, 3, 16, 16), max=(8, 3, 16, 16))
TOKENS = dict(min=(1, 1, 16), opt=(2, 4, 16), max=(4, 8, 16))


class CNN(nn.Module):
    """Conv-BN-ReLU-pool, a strided conv, global average pooling, flatten, a classifier: dynamic batch."""

    default_inputs = [trtnet.Input("x", (-1, 3, 16, 16), **BATCH)]

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.relu, self.pool = nn.ReLU(), nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(F.flatten(self.avgpool(self.relu(self.conv2(x))), 1))


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8)
        self.relu, self.pool = torch.nn.ReLU(), torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.avgpool, self.fc = torch.nn.AdaptiveAvgPool2d(1), torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(self.relu(self.conv2(x))), 1))


class Toy(nn.Module):
    """Transformer-ish pooling over a dynamic batch and a dynamic sequence: Linear, softmax over the sequence,
    the weighted mean over the sequence, a head. ``context=4`` is a wrong port that hard-codes the opt
    sequence length (it looks at the first 4 tokens only): right at min (1) and opt (4), wrong at max (8)."""

    def __init__(self, context=None):
        super().__init__()
        self.context = context
        self.proj, self.score, self.head = nn.Linear(16, 16), nn.Linear(16, 1), nn.Linear(16, 4)

    def forward(self, x):
        h = F.relu(self.proj(x))
        if self.context is not None:
            h = h[:, : self.context]
        weights = F.softmax(self.score(h), dim=1)
        return self.head((weights * h).mean(1))


class TorchToy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj, self.score, self.head = torch.nn.Linear(16, 16), torch.nn.Linear(16, 1), torch.nn.Linear(16, 4)

    def forward(self, x):
        h = torch.relu(self.proj(x))
        weights = torch.softmax(self.score(h), dim=1)
        return self.head((weights * h).mean(1))


def cnn():
    return CNN()


def torch_cnn():
    torch.manual_seed(0)
    model = TorchCNN()
    model.bn1.running_mean.uniform_(-0.5, 0.5)
    model.bn1.running_var.uniform_(0.5, 2.0)
    return model


def toy():
    return Toy()


def toy_opt_context():
    return Toy(context=4)


def torch_toy():
    torch.manual_seed(1)
    return TorchToy()
'''

TOY_PROFILE = ["--input", "x:fp32:-1x-1x16", "--min", "1x1x16", "--opt", "2x4x16", "--max", "4x8x16"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The models' file, its factories' specs and each twin pair's weights as .safetensors."""
    folder = tmp_path_factory.mktemp("profiles")
    path = folder / "profile_models.py"
    path.write_text(MODELS)
    specs = {name: f"{path}:{name}" for name in ("cnn", "torch_cnn", "toy", "toy_opt_context", "torch_toy")}
    for name in ("cnn", "toy"):
        state = loading.call_factory(specs[f"torch_{name}"], "REFERENCE").state_dict()
        specs[f"{name}_weights"] = str(folder / f"{name}.safetensors")
        save_safetensors(specs[f"{name}_weights"], {k: v.numpy() for k, v in state.items()})
    return specs


def _load(spec: str):
    return loading.call_factory(spec, "MODEL")


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of trtnet.check's traces and engine builds."""
    calls = {"trace": 0, "serialize": 0}
    for name in calls:
        real = getattr(check_module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(check_module, name, counted)
    return calls


def _shapes(report) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.label, p.inputs[0].shape) for p in report.points]


def test_dynamic_batch_cnn_checked_at_min_opt_max_from_one_build(models, monkeypatch) -> None:
    calls = _counting(monkeypatch)
    reference = loading.call_factory(models["torch_cnn"], "REFERENCE")
    report = trtnet.check(_load(models["cnn"]), reference, weights=models["cnn_weights"], device="cpu",
                          layerwise=True)
    assert calls == {"trace": 1, "serialize": 1}
    assert report.passed, format_table(report)
    assert _shapes(report) == [("min", (1, 3, 16, 16)), ("opt", (4, 3, 16, 16)), ("max", (8, 3, 16, 16))]
    for point, batch in zip(report.points, (1, 4, 8)):
        (out,) = point.outputs
        assert out.actual_shape == out.expected_shape == (batch, 10)
        assert out.max_abs_err < 1e-4 and out.cosine > 0.99999
        assert point.layers and {row.module for row in point.layers} >= {"conv1", "bn1", "conv2", "fc"}
        assert all(row.comparison.expected_shape[0] == batch for row in point.layers)
    # the top level is the opt point's report (what a check without points reported)
    assert report.outputs is report.points[1].outputs and report.inputs[0].shape == (4, 3, 16, 16)
    text = format_table(report)
    for title in ("min (1x3x16x16)", "opt (4x3x16x16)", "max (8x3x16x16)"):
        assert f"== {title} ==" in text
    assert text.splitlines()[-1] == "RESULT: PASS (3/3 shape points pass)"


def test_seeded_values_per_point(models) -> None:
    """Every point draws from a generator seeded with ``seed``: opt's values are those a check at opt alone
    used, and --save-inputs writes them."""
    specs = _load(models["cnn"]).default_inputs
    points = check_module.shape_points(specs)
    values = [check_module._input_values(specs, shapes, {}, None, trtnet.float32, 7)[0]["x"] for _, shapes, _ in points]
    expected = np.random.default_rng(7).standard_normal((4, 3, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(values[1], expected)
    np.testing.assert_array_equal(values[0], np.random.default_rng(7).standard_normal((1, 3, 16, 16), dtype=np.float32))
    assert [v.shape[0] for v in values] == [1, 4, 8]


def test_equal_points_are_checked_once() -> None:
    static = [trtnet.Input("x", (2, 4))]
    assert [label for label, _, _ in check_module.shape_points(static)] == ["min=opt=max"]
    low = [trtnet.Input("x", (-1, 4), min=(1, 4), opt=(1, 4), max=(8, 4))]
    assert [(label, s["x"]) for label, s, _ in check_module.shape_points(low)] == [("min=opt", (1, 4)), ("max", (8, 4))]
    # given values of another shape take opt's place; min keeps its own seeded values
    given = {"x": np.zeros((3, 4), np.float32)}
    assert [(label, s["x"], uses) for label, s, uses in check_module.shape_points(low, given)] == [
        ("min", (1, 4), False), ("given", (3, 4), True), ("max", (8, 4), False)]


def test_toy_transformer_dynamic_batch_and_sequence_cli(models, tmp_path: Path, capsys) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "report.json"
    code = main(["check", models["toy"], "--weights", models["toy_weights"], "--reference", models["torch_toy"],
                 "--device", "cpu", *TOY_PROFILE, "--json", str(out), "--layerwise", "--html", str(tmp_path / "t.html")])
    text = capsys.readouterr().out
    assert code == 0, text
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["passed"] is True
    assert [(p["label"], p["title"], p["inputs"][0]["shape"], p["outputs"][0]["expected_shape"])
            for p in doc["points"]] == [("min", "min (1x1x16)", [1, 1, 16], [1, 4]),
                                        ("opt", "opt (2x4x16)", [2, 4, 16], [2, 4]),
                                        ("max", "max (4x8x16)", [4, 8, 16], [4, 4])]
    assert all(p["passed"] and p["layers"] and p["outputs"][0]["max_abs_err"] < 1e-4 for p in doc["points"])
    assert doc["outputs"] == doc["points"][1]["outputs"]  # the top level is opt's (as before points existed)
    for title in ("min (1x1x16)", "opt (2x4x16)", "max (4x8x16)"):
        assert f"== {title} ==" in text
    assert "opt (2x4x16)" in (tmp_path / "t.html").read_text()  # the picture shows opt's layerwise


def test_static_model_is_one_point_as_before(models, tmp_path: Path, capsys) -> None:
    out = tmp_path / "static.json"
    code = main(["check", models["toy"], "--weights", models["toy_weights"], "--reference", models["torch_toy"],
                 "--device", "cpu", "--input", "x:fp32:2x4x16", "--json", str(out)])
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert code == 0 and "points:" not in text and "==" not in text
    assert [(p["label"], p["inputs"][0]["shape"]) for p in doc["points"]] == [("min=opt=max", [2, 4, 16])]
    assert text.splitlines()[-1] == "RESULT: PASS (1/1 outputs within tolerance)"


def test_wrong_only_at_max_fails_naming_max(models) -> None:
    reference = loading.call_factory(models["torch_toy"], "REFERENCE")
    inputs = [trtnet.Input("x", (-1, -1, 16), min=(1, 1, 16), opt=(2, 4, 16), max=(4, 8, 16))]
    report = trtnet.check(_load(models["toy_opt_context"]), reference, weights=reference.state_dict(),
                          inputs=inputs, device="cpu", layerwise=True)
    assert not report.passed
    assert [(p.label, p.passed) for p in report.points] == [("min", True), ("opt", True), ("max", False)]
    assert report.points[2].outputs[0].max_abs_err > 1e-2  # not rounding: the last 4 tokens are ignored
    assert report.points[2].first_divergent == "(root)"  # the slice is in the root's forward
    text = format_table(report)
    assert "max: FAIL (0/1 outputs within tolerance)" in text
    assert text.splitlines()[-1] == "RESULT: FAIL (2/3 shape points pass; failing: max (4x8x16))"
    assert json.loads(to_json(report))["passed"] is False


def test_wrong_only_at_max_cli_exit_1(models, capsys) -> None:
    code = main(["check", models["toy_opt_context"], "--weights", models["toy_weights"],
                 "--reference", models["torch_toy"], "--device", "cpu", *TOY_PROFILE])
    text = capsys.readouterr().out
    assert code == 1
    assert text.splitlines()[-1] == "RESULT: FAIL (2/3 shape points pass; failing: max (4x8x16))"


def test_assert_matches_torch_with_dynamic_inputs_checks_every_point(models) -> None:
    reference = loading.call_factory(models["torch_toy"], "REFERENCE")
    inputs = [trtnet.Input("x", (-1, -1, 16), min=(1, 1, 16), opt=(2, 4, 16), max=(4, 8, 16))]
    report = assert_matches_torch(_load(models["toy"]), reference, inputs, device="cpu")
    assert [p.outputs[0].expected_shape for p in report.points] == [(1, 4), (2, 4), (4, 4)]
    with pytest.raises(AssertionError, match=r"failing: max \(4x8x16\)"):
        assert_matches_torch(_load(models["toy_opt_context"]), reference, inputs, device="cpu")


def test_load_inputs_take_the_opt_points_place(models, tmp_path: Path, capsys) -> None:
    saved = tmp_path / "inputs.npz"
    args = ["check", models["toy"], "--weights", models["toy_weights"], "--reference", models["torch_toy"],
            "--device", "cpu", *TOY_PROFILE, "--json", str(tmp_path / "r.json")]
    assert main([*args, "--save-inputs", str(saved)]) == 0
    with np.load(saved) as npz:  # the opt point's values
        np.testing.assert_array_equal(npz["x"], np.random.default_rng(0).standard_normal((2, 4, 16), dtype=np.float32))
    np.savez(saved, x=np.random.default_rng(5).standard_normal((3, 5, 16), dtype=np.float32))
    assert main([*args, "--load-inputs", str(saved)]) == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [(p["label"], p["inputs"][0]["shape"], p["inputs"][0]["file"]) for p in doc["points"]] == [
        ("min", [1, 1, 16], None), ("given", [3, 5, 16], str(saved)), ("max", [4, 8, 16], None)]
    assert "== given (3x5x16) ==" in capsys.readouterr().out


@pytest.mark.parametrize("bad, option", [(["--min", "9x3x16x16"], "--min"), (["--opt", "8x3x16x16x1"], "--opt"),
                                         (["--max", "0x3x16x16"], "--max")])
def test_bad_profile_exits_2_naming_the_option(models, tmp_path: Path, capsys, bad: list[str], option: str) -> None:
    profile = ["--min", "1x3x16x16", "--opt", "4x3x16x16", "--max", "8x3x16x16"]
    profile[profile.index(bad[0]) + 1] = bad[1]
    code = main(["check", models["cnn"], "--weights", models["cnn_weights"], "--reference", models["torch_cnn"],
                 "--device", "cpu", "--input", "x:fp32:-1x3x16x16", *profile])
    check_error = capsys.readouterr().err
    assert code == 2 and check_error.startswith("trtnet check: error: ") and option in check_error and bad[1] in check_error
    assert "Traceback" not in check_error
    # the same words as trtnet build's
    build = main(["build", models["cnn"], "--weights", models["cnn_weights"], "-o", str(tmp_path / "e.engine"),
                  "--input", "x:fp32:-1x3x16x16", *profile])
    build_error = capsys.readouterr().err
    assert build == 2 and build_error.replace("trtnet build", "trtnet check") == check_error


def test_point_title_names_every_input() -> None:
    from trtnet.compare import Tolerance
    from trtnet.report import CheckReport, InputSpec

    point = CheckReport(model="m", reference="r", dtype="float32", executor="cpu", tolerance=Tolerance(1e-4, 1e-3),
                        outputs=[], label="max", inputs=[InputSpec("input_ids", (8, 128), "int64", seed=0),
                                                         InputSpec("attention_mask", (8, 128), "bool", seed=0)])
    assert point.title == "max (input_ids 8x128, attention_mask 8x128)"
