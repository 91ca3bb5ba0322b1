"""Zero-size (empty) tensors and 0-d tensors: a static 0 dim in ``trtnet.Input`` builds with TensorRT-RTX and
every layer kind runs on the CPU executor as eager PyTorch does (reductions with an identity, matmul with K=0, concat,
slices, shuffles, pads, convolutions, pools); what torch refuses on an empty dim, trtnet refuses with torch's
message. 0-d inputs of ops that want a dim are taken as one element, as torch."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
from trtnet.errors import ShapeError  # noqa: E402
from test_ops import Fn, check, rand  # noqa: E402

CONV_WEIGHT = rand(4, 3, 3, 3, seed=1)
BN_STATS = [rand(2, seed=2), np.abs(rand(2, seed=3)) + 0.5, rand(2, seed=4), rand(2, seed=5)]  # mean, var, w, b

CASES: dict[str, tuple[Callable, Callable, list[np.ndarray]]] = {
    "sum over the empty dim (0)": (lambda x: F.sum(x, 0), lambda x: torch.sum(x, 0), [rand(0, 3)]),
    "sum of all": (lambda x: F.sum(x), lambda x: torch.sum(x), [rand(0, 3)]),
    "mean over the empty dim (nan)": (lambda x: F.mean(x, 0), lambda x: torch.mean(x, 0), [rand(0, 3)]),
    "prod over the empty dim (1)": (lambda x: F.prod(x, 0), lambda x: torch.prod(x, 0), [rand(0, 3)]),
    "amax over a non-empty dim": (lambda x: F.amax(x, 1), lambda x: torch.amax(x, 1), [rand(0, 3)]),
    "argmax over a non-empty dim": (lambda x: F.argmax(x, 1), lambda x: torch.argmax(x, 1), [rand(0, 3)]),
    "logsumexp over the empty dim (-inf)": (lambda x: F.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0),
                                            [rand(0, 3)]),
    "matmul K=0 (zeros)": (F.matmul, torch.matmul, [rand(2, 0), rand(0, 4)]),
    "matmul M=0": (F.matmul, torch.matmul, [rand(0, 3), rand(3, 4)]),
    "cat with an empty part": (lambda a, b: F.cat([a, b], 0), lambda a, b: torch.cat([a, b], 0),
                               [rand(0, 3), rand(2, 3)]),
    "reshape to another empty shape": (lambda x: F.reshape(x, (3, 0)), lambda x: x.reshape(3, 0), [rand(0, 3)]),
    "reshape -1 next to non-zero sizes": (lambda x: F.reshape(x, (-1, 3)), lambda x: x.reshape(-1, 3),
                                          [rand(0, 3)]),
    "transpose": (lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), [rand(0, 3)]),
    "slice": (lambda x: x[:, 1:], lambda x: x[:, 1:], [rand(0, 3)]),
    "softmax over the empty dim": (lambda x: F.softmax(x, 0), lambda x: torch.softmax(x, 0), [rand(0, 3)]),
    "exp": (F.exp, torch.exp, [rand(0, 3)]),
    "broadcast add": (lambda a, b: a + b, lambda a, b: a + b, [rand(0, 3), rand(1, 3)]),
    "layer_norm": (lambda x: F.layer_norm(x, (3,)), lambda x: TF.layer_norm(x, (3,)), [rand(0, 3)]),
    "gather of no indices": (lambda x, i: F.gather(x, 1, i), lambda x, i: torch.gather(x, 1, i),
                             [rand(2, 3), np.zeros((2, 0), np.int64)]),
    "topk": (lambda x: F.topk(x, 2, 1)[0], lambda x: torch.topk(x, 2, 1)[0], [rand(0, 3)]),
    "cumsum over the empty dim": (lambda x: F.cumsum(x, 0), lambda x: torch.cumsum(x, 0), [rand(0, 3)]),
    "constant pad of an empty dim": (lambda x: F.pad(x, (0, 0, 1, 2), value=1.5),
                                     lambda x: TF.pad(x, (0, 0, 1, 2), value=1.5), [rand(0, 3)]),
    "conv2d of an empty batch": (lambda x: F.conv2d(x, CONV_WEIGHT),
                                 lambda x: TF.conv2d(x, torch.from_numpy(CONV_WEIGHT)), [rand(0, 3, 5, 5)]),
    "max_pool2d of an empty batch": (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
                                     [rand(0, 3, 4, 4)]),
    "nearest interpolate of an empty batch": (lambda x: F.interpolate(x, scale_factor=2),
                                              lambda x: TF.interpolate(x, scale_factor=2), [rand(0, 3, 4, 4)]),
    "topk k=0": (lambda x: F.topk(x, 0, 1), lambda x: torch.topk(x, 0, 1), [rand(2, 3)]),
    "sort over the empty dim": (lambda x: F.sort(x, 0), lambda x: torch.sort(x, 0), [rand(0, 3)]),
    "argsort of a 1-D empty tensor": (F.argsort, torch.argsort, [rand(0)]),
    "log_softmax over the empty dim": (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0),
                                       [rand(0, 3)]),
    "cat skips a 1-D empty tensor (torch's legacy rule)": (lambda a, b: F.cat([a, b], 1),
                                                            lambda a, b: torch.cat([a, b], 1), [rand(0), rand(2, 3)]),
    "gather with an empty uint8 index": (lambda x, i: F.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i),
                                         [rand(5), np.zeros((0,), np.uint8)]),
    "gather with an empty index of another rank": (lambda x, i: F.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i),
                                                   [rand(5), np.zeros((2, 0), np.int64)]),
    "batch_norm of a 1-D empty input (torch: no channels)": (
        lambda x: F.batch_norm(x, BN_STATS[0], BN_STATS[1], BN_STATS[2], BN_STATS[3]),
        lambda x: TF.batch_norm(x, *(torch.from_numpy(s) for s in BN_STATS)), [rand(0)]),
    "batch_norm of an empty batch": (
        lambda x: F.batch_norm(x, BN_STATS[0], BN_STATS[1], BN_STATS[2], BN_STATS[3]),
        lambda x: TF.batch_norm(x, *(torch.from_numpy(s) for s in BN_STATS)), [rand(0, 2, 3)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_eager_torch(name: str) -> None:
    fn, torch_fn, arrays = CASES[name]
    check(fn, torch_fn, arrays)


@pytest.mark.parametrize("name", ["sum over the empty dim (0)", "matmul K=0 (zeros)", "cat with an empty part"])
def test_matches_eager_torch_fp16(name: str) -> None:
    fn, torch_fn, arrays = CASES[name]
    check(fn, torch_fn, arrays, dtype="float16")


def test_zero_dim_input_keeps_its_shape() -> None:
    assert trtnet.Input("x", (0, 3)).shape == (0, 3)


REFUSED = [
    (lambda x: F.amax(x, 0), lambda x: torch.amax(x, 0)),
    (lambda x: F.amin(x, (0, 1)), lambda x: torch.amin(x, (0, 1))),
    (lambda x: F.max(x, 0), lambda x: torch.max(x, 0)),
    (lambda x: F.max(x), lambda x: torch.max(x)),
    (lambda x: F.argmax(x), lambda x: torch.argmax(x)),
    (lambda x: F.argmin(x, 0), lambda x: torch.argmin(x, 0)),
    (lambda x: F.reshape(x, (0, -1)), lambda x: x.reshape(0, -1)),
]


@pytest.mark.parametrize("index", range(len(REFUSED)))
def test_what_torch_refuses_on_an_empty_dim_is_refused_with_its_message(index: int) -> None:
    fn, torch_fn = REFUSED[index]
    with pytest.raises((RuntimeError, IndexError)) as torch_error:
        torch_fn(torch.zeros(0, 3))
    with pytest.raises(ShapeError) as error:
        trtnet.trace(Fn(fn), [trtnet.Input("x", (0, 3))])
    assert str(torch_error.value).splitlines()[0] in str(error.value)


# ---- 0-d tensors: torch takes them as one element where an op wants a dim -----------------------------------------

SLOPE = np.array([0.25], np.float32)
ZERO_D = {
    "prelu": (lambda x: F.prelu(x, SLOPE), lambda x: TF.prelu(x, torch.from_numpy(SLOPE)),
              [np.array(-2.0, np.float32)]),
    "cumsum dim=-1": (lambda x: F.cumsum(x, -1), lambda x: torch.cumsum(x, -1), [np.array(3.0, np.float32)]),
    "cumsum of an int (int64)": (lambda x: F.cumsum(x, 0), lambda x: torch.cumsum(x, 0), [np.array(3, np.int32)]),
    "topk k=1 dim=0": (lambda x: F.topk(x, 1, 0), lambda x: torch.topk(x, 1, 0), [np.array(-2.0, np.float32)]),
    "topk k=0 dim=-1": (lambda x: F.topk(x, 0, -1), lambda x: torch.topk(x, 0, -1), [np.array(-2.0, np.float32)]),
    "transpose(0, -1)": (lambda x: F.transpose(x, 0, -1), lambda x: x.transpose(0, -1), [np.array(3.0, np.float32)]),
    "index_select dim=-1 with a 0-d index": (lambda x, i: F.index_select(x, -1, i),
                                             lambda x, i: torch.index_select(x, -1, i),
                                             [np.array(2.0, np.float32), np.array(0, np.int64)]),
    "searchsorted of a Python number (0-d result)": (lambda s: F.searchsorted(s, 2.0, right=True),
                                                      lambda s: torch.searchsorted(s, 2.0, right=True),
                                                      [np.array([1.0, 2.0, 2.0, 3.0], np.float32)]),
}


@pytest.mark.parametrize("name", list(ZERO_D))
def test_zero_d_matches_eager_torch(name: str) -> None:
    fn, torch_fn, arrays = ZERO_D[name]
    check(fn, torch_fn, arrays)


# ---- other OpInfo gaps closed with these ------------------------------------------------------------------------

TABLE = rand(5, 3, seed=2) * 2


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (2.0, 1.0)])
def test_embedding_max_norm_renormalises_the_looked_up_rows(max_norm: float, norm_type: float) -> None:
    check(lambda i: F.embedding(i, TABLE, max_norm=max_norm, norm_type=norm_type),
          lambda i: TF.embedding(i, torch.from_numpy(TABLE.copy()), max_norm=max_norm, norm_type=norm_type),
          [np.array([[0, 2], [4, 2]], np.int64)])
