"""Explicit quantization in the DSL (F.quantize / dequantize / fake_quantize) and post-training quantization
(trtnet.quantize): Q/DQ placement read back from the real network, numerics against eager PyTorch fake-quantization,
calibration methods against brute force on the samples, scales files, target checks, the digits model's accuracy."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet import calibrate, dtypes, netinfo, reference  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.errors import TrtnetError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from models.digits import digits  # noqa: E402
from models.digits_data import load_digits_data  # noqa: E402


class Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def run(model: nn.Module, x: np.ndarray, **build_options) -> tuple[torch.Tensor, trtnet.Network]:
    """Trace on ``x``'s shape, build (asserting TensorRT accepts the network), execute on the CPU executor."""
    net = trtnet.trace(model, [trtnet.Input("x", x.shape, str(x.dtype))])
    assert len(serialize(net, BuildConfig(**build_options))) > 0
    return reference.execute(net.network, {"x": x})[net.outputs[0]], net


def layers(net: trtnet.Network) -> list[tuple[str, str]]:
    network = net.network
    return [(network.get_layer(i).type.name, network.get_layer(i).name) for i in range(network.num_layers)]


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- F.quantize / F.dequantize / F.fake_quantize ------------------------------------------------------------------
def test_fake_quantize_per_tensor_matches_torch():
    x = rand(2, 3, 4, 5) * 3
    got, net = run(Fn(lambda t: F.fake_quantize(t, 0.02, "int8")), x)
    expected = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), 0.02, 0, -128, 127)
    torch.testing.assert_close(got, expected, atol=0, rtol=0)
    assert [t for t, _ in layers(net)][:3] == ["CONSTANT", "QUANTIZE", "DEQUANTIZE"]

def test_fake_quantize_per_channel_matches_torch():
    x = rand(2, 3, 4, 5, seed=1) * 3
    scale = np.array([0.01, 0.02, 0.05], np.float32)
    got, _ = run(Fn(lambda t: F.fake_quantize(t, scale, "int8", axis=1)), x)
    expected = torch.fake_quantize_per_channel_affine(torch.from_numpy(x), torch.from_numpy(scale),
                                                      torch.zeros(3, dtype=torch.int32), 1, -128, 127)
    torch.testing.assert_close(got, expected, atol=0, rtol=0)


def test_quantize_then_dequantize_fp8_matches_torch_float8():
    x = rand(4, 8, seed=2) * 100
    got, net = run(Fn(lambda t: F.dequantize(F.quantize(t, 0.25, "fp8"), 0.25, "float32")), x,
                   compute_capabilities=["SM89"])
    expected = (torch.from_numpy(x) / 0.25).clamp(-448, 448).to(torch.float8_e4m3fn).float() * 0.25
    torch.testing.assert_close(got, expected, atol=0, rtol=0)
    q = next(i for i in range(net.network.num_layers) if net.network.get_layer(i).type.name == "QUANTIZE")
    assert net.network.get_layer(q).get_output(0).dtype.name == "FP8"


def test_fake_quantize_keeps_fp16():
    x = (rand(3, 6, seed=3) * 2).astype(np.float16)
    model = Fn(lambda t: F.fake_quantize(t, 0.03, "int8")).to("float16")
    got, _ = run(model, x)
    assert got.dtype == torch.float16
    expected = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x).float(), 0.03, 0, -128, 127).half()
    torch.testing.assert_close(got, expected, atol=0, rtol=0)


@pytest.mark.parametrize("fn, message", [
    (lambda t: F.quantize(t, 0.1, "float16"), "float16 is not a quantized type"),
    (lambda t: F.quantize(t, 0.0, "int8"), "scale must be positive and finite"),
    (lambda t: F.quantize(t, [0.1, 0.2], "int8", axis=1), "along axis 1 needs 3 values"),
    (lambda t: F.quantize(t, [0.1, 0.2, 0.3], "int8"), "needs axis="),
    (lambda t: F.dequantize(t, 0.1), "dequantize: input must be int8"),
    (lambda t: F.dequantize(F.quantize(t, 0.1), 0.1, "int32"), "dtype must be float32, float16 or bfloat16"),
])
def test_quantize_layer_arguments_are_checked(fn, message):
    with pytest.raises(TrtnetError, match=message):
        trtnet.trace(Fn(fn), [trtnet.Input("x", (2, 3))])


# ---- post-training quantization ---------------------------------------------------------------------------------
class ConvLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.default_inputs = [trtnet.Input("x", (4, 2, 5, 5))]
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(F.flatten(self.act(self.conv(x)), 1))


def conv_linear(seed: int = 0) -> ConvLinear:
    rng = np.random.default_rng(seed)
    model = ConvLinear()
    model.load_state_dict({"conv.weight": rng.standard_normal((4, 2, 3, 3)).astype(np.float32) * 0.3,
                           "conv.bias": rng.standard_normal(4).astype(np.float32) * 0.1,
                           "fc.weight": rng.standard_normal((3, 100)).astype(np.float32) * 0.1,
                           "fc.bias": rng.standard_normal(3).astype(np.float32) * 0.1})
    return model


def batches(count: int = 3, seed: int = 10) -> list[np.ndarray]:
    return [rand(4, 2, 5, 5, seed=seed + i) * 2 for i in range(count)]


def _torch_fake_quant_reference(model: ConvLinear, x: np.ndarray, scales: dict[str, float]) -> torch.Tensor:
    """Eager PyTorch: per-tensor fake-quantized activations, per-output-channel fake-quantized weights."""
    def fq_weight(w: torch.Tensor) -> torch.Tensor:
        amax = w.abs().reshape(w.shape[0], -1).amax(1)
        return torch.fake_quantize_per_channel_affine(w, amax / 127, torch.zeros(w.shape[0], dtype=torch.int32),
                                                      0, -128, 127)

    def fq(t: torch.Tensor, key: str) -> torch.Tensor:
        return torch.fake_quantize_per_tensor_affine(t, scales[key], 0, -128, 127)

    sd = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
    h = TF.relu(TF.conv2d(fq(torch.from_numpy(x), "conv"), fq_weight(sd["conv.weight"]), sd["conv.bias"], padding=1))
    return TF.linear(fq(h.flatten(1), "fc"), fq_weight(sd["fc.weight"]), sd["fc.bias"])


def test_int8_ptq_places_qdq_before_inputs_and_weights_and_matches_torch():
    model = trtnet.quantize(conv_linear(), batches(), "int8", "max")
    x = batches(1, seed=99)[0]
    got, net = run(model, x)
    assert layers(net) == [
        ("CONSTANT", "conv/constant_1"), ("QUANTIZE", "conv/quantize_1"), ("DEQUANTIZE", "conv/dequantize_1"),
        ("CONSTANT", "conv.weight"), ("CONSTANT", "conv/constant_2"), ("QUANTIZE", "conv/quantize_2"),
        ("DEQUANTIZE", "conv/dequantize_2"), ("CONVOLUTION", "conv"), ("ACTIVATION", "act"), ("SHUFFLE", "flatten_1"),
        ("CONSTANT", "fc.weight"), ("CONSTANT", "fc/constant_1"), ("QUANTIZE", "fc/quantize_1"),
        ("DEQUANTIZE", "fc/dequantize_1"), ("CONSTANT", "fc/constant_2"), ("QUANTIZE", "fc/quantize_2"),
        ("DEQUANTIZE", "fc/dequantize_2"), ("MATRIX_MULTIPLY", "fc/matmul_1"), ("CONSTANT", "fc.bias"),
        ("ELEMENTWISE", "fc")]
    network = net.network
    inputs = {network.get_layer(i).name: [network.get_layer(i).get_input(j).name
                                          for j in range(network.get_layer(i).num_inputs)]
              for i in range(network.num_layers)}
    assert inputs["conv/quantize_1"] == ["x", "conv/constant_1"]
    assert inputs["conv/quantize_2"] == ["conv.weight", "conv/constant_2"]
    assert inputs["conv"] == ["conv/dequantize_1", "conv/dequantize_2"]
    assert inputs["fc/quantize_1"] == ["flatten_1", "fc/constant_1"]
    assert inputs["fc/quantize_2"] == ["fc.weight", "fc/constant_2"]
    assert inputs["fc/matmul_1"] == ["fc/dequantize_1", "fc/dequantize_2"]
    trt = trtnet.backend.trt()
    for name, axis, size in (("conv/quantize_2", 0, 4), ("fc/quantize_2", 0, 3)):
        layer = network.get_layer([n for _, n in layers(net)].index(name))
        layer.__class__ = trt.IQuantizeLayer
        assert layer.axis == axis and tuple(layer.get_input(1).shape) == (size,) and layer.to_type == trt.int8
    # scales: max over the calibration batches / 127
    stacked = np.concatenate(batches())
    assert model.quantization.scales["conv"] == pytest.approx(np.abs(stacked).max() / 127, rel=1e-6)
    assert set(model.quantization.scales) == {"conv", "fc"}
    expected = _torch_fake_quant_reference(model, x, model.quantization.scales)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_skip_by_path_and_type_keeps_modules_unquantized():
    for skip in (["fc"], [nn.Linear]):
        model = trtnet.quantize(conv_linear(), batches(1), "int8", "max", skip=skip)
        _, net = run(model, batches(1)[0])
        quantize_layers = [n for t, n in layers(net) if t == "QUANTIZE"]
        assert quantize_layers and all(n.startswith("conv/") for n in quantize_layers)
    with pytest.raises(TrtnetError, match="skip: no module 'fcc'.*did you mean 'fc'"):
        trtnet.quantize(conv_linear(), batches(1), skip=["fcc"])


def test_scales_round_trip_through_json(tmp_path):
    model = trtnet.quantize(conv_linear(), batches(), "int8", "percentile", percentile=99.0)
    model.quantization.save(tmp_path / "scales.json")
    loaded = trtnet.quantize(conv_linear(), scales=tmp_path / "scales.json")
    assert loaded.quantization.scales == model.quantization.scales
    x = batches(1, seed=5)[0]
    torch.testing.assert_close(run(loaded, x)[0], run(model, x)[0], atol=0, rtol=0)
    with pytest.raises(TrtnetError, match="holds int8 scales, but fp8 was asked for"):
        trtnet.quantize(conv_linear(), dtype="fp8", scales=tmp_path / "scales.json")


def test_tensorrt_calibration_cache_imports_by_tensor_name(tmp_path):
    model = conv_linear()
    wanted = {"x": 0.0123, "flatten_1": 0.0456}  # tensor names: the network input and the flatten's output
    lines = ["TRT-8601-EntropyCalibration2"] + [f"{name}: {struct.pack('>f', value).hex()}" for name, value in wanted.items()]
    (tmp_path / "calib.cache").write_text("\n".join(lines) + "\n")
    trtnet.quantize(model, scales=tmp_path / "calib.cache")
    assert model.quantization.scales == pytest.approx({"conv": 0.0123, "fc": 0.0456}, rel=1e-7)
    (tmp_path / "partial.cache").write_text(lines[0] + "\n" + lines[1] + "\n")
    with pytest.raises(TrtnetError, match=r"no scale for 1 activation\(s\): fc \(tensor 'flatten_1'\)"):
        trtnet.quantize(conv_linear(), scales=tmp_path / "partial.cache")


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="kl"), "unknown calibration method 'kl'"),
    (dict(dtype="int4"), "dtype must be 'int8' or 'fp8'"),
    (dict(scales="x.json"), "either calibration batches .* or scales=, not both"),
])
def test_quantize_arguments_are_checked(kwargs, message):
    with pytest.raises(TrtnetError, match=message):
        trtnet.quantize(conv_linear(), batches(1), **kwargs)


def test_calibration_batch_names_are_checked():
    with pytest.raises(TrtnetError, match=r"a calibration batch holds \['y'\], but the model's inputs are \['x'\]"):
        trtnet.quantize(conv_linear(), [{"y": batches(1)[0]}])


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    trtnet.quantize(conv_linear(), batches(2), "int8", "max")
    assert capsys.readouterr().err == ""  # pytest's stderr is no terminal
    trtnet.quantize(conv_linear(), batches(2), "int8", "max", progress=True)
    assert "calibrating [" in capsys.readouterr().err


# ---- calibration methods against brute force on the samples ------------------------------------------------------
def _sample_mse(samples: np.ndarray, amax: float, dtype: dtypes.DType) -> float:
    return float(np.mean((calibrate._fake_quantized(samples, amax, dtype) - samples) ** 2))


@pytest.mark.parametrize("dtype", [dtypes.int8, dtypes.float8_e4m3fn])
def test_mse_threshold_is_near_the_brute_force_optimum(dtype):
    samples = np.abs(np.random.default_rng(0).laplace(size=50_000))
    amax = float(samples.max())
    counts = np.histogram(samples, bins=calibrate.BINS, range=(0, amax))[0]
    chosen = calibrate.mse_amax(counts, amax, dtype)
    candidates = np.linspace(0.05, 1.0, 150) * amax
    best = min(_sample_mse(samples, c, dtype) for c in candidates)
    assert _sample_mse(samples, chosen, dtype) <= best * 1.03
    if dtype is dtypes.int8:
        assert chosen < 0.9 * amax  # clipping the Laplace tail pays off for int8


def test_entropy_clips_long_tails_and_keeps_bounded_ranges():
    rng = np.random.default_rng(1)
    uniform = rng.uniform(0, 1, 200_000)
    counts = np.histogram(uniform, bins=calibrate.BINS, range=(0, uniform.max()))[0]
    assert calibrate.entropy_amax(counts, uniform.max(), dtypes.int8) > 0.97 * uniform.max()
    bulk_and_outliers = np.concatenate([np.abs(rng.standard_normal(200_000)), np.full(20, 50.0)])
    counts = np.histogram(bulk_and_outliers, bins=calibrate.BINS, range=(0, 50.0))[0]
    chosen = calibrate.entropy_amax(counts, 50.0, dtypes.int8)
    assert np.percentile(bulk_and_outliers, 99) < chosen < 10.0  # the 20 outliers at 50 are clipped

def test_percentile_threshold_matches_numpy_within_a_bin():
    samples = np.abs(np.random.default_rng(2).standard_normal(1_000_000))
    amax = float(samples.max())
    counts = np.histogram(samples, bins=calibrate.BINS, range=(0, amax))[0]
    chosen = calibrate.percentile_amax(counts, amax, 99.0)
    assert abs(chosen - np.percentile(samples, 99.0)) <= amax / calibrate.BINS


# ---- targets ----------------------------------------------------------------------------------------------------
def test_fp8_is_refused_before_building_for_targets_without_fp8():
    model = trtnet.quantize(conv_linear(), batches(1), "fp8", "max")
    inputs = [trtnet.Input("x", (4, 2, 5, 5))]
    with pytest.raises(TrtnetError, match="FP8 tensors, which only compute capabilities SM89, SM120, SM121 run: "
                                          "the targets SM80 cannot run them"):
        trtnet.build(model, inputs, compute_capabilities=["SM89", "SM80"])
    with pytest.raises(TrtnetError, match="default targets .* include SM80, SM86"):
        trtnet.build(model, inputs)
    assert len(trtnet.build(model, inputs, compute_capabilities=["SM89", "SM120"])) > 0


# ---- accuracy ---------------------------------------------------------------------------------------------------
def test_digits_int8_accuracy_within_one_point_of_fp32():
    data = load_digits_data()
    images, labels = data["x_test"], data["y_test"]

    def accuracy(model: nn.Module) -> float:
        net = trtnet.trace(model, [trtnet.Input("input", images.shape)])
        return float(np.mean(reference.execute(net.network, {"input": images})["output"].numpy().argmax(1) == labels))

    model = digits()
    model.load_safetensors(ROOT / "weights" / "digits.safetensors")
    fp32 = accuracy(model)
    calibration = [data["x_train"][i:i + 128] for i in range(0, len(data["x_train"]), 128)]
    trtnet.quantize(model, calibration, "int8", "max")
    int8 = accuracy(model)
    print(f"digits held-out accuracy: fp32 {fp32:.2%}, int8 (max) {int8:.2%}")
    assert fp32 > 0.95 and int8 >= fp32 - 0.01


# ---- ResNet-18 builds per target --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def resnet18_statistics():
    from benchmarks.quantize_builds import calibration_batches, seeded_resnet18

    model = seeded_resnet18()
    return model, calibrate.collect(model, calibration_batches(1), histograms=False)


def _producer_types(network) -> dict[str, str]:
    return {network.get_layer(i).get_output(0).name: network.get_layer(i).type.name for i in range(network.num_layers)}


def test_int8_resnet18_builds_for_every_target_with_qdq_on_every_conv_and_linear(resnet18_statistics):
    model, stats = resnet18_statistics
    trtnet.quantize(model, stats, "int8", "max")
    net = trtnet.trace(model)
    network = net.network
    producers = _producer_types(network)
    weighted = [network.get_layer(i) for i in range(network.num_layers)
                if network.get_layer(i).type.name in ("CONVOLUTION", "MATRIX_MULTIPLY")]
    assert len(weighted) == 21  # 20 convolutions and the classifier
    for layer in weighted:
        assert [producers[layer.get_input(j).name] for j in range(2)] == ["DEQUANTIZE", "DEQUANTIZE"], layer.name
    quantizers = [network.get_layer(i).name for i in range(network.num_layers) if network.get_layer(i).type.name == "QUANTIZE"]
    assert len(quantizers) == 50 and quantizers[:2] == ["conv1/quantize_1", "conv1/quantize_2"]  # + 8 residual adds
    assert "layer1.0.conv1/quantize_1" in quantizers and "layer2.0.downsample.0/quantize_2" in quantizers
    assert len(serialize(net, BuildConfig(compute_capabilities=["SM80", "SM86", "SM89", "SM120"]))) > 0


def _residual_adds(network) -> list:
    return [network.get_layer(i) for i in range(network.num_layers)
            if network.get_layer(i).type.name == "ELEMENTWISE" and network.get_layer(i).name.endswith("/add_1")]


def test_int8_resnet18_residual_adds_get_qdq_on_the_identity_branch(resnet18_statistics, tmp_path):
    model, stats = resnet18_statistics
    blocks = [f"layer{stage}.{index}" for stage in range(1, 5) for index in range(2)]
    assert all(block in stats.amax for block in blocks)  # calibrated: the identity branch's max |x|
    trtnet.quantize(model, stats, "int8", "max")
    network = trtnet.trace(model).network
    layers_by_output = {network.get_layer(i).get_output(0).name: network.get_layer(i) for i in range(network.num_layers)}
    adds = _residual_adds(network)
    assert [add.name for add in adds] == [f"{block}/add_1" for block in blocks]
    for add, block in zip(adds, blocks):
        branch, identity = (layers_by_output[add.get_input(j).name] for j in range(2))
        assert (branch.name, branch.type.name) == (f"{block}.bn2", "SCALE")  # conv2 -> bn2 stays float: fused
        assert (identity.name, identity.type.name) == (f"{block}/dequantize_1", "DEQUANTIZE")
        quantizer = layers_by_output[identity.get_input(0).name]
        assert quantizer.type.name == "QUANTIZE"
        scale = netinfo.downcast(layers_by_output[quantizer.get_input(1).name])[1].weights
        assert np.asarray(scale).item() == pytest.approx(stats.amax[block] / 127, rel=1e-6)
        source = layers_by_output.get(quantizer.get_input(0).name)  # the block input, or downsample.1 (its BN)
        expected = f"{block}.downsample.1" if block in ("layer2.0", "layer3.0", "layer4.0") else None
        if expected:
            assert source.name == expected
    path = tmp_path / "scales.json"
    model.quantization.save(path)
    trtnet.quantize(model, scales=path)
    assert len(_residual_adds(trtnet.trace(model).network)) == 8 and model.quantization.residual_adds


def test_residual_adds_can_stay_float(resnet18_statistics):
    model, stats = resnet18_statistics
    trtnet.quantize(model, stats, "int8", "max", residual_adds=False)
    network = trtnet.trace(model).network
    layers_by_output = {network.get_layer(i).get_output(0).name: network.get_layer(i) for i in range(network.num_layers)}
    for add in _residual_adds(network):
        assert "DEQUANTIZE" not in [layers_by_output[add.get_input(j).name].type.name
                                    if add.get_input(j).name in layers_by_output else "INPUT" for j in range(2)]
    quantizers = [i for i in range(network.num_layers) if network.get_layer(i).type.name == "QUANTIZE"]
    assert len(quantizers) == 42


def test_fp8_resnet18_builds_for_sm89_and_sm120_and_is_refused_for_sm80(resnet18_statistics):
    model, stats = resnet18_statistics
    trtnet.quantize(model, stats, "fp8", "max")
    assert len(trtnet.build(model, compute_capabilities=["SM89", "SM120"])) > 0
    with pytest.raises(TrtnetError, match="the targets SM80 cannot run them; set compute_capabilities"):
        trtnet.build(model, compute_capabilities=["SM80"])


def test_fp16_model_quantizes_with_fp16_activations_and_fp32_scales():
    model = trtnet.quantize(conv_linear().to("float16"), [b.astype(np.float16) for b in batches()], "int8", "max")
    x = batches(1, seed=99)[0].astype(np.float16)
    got, net = run(model, x)
    assert got.dtype == torch.float16
    dequantized = [net.network.get_layer(i).get_output(0).dtype.name for i in range(net.network.num_layers)
                   if net.network.get_layer(i).type.name == "DEQUANTIZE"]
    assert dequantized == ["HALF"] * 4
    expected = _torch_fake_quant_reference(conv_linear(), x.astype(np.float32), model.quantization.scales)
    torch.testing.assert_close(got.float(), expected, atol=2e-2, rtol=2e-2)


def test_bf16_linear_weights_are_refused_with_a_clear_error():
    model = trtnet.quantize(conv_linear().to("bfloat16"), batches(1), "int8", "max")
    with pytest.raises(TrtnetError, match="cannot quantize the bfloat16 constant 'fc.weight'"):
        trtnet.trace(model)


def test_tiny_resnet_matches_its_torch_twin_and_keeps_accuracy_in_int8():
    """The residual, BatchNorm model: trtnet twin = eager PyTorch in fp32; INT8 (max) within 1 pp held-out."""
    from safetensors.torch import load_file

    from models.tiny_resnet import tiny_resnet, upscale
    from models.tiny_resnet_torch import tiny_resnet as torch_tiny_resnet

    weights = ROOT / "weights" / "tiny_resnet.safetensors"
    data = load_digits_data()
    images, labels = upscale(data["x_test"]), data["y_test"]
    model = tiny_resnet()
    model.load_safetensors(weights)
    net = trtnet.trace(model, [trtnet.Input("input", images.shape)])
    logits = reference.execute(net.network, {"input": images})["output"]
    eager = torch_tiny_resnet().eval()
    eager.load_state_dict(load_file(weights))
    with torch.inference_mode():
        expected = eager(torch.from_numpy(images))
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
    fp32 = float(np.mean(logits.numpy().argmax(1) == labels))
    train = upscale(data["x_train"][:512])
    trtnet.quantize(model, [train[i:i + 128] for i in range(0, len(train), 128)], "int8", "max")
    net = trtnet.trace(model, [trtnet.Input("input", images.shape)])
    int8 = float(np.mean(reference.execute(net.network, {"input": images})["output"].numpy().argmax(1) == labels))
    print(f"tiny ResNet held-out accuracy: fp32 {fp32:.2%}, int8 (max) {int8:.2%}")
    assert fp32 > 0.98 and int8 >= fp32 - 0.01
