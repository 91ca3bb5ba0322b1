"""trtnet ports of the ops ``torch.onnx.export`` can't export (``tests/test_onnx_cannot_export.py``), and the plugin
route for what primitives can't express.

Each op is traced over a small grid of options (dims, sizes that are and aren't powers of two, ties, NaN, dtypes),
**built** into an engine with the installed TensorRT (on TensorRT-RTX: on the CPU) and the very network that was built
is run on trtnet's CPU reference executor, then compared with eager PyTorch: bitwise for integer outputs (indices,
counts) and ops without rounding, ``torch.testing.assert_close`` for float math. Several cases share one network
(one output each) to keep the file fast. Engines are run on a GPU only by the ``gpu``-marked tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import trtnet
import trtnet.functional as F
from trtnet import backend, dtypes, plugins
from trtnet.build import serialize
from trtnet.errors import ShapeError, TrtnetError
from trtnet.reference import execute

NAN = float("nan")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# ---- harness -------------------------------------------------------------------------------------
class Fn(trtnet.Module):
    """A trtnet module whose forward is ``fn``."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


def _spec(name: str, array: np.ndarray, dynamic: tuple[int, ...]) -> trtnet.Input:
    dtype = dtypes.from_numpy(array.dtype) if array.dtype != np.float32 else None
    if not dynamic:
        return trtnet.Input(name, array.shape, dtype)
    shape = tuple(-1 if d in dynamic else s for d, s in enumerate(array.shape))
    lo = tuple(1 if d in dynamic else s for d, s in enumerate(array.shape))
    hi = tuple(2 * s if d in dynamic else s for d, s in enumerate(array.shape))
    return trtnet.Input(name, shape, dtype, min=lo, opt=array.shape, max=hi)


def run(fn, *inputs, dynamic: tuple[int, ...] = (), half: bool = False) -> trtnet.Network | list[torch.Tensor]:
    """Trace ``fn`` on ``inputs`` (torch tensors; ``dynamic`` dims are declared -1), build the engine, run the built
    network on the CPU reference executor; the outputs in order."""
    arrays = [t.numpy() for t in inputs]
    specs = [_spec(f"input_{i}", a, dynamic) for i, a in enumerate(arrays)]
    module = Fn(fn)
    if half:
        module.to(trtnet.float16)
    net = trtnet.trace(module, specs)
    assert len(serialize(net)) > 0
    outputs = execute(net.network, {s.name: a for s, a in zip(specs, arrays)})
    run.last_network = net.network
    return [outputs[name] for name in net.outputs]


def assert_same(got: torch.Tensor, want: torch.Tensor, exact: bool = True, **tolerance) -> None:
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact:
        torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
    else:
        torch.testing.assert_close(got, want, equal_nan=True, **tolerance)


def layer_types(network) -> list[str]:
    return [network.get_layer(i).type.name for i in range(network.num_layers)]


def values_with_ties(*shape: int, kind: str) -> torch.Tensor:
    if kind == "ties":
        return torch.randint(0, 3, shape).float()
    if kind == "zeros_negatives":
        x = torch.randn(shape)
        return torch.where(torch.rand(shape) < 0.1, torch.zeros(()), x)
    return torch.randn(shape)


SHAPES = [(1,), (7,), (8,), (3, 37), (4, 64), (2, 3, 16), (2, 5, 33)]


# ---- cumprod ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kind", ["normal", "zeros_negatives"])
def test_cumprod_every_dim(shape, kind):
    x = values_with_ties(*shape, kind=kind)
    got = run(lambda t: tuple(F.cumprod(t, d) for d in range(-len(shape), len(shape))), x)
    for out, d in zip(got, range(-len(shape), len(shape))):
        assert_same(out, torch.cumprod(x, d), exact=False, rtol=2e-5, atol=1e-6)


def test_cumprod_layers_are_a_log_step_scan():
    run(lambda t: F.cumprod(t, 1), torch.randn(2, 64))
    types = layer_types(run.last_network)
    assert types.count("SLICE") == 6 and types.count("ELEMENTWISE") == 6  # ceil(log2 64) rounds
    run(lambda t: F.cumprod(t, 1), torch.randn(2, 65))
    assert layer_types(run.last_network).count("SLICE") == 7


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_cumprod_integer_promotes_to_int64(dtype):
    x = torch.randint(-3, 4, (3, 9)).to(dtype)
    (got,) = run(lambda t: F.cumprod(t, 1), x)
    assert_same(got, torch.cumprod(x, 1))


def test_cumprod_special_values_dtype_argument_rank0_and_method():
    x = torch.tensor([[0.0, math.inf, 2.0, -1.0, -math.inf], [1.0, NAN, 2.0, 0.5, 3.0]])
    scalar = torch.tensor(3.0)
    got = run(lambda t, s: (F.cumprod(t, -1), t.cumprod(0), F.cumprod(t, 1, dtype=trtnet.float16), F.cumprod(s, 0)),
              x, scalar)
    assert_same(got[0], torch.cumprod(x, -1))
    assert_same(got[1], x.cumprod(0))
    assert_same(got[2], torch.cumprod(x, 1, dtype=torch.float16))
    assert_same(got[3], torch.cumprod(scalar, 0))


def test_cumprod_half_and_dynamic_batch():
    x = torch.rand(3, 20) + 0.5
    (got,) = run(lambda t: F.cumprod(t, 1), x.half(), half=True)
    assert_same(got, torch.cumprod(x.half().float(), 1).half(), exact=False, rtol=2e-3, atol=1e-3)
    (got,) = run(lambda t: F.cumprod(t, 1), x, dynamic=(0,))
    assert_same(got, torch.cumprod(x, 1), exact=False)


# ---- cumsum (ICumulativeLayer) ---------------------------------------------------------------------
def test_cumsum_float_int_and_method():
    x, i = torch.randn(2, 3, 10), torch.randint(-5, 5, (4, 7), dtype=torch.int32)
    got = run(lambda t, u: (F.cumsum(t, 2), t.cumsum(0), F.cumsum(u, 1)), x, i)
    assert_same(got[0], torch.cumsum(x, 2), exact=False)
    assert_same(got[1], x.cumsum(0), exact=False)
    assert_same(got[2], torch.cumsum(i, 1))
    assert "CUMULATIVE" in layer_types(run.last_network)


# ---- cummax / cummin -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cummax_cummin_ties_every_dim(op, shape):
    x = values_with_ties(*shape, kind="ties")  # many ties: the index is the *latest* one attaining the extreme
    dims = range(-len(shape), len(shape))
    got = run(lambda t: tuple(getattr(F, op)(t, d) for d in dims), x)
    for (values, indices), d in zip(zip(got[::2], got[1::2]), dims):
        want = getattr(torch, op)(x, d)
        assert_same(values, want.values)
        assert_same(indices, want.indices)


def test_cummax_documented_tie_examples():
    x, y = torch.tensor([1.0, 3, 3, 2, 3, 0, 5, 5]), torch.tensor([2.0, 1, 1, 3, 1])
    got = run(lambda a, b: (F.cummax(a, 0).indices, F.cummin(b, 0).indices), x, y)
    assert got[0].tolist() == [0, 1, 2, 2, 4, 4, 6, 7]
    assert got[1].tolist() == [0, 1, 2, 2, 4]


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_nan_like_eager(op):
    x = torch.randn(6, 19)
    x[torch.rand(x.shape) < 0.15] = NAN
    x[0, 0] = NAN
    x[1, -1] = NAN
    values, indices = run(lambda t: getattr(F, op)(t, 1), x)
    want = getattr(torch, op)(x, 1)
    assert_same(values, want.values)
    assert_same(indices, want.indices)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_integer_and_bool(op, dtype):
    x = torch.randint(-2, 3, (4, 13)).to(dtype)
    if dtype is torch.int64:
        x[0, 3] = torch.iinfo(torch.int64).min if op == "cummax" else torch.iinfo(torch.int64).max
    values, indices = run(lambda t: getattr(F, op)(t, 1), x)
    want = getattr(torch, op)(x, 1)
    assert_same(values, want.values)
    assert_same(indices, want.indices)


def test_cummax_methods_rank0_dynamic_batch_and_half():
    x = torch.randint(0, 4, (3, 10)).float()
    got = run(lambda t: (t.cummax(1).values, t.cummin(1).indices), x, dynamic=(0,))
    assert_same(got[0], x.cummax(1).values)
    assert_same(got[1], x.cummin(1).indices)
    got = run(lambda t: F.cummax(t, 1), x.half(), half=True)
    assert_same(got[0], x.half().cummax(1).values)
    assert_same(got[1], x.half().cummax(1).indices)
    s = torch.tensor(2.5)
    got = run(lambda t: F.cummin(t, -1), s)
    assert_same(got[0], torch.cummin(s, -1).values)
    assert_same(got[1], torch.cummin(s, -1).indices)


def test_scan_dim_must_be_static():
    with pytest.raises(ShapeError, match="scan dim .* dynamic"):
        run(lambda t: F.cummax(t, 0), torch.randn(3, 4), dynamic=(0,))


# ---- searchsorted / bucketize ----------------------------------------------------------------------
SIZES_M = [1, 2, 5, 8, 16, 33]


def _sorted_rows(rows: int, m: int) -> torch.Tensor:
    return torch.sort(torch.randint(0, 8, (rows, m)).float(), -1).values  # duplicates included


def _values_for(seq: torch.Tensor, k: int) -> torch.Tensor:
    v = torch.randint(-1, 10, (*seq.shape[:-1], k)).float()
    v[..., 0] = seq[..., 0]  # exact hits at both ends
    v[..., 1] = seq[..., -1]
    v[..., 2] = v[..., 2] + 0.5
    return v


@pytest.mark.parametrize("method", ["count", "bsearch"])
@pytest.mark.parametrize("one_d", [False, True], ids=["per-row", "1-D"])
def test_searchsorted_grid(method, one_d):
    cases = []
    for m in SIZES_M:
        seq = _sorted_rows(3, m)
        seq = seq[0] if one_d else seq
        cases += [seq, _values_for(seq.expand(3, m) if one_d else seq, 6)]
    got = run(lambda *ts: tuple(F.searchsorted(s, v, right=right, method=method)
                                for s, v in zip(ts[::2], ts[1::2]) for right in (False, True)), *cases)
    expected = [torch.searchsorted(s, v, right=right) for s, v in zip(cases[::2], cases[1::2]) for right in (False, True)]
    for out, want in zip(got, expected, strict=True):
        assert_same(out, want)


def test_searchsorted_options():
    seq, v = _sorted_rows(2, 9), torch.tensor([[NAN, 3.0, 100.0, -5.0], [2.0, NAN, 7.0, 0.0]])
    perm = torch.stack([torch.randperm(9) for _ in range(2)])
    shuffled = torch.gather(seq, 1, perm)
    sorter = torch.argsort(shuffled, -1)
    got = run(lambda s, x, sh, so: (F.searchsorted(s, x), F.searchsorted(s, x, side="right"),
                                    F.searchsorted(s, x, out_int32=True), F.searchsorted(sh, x, sorter=so),
                                    F.searchsorted(s[0], x[0, 1]), F.bucketize(x, s[0], right=True)),
              seq, v, shuffled, sorter)
    assert_same(got[0], torch.searchsorted(seq, v))  # NaN sorts last: index M
    assert_same(got[1], torch.searchsorted(seq, v, side="right"))
    assert_same(got[2], torch.searchsorted(seq, v, out_int32=True))
    assert_same(got[3], torch.searchsorted(shuffled, v, sorter=sorter))
    assert_same(got[4], torch.searchsorted(seq[0], v[0, 1]))
    assert_same(got[5], torch.bucketize(v, seq[0], right=True))


def test_searchsorted_auto_method_and_dynamic_batch():
    seq = torch.sort(torch.randn(2, 300), -1).values
    v = torch.randn(2, 400)
    (got,) = run(lambda s, x: F.searchsorted(s, x, right=True), seq, v)  # K*M > 65536: binary search
    assert "GATHER" in layer_types(run.last_network)
    assert_same(got, torch.searchsorted(seq, v, right=True))
    (got,) = run(lambda s, x: F.searchsorted(s, x), seq[:, :50], v[:, :30], dynamic=(0,))
    assert "GATHER" not in layer_types(run.last_network)
    assert_same(got, torch.searchsorted(seq[:, :50].contiguous(), v[:, :30].contiguous()))


def test_searchsorted_errors():
    with pytest.raises(TrtnetError, match="int64 but input is float32|float32 but input is int64"):
        run(lambda s, x: F.searchsorted(s, x), torch.arange(4), torch.randn(3))
    with pytest.raises(ShapeError, match="same leading dims"):
        run(lambda s, x: F.searchsorted(s, x), torch.randn(2, 4), torch.randn(3, 4))


# ---- take_along_dim (element gather) ---------------------------------------------------------------
def test_take_along_dim_matches_gather():
    x, idx = torch.randn(3, 7), torch.randint(0, 7, (3, 5))
    got = run(lambda a, i: (F.take_along_dim(a, i, 1), F.take_along_dim(a, i[:1], 1)), x, idx)
    assert_same(got[0], torch.gather(x, 1, idx))
    assert_same(got[1], torch.take_along_dim(x, idx[:1], 1))


# ---- cdist -----------------------------------------------------------------------------------------
PS = [0.0, 1.0, 1.5, 2.0, 3.0, math.inf]


@pytest.mark.parametrize("shapes", [((5, 4), (3, 4)), ((2, 6, 3), (2, 4, 3)), ((2, 1, 5, 8), (3, 7, 8)),
                                    ((1, 30, 4), (1, 40, 4))], ids=str)
def test_cdist_every_p(shapes):
    a = torch.randint(-2, 3, shapes[0]).float() + 0.25 * torch.randn(shapes[0]).round()  # ties and zero differences
    b = torch.randn(shapes[1])
    b[..., :2, :] = a[..., :2, :] if a.shape[-2] >= 2 and a.dim() == b.dim() else b[..., :2, :]
    got = run(lambda x1, x2: tuple(F.cdist(x1, x2, p) for p in PS), a, b)
    for out, p in zip(got, PS):
        # the mm path (p=2, > 25 rows) loses accuracy near zero, as in eager
        assert_same(out, torch.cdist(a, b, p), exact=False, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_compute_mode(mode):
    a, b = torch.randn(2, 8, 5), torch.randn(2, 30, 5)
    (got,) = run(lambda x1, x2: F.cdist(x1, x2, compute_mode=mode), a, b)
    assert ("MATRIX_MULTIPLY" in layer_types(run.last_network)) == (mode == "use_mm_for_euclid_dist")
    assert_same(got, torch.cdist(a, b, compute_mode=mode), exact=False, rtol=1e-5, atol=2e-5)


def test_cdist_p1_exact_on_the_onnx_counterexample():
    a, b = torch.tensor([[0.0, 0.0], [1.0, 2.0]]), torch.tensor([[1.0, -1.0], [3.0, 0.0]])
    got = run(lambda x1, x2: (F.cdist(x1, x2, 1), F.cdist(x1, x2, 0), F.cdist(x1, x2, math.inf)), a, b)
    assert got[0].tolist() == [[2.0, 3.0], [3.0, 4.0]]  # TorchScript-exported ONNX gives [[0, nan], [3, 0]]
    assert got[1].tolist() == [[2.0, 1.0], [1.0, 2.0]]
    assert got[2].tolist() == [[1.0, 3.0], [3.0, 2.0]]


def test_cdist_errors():
    with pytest.raises(TrtnetError, match="p must be >= 0"):
        run(lambda x1, x2: F.cdist(x1, x2, -1.0), torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(ShapeError, match="same number of features"):
        run(lambda x1, x2: F.cdist(x1, x2), torch.randn(2, 3), torch.randn(2, 4))


# ---- kthvalue / median -----------------------------------------------------------------------------
def _check_kth(values, indices, x, k, dim, keepdim, ties):
    want = torch.kthvalue(x, k, dim, keepdim)
    assert_same(values, want.values)
    assert indices.dtype == torch.int64 and indices.shape == want.indices.shape
    picked = torch.gather(x, dim, indices if keepdim else indices.unsqueeze(dim))
    picked = picked if keepdim else picked.squeeze(dim)
    torch.testing.assert_close(picked, want.values, rtol=0, atol=0, equal_nan=True)  # points at an equal value
    if not ties:
        assert_same(indices, want.indices)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 16, 33])
@pytest.mark.parametrize("ties", [False, True])
def test_kthvalue_grid(n, ties):
    x = torch.randint(0, 3, (3, n, 2)).float() if ties else torch.randn(3, n, 2)
    cases = [(k, d, keepdim) for k in sorted({1, (n + 1) // 2, n}) for d, keepdim in ((1, False), (-2, True))]
    cases += [(1, 0, False), (2, 2, True)] if n > 0 else []
    got = run(lambda t: tuple(r for k, d, kd in cases for r in F.kthvalue(t, k, d, kd)), x)
    for (k, d, keepdim), values, indices in zip(cases, got[::2], got[1::2], strict=True):
        _check_kth(values, indices, x, k, d, keepdim, ties)


@pytest.mark.parametrize("n", [7, 10])
def test_median_dim_and_all(n):
    x = torch.randn(4, n)
    got = run(lambda t: (*F.median(t, 1), *t.median(0, keepdim=True), F.median(t), t.kthvalue(3, 1).values), x)
    _check_kth(got[0], got[1], x, (n - 1) // 2 + 1, 1, False, ties=False)
    assert_same(got[2], x.median(0, keepdim=True).values)
    assert_same(got[3], x.median(0, keepdim=True).indices)
    assert_same(got[4], torch.median(x))
    assert_same(got[5], x.kthvalue(3, 1).values)


def test_kthvalue_nan_int_and_1d():
    x = torch.tensor([[1.0, NAN, 0.0, 2.0], [NAN, NAN, 3.0, -1.0]])
    i = torch.randint(-50, 50, (3, 9), dtype=torch.int32)
    got = run(lambda t, u: (*F.kthvalue(t, 3, 1), *F.kthvalue(t, 2, 1), *F.kthvalue(u, 4, 1), *F.median(u[0], 0)), x, i)
    assert_same(got[0], torch.kthvalue(x, 3, 1).values)  # [2, nan]: NaN counts as largest
    assert_same(got[2], torch.kthvalue(x, 2, 1).values)
    _check_kth(got[4], got[5], i, 4, 1, False, ties=True)
    _check_kth(got[6], got[7], i[0], (9 - 1) // 2 + 1, 0, False, ties=True)


def test_kthvalue_beyond_topk_limit():
    x = torch.randn(2, 5000)
    (values, indices) = run(lambda t: F.kthvalue(t, 4500, 1), x)  # mirror: TopK(MAX, 501) then TopK(MIN, 1)
    _check_kth(values, indices, x, 4500, 1, False, ties=False)
    with pytest.raises(TrtnetError, match="beyond TensorRT's TopK limit of 3840"):
        run(lambda t: F.kthvalue(t, 4000, 1), torch.randn(1, 8000))
    with pytest.raises(TrtnetError, match="out of range"):
        run(lambda t: F.kthvalue(t, 6, 1), torch.randn(2, 5))


def test_kthvalue_layers():
    run(lambda t: F.kthvalue(t, 3, 1), torch.randint(0, 9, (2, 8), dtype=torch.int32))
    types = layer_types(run.last_network)
    assert types.count("TOPK") == 2 and types.count("GATHER") == 1


def test_topk_values_and_int64_indices():
    x = torch.randn(3, 12)
    got = run(lambda t: (*F.topk(t, 4, 1), *t.topk(2, 0, largest=False)), x)
    assert_same(got[0], torch.topk(x, 4, 1).values)
    assert_same(got[1], torch.topk(x, 4, 1).indices)
    assert_same(got[2], torch.topk(x, 2, 0, largest=False).values)
    assert_same(got[3], torch.topk(x, 2, 0, largest=False).indices)


# ---- through the checker (trtnet.testing.assert_matches_torch) -------------------------------------
class _TorchMatcherCost(torch.nn.Module):
    """DETR-style box cost: L1 ``cdist`` of predicted and target boxes, normalised by its per-query median."""

    def __init__(self) -> None:
        super().__init__()
        self.bbox = torch.nn.Linear(16, 4)

    def forward(self, queries, targets):
        cost = torch.cdist(self.bbox(queries).sigmoid(), targets, p=1)
        return cost / cost.median(-1, keepdim=True).values, torch.cummax(cost, 1).indices


class _MatcherCost(trtnet.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bbox = trtnet.nn.Linear(16, 4)

    def forward(self, queries, targets):
        cost = F.cdist(F.sigmoid(self.bbox(queries)), targets, p=1)
        return cost / cost.median(-1, keepdim=True).values, cost.cummax(1).indices


def test_assert_matches_torch_on_a_detr_style_cost():
    from trtnet.testing import assert_matches_torch

    report = assert_matches_torch(_MatcherCost(), _TorchMatcherCost(), [torch.randn(2, 30, 16), torch.rand(2, 7, 4)])
    assert report.passed and report.outputs[1].actual_dtype == "int64"


# ---- engines on a GPU ------------------------------------------------------------------------------
@pytest.mark.gpu
def test_ops_on_gpu_engine():
    from trtnet.runtime import Engine

    x = torch.randint(0, 4, (3, 33)).float()
    seq = torch.sort(torch.randn(3, 17), -1).values
    module = Fn(lambda a, s: (F.cumprod(a * 0.5 + 0.75, 1), *F.cummax(a, 1), F.searchsorted(s, a, right=True),
                              F.cdist(a[:, :4].reshape(1, 3, 4), s[:, :4].reshape(1, 3, 4), 1.0), *F.median(a, 1)))
    engine = Engine(trtnet.build(module, [trtnet.Input("a", x.shape), trtnet.Input("s", seq.shape)]))
    out = engine.run({"a": x.cuda(), "s": seq.cuda()})
    got = [out[f"output_{i}"].cpu() for i in range(len(out))]
    assert_same(got[0], torch.cumprod(x * 0.5 + 0.75, 1), exact=False)
    assert_same(got[1], torch.cummax(x, 1).values)
    assert_same(got[2], torch.cummax(x, 1).indices)
    assert_same(got[3], torch.searchsorted(seq, x, right=True))
    assert_same(got[4], torch.cdist(x[:, :4].reshape(1, 3, 4), seq[:, :4].reshape(1, 3, 4), 1.0), exact=False)
    assert_same(got[5], torch.median(x, 1).values)


# ---- plugins ---------------------------------------------------------------------------------------
requires_rtx = pytest.mark.skipif(not backend.get().is_rtx, reason="TensorRT-RTX behaviour")
requires_plugins = pytest.mark.skipif(not backend.get().supports_plugins,
                                      reason=f"{backend.get().name} {backend.get().version} has no quickly-deployable "
                                             "plugins (enterprise TensorRT >= 10.6 needed)")


@requires_rtx
def test_plugin_on_rtx_is_a_clear_error():
    with pytest.raises(TrtnetError, match="TensorRT-RTX has no plugins"):
        run(lambda t: F.plugin("demo::x", t), torch.randn(2, 3))


def test_plugin_reference_registry_and_did_you_mean():
    @plugins.reference("trtnet_test::registry_scale")
    def _ref(x, factor: float):
        return x * factor

    assert plugins.reference_for("trtnet_test::registry_scale") is _ref
    with pytest.raises(TrtnetError, match=r"did you mean 'trtnet_test::registry_scale'\?"):
        plugins.reference_for("trtnet_test::registry_scal")
    with pytest.raises(TrtnetError, match="has no torch reference"):
        plugins.reference_for("elsewhere::unrelated_name")
    with pytest.raises(TrtnetError, match="must look like 'namespace::name'"):
        plugins.reference("no_namespace")


class _Interface:
    """Stands in for a plugin's CORE / RUNTIME capability interfaces (TensorRT-RTX can't create plugin layers)."""

    def __init__(self, fields):
        self.plugin_namespace, self.plugin_name, self._fields = "trtnet_test", "fields_scale", fields

    def get_capability_interface(self, kind):
        return self

    def get_fields_to_serialize(self):
        return self._fields


def test_reference_executor_plugin_v3_reads_id_and_fields():
    """The PLUGIN_V3 executor function on real ``PluginField`` s, encoded the way ``tensorrt.plugin`` encodes them;
    only the layer object is a stand-in (no plugin layers on TensorRT-RTX; the real one is tested below)."""
    from trtnet.reference.plugin import plugin_v3

    trt = backend.trt()
    seen = {}

    @plugins.reference("trtnet_test::fields_scale")
    def _ref(x, factor: float, mode: str, table: np.ndarray, blob: bytes, count: int):
        seen.update(factor=factor, mode=mode, table=table, blob=blob, count=count)
        return x * factor + count

    data = {  # kept alive: a PluginField only points at its array
        "factor": (np.array([2.5], np.float32), trt.PluginFieldType.FLOAT32),
        "mode": (np.frombuffer(b"fast", np.int8), trt.PluginFieldType.CHAR),
        "table": (np.array([7], np.int64), trt.PluginFieldType.INT64),
        "blob": (np.frombuffer(b"\x01\x02", np.uint8), trt.PluginFieldType.UNKNOWN),
        "count": (np.array([3], np.int32), trt.PluginFieldType.INT32),
    }
    field_list = [trt.PluginField(name, array, kind) for name, (array, kind) in data.items()]
    fields = trt.PluginFieldCollection(field_list)

    class Layer:
        name = "fake_plugin_layer"
        plugin = _Interface(fields)

    x = torch.randn(2, 3)
    torch.testing.assert_close(plugin_v3(Layer(), [x]), x * 2.5 + 3)
    assert seen["mode"] == "fast" and seen["blob"] == b"\x01\x02" and seen["count"] == 3
    assert isinstance(seen["table"], np.ndarray) and seen["table"].tolist() == [7]  # annotated as an array


def _register_demo_plugin():
    """A real quickly-deployable plugin (``tensorrt.plugin``): y = x * factor, kernel in torch on TensorRT's stream."""
    import tensorrt.plugin as trtp

    if getattr(_register_demo_plugin, "done", False):
        return
    plugin_id = "trtnet_test::scale"

    @trtp.register(plugin_id)
    def _desc(x: trtp.TensorDesc, factor: float) -> trtp.TensorDesc:
        return x.like()

    @trtp.impl(plugin_id)
    def _impl(x: trtp.Tensor, factor: float, outputs: tuple[trtp.Tensor], stream: int) -> None:
        with torch.cuda.stream(torch.cuda.ExternalStream(stream)):
            torch.as_tensor(outputs[0], device="cuda").copy_(torch.as_tensor(x, device="cuda") * factor)

    @plugins.reference(plugin_id)
    def _ref(x: torch.Tensor, factor: float) -> torch.Tensor:
        return x * factor

    _register_demo_plugin.done = True


def _plugin_model():
    return Fn(lambda t: F.relu(F.plugin("trtnet_test::scale", t, factor=2.5)))


@requires_plugins
def test_real_plugin_inserted_and_checked_on_the_reference_executor():
    _register_demo_plugin()
    x = torch.randn(2, 3, 4)
    net = trtnet.trace(_plugin_model(), [trtnet.Input("x", x.shape)])
    assert "PLUGIN_V3" in layer_types(net.network)
    (got,) = execute(net.network, {"x": x.numpy()}).values()
    torch.testing.assert_close(got, torch.relu(x * 2.5))


@pytest.mark.gpu
@requires_plugins
def test_real_plugin_engine_on_gpu():
    from trtnet.runtime import Engine

    _register_demo_plugin()
    x = torch.randn(2, 3, 4)
    engine = Engine(trtnet.build(_plugin_model(), [trtnet.Input("x", x.shape)]))
    got = engine.run({"x": x.cuda()})["output"].cpu()
    torch.testing.assert_close(got, torch.relu(x * 2.5))
