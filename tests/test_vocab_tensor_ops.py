"""Issue 9, tensor-op and Tensor-method vocabulary: every op against eager PyTorch (shapes, dtypes, dims, keepdim;
fp16 where sensible), each network built with TensorRT and run by the CPU executor; refusals checked by message."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
from test_ops import Fn, run  # noqa: E402

TOL = {"float32": dict(atol=1e-5, rtol=1e-5), "float16": dict(atol=1e-2, rtol=1e-2)}


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ints(*shape: int, low: int = -9, high: int = 10, dtype: Any = np.int32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


def expect(fn: Callable, torch_fn: Callable, arrays: list[np.ndarray], *, dtype: str = "float32",
           tol: dict | None = None, dynamic: int | None = None, feeds: list[np.ndarray] | None = None) -> list:
    """Trace ``fn`` on ``arrays``, build, execute; every output equals ``torch_fn``'s in shape, dtype (fp32 runs)
    and value (exact for integers and bools). fp16 runs feed eager torch the fp16-rounded values in float32."""
    model = Fn(fn)
    if dtype == "float16":
        arrays = [a.astype(np.float16) if a.dtype == np.float32 else a for a in arrays]
        feeds = feeds and [a.astype(np.float16) if a.dtype == np.float32 else a for a in feeds]
    got, _ = run(model, arrays, dynamic=dynamic, feeds=feeds)
    with torch.no_grad():
        expected = torch_fn(*[torch.from_numpy(a.astype(np.float32) if a.dtype == np.float16 else a)
                              for a in (feeds or arrays)])
    expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert tuple(g.shape) == tuple(e.shape), (g.shape, e.shape)
        if dtype == "float32" or not e.dtype.is_floating_point:
            assert g.dtype == e.dtype, (g.dtype, e.dtype)
        if e.dtype == torch.bool or not e.dtype.is_floating_point:
            assert torch.equal(g, e), (g, e)
        else:
            torch.testing.assert_close(g.float(), e.float(), **(tol or TOL[dtype]), equal_nan=True)
    return got


def trace_error(fn: Callable, arrays: list[np.ndarray]) -> str:
    with pytest.raises(trtnet.TrtnetError) as info:
        run(Fn(fn), arrays, build=False)
    return str(info.value)


# ---- type promotion ---------------------------------------------------------------------------------------------
PROMOTION = [  # (a, b): tensors or scalars; torch's result dtype is asserted
    (ints(3, 4), 2.5), (ints(3, 4), ints(3, 4, dtype=np.int64)), (ints(3, 4) > 0, ints(3, 4)),
    (rand(3, 4).astype(np.float16), rand(3, 4)), (ints(3, 4), rand(3, 4)), (ints(3, 4) > 0, 2),
    (ints(3, 4), np.array(2.5, np.float32)), (rand(3, 4).astype(np.float16), np.array(2.0, np.float32)),
    (ints(3, 4), np.array(7, np.int64)), (rand(3, 4).astype(np.float16), 3),
]


@pytest.mark.parametrize("a,b", PROMOTION, ids=[f"{getattr(a, 'dtype', type(a).__name__)}-"
                                                f"{getattr(b, 'dtype', type(b).__name__)}{np.ndim(b)}d" for a, b in PROMOTION])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "maximum", "eq", "lt", "div"])
def test_type_promotion_as_torch(a, b, op):
    if op == "sub" and (a.dtype == np.bool_ or getattr(b, "dtype", None) == np.bool_):
        pytest.skip("torch refuses bool subtraction")
    arrays = [a] + ([b] if isinstance(b, np.ndarray) else [])

    def ours(x, y=b):
        return getattr(F, op)(x, y)

    def theirs(x, y=b):
        return getattr(torch, op)(x, y if isinstance(y, torch.Tensor) else torch.tensor(y) if op == "maximum" else y)

    expect(ours, theirs, arrays)


def test_logical_ops_cast_non_bool_inputs_and_bitwise_refuses_integers():
    x = np.array([[0, 1, -2], [3, 0, 0]], np.int32)
    y = np.array([[0.0, np.nan, 0.0], [2.0, -0.0, 1.5]], np.float32)
    expect(lambda a, b: (F.logical_and(a, b), F.logical_or(a, b), F.logical_xor(a, b), F.logical_not(a),
                         F.logical_not(b), a.bool() & (b > 0)),
           lambda a, b: (torch.logical_and(a, b), torch.logical_or(a, b), torch.logical_xor(a, b),
                         torch.logical_not(a), torch.logical_not(b), a.bool() & (b > 0)), [x, y])
    assert "TensorRT has no bitwise integer ops" in trace_error(lambda a: a & a, [x])


def test_clamp_with_tensor_bounds_and_promotion():
    x, lo, hi = rand(3, 5), rand(1, 5, seed=1) - 0.5, rand(3, 1, seed=2) + 0.5
    expect(lambda a, b, c: (F.clamp(a, b, c), a.clamp(min=b), a.clamp(max=c), F.clamp(a, b, 0.25)),
           lambda a, b, c: (torch.clamp(a, b, c), a.clamp(min=b), a.clamp(max=c), torch.clamp(a, b, torch.tensor(0.25))),
           [x, lo, hi])
    expect(lambda a: a.clamp(-2.5, 3.5), lambda a: a.clamp(-2.5, 3.5), [ints(4, 6)])  # int clamped by floats: float


def test_zero_dim_tensors():
    scalar, x = np.array(1.5, np.float32), rand(2, 3)
    expect(lambda s, a: (s * a, s + 1, F.sum(s), F.argmax(s), F.max(s), F.logsumexp(s, 0), F.var(s, correction=0),
                         s.max(0).indices, F.sort(s).values),
           lambda s, a: (s * a, s + 1, torch.sum(s), torch.argmax(s), torch.max(s), torch.logsumexp(s, 0),
                         torch.var(s, correction=0), s.max(0).indices, torch.sort(s).values), [scalar, x])
    expect(lambda a, s: a + s, lambda a, s: a + s, [ints(2, 3), np.array(2.5, np.float32)])  # 0-d float wins


# ---- division family ---------------------------------------------------------------------------------------------
def _divisors(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.integers(1, 5, shape) * rng.choice([-1, 1], shape)).astype(dtype)


DIVISION = {
    "floordiv": (lambda a, b: a // b, lambda a, b: a // b),
    "remainder": (lambda a, b: a % b, lambda a, b: a % b),
    "floor_divide": (F.floor_divide, torch.floor_divide),
    "fmod": (F.fmod, torch.fmod),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "trunc": (lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: a.div(b, rounding_mode="trunc")),
    "floor": (lambda a, b: F.div(a, b, rounding_mode="floor"), lambda a, b: torch.div(a, b, rounding_mode="floor")),
    "scalar_left": (lambda a, b: (7 // b, -7 % b, F.remainder(a, 3), F.fmod(a, -3)),
                    lambda a, b: (7 // b, -7 % b, torch.remainder(a, 3), torch.fmod(a, -3))),
}


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float16"])
@pytest.mark.parametrize("name", list(DIVISION))
def test_division_family(name, dtype):
    ours, theirs = DIVISION[name]
    if dtype.startswith("float"):
        a, b = rand(4, 6) * 7, _divisors((4, 6), np.float32) + rand(4, 6, seed=5) * 0.3
    else:
        a, b = ints(4, 6, low=-20, high=21, dtype=dtype), _divisors((4, 6), dtype)
    expect(ours, theirs, [a, b], dtype="float16" if dtype == "float16" else "float32",
           tol=dict(atol=2e-5, rtol=2e-5) if dtype == "float32" else None)


def test_div_rounding_mode_refused_in_torch_words():
    assert "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'" in trace_error(
        lambda a: F.div(a, 2, rounding_mode="round"), [rand(3)])


@pytest.mark.parametrize("alpha", [2, -0.5])
def test_add_sub_alpha(alpha):
    expect(lambda a, b: (F.add(a, b, alpha=alpha), a.sub(b, alpha=alpha), F.sub(a, 1.5, alpha=alpha)),
           lambda a, b: (torch.add(a, b, alpha=alpha), a.sub(b, alpha=alpha), torch.sub(a, 1.5, alpha=alpha)),
           [rand(2, 3), rand(3, seed=1)])


def test_integer_alpha_and_float_alpha_refusal():
    expect(lambda a, b: F.add(a, b, alpha=3), lambda a, b: torch.add(a, b, alpha=3), [ints(2, 3), ints(2, 3, seed=1)])
    assert "alpha must not be a floating point number" in trace_error(lambda a: F.add(a, a, alpha=0.5), [ints(3)])


# ---- reductions ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(1, False), ((0, 2), True), (-1, True), ((0, 1, 2), False)])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_logsumexp(dim, keepdim, dtype):
    x = rand(3, 4, 5) * 20
    x[0, :, 1] = -np.inf  # rows of -inf give -inf, a +inf gives +inf (torch's max trick)
    x[1, 2, 3] = np.inf
    expect(lambda a: (F.logsumexp(a, dim, keepdim), a.logsumexp(dim, keepdim=keepdim)),
           lambda a: (torch.logsumexp(a, dim, keepdim), a.logsumexp(dim, keepdim=keepdim)), [x], dtype=dtype)


def test_logsumexp_of_integers_is_float():
    expect(lambda a: F.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [ints(3, 4)])


@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (-1, True), (0, True)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_prod_and_sum_dtypes(dim, keepdim, dtype):
    x = rand(3, 4, 2) + 1 if dtype == "float32" else ints(3, 4, 2, low=-3, high=4) if dtype == "int32" else \
        ints(3, 4, 2) > -3
    if dim is None:
        expect(lambda a: (F.prod(a), a.prod(), F.sum(a)), lambda a: (torch.prod(a), a.prod(), torch.sum(a)), [x])
    else:
        expect(lambda a: (F.prod(a, dim, keepdim), a.prod(dim, keepdim), F.sum(a, dim, keepdim)),
               lambda a: (torch.prod(a, dim, keepdim), a.prod(dim, keepdim), torch.sum(a, dim, keepdim)), [x])


VAR_ARGS = [dict(), dict(dim=1), dict(dim=(0, 2), keepdim=True), dict(dim=-1, correction=0), dict(dim=1, correction=2),
            dict(dim=1, unbiased=False), dict(dim=[0, 1], unbiased=True, keepdim=True)]


@pytest.mark.parametrize("kwargs", VAR_ARGS, ids=[str(k) for k in VAR_ARGS])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_var_std(kwargs, dtype):
    x = rand(3, 4, 5) * 3 + 1
    expect(lambda a: (F.var(a, **kwargs), F.std(a, **kwargs), a.var(**kwargs), a.std(**kwargs)),
           lambda a: (torch.var(a, **kwargs), torch.std(a, **kwargs), a.var(**kwargs), a.std(**kwargs)), [x],
           dtype=dtype)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")  # eager torch warns as trtnet
def test_var_old_overload_and_too_few_elements():
    with pytest.warns(trtnet.errors.TrtnetWarning, match=r"var\(\): degrees of freedom is <= 0.*N=2, correction=3"):
            expect(lambda a, b: (F.var(a, False), F.std(a, True), F.var(b, 0), F.std(b, 1, correction=3)),
               lambda a, b: (torch.var(a, False), torch.std(a, True), torch.var(b, 0), torch.std(b, 1, correction=3)),
               [rand(3, 4), rand(1, 2)])  # N - correction <= 0: NaN / inf as torch


@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 2), False)])
def test_vector_norm(ord, dim, keepdim):
    x = rand(3, 4, 5)
    x[0, 1, :2] = 0.0
    expect(lambda a: F.vector_norm(a, ord, dim, keepdim), lambda a: torch.linalg.vector_norm(a, ord, dim, keepdim),
           [x], tol=dict(atol=2e-5, rtol=2e-5))


@pytest.mark.parametrize("p,dim", [("fro", None), ("fro", (1, 2)), (2, 1), (1, -1), (math.inf, 0), (3, None)])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_norm(p, dim, dtype):
    expect(lambda a: (F.norm(a, p, dim), a.norm(p, dim, keepdim=True)),
           lambda a: (torch.norm(a, p, dim), a.norm(p, dim, keepdim=True)), [rand(3, 4, 5)], dtype=dtype)


@pytest.mark.parametrize("ord", [3, 2, 0.5])
def test_fp16_norms_and_var_accumulate_in_float32(ord):
    x = rand(4, 64) * 60  # |x|^3 and the sums overflow fp16 (65504); torch's opmath sums in float32
    expect(lambda a: (F.vector_norm(a, ord, -1), F.var(a, -1), F.std(a)),
           lambda a: (torch.linalg.vector_norm(a, ord, -1), torch.var(a, -1), torch.std(a)), [x], dtype="float16")


def test_norm_refusals():
    assert "p='nuc' is not supported" in trace_error(lambda a: F.norm(a, "nuc"), [rand(3, 4)])
    assert "Expected a floating point" in trace_error(lambda a: F.vector_norm(a), [ints(3, 4)])
    assert "mean(): could not infer output dtype" in trace_error(lambda a: F.mean(a), [ints(3, 4)])


# ---- argmax / argmin / max / min ----------------------------------------------------------------------------------
def _ties_and_nan() -> np.ndarray:
    x = np.round(rand(4, 6, 5) * 1.5)  # many ties: the first occurrence wins, as eager on the CPU
    x[1, 2, :] = np.nan  # an all-NaN row
    x[2, :, 3] = [0, np.nan, 2, np.nan, 1, 0]  # the first NaN wins both ways
    return x


@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True), (-1, False), (2, True)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_argmax_argmin(dim, keepdim, dtype):
    x = _ties_and_nan()
    x = np.nan_to_num(x).astype(np.int32) if dtype == "int32" else x
    expect(lambda a: (F.argmax(a, dim, keepdim), F.argmin(a, dim, keepdim), a.argmax(dim, keepdim)),
           lambda a: (torch.argmax(a, dim, keepdim), torch.argmin(a, dim, keepdim), a.argmax(dim, keepdim)), [x],
           dtype="float16" if dtype == "float16" else "float32")


@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64"])
def test_max_min_with_dim_are_values_and_indices(dim, keepdim, dtype):
    x = _ties_and_nan()
    x = np.nan_to_num(x).astype(np.int64) if dtype == "int64" else x

    def ours(a):
        values, indices = F.max(a, dim, keepdim)
        low = a.min(dim, keepdim=keepdim)
        return values, indices, low.values, low.indices, F.max(a, dim=dim).values

    def theirs(a):
        values, indices = torch.max(a, dim, keepdim)
        low = a.min(dim, keepdim=keepdim)
        return values, indices, low.values, low.indices, torch.max(a, dim=dim).values

    expect(ours, theirs, [x], dtype="float16" if dtype == "float16" else "float32")


def test_max_min_of_bool_and_argmax_refuses_bool_as_torch():
    x = _ties_and_nan() > 0
    expect(lambda a: (*F.max(a, 1), F.min(a), a.max()), lambda a: (*torch.max(a, 1), torch.min(a), a.max()), [x])
    assert "argmax(): does not support bool input" in trace_error(lambda a: F.argmax(a), [x])


def test_max_min_of_all_elements_and_of_two_tensors():
    x, y = _ties_and_nan(), rand(6, 5, seed=4)
    expect(lambda a, b: (F.max(a), F.min(a), a.max(), F.max(a, b), F.min(b, a), a.max(b)),
           lambda a, b: (torch.max(a), torch.min(a), a.max(), torch.max(a, b), torch.min(b, a), a.max(b)), [x, y])


def test_argmax_with_a_dynamic_batch():
    x = rand(4, 7)
    expect(lambda a: (a.argmax(-1), a.max(1).values), lambda a: (a.argmax(-1), a.max(1).values), [x], dynamic=1,
           feeds=[rand(6, 7, seed=2)])


# ---- sort / argsort -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_sort_distinct_values(dim, descending, dtype):
    x = np.random.default_rng(0).permutation(120).reshape(4, 5, 6).astype(np.float32) - 60
    x = x.astype(np.int32) if dtype == "int32" else x
    expect(lambda a: (*F.sort(a, dim, descending), a.argsort(dim, descending), a.sort(dim, descending=descending).values),
           lambda a: (*torch.sort(a, dim, descending), a.argsort(dim, descending), a.sort(dim, descending=descending).values),
           [x], dtype="float16" if dtype == "float16" else "float32")


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_with_ties_and_nan(dim, descending):
    x = np.round(rand(5, 7) * 1.2)
    x[1, 3], x[3, 0], x[0, 5], x[4, 4] = np.nan, np.nan, np.inf, -np.inf
    expect(lambda a: tuple(F.sort(a, dim, descending, stable=True)) + (F.argsort(a, dim, descending, True),),
           lambda a: tuple(torch.sort(a, dim=dim, descending=descending, stable=True)) +
           (torch.argsort(a, dim=dim, descending=descending, stable=True),), [x])


def test_unstable_sort_with_ties_and_nan_sorts_the_values_and_indices_point_at_them():
    x = np.round(rand(5, 9) * 1.2)
    x[1, 3], x[3, 0] = np.nan, np.nan
    (values, indices), _ = run(Fn(lambda a: tuple(F.sort(a, -1))), [x])
    expected = torch.sort(torch.from_numpy(x), -1).values
    torch.testing.assert_close(values, expected, equal_nan=True)
    torch.testing.assert_close(torch.gather(torch.from_numpy(x), -1, indices), expected, equal_nan=True)
    assert sorted(indices[0].tolist()) == list(range(9))


def test_sort_beyond_the_topk_limit_ranks_exactly_and_refuses_what_is_too_large():
    x = np.random.default_rng(0).permutation(4000).astype(np.float32).reshape(1, 4000)
    expect(lambda a: tuple(F.sort(a, descending=True)), lambda a: tuple(torch.sort(a, descending=True)), [x])
    message = trace_error(lambda a: F.sort(a), [rand(8, 4000)])
    assert "beyond TensorRT's TopK limit of 3840, and ranking them exactly takes 4000 x 4000 comparisons" in message


def test_sort_refusals():
    with pytest.raises(trtnet.ShapeError, match="dynamic"):
        run(Fn(lambda a: F.sort(a, 0)), [rand(4, 3)], dynamic=1, build=False)


# ---- gather / scatter family ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim,index_shape", [(0, (2, 5, 4)), (1, (3, 7, 4)), (-1, (3, 5, 2)), (1, (2, 3, 3))])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_gather(dim, index_shape, index_dtype):
    x = rand(3, 5, 4)
    index = np.random.default_rng(1).integers(0, x.shape[dim], index_shape).astype(index_dtype)
    expect(lambda a, i: (F.gather(a, dim, i), a.gather(dim, i)),
           lambda a, i: (torch.gather(a, dim, i.long()), a.gather(dim, i.long())), [x, index])


def test_gather_of_a_zero_dim_input():
    x = np.array(2.5, np.float32)
    expect(lambda a, i, j: (F.gather(a, 0, i), F.gather(a, -1, j)),
           lambda a, i, j: (torch.gather(a, 0, i), torch.gather(a, -1, j)),
           [x, np.zeros((), np.int64), np.zeros((3,), np.int64)])


def test_gather_refusals():
    assert "Expected dtype int64 for index" in trace_error(lambda a, i: F.gather(a, 0, i), [rand(3, 4), rand(3, 4)])
    assert "Size does not match at dimension 1" in trace_error(lambda a, i: F.gather(a, 0, i),
                                                               [rand(3, 4), ints(2, 5, low=0, high=3)])


def _unique_index(shape: tuple[int, ...], size: int, dim: int) -> np.ndarray:
    """Index of ``shape`` with distinct entries along ``dim`` (torch's scatter is defined only then)."""
    rng = np.random.default_rng(2)
    perms = np.argsort(rng.standard_normal(shape[:dim] + (size,) + shape[dim + 1:]), axis=dim)
    return np.take(perms, range(shape[dim]), axis=dim).astype(np.int64)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("smaller", [False, True])
def test_scatter_src_and_value(dim, smaller):
    x = rand(4, 5, 6)
    shape = [2 if dim % 3 == k else (3 if smaller else n) for k, n in enumerate(x.shape)]
    index = _unique_index(tuple(shape), x.shape[dim], dim % 3)
    src = rand(4, 5, 6, seed=3)  # larger than index: its leading block is used, as torch
    expect(lambda a, i, s: (F.scatter(a, dim, i, s), a.scatter(dim, i, value=-2.5), F.scatter(a, dim, i, 7.0)),
           lambda a, i, s: (torch.scatter(a, dim, i, s), a.scatter(dim, i, value=-2.5), torch.scatter(a, dim, i, 7.0)),
           [x, index, src])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_scatter_add_sums_duplicates(dim, dtype):
    x = rand(4, 5, 6) if dtype == "float32" else ints(4, 5, 6)
    shape = list(x.shape)
    shape[dim] = 7
    index = np.random.default_rng(4).integers(0, 2, shape).astype(np.int64)  # only 0 and 1: many duplicates
    src = rand(*shape, seed=3) if dtype == "float32" else ints(*shape, seed=3)
    expect(lambda a, i, s: (F.scatter_add(a, dim, i, s), a.scatter_add(dim, i, s)),
           lambda a, i, s: (torch.scatter_add(a, dim, i, s), a.scatter_add(dim, i, s)), [x, index, src])


def test_scatter_add_smaller_index_and_fp16():
    x, src = rand(4, 5), rand(4, 5, seed=1)
    index = np.array([[0, 0, 3], [1, 1, 1]], np.int64)
    expect(lambda a, i, s: F.scatter_add(a, 1, i, s), lambda a, i, s: torch.scatter_add(a, 1, i, s), [x, index, src])
    expect(lambda a, i, s: F.scatter_add(a, 0, i, s), lambda a, i, s: torch.scatter_add(a, 0, i, s),
           [x, index % 4, src], dtype="float16")


@pytest.mark.parametrize("dim,alpha", [(0, 1), (1, 2.5), (-1, -1)])
def test_index_add_sums_duplicates(dim, alpha):
    x = rand(4, 5, 6)
    shape = list(x.shape)
    shape[dim] = 5
    index = np.array([0, 2, 0, 0, 3], np.int64)
    expect(lambda a, i, s: (F.index_add(a, dim, i, s, alpha=alpha), a.index_add(dim, i, s, alpha=alpha)),
           lambda a, i, s: (torch.index_add(a, dim, i, s, alpha=alpha), a.index_add(dim, i, s, alpha=alpha)),
           [x, index, rand(*shape, seed=2)])


def test_index_put():
    x = rand(4, 5, 3)
    rows, cols = np.array([0, 3, -1, 2], np.int64), np.array([1, -2, 0, 4], np.int64)
    dup_rows, dup_cols = np.array([[0, 0], [2, 0]], np.int64), np.array([1, 1], np.int64)
    expect(lambda a, r, c, dr, dc, v: (F.index_put(a, (r, c), v), F.index_put(a, (r,), 9.0),
                                       a.index_put((dr, dc), v[:1], accumulate=True),
                                       F.index_put(a, (dr, dc), 1.5, accumulate=True)),
           lambda a, r, c, dr, dc, v: (torch.index_put(a, (r, c), v), torch.index_put(a, (r,), torch.tensor(9.0)),
                                       a.index_put((dr, dc), v[:1], accumulate=True),
                                       torch.index_put(a, (dr, dc), torch.tensor(1.5), accumulate=True)),
           [x, rows, cols, dup_rows, dup_cols, rand(4, 3, seed=5)])


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter:UserWarning")  # eager torch's deprecation
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument_applies_every_duplicate(reduce):
    x, src = rand(4, 5), rand(3, 5, seed=1)
    index = np.array([[0, 0, 3, 1, 0], [0, 2, 3, 1, 0], [1, 2, 3, 1, 0]], np.int64)
    expect(lambda a, i, s: (F.scatter(a, 0, i, s, reduce=reduce), a.scatter(1, i[:, :3], 2.0, reduce=reduce)),
           lambda a, i, s: (torch.scatter(a, 0, i, s, reduce=reduce), a.scatter(1, i[:, :3], 2.0, reduce=reduce)),
           [x, index, src])


def test_scatter_family_on_zero_dim_tensors():
    x, i, s = np.array(1.5, np.float32), np.array(0, np.int64), np.array(-2.0, np.float32)
    expect(lambda a, b, c: (F.scatter(a, 0, b, c), F.scatter(a, 0, b, 2.5), F.scatter_add(a, 0, b, c),
                            F.index_add(a, 0, b, c)),
           lambda a, b, c: (torch.scatter(a, 0, b, c), torch.scatter(a, 0, b, 2.5), torch.scatter_add(a, 0, b, c),
                            torch.index_add(a, 0, b, c)), [x, i, s])


def test_scatter_refusals():
    x, i = rand(3, 4), np.zeros((3, 4), np.int64)
    assert "reduce argument must be either add or multiply" in trace_error(
        lambda a, b: F.scatter(a, 0, b, 1.0, reduce="max"), [x, i])
    assert "Expected self.dtype to be equal to src.dtype" in trace_error(
        lambda a, b: F.scatter(a, 0, b, b), [x, i])
    assert "Index is supposed to be a vector" in trace_error(lambda a, b: F.index_add(a, 0, b, a), [x, i])
    assert "None is not supported" in trace_error(lambda a, b: F.index_put(a, (b[:, 0], None), 1.0), [x, i])


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_with_a_bool_mask(accumulate):
    x = rand(5, 4)
    mask = np.array([True, False, True, True, False])
    expect(lambda a, m, v: (F.index_put(a, (m,), v, accumulate), F.index_put(a, (m,), v[:1], accumulate),
                            F.index_put(a, (m,), 2.0, accumulate), F.index_put(a, (a > 0,), -1.0, accumulate)),
           lambda a, m, v: (torch.index_put(a, (m,), v, accumulate), torch.index_put(a, (m,), v[:1], accumulate),
                            torch.index_put(a, (m,), torch.tensor(2.0), accumulate),
                            torch.index_put(a, (a > 0,), torch.tensor(-1.0), accumulate)),
           [x, mask, rand(3, 4, seed=1)])


# ---- einsum -------------------------------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]), ("ii->i", [(4, 4)]), ("ii", [(4, 4)]),
    ("i,i", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("...ij->...ji", [(2, 3, 4, 5)]), ("ij", [(3, 4)]),
    ("bhqd, bhkd -> bhqk", [(2, 3, 4, 8), (2, 3, 6, 8)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("Ab,bC", [(3, 4), (4, 2)]), ("...j,j...", [(2, 3, 4), (4, 3)]), ("ijk->", [(2, 3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(equation, shapes):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    expect(lambda *xs: F.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), arrays,
           tol=dict(atol=3e-5, rtol=3e-5))


def test_einsum_list_operands_and_fp16():
    expect(lambda a, b: F.einsum("bij,bjk->bik", [a, b]), lambda a, b: torch.einsum("bij,bjk->bik", [a, b]),
           [rand(2, 3, 4), rand(2, 4, 5, seed=1)], dtype="float16")


def test_einsum_refusals():
    x = rand(3, 4)
    assert "does not match the number of dimensions" in trace_error(lambda a: F.einsum("ijk", a), [x])
    assert "fewer operands" in trace_error(lambda a: F.einsum("ij,jk", a), [x])
    assert "output subscript z does not appear" in trace_error(lambda a: F.einsum("ij->z", a), [x])
    assert "takes float tensors" in trace_error(lambda a: F.einsum("ij->ji", a), [ints(3, 4)])
    assert "subscript j has size 4" in trace_error(lambda a: F.einsum("ij,jk", a, a), [x])


# ---- tril / triu --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("diagonal", [-2, 0, 1, 3])
@pytest.mark.parametrize("shape,dtype", [((4, 5), "float32"), ((2, 3, 4), "float16"), ((5, 3), "int64"),
                                         ((3, 3), "bool")])
def test_tril_triu(diagonal, shape, dtype):
    x = rand(*shape) if dtype.startswith("float") else ints(*shape, dtype=np.int64)
    x = x > 0 if dtype == "bool" else x
    expect(lambda a: (F.tril(a, diagonal), F.triu(a, diagonal), a.tril(diagonal=diagonal), a.triu()),
           lambda a: (torch.tril(a, diagonal), torch.triu(a, diagonal), a.tril(diagonal=diagonal), a.triu()), [x],
           dtype="float16" if dtype == "float16" else "float32")


def test_tril_refuses_vectors():
    assert "input tensor must have at least 2 dimensions" in trace_error(lambda a: F.tril(a), [rand(4)])


# ---- Tensor methods -------------------------------------------------------------------------------------------------
def test_conversion_methods():
    x = rand(3, 4) * 5
    device = torch.device("cuda")  # a device object is accepted and ignored (no GPU needed to make one)
    expect(lambda a, b: (a.contiguous(), a.long(), a.int(), a.bool(), a.half(), a.bfloat16().float(),
                         a.to(trtnet.int64), a.to(torch.float16), a.to(b), a.to("cuda"), a.to(device, torch.float16),
                         a.to(dtype=torch.int32, non_blocking=True), a.type_as(b), b.float()),
           lambda a, b: (a.contiguous(), a.long(), a.int(), a.bool(), a.half(), a.bfloat16().float(),
                         a.to(torch.int64), a.to(torch.float16), a.to(b), a, a.half(), a.int(), a.type_as(b),
                         b.float()), [x, ints(3, 4)], tol=dict(atol=2e-2, rtol=1e-2))


def test_view_as_reshape_as_repeat_interleave():
    x = rand(2, 3, 4)
    expect(lambda a, b: (a.view_as(b), a.reshape_as(b), a.repeat_interleave(2), a.repeat_interleave(3, 1),
                         a.repeat_interleave(2, dim=-1), F.repeat_interleave(a, 1, 0)),
           lambda a, b: (a.view_as(b), a.reshape_as(b), a.repeat_interleave(2), a.repeat_interleave(3, 1),
                         a.repeat_interleave(2, dim=-1), torch.repeat_interleave(a, 1, 0)), [x, rand(6, 4)])
    assert "repeats must be an int" in trace_error(lambda a, r: a.repeat_interleave(r), [x, ints(2, 3, 4)])


def test_repeat_interleave_with_a_dynamic_batch():
    expect(lambda a: a.repeat_interleave(2, 1), lambda a: a.repeat_interleave(2, 1), [rand(2, 3)], dynamic=1,
           feeds=[rand(5, 3, seed=1)])


# ---- refusals: torch functions on trtnet Tensors, float64, complex ---------------------------------------------------
def test_torch_functions_on_trtnet_tensors_name_the_trtnet_op():
    x = [rand(2, 3)]
    assert "torch.cat was called on a trtnet Tensor; use trtnet.functional.cat" in trace_error(
        lambda a: torch.cat([a, a]), x)
    assert "torch.stack was called on a trtnet Tensor; use trtnet.functional.stack" in trace_error(
        lambda a: torch.stack([a, a]), x)
    assert "use trtnet.functional.relu" in trace_error(lambda a: torch.nn.functional.relu(a), x)
    assert "torch.det was called on a trtnet Tensor; trtnet.functional has no op of that name" in trace_error(
        lambda a: torch.det(a), x)
    assert "torch tensors and trtnet Tensors don't mix" in trace_error(lambda a: torch.ones(2, 3) + a, x)


def test_float64_and_complex_are_refused_with_what_to_do():
    x = [rand(2, 3)]
    for fn in (lambda a: a.double(), lambda a: a.to(torch.float64), lambda a: a.to("float64")):
        assert "TensorRT has no float64 tensors; use float32" in trace_error(fn, x)
    assert "TensorRT has no complex dtype" in trace_error(lambda a: a.to(torch.complex64), x)
    assert "TensorRT has no complex dtype" in trace_error(lambda a: a + 1j, x)
    with pytest.raises(trtnet.TrtnetError, match="TensorRT has no float64 tensors"):
        trtnet.Input("x", (2, 3), "float64")


# ---- dynamic dims ---------------------------------------------------------------------------------------------------
def test_ops_along_a_dynamic_dim():
    """tril/triu, argmax/max and scatter_add/index_add along a dim whose size is known only at run time."""
    x, index = rand(4, 5), np.array([[0, 1, 0, 2, 1], [2, 2, 0, 0, 1]], np.int64)
    ours = lambda a, i: (a.tril(), F.triu(a, 1), a.argmax(0), F.min(a, 0).indices, F.scatter_add(a, 0, i, a[:2]),  # noqa: E731
                         F.index_add(a, 0, i[0, :3], a[:3]), F.logsumexp(a, 0))
    theirs = lambda a, i: (a.tril(), torch.triu(a, 1), a.argmax(0), torch.min(a, 0).indices,  # noqa: E731
                           torch.scatter_add(a, 0, i, a[:2]), torch.index_add(a, 0, i[0, :3], a[:3]),
                           torch.logsumexp(a, 0))
    for rows in (3, 7):
        expect(ours, theirs, [x, index], dynamic=1, feeds=[rand(rows, 5, seed=rows), index])
