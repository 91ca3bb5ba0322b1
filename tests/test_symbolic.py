"""``trtnet.symbolic``: SymInt arithmetic, exact folding, comparisons decided by the expression or the Input
profile's range (else a clear error), no value while building; materialized sizes checked at min, opt and max."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.reference import execute  # noqa: E402
from trtnet.symbolic import Size, SymInt  # noqa: E402

from test_dynamic_shapes import Fn, check_profile, layer_types  # noqa: E402

# batch 1..4, sequence 1..16
SPEC = trtnet.Input("x", (-1, -1, 8), min=(1, 1, 8), opt=(2, 5, 8), max=(4, 16, 8))


def trace(fn: Any, spec: trtnet.Input = SPEC) -> Any:
    """Trace ``fn`` (which may return None: a size check only) and build what it made."""
    def forward(x: Any) -> Any:
        result = fn(x)
        return x if result is None else result

    net = trtnet.trace(Fn(forward), [spec])
    assert len(serialize(net, BuildConfig())) > 0
    return net


# ---- arithmetic and folding -------------------------------------------------------------------------
def test_arithmetic_folds_exactly_to_ints_and_stays_symbolic_otherwise() -> None:
    seen = {}

    def fn(x: Any) -> None:
        b, s, d = x.shape
        seen.update(zero=s - s, eight=(s + 8) - s, same=(4 * s) // 4, mod=(6 * s + 4) % 2, neg=-(-s),
                    product=(b * s * d) // (b * d), ratio=(b * s) // s, numel=x.numel(), sym=s * 2 + 1,
                    small_mod=s % 32, sign=(s - 20) // 2**62)

    trace(fn)
    assert seen["zero"] == 0 and type(seen["zero"]) is int
    assert seen["eight"] == 8 and type(seen["eight"]) is int
    assert seen["mod"] == 0 and type(seen["mod"]) is int
    assert seen["sign"] == -1 and type(seen["sign"]) is int  # decided by the range: s - 20 is in [-19, -4]
    assert repr(seen["small_mod"]) == "x.size(1)"  # s <= 16
    for name in ("same", "neg", "product", "ratio", "numel", "sym"):
        assert isinstance(seen[name], SymInt), name
    assert repr(seen["product"]) == "x.size(1)" and repr(seen["ratio"]) == "x.size(0)"
    assert repr(seen["numel"]) == "8*x.size(0)*x.size(1)"
    assert repr(seen["sym"]) == "2*x.size(1) + 1"


def test_sizes_of_derived_tensors_are_the_input_sizes() -> None:
    """A dynamic dim is traced back through pointwise, broadcasting, matmul, reshape and cat to the input's."""
    seen = {}

    def fn(x: Any) -> None:
        w = F.as_tensor(np.ones((8, 3), np.float32))
        y = F.relu(x @ w + 1.0)
        z = F.cat([x, x], 1)
        seen.update(batch=y.size(0) == x.size(0), seq=y.size(1) == x.size(1), joined=z.size(1) == 2 * x.size(1),
                    flat=x.flatten(0, 1).size(0) == x.size(0) * x.size(1), view=x.view(-1, 4).size(0) == x.numel() // 4)

    trace(fn)
    assert seen == dict(batch=True, seq=True, joined=True, flat=True, view=True)


# ---- comparisons -----------------------------------------------------------------------------------
def test_comparisons_decided_by_the_profile_range() -> None:
    seen = {}

    def fn(x: Any) -> None:
        b, s, _ = x.shape
        seen.update(positive=s > 0, at_least_one=s >= 1, below_max=s < 17, at_most=s <= 16, not_zero=s != 0,
                    truthy=bool(s), sum_in_range=b + s <= 20, eq_int=s == 100, with_int_on_left=0 < s,
                    never_odd=2 * s == 5, even=2 * s + 4 * b != 7)
        if x.size(1) > 0:  # HF's guard
            seen["branch"] = True

    trace(fn)
    assert seen == dict(positive=True, at_least_one=True, below_max=True, at_most=True, not_zero=True, truthy=True,
                        sum_in_range=True, eq_int=False, with_int_on_left=True, never_odd=False, even=True,
                        branch=True)


@pytest.mark.parametrize("compare", [lambda s, b: s > 5, lambda s, b: s == b, lambda s, b: s % 2 == 0,
                                     lambda s, b: s <= b])
def test_undecided_comparison_names_the_dims_and_ranges(compare: Any) -> None:
    with pytest.raises(trtnet.ShapeError, match=r"depends on the runtime size \(.*x\.size\([01]\) in \[1, (16|4)\]"):
        trtnet.trace(Fn(lambda x: compare(x.shape[1], x.shape[0]) and x), [SPEC])


@pytest.mark.parametrize("use, what", [(int, "int"), (lambda s: range(s), "index"), (lambda s: [0, 1][s], "index"),
                                       (float, "float")])
def test_no_value_while_building(use: Any, what: str) -> None:
    with pytest.raises(trtnet.ShapeError, match=rf"{what}\(x\.size\(1\)\): the size is dynamic \(in \[1, 16\]\).*"
                                                r"pass it as a shape argument"):
        trtnet.trace(Fn(lambda x: use(x.shape[1]) and x), [SPEC])


def test_true_division_is_refused() -> None:
    with pytest.raises(trtnet.ShapeError, match="use // for sizes"):
        trtnet.trace(Fn(lambda x: x.shape[1] / 2 and x), [SPEC])


def test_bool_of_a_size_that_may_be_zero_raises() -> None:
    """``bool(s)`` is torch's ``s != 0``: ``s - 1`` is in [0, 15], undecided."""
    with pytest.raises(trtnet.ShapeError, match="depends on the runtime size"):
        trtnet.trace(Fn(lambda x: bool(x.shape[1] - 1) and x), [SPEC])


# ---- Size --------------------------------------------------------------------------------------------
def test_size_is_a_torch_size_like_tuple() -> None:
    seen = {}

    def fn(x: Any) -> None:
        seen.update(shape=x.shape, head=x.shape[:-1], size=x.size(), last=x.size(-1), dim=x.dim(),
                    joined=x.shape[1:] + (3,), numel=x.shape.numel())

    trace(fn)
    assert isinstance(seen["shape"], Size) and isinstance(seen["head"], Size) and isinstance(seen["joined"], Size)
    assert seen["size"] is seen["shape"] and seen["last"] == 8 and type(seen["last"]) is int and seen["dim"] == 3
    assert repr(seen["head"]) == "trtnet.Size([x.size(0), x.size(1)])"
    assert repr(seen["joined"]) == "trtnet.Size([x.size(1), 8, 3])"
    static = {}
    trace(lambda x: static.update(shape=x.shape, numel=x.numel()), trtnet.Input("x", (2, 3)))
    assert static["shape"] == (2, 3) and all(type(d) is int for d in static["shape"]) and static["numel"] == 6


# ---- materialized values -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, size, expected", [
    ("floordiv", lambda b, s: (b * s + 3) // 2, lambda b, s: (b * s + 3) // 2),
    ("mod", lambda b, s: s % 3 + 1, lambda b, s: s % 3 + 1),
    ("negative", lambda b, s: 20 - s, lambda b, s: 20 - s),
    ("by size", lambda b, s: (s * 7) // b, lambda b, s: (s * 7) // b),
    ("mod size", lambda b, s: 10 % b + 1, lambda b, s: 10 % b + 1),
    ("poly", lambda b, s: (b + 1) * (s + 2) - b * s, lambda b, s: (b + 1) * (s + 2) - b * s),
])
def test_materialized_sizes_match_python_at_min_opt_max(name: str, size: Any, expected: Any) -> None:
    """A size expression used as a shape argument computes Python's value at every profile point."""
    net = trtnet.trace(Fn(lambda x: F.zeros(size(x.shape[0], x.shape[1]))), [SPEC])
    assert len(serialize(net, BuildConfig())) > 0
    for b, s in ((1, 1), (2, 5), (4, 16), (3, 11)):
        out = execute(net.network, {"x": np.zeros((b, s, 8), np.float32)})["output"]
        assert tuple(out.shape) == (expected(b, s),), (b, s)


def test_exact_folds_add_no_layers() -> None:
    """``(4 * s) // 4`` is ``s``: a view by it is a placeholder (no shape layers)."""
    net = trace(lambda x: x.view(x.shape[0], (4 * x.shape[1]) // 4, 2, 4))
    assert layer_types(net)["SHAPE"] == 0


def test_expand_and_repeat_take_sizes() -> None:
    def ours(x: Any) -> Any:
        b, s, _ = x.shape
        row = x[:1, :1, :]
        return row.expand(b, s, 8), x[:, :1, :1].repeat(1, 1, s)

    def theirs(x: Any) -> Any:
        b, s, _ = x.shape
        return x[:1, :1, :].expand(b, s, 8), x[:, :1, :1].repeat(1, 1, s)

    check_profile(ours, theirs, ((-1, -1, 8), (1, 1, 8), (2, 5, 8), (4, 16, 8)))


def test_sizes_survive_slices_fed_by_runtime_bounds() -> None:
    """BERT's pooler ``x[:, 0]`` and ``x[:, 1:]`` (slices whose bounds TensorRT computes): their sizes are still the
    input's, so comparisons are decided and views by them are placeholders."""
    seen = {}

    def fn(x: Any) -> Any:
        b, s, _ = x.shape
        pooled, rest = x[:, 0], x[:, 1:]
        seen.update(batch=pooled.size(0) == b, rest=rest.size(1) == s - 1, rest_batch=rest.size(0) == b)
        return pooled.view(b, 2, 4)

    net = trace(fn)
    assert seen == dict(batch=True, rest=True, rest_batch=True)
    shuffles = [net.network.get_layer(i) for i in range(net.network.num_layers)
                if net.network.get_layer(i).type.name == "SHUFFLE" and net.network.get_layer(i).name.startswith("reshape")]
    assert len(shuffles) == 1 and shuffles[0].num_inputs == 1  # static reshape_dims with a 0 placeholder
