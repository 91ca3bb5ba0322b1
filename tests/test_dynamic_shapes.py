"""Dynamic shapes end to end: models written with PyTorch's size idioms (``b, s, _ = x.shape``, ``view(*x.shape[:-1],
-1, d)``, ``arange(s)``, ``new_zeros(x.shape[0], 4)``) over several dynamic dims, each built once with a profile,
serialized, and executed by the CPU executor at the profile's min, opt and max shapes against eager PyTorch."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.reference import execute  # noqa: E402

# (shape with -1, min, opt, max): dynamic batch AND sequence
SEQ = ((-1, -1, 8), (1, 1, 8), (2, 5, 8), (4, 16, 8))


class Fn(nn.Module):
    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs)


def layer_types(net: Any) -> Counter:
    return Counter(net.network.get_layer(i).type.name for i in range(net.network.num_layers))


def check_profile(fn: Callable, torch_fn: Callable, *specs: tuple, dtypes: tuple[str, ...] = ()) -> Any:
    """Build ``fn`` once with the profiles ``specs`` ((shape, min, opt, max) per input), then run the CPU executor
    at min, opt and max on seeded inputs and compare every output (shape and values) with ``torch_fn``."""
    dtypes = dtypes or ("float32",) * len(specs)
    inputs = [trtnet.Input(f"x{i}", shape, dtype, min=lo, opt=mid, max=hi)
              for i, ((shape, lo, mid, hi), dtype) in enumerate(zip(specs, dtypes))]
    net = trtnet.trace(Fn(fn), inputs)
    assert len(serialize(net, BuildConfig())) > 0
    rng = np.random.default_rng(0)
    for point in range(1, 4):
        feeds = {}
        for i, (spec, dtype) in enumerate(zip(specs, dtypes)):
            shape = spec[point]
            feeds[f"x{i}"] = (rng.standard_normal(shape).astype(np.float32) if dtype == "float32"
                              else rng.integers(0, 10, shape).astype(dtype))
        got = execute(net.network, feeds)
        expected = torch_fn(*[torch.from_numpy(a) for a in feeds.values()])
        expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
        assert len(expected) == len(net.outputs)
        for name, want in zip(net.outputs, expected):
            have = got[name]
            assert tuple(have.shape) == tuple(want.shape), (name, spec[point])
            assert have.dtype == want.dtype, (name, have.dtype, want.dtype)
            torch.testing.assert_close(have, want, atol=1e-5, rtol=1e-5)
    return net


# ---- Hugging Face idioms -------------------------------------------------------------------------
def test_heads_split_with_unpacked_sizes() -> None:
    """``b, s, _ = x.shape; x.view(b, s, heads, d).transpose(1, 2)`` and back with ``reshape(b, s, -1)``: no shape
    layers at all (placeholders copy b and s)."""
    def split_merge(x: Any) -> Any:
        b, s, _ = x.shape
        heads = x.view(b, s, 2, 4).transpose(1, 2)
        return heads, heads.transpose(1, 2).reshape(b, s, -1)

    net = check_profile(split_merge, split_merge, SEQ)
    assert layer_types(net)["SHAPE"] == 0


def test_view_star_shape_minus_one() -> None:
    """HF's ``x.view(*x.shape[:-1], -1, d)`` with two dynamic leading dims."""
    def fn(x: Any) -> Any:
        return x.view(*x.shape[:-1], -1, 2)

    check_profile(fn, fn, SEQ)


def test_arange_positions_and_expand() -> None:
    """``position_ids = arange(s).unsqueeze(0).expand(b, -1)`` (int64) and float positions for RoPE."""
    def ours(x: Any) -> Any:
        b, s, _ = x.shape
        positions = F.arange(s).unsqueeze(0).expand(b, -1)
        return positions, F.arange(s, dtype=trtnet.float32) * 0.5, F.arange(1, s + 1, 2), F.arange(s - 1, -1, -1)

    def theirs(x: Any) -> Any:
        b, s, _ = x.shape
        return (torch.arange(s).unsqueeze(0).expand(b, -1), torch.arange(s, dtype=torch.float32) * 0.5,
                torch.arange(1, s + 1, 2), torch.arange(s - 1, -1, -1))

    check_profile(ours, theirs, SEQ)


def test_new_zeros_and_creation_ops() -> None:
    def ours(x: Any) -> Any:
        b, s, d = x.shape
        return (x.new_zeros(x.shape[0], 4), x.new_ones(b, s), F.zeros_like(x), F.ones(s, 3, dtype=trtnet.int64),
                F.full((b, 2, s), 7.5), x.new_full((s,), 2.0) + 1)

    def theirs(x: Any) -> Any:
        b, s, d = x.shape
        return (x.new_zeros(x.shape[0], 4), x.new_ones(b, s), torch.zeros_like(x), torch.ones(s, 3, dtype=torch.int64),
                torch.full((b, 2, s), 7.5), x.new_full((s,), 2.0) + 1)

    check_profile(ours, theirs, SEQ)


def test_sizes_of_a_second_input_and_of_derived_tensors() -> None:
    """A mask of the key length, shaped by sizes of both inputs and of a derived tensor."""
    def ours(q: Any, k: Any) -> Any:
        b, s, _ = q.shape
        t = F.relu(k).size(1)
        return F.zeros(b, 1, s, t) + q.new_ones(1, 1, 1, t), k.flatten(0, 1).view(b, t, 2, -1)

    def theirs(q: Any, k: Any) -> Any:
        b, s, _ = q.shape
        t = k.size(1)
        return torch.zeros(b, 1, s, t) + q.new_ones(1, 1, 1, t), k.flatten(0, 1).view(b, t, 2, -1)

    check_profile(ours, theirs, SEQ, ((-1, -1, 8), (1, 2, 8), (2, 3, 8), (4, 9, 8)))


# ---- several dynamic dims in shape ops -------------------------------------------------------------
def test_flatten_unflatten_with_two_dynamic_dims() -> None:
    def ours(x: Any) -> Any:
        b, s, d = x.shape
        flat = x.flatten(0, 1)  # (b*s, d)
        return flat, flat.unflatten(0, (b, s)), x.unflatten(-1, (2, -1)), x.flatten(), flat.view(b, -1)

    def theirs(x: Any) -> Any:
        b, s, d = x.shape
        flat = x.flatten(0, 1)
        return flat, flat.unflatten(0, (b, s)), x.unflatten(-1, (2, -1)), x.flatten(), flat.view(b, -1)

    check_profile(ours, theirs, SEQ)


def test_unsqueeze_squeeze_permute_with_three_dynamic_dims() -> None:
    spec = ((-1, 1, -1, -1), (1, 1, 1, 1), (2, 1, 3, 4), (3, 1, 5, 6))

    def fn(x: Any) -> Any:
        moved = x.unsqueeze(0).unsqueeze(-1)  # every dynamic dim changes index
        return moved, x.squeeze(1), x.permute(3, 0, 2, 1), x.squeeze(1).unsqueeze(2).reshape(x.shape[0], -1)

    check_profile(fn, fn, spec)


def test_reshape_by_sizes_of_another_tensor() -> None:
    """The target's sizes come from a second input: a shape tensor feeds the shuffle."""
    def fn(x: Any, y: Any) -> Any:
        return x.reshape(y.shape[0], -1, y.shape[1])

    check_profile(fn, fn, ((-1, 12), (2, 12), (4, 12), (6, 12)), ((-1, 3), (2, 3), (4, 3), (6, 3)))


def test_int_inputs_keep_their_dtype_through_creation() -> None:
    def fn(ids: Any, ops: Any = F) -> Any:
        return ids + ops.arange(ids.shape[1]).unsqueeze(0), ops.zeros_like(ids)

    check_profile(fn, lambda ids: fn(ids, torch), ((-1, -1), (1, 1), (2, 6), (3, 10)), dtypes=("int64",))


# ---- static stays folded ------------------------------------------------------------------------------
def test_static_model_has_no_shape_layers() -> None:
    """Every size idiom on a static input folds to ints: no SHAPE, GATHER or FILL layer."""
    def fn(x: Any, ops: Any = F) -> Any:
        b, s, d = x.shape
        y = x.view(*x.shape[:-1], -1, 2).flatten(0, 1).unflatten(0, (b, s))
        positions = ops.arange(s).unsqueeze(0).expand(b, -1)
        return y, positions, x.new_zeros(x.shape[0], 4), ops.ones(b * s // 2, 1)

    net = check_profile(fn, lambda x: fn(x, torch), ((2, 6, 8), (2, 6, 8), (2, 6, 8), (2, 6, 8)))
    kinds = layer_types(net)
    assert kinds["SHAPE"] == kinds["GATHER"] == kinds["FILL"] == 0, kinds
    assert kinds["SHUFFLE"] > 0 and kinds["CONSTANT"] > 0


def test_a_size_is_materialized_once() -> None:
    """``x.shape[1]`` used in three shape arguments: one SHAPE and one GATHER layer."""
    def fn(x: Any, ops: Any = F) -> Any:
        s = x.shape[1]
        return ops.arange(s), x.new_zeros(s, 2), x.new_ones(2, x.size(1))

    kinds = layer_types(check_profile(fn, lambda x: fn(x, torch), SEQ))
    assert kinds["SHAPE"] == 1 and kinds["GATHER"] == 1, kinds


# ---- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target, message", [
    ((-2, 8), "invalid shape dimension -2"),
    ((-1, -1, 8), "only one dimension can be inferred"),
    ((3, -1), "shape '\\[3, -1\\]' is invalid for input of size 16"),
    ((5, 5), "shape '\\[5, 5\\]' is invalid for input of size 16"),
])
def test_invalid_reshape_targets_are_shape_errors(target: tuple, message: str) -> None:
    """PyTorch's words for PyTorch's rules (eager torch raises the same message)."""
    with pytest.raises(trtnet.ShapeError, match=message):
        trtnet.trace(Fn(lambda x: x.reshape(target)), [trtnet.Input("x", (2, 8))])
    with pytest.raises(RuntimeError, match=message):
        torch.randn(2, 8).reshape(target)


def test_dynamic_reshape_to_minus_two_is_caught_before_tensorrt() -> None:
    with pytest.raises(trtnet.ShapeError, match="invalid shape dimension -2"):
        trtnet.trace(Fn(lambda x: x.view(x.shape[0], -2, 4)),
                     [trtnet.Input("x", (-1, 8), min=(1, 8), opt=(2, 8), max=(4, 8))])


def test_dynamic_volume_that_can_never_match_is_refused() -> None:
    """(b, 8) viewed as (5, 5): 8*b is never 25; (4, 4) fits b == 2 and is left to run time."""
    spec = trtnet.Input("x", (-1, 8), min=(1, 8), opt=(2, 8), max=(4, 8))
    with pytest.raises(trtnet.ShapeError, match=r"shape '\[5, 5\]' is invalid for input of size 8\*x.size\(0\)"):
        trtnet.trace(Fn(lambda x: x.view(5, 5)), [spec])
    assert trtnet.trace(Fn(lambda x: x.view(4, 4)), [spec]).network.num_layers == 1


def test_sizes_must_be_ints_or_sizes() -> None:
    with pytest.raises(trtnet.TrtnetError, match="argument 'size' must be a sequence of ints"):
        trtnet.trace(Fn(lambda x: x.view(2.0, 4)), [trtnet.Input("x", (2, 4))])
    with pytest.raises(trtnet.TrtnetError, match="with a dynamic size, start, end and step must be ints"):
        trtnet.trace(Fn(lambda x: F.arange(0.0, x.shape[0], 0.5)),
                     [trtnet.Input("x", (-1, 8), min=(1, 8), opt=(2, 8), max=(4, 8))])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_to_the_sizes_of_a_dynamic_tensor(mode: str) -> None:
    """``F.interpolate(x, size=skip.shape[-2:])``: the output size is read at run time (resize input 1)."""
    def ours(x: Any, skip: Any) -> Any:
        return F.interpolate(x, size=skip.shape[-2:], mode=mode)

    def theirs(x: Any, skip: Any) -> Any:
        return torch.nn.functional.interpolate(x, size=skip.shape[-2:], mode=mode)

    check_profile(ours, theirs, ((-1, 2, 4, 4), (1, 2, 4, 4), (2, 2, 4, 4), (3, 2, 4, 4)),
                  ((-1, 1, -1, -1), (1, 1, 2, 3), (2, 1, 8, 8), (3, 1, 11, 13)))


# ---- a Hugging Face style block, checked by trtnet.testing at min, opt and max ---------------------------
class _Attention:
    """The same forward for trtnet and torch: HF's size idioms, learned positions from ``arange(s)``."""

    def __init__(self, lib: Any, ops: Any, module: Any) -> None:
        self.lib, self.ops, self.module = lib, ops, module

    def forward(self, x: Any) -> Any:
        m, ops = self.module, self.ops
        b, s, _ = x.shape
        x = x + m.positions(ops.arange(s)).unsqueeze(0)
        q, k, v = (proj(x).view(*x.shape[:-1], -1, 4).transpose(1, 2) for proj in (m.q, m.k, m.v))
        weights = ops.softmax((q @ k.transpose(-2, -1)) * 0.5, dim=-1)
        merged = (weights @ v).transpose(1, 2).reshape(b, s, -1)
        return m.out(merged) + x.new_zeros(b, s, 1)


def _attention_modules() -> tuple[Any, Any]:
    class Ours(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.positions, self.q, self.k, self.v, self.out = (nn.Embedding(16, 8), nn.Linear(8, 8), nn.Linear(8, 8),
                                                                nn.Linear(8, 8), nn.Linear(8, 8))

        def forward(self, x: Any) -> Any:
            return _Attention(trtnet, F, self).forward(x)

    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.positions = torch.nn.Embedding(16, 8)
            self.q, self.k, self.v, self.out = (torch.nn.Linear(8, 8) for _ in range(4))

        def forward(self, x: Any) -> Any:
            return _Attention(torch, torch, self).forward(x)

    return Ours(), Theirs()


def test_hf_style_attention_block_at_min_opt_max() -> None:
    from trtnet.testing import assert_matches_torch

    torch.manual_seed(0)
    ours, theirs = _attention_modules()
    report = assert_matches_torch(ours, theirs, [trtnet.Input("x", (-1, -1, 8), min=(1, 1, 8), opt=(2, 7, 8),
                                                              max=(4, 16, 8))])
    assert [p.label for p in report.points] == ["min", "opt", "max"]
    assert [p.outputs[0].actual_shape for p in report.points] == [(1, 1, 8), (2, 7, 8), (4, 16, 8)]


def test_sizes_as_slicing_bounds_and_narrow() -> None:
    """``x[:, :s - 1]``, ``x.narrow(1, 0, s // 2 + 1)``, ``x[:, s // 2]``: size expressions as indices."""
    def fn(x: Any) -> Any:
        b, s, _ = x.shape
        return x[:, :s - 1], x.narrow(1, 0, s // 2 + 1), x[:, s // 2]

    check_profile(fn, fn, ((-1, -1, 8), (1, 2, 8), (2, 5, 8), (4, 16, 8)))
