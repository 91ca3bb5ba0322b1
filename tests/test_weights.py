"""Weights: trtnet's safetensors reader against files written by ``safetensors``, every loading error
with its message, unset parameters, ``strict=False``, dtype conversion and the keep-alive registry."""

from __future__ import annotations

import gc
import json
import re
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as np_load_file
from safetensors.torch import load_file, save_file

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet import weights
from trtnet.build import serialize
from _netinspect import layer_named, layers, weights_pointer, weights_values


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)


class Net(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(F.max_pool2d(self.bn(self.conv(x)).relu(), 2).flatten(1))


def torch_state() -> "OrderedDict[str, torch.Tensor]":
    ref = TorchNet().eval()
    with torch.no_grad():
        ref.bn.running_mean.normal_()
        ref.bn.running_var.uniform_(0.5, 2.0)
        ref.bn.weight.normal_()
        ref.bn.bias.normal_()
        ref.bn.num_batches_tracked.fill_(11)
    return ref.state_dict()


INPUT = [trtnet.Input("input", (1, 3, 8, 8))]


# ---- safetensors round trip ------------------------------------------------------------------------
def test_reader_matches_safetensors_writer(tmp_path: Path) -> None:
    tensors = {
        "f32": torch.randn(3, 4),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(2, 3).bfloat16(),
        "i64_scalar": torch.tensor(12345678901, dtype=torch.int64),
        "i32": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "u8": torch.arange(4, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "f64": torch.randn(2, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "all.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})
    read = weights.read_safetensors(path)
    assert set(read) == set(tensors)  # __metadata__ is not a tensor
    for key, tensor in tensors.items():
        got = read[key]
        assert got.shape == tuple(tensor.shape), key
        if tensor.dtype == torch.bfloat16:
            assert got.dtype == np.float32  # numpy has no bf16: exact bf16 values carried in fp32
            np.testing.assert_array_equal(got, tensor.float().numpy())
        else:
            assert got.dtype == tensor.numpy().dtype, key
            np.testing.assert_array_equal(got, tensor.numpy())
    assert read["i64_scalar"].shape == () and int(read["i64_scalar"]) == 12345678901
    assert read["f16"].dtype == np.float16


def test_writer_is_readable_by_safetensors(tmp_path: Path) -> None:
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.array(7, np.int64),
              "c": np.ones((2, 2), np.float16), "d": np.array([True, False])}
    path = tmp_path / "ours.safetensors"
    weights.save_safetensors(path, arrays)
    for key, value in np_load_file(str(path)).items():
        np.testing.assert_array_equal(value, arrays[key])
        assert value.dtype == arrays[key].dtype
    assert set(load_file(str(path))) == set(arrays)


def test_load_safetensors_written_by_torch(tmp_path: Path) -> None:
    state = torch_state()
    path = tmp_path / "net.safetensors"
    save_file(dict(state), str(path))
    model = Net()
    assert model.load_safetensors(path) == ([], [])
    for key, value in state.items():
        got = dict(model.state_dict_entries())[key].numpy()
        np.testing.assert_array_equal(got, value.numpy())
    assert model.bn.num_batches_tracked.numpy().dtype == np.int64
    assert int(model.bn.num_batches_tracked.numpy()) == 11
    net = trtnet.trace(model, INPUT)
    np.testing.assert_array_equal(weights_values(layer_named(net, "conv").kernel), state["conv.weight"].numpy().ravel())
    assert len(serialize(net)) > 0


@pytest.mark.parametrize("torch_dtype", [torch.float16, torch.bfloat16])
def test_half_files_load_into_an_fp32_model(tmp_path: Path, torch_dtype) -> None:
    state = {k: (v.to(torch_dtype) if v.is_floating_point() else v) for k, v in torch_state().items()}
    path = tmp_path / "half.safetensors"
    save_file(state, str(path))
    model = Net()
    model.load_safetensors(path)
    w = model.conv.weight.numpy()
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, state["conv.weight"].float().numpy())
    net = trtnet.trace(model, INPUT)
    np.testing.assert_array_equal(weights_values(layer_named(net, "fc.weight").weights),
                                  state["fc.weight"].float().numpy().ravel())


# ---- loading errors ----------------------------------------------------------------------------------
def load_error(model: trtnet.Module, state, **kwargs) -> str:
    with pytest.raises(trtnet.WeightsError) as info:
        model.load_state_dict(state, **kwargs)
    return str(info.value)


def test_missing_keys() -> None:
    state = torch_state()
    del state["fc.bias"], state["bn.running_var"]
    message = load_error(Net(), state)
    assert "missing key 'fc.bias' (shape (5,))" in message
    assert "missing key 'bn.running_var' (shape (4,))" in message
    assert "2 problem(s)" in message
    assert "num_batches_tracked" not in message  # optional


def test_unexpected_key_suggests_the_closest_name() -> None:
    state = torch_state()
    state["fc.weigth"] = state.pop("fc.weight")
    state["totally.unrelated"] = torch.zeros(1)
    message = load_error(Net(), state)
    assert "unexpected key 'fc.weigth' (did you mean 'fc.weight'?)" in message
    assert re.search(r"unexpected key 'totally.unrelated'$", message, re.M)  # nothing close: no suggestion
    assert "missing key 'fc.weight' (shape (5, 64))" in message


def test_shape_mismatch_names_both_shapes() -> None:
    state = torch_state()
    state["conv.weight"] = torch.zeros(4, 3, 5, 5)
    state["bn.bias"] = torch.zeros(1, 4)
    message = load_error(Net(), state)
    assert "shape mismatch for 'conv.weight': file has (4, 3, 5, 5), model expects (4, 3, 3, 3)" in message
    assert "shape mismatch for 'bn.bias': file has (1, 4), model expects (4,)" in message


def test_dtypes_that_cannot_be_converted() -> None:
    state = torch_state()
    state["bn.num_batches_tracked"] = torch.tensor(3.0)  # float into int64
    state["fc.bias"] = torch.arange(5)  # int into a float weight
    state["conv.bias"] = torch.ones(4, dtype=torch.bool)
    message = load_error(Net(), state)
    assert "dtype of 'bn.num_batches_tracked' can't be converted: file has float32, model expects int64" in message
    assert "dtype of 'fc.bias' can't be converted: file has int64, model expects float32" in message
    assert "dtype of 'conv.bias' can't be converted: file has bool, model expects float32" in message


def test_not_an_array() -> None:
    state = torch_state()
    state["fc.bias"] = "zeros"
    assert "'fc.bias' is a str, not a numpy array or torch tensor" in load_error(Net(), state)


def test_all_problems_in_one_error_naming_the_file(tmp_path: Path) -> None:
    state = torch_state()
    del state["conv.bias"]
    state["bn.wieght"] = state.pop("bn.weight")
    state["fc.weight"] = torch.zeros(5, 63)
    state["bn.num_batches_tracked"] = torch.tensor(1.5)
    path = tmp_path / "broken.safetensors"
    save_file(dict(state), str(path))
    model = Net()
    with pytest.raises(trtnet.WeightsError) as info:
        model.load_safetensors(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 5 problem(s) loading weights into Net:")
    lines = message.splitlines()[1:]
    assert len(lines) == 5
    assert sorted(line.strip().split(" ")[0] for line in lines) == ["dtype", "missing", "missing", "shape", "unexpected"]
    assert "missing key 'conv.bias'" in message and "missing key 'bn.weight'" in message
    assert "unexpected key 'bn.wieght' (did you mean 'bn.weight'?)" in message
    assert "file has (5, 63), model expects (5, 64)" in message
    assert "'bn.num_batches_tracked'" in message
    assert sorted(model.unset_parameters()) == sorted(k for k, _ in model.state_dict_entries()
                                                      if k != "bn.num_batches_tracked"), \
        "nothing may be assigned when loading fails"


# ---- file errors -------------------------------------------------------------------------------------
def write_raw(path: Path, header: dict, data: bytes) -> Path:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return path


def test_nonexistent_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.safetensors"
    with pytest.raises(trtnet.WeightsError, match=re.escape(f"{path}: no such weights file")):
        Net().load_safetensors(path)


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(trtnet.WeightsError, match=re.escape(str(tmp_path))):
        weights.read_safetensors(tmp_path)


def test_truncated_data_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    save_file({"a.weight": torch.ones(4), "z.weight": torch.ones(16, 16)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(trtnet.WeightsError) as info:
        weights.read_safetensors(path)
    message = str(info.value)
    assert message.startswith(f"{path}: tensor 'z.weight'")
    assert "truncated or corrupt" in message


@pytest.mark.parametrize("cut", [3, 8, 20])
def test_truncated_header_names_the_file(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "net.safetensors"
    save_file({"a.weight": torch.ones(4)}, str(path))
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(trtnet.WeightsError, match=rf"^{re.escape(str(path))}: not a safetensors file"):
        weights.read_safetensors(path)


def test_corrupt_header_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 8) + b"{not jso" + b"\0" * 8)
    with pytest.raises(trtnet.WeightsError, match=rf"^{re.escape(str(path))}: corrupt safetensors header"):
        weights.read_safetensors(path)
    path.write_bytes(struct.pack("<Q", 4) + b"[1] ")
    with pytest.raises(trtnet.WeightsError, match="not a JSON object"):
        weights.read_safetensors(path)


def test_unsupported_dtype_names_file_and_key(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "f8.safetensors",
                     {"ok": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                      "layer.scale": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [4, 6]}}, b"\0" * 6)
    with pytest.raises(trtnet.WeightsError) as info:
        weights.read_safetensors(path)
    message = str(info.value)
    assert message.startswith(f"{path}: tensor 'layer.scale': dtype F8_E4M3 is not supported")
    assert "BF16" in message and "F16" in message  # lists what is supported


def test_torch_written_float8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f8.safetensors"
    save_file({"w": torch.zeros(4, dtype=torch.float8_e4m3fn)}, str(path))
    with pytest.raises(trtnet.WeightsError, match=r"tensor 'w': dtype F8_E4M3"):
        weights.read_safetensors(path)


@pytest.mark.parametrize("entry", [
    {"dtype": "F32", "shape": [2]},                                   # no offsets
    {"dtype": "F32", "shape": [2], "data_offsets": [0]},               # one offset
    {"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]},        # strings
    {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]},            # reversed
    {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]},            # size disagrees with shape
    {"dtype": "F32", "shape": [-2, -1], "data_offsets": [0, 8]},       # negative dims
    {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]},            # shape not a list
    {"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]},          # dtype not a string
    "F32",                                                            # entry not an object
])
def test_malformed_header_entry_names_file_and_key(tmp_path: Path, entry) -> None:
    path = write_raw(tmp_path / "odd.safetensors", {"k.weight": entry}, b"\0" * 8)
    with pytest.raises(trtnet.WeightsError) as info:
        weights.read_safetensors(path)
    assert str(info.value).startswith(f"{path}: tensor 'k.weight'")


# ---- unset parameters and strict=False -------------------------------------------------------------
def test_building_with_unset_parameters_lists_them() -> None:
    state = torch_state()
    model = Net()
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("bn.")}, strict=False)
    with pytest.raises(trtnet.WeightsError) as info:
        trtnet.build(model, INPUT)
    message = str(info.value)
    assert "4 parameter(s) have no values" in message
    for key in ("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
        assert key in message
    assert "num_batches_tracked" not in message
    assert "conv.weight" not in message


def test_fresh_model_cannot_be_traced() -> None:
    with pytest.raises(trtnet.WeightsError, match=r"Net: 8 parameter\(s\) have no values .*conv\.weight"):
        trtnet.trace(Net(), INPUT)


def test_strict_false() -> None:
    state = torch_state()
    del state["fc.bias"], state["conv.weight"]
    state["extra.weight"] = torch.zeros(3)
    model = Net()
    result = model.load_state_dict(state, strict=False)
    assert result == (["conv.weight", "fc.bias"], ["extra.weight"])
    assert tuple(result) == tuple(TorchNet().load_state_dict(dict(state), strict=False))
    np.testing.assert_array_equal(model.bn.running_mean.numpy(), state["bn.running_mean"].numpy())
    assert "extra" not in dict(model.state_dict_entries())
    assert model.unset_parameters() == ["conv.weight", "fc.bias"]
    # later loads fill the rest; as torch's, missing_keys are the keys this state_dict lacks
    result = model.load_state_dict({"fc.bias": torch.zeros(5)}, strict=False)
    assert tuple(result) == tuple(TorchNet().load_state_dict({"fc.bias": torch.zeros(5)}, strict=False))
    assert "conv.weight" in result.missing_keys and "bn.weight" in result.missing_keys
    assert model.unset_parameters() == ["conv.weight"]
    # shapes and dtypes are still checked
    with pytest.raises(trtnet.WeightsError, match="shape mismatch for 'conv.weight'"):
        model.load_state_dict({"conv.weight": torch.zeros(1)}, strict=False)
    with pytest.raises(trtnet.WeightsError, match="conv.weight"):
        trtnet.trace(model, INPUT)


def test_loaded_values_are_a_snapshot() -> None:
    """Like torch's load_state_dict, loading copies: training on after loading changes nothing in the model."""
    ref = TorchNet()
    model = Net()
    model.load_state_dict(ref.state_dict())
    expected = ref.conv.weight.detach().numpy().copy()
    with torch.no_grad():
        ref.conv.weight.add_(1.0)
    np.testing.assert_array_equal(model.conv.weight.numpy(), expected)
    arrays = {k: v.numpy().copy() for k, v in ref.state_dict().items()}
    model.load_state_dict(arrays)
    kept = arrays["fc.weight"].copy()
    arrays["fc.weight"][:] = 0
    np.testing.assert_array_equal(model.fc.weight.numpy(), kept)


# ---- precision conversion ----------------------------------------------------------------------------
def test_to_half_converts_from_the_loaded_values() -> None:
    state = torch_state()
    model = Net()
    model.load_state_dict(state)
    w = state["fc.weight"]
    model.to(trtnet.float16)
    assert model.fc.weight.dtype is trtnet.float16
    assert model.fc.weight.numpy().dtype == np.float16
    np.testing.assert_array_equal(model.fc.weight.numpy(), w.half().numpy())
    assert model.bn.num_batches_tracked.dtype is trtnet.int64  # integers untouched
    model.to(trtnet.bfloat16)
    np.testing.assert_array_equal(model.fc.weight.numpy(), w.bfloat16().float().numpy())
    model.to(trtnet.float32)
    np.testing.assert_array_equal(model.fc.weight.numpy(), w.numpy())  # no loss: converted from the source
    assert model.state_dict()["fc.weight"].dtype == np.float32


def test_to_takes_names_and_refuses_integer_dtypes() -> None:
    model = Net()
    model.load_state_dict(torch_state())
    model.to("fp16")
    assert model.conv.weight.dtype is trtnet.float16 and model.model_dtype is trtnet.float16
    with pytest.raises(trtnet.TrtnetError, match="float dtype"):
        model.to(trtnet.int32)
    with pytest.raises(trtnet.TrtnetError, match="did you mean"):
        model.to("floa16")


# ---- keep-alive -------------------------------------------------------------------------------------
def weight_sources(net: trtnet.Network) -> dict[str, object]:
    """Every weights object TensorRT holds, by layer and role."""
    found = {}
    for layer in layers(net):
        for attr in ("kernel", "bias", "scale", "shift", "weights"):
            if hasattr(type(layer), attr):
                w = getattr(layer, attr)
                if weights_values(w).size:
                    found[f"{layer.name}.{attr}"] = w
    return found


def held_by_graph(net: trtnet.Network, pointer: int) -> bool:
    for obj in net.graph.keep_alive:
        if isinstance(obj, np.ndarray) and obj.ctypes.data <= pointer < obj.ctypes.data + max(obj.nbytes, 1):
            return True
    return False


@pytest.mark.parametrize("dtype", [trtnet.float32, trtnet.float16, trtnet.bfloat16])
def test_weights_given_to_tensorrt_are_kept_alive_until_serialization(dtype) -> None:
    state = torch_state()
    model = Net()
    model.load_state_dict({k: v.clone() for k, v in state.items()})
    model.to(dtype)
    net = trtnet.trace(model, INPUT)
    held = weight_sources(net)
    assert set(held) == {"conv.kernel", "conv.bias", "bn.scale", "bn.shift", "fc.weight.weights",
                         "fc.bias.weights"}
    for name, w in held.items():
        assert held_by_graph(net, weights_pointer(w)), f"{name}: memory not referenced by net.graph.keep_alive"
    expected = {name: weights_values(w).copy() for name, w in held.items()}
    del held
    # drop every other reference: the model (and so its parameters and converted arrays), the state dict
    model.to(trtnet.float32 if dtype is not trtnet.float32 else trtnet.float16)  # replaces cached conversions
    del model, state
    gc.collect()
    clobber = [np.full(4096, 12345.0, np.float32) for _ in range(256)]  # reuse freed memory, if any
    engine = bytes(serialize(net))
    assert len(engine) > 0
    for name, w in weight_sources(net).items():
        np.testing.assert_array_equal(weights_values(w), expected[name], err_msg=name)
    del clobber


def test_keep_alive_holds_the_exact_arrays_for_fp32() -> None:
    state = torch_state()
    model = Net()
    model.load_state_dict(state)
    net = trtnet.trace(model, INPUT)
    conv = layer_named(net, "conv")
    assert weights_pointer(conv.kernel) in {a.ctypes.data for a in net.graph.keep_alive if isinstance(a, np.ndarray)}
    np.testing.assert_array_equal(weights_values(conv.kernel), state["conv.weight"].numpy().ravel())
