"""The eager-PyTorch twins: torchvision-exact ResNet state_dict names, and the shipped digits model and data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.digits_data import load_digits_data  # noqa: E402
from models.digits_torch import digits  # noqa: E402
from models.resnet_torch import resnet18, resnet50  # noqa: E402

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def torchvision_keys(layers: list[int], convs_per_block: int) -> list[str]:
    """torchvision's ResNet state_dict keys in order, written out from its naming rules."""
    keys = ["conv1.weight", *(f"bn1.{b}" for b in BN)]
    for stage, blocks in enumerate(layers, start=1):
        for i in range(blocks):
            prefix = f"layer{stage}.{i}"
            for c in range(1, convs_per_block + 1):
                keys += [f"{prefix}.conv{c}.weight", *(f"{prefix}.bn{c}.{b}" for b in BN)]
            if i == 0 and (stage > 1 or convs_per_block == 3):
                keys += [f"{prefix}.downsample.0.weight", *(f"{prefix}.downsample.1.{b}" for b in BN)]
    return keys + ["fc.weight", "fc.bias"]


@pytest.mark.parametrize(
    ("factory", "layers", "convs", "n_keys", "n_params"),
    [(resnet18, [2, 2, 2, 2], 2, 122, 11_689_512), (resnet50, [3, 4, 6, 3], 3, 320, 25_557_032)],
)
def test_resnet_state_dict_matches_torchvision(factory, layers, convs, n_keys, n_params) -> None:
    model = factory()
    state = model.state_dict()
    assert list(state) == torchvision_keys(layers, convs)
    assert len(state) == n_keys
    assert sum(p.numel() for p in model.parameters()) == n_params  # torchvision's documented num_params


def test_resnet50_shapes_and_strides() -> None:
    model = resnet50(num_classes=10)
    state = model.state_dict()
    expected = {
        "conv1.weight": (64, 3, 7, 7),
        "layer1.0.conv1.weight": (64, 64, 1, 1),
        "layer1.0.conv3.weight": (256, 64, 1, 1),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer2.0.conv1.weight": (128, 256, 1, 1),
        "layer2.0.conv2.weight": (128, 128, 3, 3),
        "layer3.5.bn3.running_var": (1024,),
        "layer4.0.downsample.1.weight": (2048,),
        "fc.weight": (10, 2048),
        "bn1.num_batches_tracked": (),
    }
    assert {k: tuple(state[k].shape) for k in expected} == expected
    block = model.layer2[0]
    assert (block.conv1.stride, block.conv2.stride, block.downsample[0].stride) == ((1, 1), (2, 2), (2, 2))
    assert (model.maxpool.kernel_size, model.maxpool.stride, model.maxpool.padding) == (3, 2, 1)


def test_resnet18_forward_shape() -> None:
    model = resnet18(num_classes=7).eval()
    assert tuple(model.layer1[0].conv1.weight.shape) == (64, 64, 3, 3)
    assert model.layer1[0].downsample is None
    with torch.no_grad():
        assert tuple(model(torch.zeros(2, 3, 64, 64)).shape) == (2, 7)


def test_digits_data_shipped() -> None:
    data = load_digits_data()
    assert data["x_train"].shape == (1437, 1, 8, 8) and data["x_test"].shape == (360, 1, 8, 8)
    assert data["x_train"].dtype == np.float32 and data["y_test"].dtype == np.int64
    assert 0.0 <= data["x_train"].min() and data["x_train"].max() <= 1.0
    assert np.bincount(data["y_test"], minlength=10).min() >= 35


def test_digits_shipped_weights_accuracy() -> None:
    model = digits()
    model.load_state_dict(safetensors_torch.load_file(str(REPO / "weights" / "digits.safetensors")))
    model.eval()
    data = load_digits_data()
    with torch.no_grad():
        pred = model(torch.from_numpy(data["x_test"])).argmax(dim=1).numpy()
    assert (pred == data["y_test"]).mean() >= 0.97
