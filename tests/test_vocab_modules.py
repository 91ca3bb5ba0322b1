"""Issue 9 module API against torch.nn: ModuleDict, add_module/register_module, register_buffer (persistent buffers in
the state_dict, loaded from safetensors, cast by ``to``), named_buffers/children/apply, eval/train, and the
``device=``/``dtype=`` factory arguments of layer constructors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

import trtnet  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.errors import TrtnetError, WeightsError  # noqa: E402

from test_ops import run  # noqa: E402


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(6))
        self.register_buffer("scale_cache", torch.full((6,), 0.5), persistent=False)
        self.blocks = torch.nn.ModuleDict({"proj": torch.nn.Linear(4, 6), "norm": torch.nn.LayerNorm(6)})
        self.blocks["act"] = torch.nn.PReLU(6)
        self.head = torch.nn.Linear(6, 3)
        self.head.register_buffer("shift", torch.zeros(3))
        self.register_buffer("steps", torch.arange(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks["norm"](self.blocks["proj"](x)) + self.offset
        h = self.blocks["act"](h) * self.scale_cache
        return self.head(h) + self.head.shift


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("offset", np.zeros(6, np.float32))
        self.register_buffer("scale_cache", np.full((6,), 0.5, np.float32), persistent=False)
        self.blocks = nn.ModuleDict({"proj": nn.Linear(4, 6), "norm": nn.LayerNorm(6)})
        self.blocks["act"] = nn.PReLU(6)
        self.head = nn.Linear(6, 3)
        self.head.register_buffer("shift", np.zeros(3, np.float32))
        self.register_buffer("steps", np.arange(3))

    def forward(self, x):
        h = self.blocks["norm"](self.blocks["proj"](x)) + self.offset
        h = self.blocks["act"](h) * self.scale_cache
        return self.head(h) + self.head.shift


def _torch_net() -> TorchNet:
    torch.manual_seed(0)
    net = TorchNet()
    with torch.no_grad():
        for value in [*net.parameters(), net.offset, net.head.shift]:
            value.copy_(torch.randn_like(value))
    return net.eval()


def test_state_dict_keys_order_and_values_match_torch() -> None:
    theirs, ours = _torch_net(), Net()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())  # persistent buffers in torch's places
    assert "scale_cache" not in ours.state_dict()
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].dtype == value.numpy().dtype, key
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())


def test_buffers_load_from_safetensors_and_take_part_in_the_network(tmp_path) -> None:
    theirs, ours = _torch_net(), Net()
    path = tmp_path / "net.safetensors"
    safetensors_torch.save_file(theirs.state_dict(), str(path))
    missing, unexpected = ours.load_safetensors(path)
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(ours.offset.numpy(), theirs.offset.numpy())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (got,), net = run(ours, [x])
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x))
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=2e-5)
    names = {net.network.get_layer(i).name for i in range(net.network.num_layers)}
    assert {"offset", "head.shift"} <= names  # buffer constants named by their state_dict keys


def test_strict_loading_reports_missing_and_unexpected_buffers() -> None:
    state = {k: v for k, v in _torch_net().state_dict().items() if k != "head.shift"}
    state["head.shfit"] = torch.zeros(3)
    with pytest.raises(WeightsError, match=r"missing key 'head.shift'.*\n.*unexpected key 'head.shfit'"):
        Net().load_state_dict(state)
    missing, unexpected = Net().load_state_dict(state, strict=False)
    assert missing == ["head.shift"] and unexpected == ["head.shfit"]


@pytest.mark.parametrize("name,kwargs", [("BatchNorm1d", {}), ("BatchNorm2d", {"affine": False}), ("BatchNorm3d", {}),
                                         ("InstanceNorm2d", {"track_running_stats": True, "affine": True})])
def test_norm_running_statistics_are_buffers_as_torch(name, kwargs) -> None:
    ours, theirs = getattr(nn, name)(3, **kwargs), getattr(torch.nn, name)(3, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [k for k, _ in ours.state_dict_entries()] == list(theirs.state_dict())


def test_named_buffers_children_and_apply_match_torch() -> None:
    theirs, ours = _torch_net(), Net()
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_buffers(recurse=False)] == [n for n, _ in theirs.named_buffers(recurse=False)]
    assert [n for n, _ in ours.named_buffers(prefix="m")] == [n for n, _ in theirs.named_buffers(prefix="m")]
    assert len(list(ours.buffers())) == len(list(theirs.buffers())) == 4
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(c).__name__ for c in ours.children()] == [type(c).__name__ for c in theirs.children()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]  # buffers aside
    visited_ours: list[str] = []
    visited_theirs: list[str] = []
    assert ours.apply(lambda m: visited_ours.append(type(m).__name__)) is ours
    theirs.apply(lambda m: visited_theirs.append(type(m).__name__))
    assert visited_ours == [n.replace("TorchNet", "Net") for n in visited_theirs]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__.replace("TorchNet", "Net")
                                                          for m in theirs.modules()]


def test_to_half_casts_float_buffers_only_as_torch() -> None:
    theirs, ours = _torch_net(), Net()
    ours.load_state_dict(theirs.state_dict())
    ours.to(trtnet.float16)
    theirs.half()
    for (key, value), (torch_key, torch_value) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert key == torch_key and value.dtype == torch_value.numpy().dtype, key
    assert ours.scale_cache.dtype is trtnet.float16 and ours.steps.dtype is trtnet.int64


def test_to_takes_torch_s_forms() -> None:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, keywords, ``half()``/``float()``/
    ``bfloat16()``, ``cpu()``/``cuda()``: the same parameter dtypes as torch's module (devices are ignored)."""
    ours, theirs = Net(), _torch_net()
    ours.load_state_dict(theirs.state_dict())
    calls = [(("cpu",), {}), ((torch.float16,), {}), ((), dict(dtype=torch.float32)),
             ((torch.device("cpu"), torch.float16), {}), ((torch.zeros(1, dtype=torch.float32),), {}),
             ((), dict(device="cpu", dtype=torch.bfloat16, non_blocking=True))]
    for args, kwargs in calls:
        assert ours.to(*args, **kwargs) is ours
        theirs.to(*args, **kwargs)
        assert [p.dtype.name for p in ours.parameters()] == [str(p.dtype).removeprefix("torch.")
                                                             for p in theirs.parameters()], (args, kwargs)
    for method, dtype in (("half", "float16"), ("float", "float32"), ("bfloat16", "bfloat16")):
        assert getattr(ours, method)() is ours and ours.model_dtype.name == dtype
        assert ours.offset.dtype.name == dtype and ours.steps.dtype.name == "int64"
    assert ours.cpu() is ours and ours.cuda() is ours and ours.to("cuda:1") is ours
    with pytest.raises(TrtnetError, match="device='mps'"):
        ours.to(torch.device("mps"))
    with pytest.raises(TrtnetError, match="takes a float dtype, got int32"):
        ours.to(torch.int32)


def test_buffer_assignment_and_deletion_as_torch() -> None:
    ours, theirs = Net(), TorchNet()

    def keys(module: nn.Module) -> list[str]:
        return [key for key, _ in module.state_dict_entries()]

    ours.offset = np.ones(6, np.float32)
    theirs.offset = torch.ones(6)
    assert keys(ours) == list(theirs.state_dict()) and ours.offset.numpy()[0] == 1.0
    ours.offset, theirs.offset = None, None  # a registered buffer set to None stays registered, out of state_dict
    assert keys(ours) == list(theirs.state_dict()) and "offset" not in keys(ours)
    assert ours.offset is None
    del ours.steps
    del theirs.steps
    assert keys(ours) == list(theirs.state_dict())
    with pytest.raises(TrtnetError, match="cannot assign 'str' as buffer 'shift'"):
        ours.head.shift = "zeros"


def test_declared_buffer_must_be_loaded_before_building() -> None:
    class Stats(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", trtnet.Parameter((3,)))

        def forward(self, x):
            return x - self.mean

    model = Stats()
    with pytest.raises(WeightsError, match="1 parameter\\(s\\) have no values.*: mean"):
        trtnet.trace(model, [trtnet.Input("x", (2, 3))])
    model.load_state_dict({"mean": np.array([1.0, 2.0, 3.0], np.float32)})
    (got,), _ = run(model, [np.zeros((2, 3), np.float32)])
    assert got.tolist() == [[-1.0, -2.0, -3.0]] * 2


@pytest.mark.parametrize("register", ["add_module", "register_module", "register_buffer"])
@pytest.mark.parametrize("name", [1, "a.b", "", "forward", "head"])
def test_registration_errors_in_torch_s_words(register: str, name) -> None:
    theirs, ours = TorchNet(), Net()
    value = (torch.zeros(1), np.zeros(1, np.float32)) if register == "register_buffer" else \
        (torch.nn.ReLU(), nn.ReLU())
    if name == "head" and register != "register_buffer":
        getattr(theirs, register)(name, value[0])  # replacing a registered module is allowed in both
        getattr(ours, register)(name, value[1])
        assert type(ours.head).__name__ == type(theirs.head).__name__ == "ReLU"
        return
    with pytest.raises((TypeError, KeyError)) as torch_error:
        getattr(theirs, register)(name, value[0])
    with pytest.raises(TrtnetError) as our_error:
        getattr(ours, register)(name, value[1])
    expected = torch_error.value.args[0].replace("torch.nn.Module", "trtnet.nn.Module")
    if register == "register_buffer" and name == "a.b":
        expected += ", got: a.b"  # torch's buffer message omits the name its module message shows
    assert str(our_error.value) == expected


@pytest.mark.parametrize("name", [1, "a.b", "", "forward", "offset"])
def test_register_parameter_errors_in_torch_s_words(name) -> None:
    with pytest.raises((TypeError, KeyError)) as torch_error:
        TorchNet().register_parameter(name, torch.nn.Parameter(torch.zeros(1)))
    with pytest.raises(TrtnetError) as our_error:
        Net().register_parameter(name, trtnet.Parameter(np.zeros(1, np.float32)))
    assert str(our_error.value) == torch_error.value.args[0].replace("parameter name can't contain \".\"",
                                                                       f"parameter name can't contain \".\", got: {name}")


def test_register_parameter_get_submodule_requires_grad_as_torch() -> None:
    theirs, ours = TorchNet(), Net()
    theirs.register_parameter("gain", torch.nn.Parameter(torch.ones(3)))
    ours.register_parameter("gain", trtnet.Parameter(np.ones(3, np.float32)))
    theirs.head.register_parameter("extra", None)
    ours.head.register_parameter("extra", None)
    assert [k for k, _ in ours.state_dict_entries()] == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with pytest.raises(TrtnetError, match="cannot assign 'numpy.ndarray' object to parameter 'w'"):
        ours.register_parameter("w", np.ones(2))
    for target in ("", "blocks", "blocks.act", "head"):
        assert type(ours.get_submodule(target)).__name__ == type(theirs.get_submodule(target)).__name__.replace(
            "TorchNet", "Net")
    with pytest.raises(AttributeError, match="ModuleDict has no attribute `nrom`"):
        theirs.get_submodule("blocks.nrom")
    with pytest.raises(TrtnetError, match="ModuleDict has no attribute `nrom`.*did you mean 'norm'"):
        ours.get_submodule("blocks.nrom")
    assert ours.requires_grad_(False) is ours


def test_add_module_refuses_non_modules() -> None:
    with pytest.raises(TrtnetError, match="int is not a Module subclass"):
        Net().add_module("x", 3)


def test_eval_and_train_false_are_no_ops_and_training_is_an_error() -> None:
    ours = Net()
    assert ours.eval() is ours and ours.train(False) is ours
    assert ours.training is False and all(m.training is False for m in ours.modules())
    with pytest.raises(TrtnetError, match="inference-only"):
        ours.train()
    with pytest.raises(TrtnetError, match="inference-only"):
        ours.train(True)
    with pytest.raises(TrtnetError, match="^training mode is expected to be boolean$"):
        ours.train("yes")
    with pytest.raises(ValueError, match="^training mode is expected to be boolean$"):
        TorchNet().train("yes")


# ---- ModuleDict -----------------------------------------------------------------------------------------------------
def test_module_dict_api_matches_torch() -> None:
    def script(dict_cls, relu, linear):
        d = dict_cls({"b": linear(2, 3), "a": relu()})
        log = [list(d.keys()), len(d), "a" in d, "z" in d, list(iter(d))]
        d["c"] = linear(3, 4)
        d.update({"a": linear(1, 1), "d": relu()})
        d.update([("e", relu()), ("b", relu())])
        log += [list(d.keys()), [type(v).__name__ for v in d.values()], [(k, type(v).__name__) for k, v in d.items()]]
        popped = d.pop("c")
        del d["a"]
        log += [type(popped).__name__, list(d), sorted(d.state_dict()) if dict_cls is torch.nn.ModuleDict else None]
        d.clear()
        log += [len(d), list(d)]
        return log

    ours = script(nn.ModuleDict, nn.ReLU, nn.Linear)
    theirs = script(torch.nn.ModuleDict, torch.nn.ReLU, torch.nn.Linear)
    assert ours[:-3] == theirs[:-3] and ours[-2:] == theirs[-2:]


def test_module_dict_state_dict_names_and_build() -> None:
    theirs = torch.nn.ModuleDict({"enc": torch.nn.Linear(3, 4), "dec": torch.nn.Linear(4, 2)})
    ours = nn.ModuleDict({"enc": nn.Linear(3, 4), "dec": nn.Linear(4, 2)})
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]

    class Wrapper(nn.Module):
        def __init__(self, layers: nn.ModuleDict) -> None:
            super().__init__()
            self.layers = layers

        def forward(self, x):
            return self.layers["dec"](self.layers["enc"](x))

    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    (got,), net = run(Wrapper(ours), [x])
    with torch.no_grad():
        expected = theirs["dec"](theirs["enc"](torch.from_numpy(x)))
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=2e-5)
    assert "layers.enc" in {net.network.get_layer(i).name for i in range(net.network.num_layers)}


def test_module_dict_errors() -> None:
    d = nn.ModuleDict({"x": nn.ReLU()})
    with pytest.raises(KeyError):
        d["missing"]
    with pytest.raises(TrtnetError, match="^attribute 'keys' already exists$"):
        d["keys"] = nn.ReLU()
    with pytest.raises(TrtnetError, match="element #0 has length 1; 2 is required"):
        d.update([("y",)])
    with pytest.raises(TrtnetError, match="should be called with an iterable"):
        d.update(3)


# ---- device= / dtype= -------------------------------------------------------------------------------------------------
FACTORY = [("Linear", (4, 3)), ("Embedding", (5, 2)), ("LayerNorm", (4,)), ("GroupNorm", (2, 4)), ("RMSNorm", (4,)),
           ("BatchNorm1d", (3,)), ("BatchNorm2d", (3,)), ("BatchNorm3d", (3,)), ("PReLU", (3,)),
           ("InstanceNorm2d", (3,)), ("Conv1d", (2, 4, 3)), ("Conv2d", (2, 4, 3)), ("Conv3d", (2, 4, 3)),
           ("ConvTranspose1d", (2, 4, 3)), ("ConvTranspose2d", (2, 4, 3)), ("MultiheadAttention", (8, 2))]


@pytest.mark.parametrize("name,args", FACTORY, ids=[n for n, _ in FACTORY])
def test_factory_kwargs_set_parameter_dtype_as_torch(name: str, args: tuple) -> None:
    extra = {"affine": True, "track_running_stats": True} if name.startswith("InstanceNorm") else {}
    theirs = getattr(torch.nn, name)(*args, **extra, device="cpu", dtype=torch.float16)
    ours = getattr(nn, name)(*args, **extra, device=torch.device("cpu"), dtype=torch.float16)
    ours.load_state_dict(theirs.state_dict())
    assert [(k, v.dtype) for k, v in ours.state_dict().items()] == \
        [(k, v.numpy().dtype) for k, v in theirs.state_dict().items()]
    for device in ("cuda", "cuda:1", None, 0):
        getattr(nn, name)(*args, device=device)  # accepted and ignored
    with pytest.raises(TrtnetError, match="device='tpu': trtnet accepts 'cpu', 'cuda"):
        getattr(nn, name)(*args, device="tpu")
    with pytest.raises(TrtnetError, match="dtype=int32: layer parameters are floating point"):
        getattr(nn, name)(*args, dtype=torch.int32)


def test_inspect_counts_registered_buffers_as_torch() -> None:
    from trtnet.inspection import inspect_network

    theirs, ours = _torch_net(), Net()
    ours.load_state_dict(theirs.state_dict())
    totals = inspect_network(ours, trtnet.trace(ours, [trtnet.Input("x", (2, 4))]))["totals"]
    assert totals["parameters"] == sum(p.numel() for p in theirs.parameters()) == 69
    assert totals["buffers"] == sum(b.numel() for b in theirs.buffers()) == 18
