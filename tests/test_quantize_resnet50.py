"""INT8 ResNet-50 (seeded weights, 10 classes, 1x3x32x32): Q/DQ placement read back from the real network, and
builds for SM80, SM86, SM89 and SM120 (TensorRT-RTX, CPU-only). Slow: calibration ~25 s and ~25 s per target
build on the shared 2-core machine; the default suite keeps the ResNet-18 equivalents (tests/test_quantize.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import trtnet
from trtnet import calibrate
from trtnet.build import BuildConfig, serialize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.quantize_builds import seeded_state_dict  # noqa: E402
from models.resnet import resnet50  # noqa: E402

pytestmark = pytest.mark.slow
SHAPE = (1, 3, 32, 32)


@pytest.fixture(scope="module")
def quantized_network() -> trtnet.Network:
    model = resnet50(num_classes=10)
    model.load_state_dict(seeded_state_dict(model))
    model.default_inputs = [trtnet.Input("input", SHAPE)]
    batch = np.random.default_rng(1).standard_normal(SHAPE).astype(np.float32)
    trtnet.quantize(model, calibrate.collect(model, [batch], histograms=False), "int8", "max")
    return trtnet.trace(model)


def test_qdq_on_every_conv_and_linear_and_on_each_residual_identity(quantized_network):
    network = quantized_network.network
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    producer = {layer.get_output(0).name: layer for layer in layers}
    weighted = [layer for layer in layers if layer.type.name in ("CONVOLUTION", "MATRIX_MULTIPLY")]
    assert len(weighted) == 54  # 53 convolutions (4 downsample) and the classifier
    for layer in weighted:
        assert [producer[layer.get_input(j).name].type.name for j in range(2)] == ["DEQUANTIZE"] * 2, layer.name
    adds = [layer for layer in layers if layer.type.name == "ELEMENTWISE" and layer.name.endswith("/add_1")]
    blocks = [f"layer{s}.{i}" for s, n in zip(range(1, 5), (3, 4, 6, 3)) for i in range(n)]
    assert [add.name for add in adds] == [f"{block}/add_1" for block in blocks]
    for add, block in zip(adds, blocks):
        branch, identity = (producer[add.get_input(j).name] for j in range(2))
        assert (branch.name, branch.type.name) == (f"{block}.bn3", "SCALE")
        assert (identity.name, identity.type.name) == (f"{block}/dequantize_1", "DEQUANTIZE")
    assert sum(layer.type.name == "QUANTIZE" for layer in layers) == 2 * 54 + 16


@pytest.mark.parametrize("target", ["SM80", "SM86", "SM89", "SM120"])
def test_int8_resnet50_builds(quantized_network, target):
    assert len(serialize(quantized_network, BuildConfig(compute_capabilities=[target]))) > 10_000_000
