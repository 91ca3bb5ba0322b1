"""Numerics that used to differ from PyTorch silently (issue 7, item 6), each against eager PyTorch: negative
circular padding, ceil-mode average pooling divisors and ``divisor_override``, fp16 attention scores, torch's
``F.batch_norm`` signature, complex scalars, softmax and reductions of 0-d/1-D tensors and ``dim=()``.
Every network is built with TensorRT (``run``/``check`` from test_ops) and executed on the CPU reference executor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from _netinspect import layer_type  # noqa: E402
from test_ops import Fn, check, load, rand, run  # noqa: E402


# ---- F.pad with negative pads ---------------------------------------------------------------------
def test_circular_pad_crops_then_wraps() -> None:
    got, _ = run(Fn(lambda x: F.pad(x, (-1, 1), mode="circular")), [np.arange(4, dtype=np.float32).reshape(1, 1, 4)])
    assert got[0].flatten().tolist() == [1.0, 2.0, 3.0, 1.0]  # crop [0] -> [1, 2, 3], wrap its first element
    assert TF.pad(torch.arange(4.0).reshape(1, 1, 4), (-1, 1), mode="circular").flatten().tolist() == [1, 2, 3, 1]


NEGATIVE_PADS = [(-1, 1), (1, -1), (-1, 2), (-2, 2), (-1, 3), (2, -1), (3, -1), (-1, -1), (-2, 0),
                 (-1, 2, 1, -1), (0, -2, 2, 0), (-1, -2, 2, 1), (2, -2, -1, 0), (1, 1, -1, -1),
                 (-1, 1, 1, -1, -1, 2)]


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate", "constant"])
@pytest.mark.parametrize("pad", NEGATIVE_PADS, ids=str)
def test_negative_pads_match_torch(mode: str, pad: tuple[int, ...]) -> None:
    x = rand(*(2, 3, 5, 4, 6)[:2 + len(pad) // 2])
    try:
        TF.pad(torch.from_numpy(x), pad, mode=mode)
    except RuntimeError:  # PyTorch refuses it (reflect/circular too large): trtnet must refuse it too
        with pytest.raises(trtnet.ShapeError):
            run(Fn(lambda t: F.pad(t, pad, mode=mode)), [x], build=False)
        return
    check(lambda t: F.pad(t, pad, mode=mode), lambda t: TF.pad(t, pad, mode=mode), [x])


def test_circular_pad_wrapping_more_than_the_cropped_size_is_refused() -> None:
    """PyTorch raises here (overlapping copy) on 3-D inputs; on 4-D ones it returns uninitialised memory."""
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 4)
    for pad in [(-1, 4), (2, -3)]:
        with pytest.raises(RuntimeError):
            TF.pad(torch.from_numpy(x), pad, mode="circular")
    with pytest.raises(trtnet.ShapeError, match=r"circular padding \(-1, 4\).*after cropping: 3"):
        run(Fn(lambda t: F.pad(t, (-1, 4), mode="circular")), [x], build=False)
    with pytest.raises(trtnet.ShapeError, match=r"circular padding \(2, -3\).*after cropping: 1"):
        run(Fn(lambda t: F.pad(t, (-1, 0, 2, -3), mode="circular")), [x.reshape(1, 1, 1, 4).repeat(4, 2)],
            build=False)


# ---- average pooling -------------------------------------------------------------------------------
def test_ceil_mode_average_divides_by_the_window_inside_input_plus_padding() -> None:
    """The issue's case: 1x1x5x6, kernel 3, stride 3, padding 1, ceil mode; the last column window covers
    input column 5 and one padding column, so PyTorch divides by 3 * 2 = 6 (hand count), not 9."""
    ones = np.ones((1, 1, 5, 6), dtype=np.float32)
    got, _ = run(Fn(lambda t: F.avg_pool2d(t, 3, 3, 1, ceil_mode=True)), [ones])
    # row windows [-1, 2) and [2, 5); column windows [-1, 2), [2, 5), [5, 7): input elements / counted elements
    hand = np.array([[2 * 2 / 9, 2 * 3 / 9, 2 * 1 / 6], [3 * 2 / 9, 3 * 3 / 9, 3 * 1 / 6]], dtype=np.float32)
    np.testing.assert_allclose(got[0][0, 0].numpy(), hand, rtol=1e-6)
    x = rand(1, 1, 5, 6)
    check(lambda t: F.avg_pool2d(t, 3, 3, 1, ceil_mode=True), lambda t: TF.avg_pool2d(t, 3, 3, 1, ceil_mode=True), [x])
    check(nn.AvgPool2d(3, stride=3, padding=1, ceil_mode=True), torch.nn.AvgPool2d(3, stride=3, padding=1,
                                                                                    ceil_mode=True), [x])


POOL_GRID = [(k, s, p, ceil, include, divisor)
             for k, s, p, ceil, include, divisor in itertools.product(
                 [2, 3, (3, 2)], [1, 2, 3, (2, 3)], [0, 1, (1, 0)], [False, True], [True, False], [None, 5, -2])
             if all(2 * pi <= ki for pi, ki in zip(np.broadcast_to(p, 2), np.broadcast_to(k, 2)))
             and (divisor is None or include)]


@pytest.mark.parametrize("shape", [(1, 2, 5, 6), (2, 1, 7, 4), (1, 1, 6, 6)])
def test_pooling_grid_matches_torch(shape: tuple[int, ...]) -> None:
    """Every kernel/stride/padding/ceil_mode/count_include_pad/divisor_override combination (average) and
    kernel/stride/padding/ceil_mode (max) in one built network per input shape."""
    average = [("avg", cfg) for cfg in POOL_GRID]
    maximum = [("max", cfg) for cfg in POOL_GRID if cfg[4] and cfg[5] is None]

    def ours(x):
        return tuple(F.avg_pool2d(x, k, s, p, ceil, inc, div) if kind == "avg" else F.max_pool2d(x, k, s, p, ceil_mode=ceil)
                     for kind, (k, s, p, ceil, inc, div) in average + maximum)

    def theirs(x):
        return tuple(TF.avg_pool2d(x, k, s, p, ceil, inc, div) if kind == "avg" else TF.max_pool2d(x, k, s, p, ceil_mode=ceil)
                     for kind, (k, s, p, ceil, inc, div) in average + maximum)

    check(ours, theirs, [rand(*shape)])
    assert len(average) + len(maximum) > 150


def test_pooling_fp16_and_divisor_override_refusals() -> None:
    x = rand(2, 3, 7, 5)
    check(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True), lambda t: TF.avg_pool2d(t, 3, 2, 1, ceil_mode=True),
          [x], dtype="float16")
    check(nn.AvgPool2d(2, ceil_mode=True, divisor_override=3), torch.nn.AvgPool2d(2, ceil_mode=True,
                                                                                   divisor_override=3), [x],
          dtype="float16")
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        TF.avg_pool2d(torch.from_numpy(x), 2, divisor_override=0)
    with pytest.raises(trtnet.TrtnetError, match="divisor must be not zero"):
        run(Fn(lambda t: F.avg_pool2d(t, 2, divisor_override=0)), [x], build=False)


# ---- attention in fp16 -----------------------------------------------------------------------------
def _sdpa_samples() -> list:
    pytest.importorskip("expecttest")  # torch's OpInfo database imports it
    from torch.testing._internal.common_methods_invocations import op_db

    op = next(o for o in op_db if o.name == "nn.functional.scaled_dot_product_attention")
    return [s for s in op.sample_inputs("cpu", torch.float32, requires_grad=False) if not s.kwargs.get("dropout_p")]


def test_sdpa_opinfo_samples_fp32_and_fp16_within_eager_fp16_error() -> None:
    """PyTorch's own SDPA samples (values up to 9, so q @ k^T reaches a few hundred). fp32 matches eager fp32;
    fp16's error against float64 on the same fp16-rounded inputs stays within 2x eager fp16's own error
    (it was 46x when the scores were held in fp16)."""
    samples = _sdpa_samples()
    assert len(samples) >= 10
    ratios = []
    for sample in samples:
        kwargs = dict(sample.kwargs)
        mask = kwargs.pop("attn_mask", None)
        tensors = [sample.input, *sample.args[:2]] + ([mask] if mask is not None else [])

        def ours(q, k, v, m=None):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs)

        def theirs(q, k, v, m=None):
            return TF.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs)

        check(ours, theirs, [t.numpy() for t in tensors])
        rounded = [t.half() for t in tensors]
        got, _ = run(Fn(ours).to(trtnet.float16), [t.numpy() for t in rounded])
        exact = theirs(*[t.double() for t in rounded])
        eager_error = (theirs(*rounded).double() - exact).abs().max().item()
        trtnet_error = (got[0].double() - exact).abs().max().item()
        ratios.append(trtnet_error / eager_error)
        assert trtnet_error <= 2 * eager_error + 1e-3, (tuple(sample.input.shape), kwargs, trtnet_error, eager_error)
    print(f"{len(samples)} SDPA samples: trtnet fp16 error / eager fp16 error, max {max(ratios):.2f}")


def _matmul_and_softmax_dtypes(net) -> tuple[list[str], list[str]]:
    layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    by_type = {name: [layer.get_output(0).dtype.name for layer in layers if layer_type(layer).name == name]
               for name in ("MATRIX_MULTIPLY", "SOFTMAX")}
    return by_type["MATRIX_MULTIPLY"], by_type["SOFTMAX"]


def test_multihead_attention_fp16_scores_in_float32() -> None:
    """MultiheadAttention goes through the same attention: in an fp16 network, q @ k^T and the softmax are
    float32 (the projections and weights @ v stay fp16), and it matches eager fp32 within fp16 tolerance."""
    ours = nn.MultiheadAttention(16, 2, batch_first=True)
    theirs = load(ours, torch.nn.MultiheadAttention(16, 2, batch_first=True), dtype="float16")
    ours.to(trtnet.float16)
    net = check(lambda t: ours(t, t, t, need_weights=False)[0], lambda t: theirs(t, t, t, need_weights=False)[0],
                [rand(2, 5, 16)], dtype="float16")
    matmuls, softmaxes = _matmul_and_softmax_dtypes(net)
    assert softmaxes == ["FLOAT"]
    assert sorted(matmuls) == ["FLOAT", "HALF", "HALF", "HALF"]  # in_proj, scores, weights @ v, out_proj


# ---- F.batch_norm's signature ----------------------------------------------------------------------
def test_batch_norm_takes_torchs_positional_signature() -> None:
    """``F.batch_norm(x, m, v, w, b, False)``: the 6th argument is ``training``; eps stays 1e-5, so a zero
    variance gives 1 / sqrt(1e-5) = 316.2 (it gave NaN when False was taken for eps)."""
    mean, var = np.zeros(2, np.float32), np.zeros(2, np.float32)
    weight, bias = np.ones(2, np.float32), np.zeros(2, np.float32)
    x = np.ones((1, 2, 3, 3), np.float32)
    got, _ = run(Fn(lambda t: F.batch_norm(t, mean, var, weight, bias, False)), [x])
    np.testing.assert_allclose(got[0].numpy(), np.full(x.shape, 1 / np.sqrt(1e-5)), rtol=1e-6)
    stats = [rand(3, seed=1), np.abs(rand(3, seed=2)) + 0.1, rand(3, seed=3), rand(3, seed=4)]
    torch_stats = [torch.from_numpy(s) for s in stats]
    check(lambda t: F.batch_norm(t, *stats, False, 0.3, 1e-3),
          lambda t: TF.batch_norm(t, *torch_stats, False, 0.3, 1e-3), [rand(2, 3, 4, 5)])
    check(lambda t: F.batch_norm(t, stats[0], stats[1], eps=0.5),
          lambda t: TF.batch_norm(t, torch_stats[0], torch_stats[1], eps=0.5), [rand(2, 3, 4)])
    with pytest.raises(trtnet.TrtnetError, match="training=True.*inference"):
        run(Fn(lambda t: F.batch_norm(t, *stats, True)), [rand(2, 3, 4, 5)], build=False)


# ---- complex scalars -------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [lambda t: t + 2j, lambda t: 2j * t, lambda t: t - np.array([1j, 0, 0]),
                                  lambda t: F.maximum(t, 1 + 1j)], ids=["add", "rmul", "array", "maximum"])
def test_complex_scalars_are_refused(expr) -> None:
    assert torch.is_complex(torch.zeros(3) + 2j)  # PyTorch promotes to complex; trtnet used to drop the 2j
    with pytest.raises(trtnet.TrtnetError, match="complex values are not supported.*TensorRT has no complex dtype"):
        run(Fn(expr), [rand(3)], build=False)


# ---- softmax and reductions of 0-d / 1-D tensors ----------------------------------------------------
SOFTMAX = [((5,), 0), ((5,), -1), ((5,), None), ((), 0), ((), -1), ((), None), ((2, 3), None), ((2, 3, 4), None)]


@pytest.mark.parametrize("shape,dim", SOFTMAX, ids=str)
def test_softmax_and_log_softmax_of_low_rank_tensors(shape: tuple[int, ...], dim: int | None) -> None:
    implicit = 0 if len(shape) in (0, 1, 3) else 1  # PyTorch's (deprecated) implicit dim
    torch_dim = implicit if dim is None else dim
    x = rand(*shape)
    check(lambda t: F.softmax(t, dim), lambda t: TF.softmax(t, torch_dim), [x])
    check(lambda t: F.log_softmax(t, dim), lambda t: TF.log_softmax(t, torch_dim), [x])


def test_softmax_1d_dynamic_and_fp16() -> None:
    check(lambda t: F.softmax(t, 0), lambda t: TF.softmax(t, 0), [rand(5)], dynamic=1, feeds=[rand(7)])
    check(lambda t: t.softmax(-1), lambda t: t.softmax(-1), [rand(6)], dtype="float16")
    check(nn.Softmax(0), torch.nn.Softmax(0), [rand(4)])


REDUCTIONS = [((), None, False), ((), 0, False), ((), -1, True), ((), (), False), ((), (0,), True),
              ((2, 3), (), False), ((2, 3), (), True), ((2, 3), [], False), ((2, 3, 4), None, True),
              ((2, 3, 4), (0, -1), False), ((4,), (), True)]


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("shape,dim,keepdim", REDUCTIONS, ids=str)
def test_reductions_of_0d_tensors_and_empty_dims(name: str, shape: tuple[int, ...], dim, keepdim: bool) -> None:
    ours, theirs = getattr(F, name), getattr(torch, name)
    torch_dim = () if dim is None else dim  # torch.amax/amin spell "all dims" () only
    check(lambda t: ours(t, dim, keepdim), lambda t: theirs(t, torch_dim, keepdim), [rand(*shape)])


def test_reduction_methods_and_dim_errors() -> None:
    check(lambda t: t.sum(), lambda t: t.sum(), [rand()])
    check(lambda t: t.mean(()), lambda t: t.mean(()), [rand(3, 2)])
    with pytest.raises(IndexError):
        torch.sum(torch.tensor(1.0), 1)
    with pytest.raises(trtnet.ShapeError, match=r"dim=1 is out of range for a 0-d tensor \(expected to be in \[-1, 0\]\)"):
        run(Fn(lambda t: F.sum(t, 1)), [rand()], build=False)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        torch.sum(torch.zeros(2, 3), (0, -2))
    with pytest.raises(trtnet.ShapeError, match="dim 0 appears multiple times"):
        run(Fn(lambda t: F.sum(t, (0, -2))), [rand(2, 3)], build=False)
