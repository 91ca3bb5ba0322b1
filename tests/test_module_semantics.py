"""Module semantics as torch's: each construct is written once in ``torch.nn`` and once in ``trtnet.nn``; the
registries, ``state_dict`` keys and the traced forward (built with TensorRT, run on the CPU executor) must match
eager PyTorch."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

import trtnet  # noqa: E402
import trtnet.nn as tnn  # noqa: E402
from test_ops import rand, run  # noqa: E402
from trtnet.testing import assert_matches_torch  # noqa: E402

BOTH = pytest.mark.parametrize("nn", [torch.nn, tnn], ids=["torch", "trtnet"])


def structure(module: Any) -> dict[str, Any]:
    """What torch and trtnet must agree on: registries in order, state_dict keys, deduplicated names."""
    return {
        "modules": [(k, None if v is None else type(v).__name__) for k, v in module._modules.items()],
        "parameters": [(k, v is None) for k, v in module._parameters.items()],
        "state_dict": list(module.state_dict()),
        "named_parameters": [k for k, _ in module.named_parameters()],
        "named_modules": [(k, type(v).__name__) for k, v in module.named_modules()],
        "named_children": [k for k, _ in module.named_children()],
    }


def same_structure(build: Callable[[Any], Any], load: bool = True) -> tuple[Any, Any]:
    """``build(nn)`` with torch.nn and trtnet.nn; loads torch's state_dict into trtnet's strictly (unless
    ``load=False``), asserts equal structures, returns (torch, trtnet) modules."""
    torch.manual_seed(0)
    theirs, ours = build(torch.nn), build(tnn)
    if load:
        assert repr(ours.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
    assert structure(ours) == structure(theirs)
    return theirs, ours


def matches(ours: Any, theirs: Any, *inputs: Any) -> None:
    """Same weights (torch's), built engine, outputs within tolerance of eager torch."""
    assert_matches_torch(ours, theirs.eval(), [torch.as_tensor(x) for x in inputs])


# ---- 1. attribute assignment ---------------------------------------------------------------------
def reassigned_projection(nn: Any) -> Any:
    class Block(nn.Module):  # torchvision RegNet's pattern
        def __init__(self) -> None:
            super().__init__()
            self.proj = None
            self.fc = nn.Linear(4, 3)
            self.proj = nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            return self.fc(x) if self.proj is None else self.fc(x) + self.proj(x)

    return Block()


def test_plain_none_replaced_by_a_module() -> None:
    theirs, ours = same_structure(reassigned_projection)
    assert isinstance(ours.proj, tnn.Linear) and "proj" not in ours.__dict__
    matches(ours, theirs, rand(2, 4))


def test_setattr_on_a_sequential_keeps_the_position() -> None:
    def build(nn: Any) -> Any:
        seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh())
        setattr(seq, "1", nn.Sigmoid())
        return seq

    theirs, ours = same_structure(build)
    assert [type(m).__name__ for m in ours] == ["Linear", "Sigmoid", "Linear", "Tanh"]
    matches(ours, theirs, rand(2, 4))


def test_reassigned_parameter_keeps_its_position() -> None:
    def build(nn: Any) -> Any:
        lin = nn.Linear(4, 3)
        lin.weight = nn.Parameter(torch.ones(3, 4))
        return lin

    theirs, ours = same_structure(build)
    assert structure(ours)["state_dict"] == ["weight", "bias"]
    matches(ours, theirs, rand(2, 4))


def test_none_for_a_registered_module_keeps_the_key() -> None:
    def build(nn: Any) -> Any:
        block = reassigned_projection(nn)
        block.proj = None
        return block

    theirs, ours = same_structure(build)
    assert ours.proj is None and "proj" in ours._modules
    assert [k for k, _ in ours.named_modules()] == ["", "fc"]
    assert "(proj): None" in repr(ours)
    matches(ours, theirs, rand(2, 4))


def test_none_for_a_registered_parameter_keeps_the_key() -> None:
    def build(nn: Any) -> Any:
        lin = nn.Linear(4, 3)
        lin.bias = None
        return lin

    theirs, ours = same_structure(build)
    assert ours.bias is None and list(ours._parameters) == ["weight", "bias"]
    matches(ours, theirs, rand(2, 4))


def test_parameter_replaces_a_module_not_the_reverse() -> None:
    def build(nn: Any) -> Any:
        block = nn.Module()
        block.a = nn.Linear(2, 2)
        block.b = nn.Parameter(torch.zeros(2))
        block.c = nn.Linear(2, 2)
        block.a = nn.Parameter(torch.zeros(3))  # leaves _modules, joins _parameters at the end
        return block

    theirs, ours = same_structure(build)
    with pytest.raises(TypeError, match="cannot assign 'torch.nn.modules.linear.Linear' as parameter 'b'"):
        theirs.b = torch.nn.Linear(2, 1)
    with pytest.raises(trtnet.TrtnetError, match="cannot assign 'trtnet.nn.linear.Linear' as parameter 'b'"):
        ours.b = tnn.Linear(2, 1)


def test_wrong_value_for_a_registered_name_is_refused() -> None:
    lin = tnn.Linear(4, 3)
    with pytest.raises(trtnet.TrtnetError, match=r"cannot assign 'numpy.ndarray' as parameter 'bias'"):
        lin.bias = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match="cannot assign 'numpy.ndarray' as parameter 'bias'"):
        torch.nn.Linear(4, 3).bias = np.zeros(3, np.float32)
    seq = tnn.Sequential(tnn.ReLU())
    with pytest.raises(trtnet.TrtnetError, match=r"cannot assign 'int' as child module '0'"):
        seq[0] = 3


def test_delattr() -> None:
    def build(nn: Any) -> Any:
        block = reassigned_projection(nn)
        block.scale = 2.0
        block.extra = nn.Parameter(torch.zeros(2))
        del block.proj, block.scale, block.extra
        block.proj = None  # a plain attribute again
        return block

    theirs, ours = same_structure(build)
    assert not hasattr(ours, "scale") and ours.proj is None
    matches(ours, theirs, rand(2, 4))
    del ours.proj
    with pytest.raises(AttributeError):
        del ours.proj


# ---- 2. containers -------------------------------------------------------------------------------
def chain(nn: Any) -> Any:
    return nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Sigmoid())


SEQUENTIAL_EDITS: dict[str, Callable[[Any, Any], Any]] = {
    "setitem": lambda nn, s: s.__setitem__(1, nn.Hardswish()),
    "setitem_negative": lambda nn, s: s.__setitem__(-1, nn.Linear(4, 4)),
    "delitem": lambda nn, s: s.__delitem__(1),
    "delitem_negative": lambda nn, s: s.__delitem__(-2),
    "delitem_slice": lambda nn, s: s.__delitem__(slice(1, 3)),
    "delitem_step": lambda nn, s: s.__delitem__(slice(None, None, 2)),
    "append": lambda nn, s: s.append(nn.Linear(4, 2)),
    "insert": lambda nn, s: s.insert(1, nn.Linear(4, 4)),
    "insert_negative": lambda nn, s: s.insert(-2, nn.Linear(4, 4)),
    "insert_end": lambda nn, s: s.insert(len(s), nn.Linear(4, 4)),
    "extend": lambda nn, s: s.extend([nn.ReLU(), nn.Linear(4, 3)]),
    "pop": lambda nn, s: s.pop(2),
    "pop_slice": lambda nn, s: s.pop(slice(0, 2)),
}


@pytest.mark.parametrize("edit", SEQUENTIAL_EDITS)
def test_sequential_edits(edit: str) -> None:
    def build(nn: Any) -> Any:
        seq = chain(nn)
        SEQUENTIAL_EDITS[edit](nn, seq)
        return seq

    theirs, ours = same_structure(build)
    assert len(ours) == len(theirs)
    matches(ours, theirs, rand(2, 4))


@pytest.mark.parametrize("index", [slice(None, 2), slice(2, None), slice(1, -1), slice(None, None, 2),
                                   slice(None, None, -1), -1, 0])
def test_sequential_indexing(index: Any) -> None:
    def build(nn: Any) -> Any:
        picked = chain(nn)[index]
        return picked if isinstance(picked, nn.Sequential) else nn.Sequential(picked)

    theirs, ours = same_structure(build)
    if isinstance(index, slice):  # torch's slice keeps the keys: "2.weight", ...
        assert list(ours.state_dict()) == [k for k in chain(torch.nn)[index].state_dict()]
    matches(ours, theirs, rand(2, 4))


def test_named_sequential_slice_and_renumbering() -> None:
    def build(nn: Any) -> Any:
        seq = nn.Sequential(OrderedDict([("fc1", nn.Linear(4, 4)), ("act", nn.ReLU()), ("fc2", nn.Linear(4, 4))]))
        return nn.Sequential(seq[1:], seq)  # a slice shares modules; deleting renumbers torch's way

    theirs, ours = same_structure(build)
    matches(ours, theirs, rand(2, 4))
    del theirs[1][0], ours[1][0]
    assert structure(ours) == structure(theirs)


@BOTH
def test_container_index_errors(nn: Any) -> None:
    for container in (chain(nn), nn.ModuleList([nn.ReLU()])):
        size = len(container)
        for bad in (size, -size - 1):
            with pytest.raises(IndexError, match=f"index {bad} is out of range"):
                container[bad]
            with pytest.raises(IndexError, match=f"index {bad} is out of range"):
                del container[bad]
    with pytest.raises(IndexError, match="Index out of range: 7"):
        chain(nn).insert(7, nn.ReLU())
    error = TypeError if nn is torch.nn else trtnet.TrtnetError
    with pytest.raises(error, match="extend should be called with an iterable, but got int"):
        nn.ModuleList().extend(3)
    with pytest.raises(TypeError):
        chain(nn)["0"]
    assert len(nn.ModuleList(None)) == 0 and len(nn.ModuleList()) == 0


MODULELIST_EDITS: dict[str, Callable[[Any, Any], Any]] = {
    "setitem_negative": lambda nn, m: m.__setitem__(-2, nn.Linear(4, 4)),
    "delitem": lambda nn, m: m.__delitem__(0),
    "delitem_slice": lambda nn, m: m.__delitem__(slice(1, None)),
    "append": lambda nn, m: m.append(nn.Linear(4, 4)),
    "extend": lambda nn, m: m.extend([nn.Tanh(), nn.Linear(4, 4)]),
    "iadd": lambda nn, m: m.__iadd__([nn.Linear(4, 4)]),
    "insert": lambda nn, m: m.insert(1, nn.Linear(4, 4)),
    "pop": lambda nn, m: m.pop(-1),
}


def chained_list(nn: Any, edit: Callable[[Any, Any], Any] | None = None, index: Any = None) -> Any:
    class Chain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)])
            if edit is not None:
                edit(nn, self.layers)
            if index is not None:
                self.layers = self.layers[index]

        def forward(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x)
            return x

    return Chain()


@pytest.mark.parametrize("edit", MODULELIST_EDITS)
def test_modulelist_edits(edit: str) -> None:
    theirs, ours = same_structure(lambda nn: chained_list(nn, MODULELIST_EDITS[edit]))
    matches(ours, theirs, rand(2, 4))


@pytest.mark.parametrize("index", [slice(1, None), slice(None, None, -2)])
def test_modulelist_slice_is_a_renumbered_modulelist(index: slice) -> None:
    theirs, ours = same_structure(lambda nn: chained_list(nn, index=index))
    assert type(ours.layers) is tnn.ModuleList
    matches(ours, theirs, rand(2, 4))


# ---- 3. Parameter(tensor) and Parameter(shape...) ------------------------------------------------
def layer_scale(nn: Any) -> Any:
    class LayerScale(nn.Module):  # torchvision ConvNeXt's spelling
        def __init__(self) -> None:
            super().__init__()
            self.layer_scale = nn.Parameter(torch.ones(4, 1, 1) * 1e-6 + torch.arange(4.0).reshape(4, 1, 1))

        def forward(self, x: Any) -> Any:
            return x * self.layer_scale

    return LayerScale()


def test_parameter_from_a_tensor_runs_without_loading() -> None:
    theirs, ours = same_structure(layer_scale, load=False)
    assert ours.layer_scale.shape == (4, 1, 1) and ours.layer_scale.dtype is trtnet.float32
    x = rand(2, 4, 3, 3)
    (got,), _ = run(ours, [x])  # traced and built with the constructor's values: nothing loaded
    torch.testing.assert_close(got, theirs(torch.from_numpy(x)).detach(), rtol=0, atol=0)


def test_parameter_values_are_overwritten_by_a_load() -> None:
    theirs, ours = same_structure(layer_scale, load=False)
    with torch.no_grad():
        theirs.layer_scale.mul_(-3.0)
    matches(ours, theirs, rand(2, 4, 3, 3))  # loads theirs.state_dict() first
    np.testing.assert_array_equal(ours.layer_scale.numpy(), theirs.layer_scale.detach().numpy())


@pytest.mark.parametrize("values,dtype", [
    (torch.zeros(2, 3, dtype=torch.float16), trtnet.float16),
    (torch.zeros(2, dtype=torch.bfloat16), trtnet.bfloat16),
    (torch.arange(3), trtnet.int64),
    (np.arange(3, dtype=np.int32), trtnet.int32),
    (np.zeros((2, 2)), trtnet.float32),  # float64: TensorRT has no float64
    (torch.tensor(1.5), trtnet.float32),
])
def test_parameter_takes_shape_and_dtype_from_values(values: Any, dtype: Any) -> None:
    param = tnn.Parameter(values)
    assert param.shape == tuple(values.shape) and param.dtype is dtype and param.is_set
    expected = values.float().numpy() if isinstance(values, torch.Tensor) else values
    np.testing.assert_array_equal(param.numpy().astype(np.float64), np.asarray(expected, np.float64))


def test_parameter_is_a_snapshot_and_accepts_requires_grad() -> None:
    values = torch.ones(3)
    param = tnn.Parameter(values, False)
    values.add_(1)
    np.testing.assert_array_equal(param.numpy(), np.ones(3, np.float32))


@pytest.mark.parametrize("args,shape", [((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([4],), (4,)), (((),), ()),
                                        ((torch.Size([2, 3]),), (2, 3)), ((np.int64(5),), (5,))])
def test_parameter_shape_forms(args: tuple, shape: tuple) -> None:
    param = tnn.Parameter(*args)
    assert param.shape == shape and param.dtype is trtnet.float32 and not param.is_set


@pytest.mark.parametrize("args,match", [
    ((), r"Parameter\(\): expected a shape"),
    (("weight",), r"Parameter\(str\): expected a shape"),
    (((2, 3), "float16"), r"Parameter\(\(2, 3\), str\).*pass dtype= as a keyword"),
    ((-1,), r"Parameter\(-1\): expected a shape .* sizes >= 0"),
    ((2.5,), r"Parameter\(float\): expected a shape"),
    ((True,), r"expected a shape"),
    ((np.array(["a"]),), r"values of dtype <U1 have no trtnet equivalent"),
    ((torch.ones(2), 3), r"takes one tensor and a bool, got 2 arguments \(Tensor, int\)"),
])
def test_parameter_refuses_anything_else(args: tuple, match: str) -> None:
    with pytest.raises(trtnet.TrtnetError, match=match):
        tnn.Parameter(*args)


# ---- 4. unique input names -----------------------------------------------------------------------
def test_input_names_must_be_unique() -> None:
    class Add(tnn.Module):
        def forward(self, a: Any, b: Any) -> Any:
            return a + b

    specs = [trtnet.Input("x", (2, 3)), trtnet.Input("x", (2, 3))]
    with pytest.raises(trtnet.TrtnetError, match=r"input names must be unique: 'x' given more than once"):
        trtnet.trace(Add(), specs)


# ---- 5. keep_in_fp32 with keyword arguments ------------------------------------------------------
def test_keep_in_fp32_casts_keyword_arguments() -> None:
    """1e6 overflows fp16 (max 65504): only a float32 computation gives x back."""

    class Scale(tnn.Module):
        def forward(self, hidden_states: Any) -> Any:
            return hidden_states * 1000.0 * 1000.0 * 1.0e-6

    class Model(tnn.Module):
        def __init__(self, by_keyword: bool) -> None:
            super().__init__()
            self.by_keyword, self.norm = by_keyword, Scale()

        def forward(self, x: Any) -> Any:
            return self.norm(hidden_states=x) if self.by_keyword else self.norm(x)

    x = (np.abs(rand(2, 3)) + 0.5).astype(np.float16)
    for by_keyword in (False, True):
        (got,), _ = run(Model(by_keyword).to(trtnet.float16).keep_in_fp32("norm"), [x])
        assert got.dtype == torch.float16
        torch.testing.assert_close(got, torch.from_numpy(x), rtol=1e-3, atol=1e-3)
    (unpinned,), _ = run(Model(True).to(trtnet.float16), [x])
    assert not torch.isfinite(unpinned).any()  # the same forward in fp16 overflows


# ---- 6. tied parameters --------------------------------------------------------------------------
def tied_lm(nn: Any) -> Any:
    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(10, 4)
            self.ln = nn.LayerNorm(4)
            self.lm_head = nn.Linear(4, 10, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, ids: Any) -> Any:
            return self.lm_head(self.ln(self.wte(ids)))

    return TinyLM()


IDS = np.array([[1, 4, 9], [0, 2, 2]], np.int64)


def test_tied_parameter_names_and_strict_load_from_torch_state_dict() -> None:
    theirs, ours = same_structure(tied_lm)
    assert list(ours.state_dict()) == ["wte.weight", "ln.weight", "ln.bias", "lm_head.weight"]
    assert [k for k, _ in ours.named_parameters()] == ["wte.weight", "ln.weight", "ln.bias"]
    matches(ours, theirs, IDS)
    assert ours.lm_head.weight is ours.wte.weight


def test_tied_parameter_loads_strictly_from_save_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    theirs, ours = tied_lm(torch.nn).eval(), tied_lm(tnn)
    path = tmp_path / "tied.safetensors"
    safetensors_torch.save_model(theirs, str(path))
    stored = set(safetensors_torch.load_file(str(path)))
    assert len(stored & {"wte.weight", "lm_head.weight"}) == 1  # the file holds one of the tied names
    assert repr(ours.load_safetensors(path)) == "<All keys matched successfully>"
    np.testing.assert_array_equal(ours.lm_head.weight.numpy(), theirs.wte.weight.detach().numpy())
    (got,), _ = run(ours, [IDS])
    torch.testing.assert_close(got, theirs(torch.from_numpy(IDS)).detach(), rtol=2e-5, atol=2e-5)


def test_tied_parameter_errors_name_both_keys() -> None:
    theirs, ours = tied_lm(torch.nn), tied_lm(tnn)
    state = theirs.state_dict()
    without = {k: v for k, v in state.items() if k not in ("wte.weight", "lm_head.weight")}
    with pytest.raises(trtnet.WeightsError) as info:
        ours.load_state_dict(without)
    message = str(info.value)
    assert "missing key 'wte.weight' (shape (10, 4)), tied to 'lm_head.weight'" in message
    assert "missing key 'lm_head.weight' (shape (10, 4)), tied to 'wte.weight'" in message
    assert ours.load_state_dict(without, strict=False).missing_keys == ["wte.weight", "lm_head.weight"]
    assert tuple(ours.load_state_dict(without, strict=False)) == tuple(theirs.load_state_dict(without, strict=False))
    differing = {**state, "lm_head.weight": state["wte.weight"] + 1}
    with pytest.raises(trtnet.WeightsError, match=r"tied parameters 'wte.weight' and 'lm_head.weight' .*different"):
        ours.load_state_dict(differing)
    assert not ours.wte.weight.is_set  # nothing is assigned when a load fails


def test_shared_module_is_keyed_under_every_path() -> None:
    def build(nn: Any) -> Any:
        block = nn.Module()
        block.a = nn.Linear(2, 2)
        block.b = block.a
        block.seq = nn.Sequential(block.a, nn.ReLU())
        return block

    theirs, ours = same_structure(build)
    assert list(ours.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "seq.0.weight", "seq.0.bias"]
    assert repr(ours.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"


# ---- 7. load_state_dict's result -----------------------------------------------------------------
@pytest.mark.parametrize("edit", ["none", "drop", "extra", "both"])
def test_load_state_dict_returns_torchs_result(edit: str, tmp_path: Path) -> None:
    theirs, ours = same_structure(chain)
    state = dict(theirs.state_dict())
    if edit in ("drop", "both"):
        del state["2.bias"], state["0.weight"]
    if edit in ("extra", "both"):
        state["9.weight"] = torch.zeros(2)
    expected = theirs.load_state_dict(state, strict=False)
    got = ours.load_state_dict(state, strict=False)
    assert got == tuple(expected) and repr(got) == repr(expected).removeprefix("_")
    assert (got.missing_keys, got.unexpected_keys) == (expected.missing_keys, expected.unexpected_keys)
    path = tmp_path / "chain.safetensors"
    safetensors_torch.save_file(state, str(path))
    assert ours.load_safetensors(path, strict=False) == tuple(expected)
