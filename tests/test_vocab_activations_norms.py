"""Issue 9 vocabulary: activations and normalization layers, each against eager PyTorch over several shapes and
arguments, in fp32 and fp16, built with TensorRT and executed by the CPU reference executor."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import trtnet  # noqa: E402
import trtnet.functional as F  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.errors import ShapeError, TrtnetError  # noqa: E402
from trtnet.testing import assert_matches_torch  # noqa: E402

from test_ops import Fn, check, rand, run  # noqa: E402

DTYPES = ["float32", "float16"]

# (name, keyword arguments): the functional op of trtnet.functional and torch.nn.functional
ACTIVATIONS = [
    ("softplus", {}), ("softplus", dict(beta=2.0, threshold=3.0)), ("softplus", dict(beta=0.5, threshold=1.0)),
    ("softplus", dict(beta=-1.5)), ("mish", {}), ("mish", dict(inplace=True)), ("elu", dict(alpha=0.3)),
    ("elu", dict(alpha=2.0, inplace=True)), ("celu", {}), ("celu", dict(alpha=0.4)), ("celu", dict(alpha=-2.0)),
    ("selu", {}), ("selu", dict(inplace=True)), ("logsigmoid", {}), ("softsign", {}), ("hardshrink", {}),
    ("hardshrink", dict(lambd=2.0)), ("softshrink", {}), ("softshrink", dict(lambd=1.5)),
    ("threshold", dict(threshold=0.5, value=-3.0)), ("threshold", dict(threshold=-1.0, value=2.0, inplace=True)),
    ("glu", {}), ("relu", dict(inplace=True)), ("relu6", dict(inplace=True)), ("leaky_relu", dict(inplace=True)),
    ("hardtanh", dict(min_val=-0.5, max_val=2.0, inplace=True)), ("silu", dict(inplace=True)),
    ("hardsigmoid", dict(inplace=True)), ("hardswish", dict(inplace=True)), ("rrelu", {}),
    ("rrelu", dict(lower=0.1, upper=0.5, inplace=True)), ("tanhshrink", {}),
]


def _input(shape: tuple[int, ...], scale: float = 6.0) -> np.ndarray:
    """Values across [-3 scale, 3 scale]: beyond softplus thresholds, shrink lambdas and saturation."""
    return rand(*shape) * scale


@pytest.mark.parametrize("shape,dtype", [((7,), "float32"), ((3, 16), "float32"), ((2, 3, 4, 5), "float16")], ids=str)
@pytest.mark.parametrize("name,kwargs", ACTIVATIONS, ids=[f"{n}{k or ''}" for n, k in ACTIVATIONS])
def test_functional_activation_matches_torch(name: str, kwargs: dict, shape: tuple, dtype: str) -> None:
    if name == "glu" and shape[-1] % 2:
        shape = shape[:-1] + (shape[-1] + 1,)
    check(lambda x: getattr(F, name)(x, **kwargs), lambda t: getattr(TF, name)(t, **kwargs), [_input(shape)],
          dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu_halves_any_dim(dim: int, dtype: str) -> None:
    check(nn.GLU(dim), torch.nn.GLU(dim), [_input((4, 6, 2), 2.0)], dtype=dtype)


MODULES = [
    (lambda: nn.Softplus(beta=2.0, threshold=4.0), lambda: torch.nn.Softplus(beta=2.0, threshold=4.0)),
    (nn.Mish, torch.nn.Mish), (lambda: nn.ELU(0.5, inplace=True), lambda: torch.nn.ELU(0.5)),
    (lambda: nn.CELU(0.7), lambda: torch.nn.CELU(0.7)), (nn.SELU, torch.nn.SELU), (nn.LogSigmoid, torch.nn.LogSigmoid),
    (nn.Softsign, torch.nn.Softsign), (lambda: nn.Hardshrink(1.0), lambda: torch.nn.Hardshrink(1.0)),
    (lambda: nn.Softshrink(0.25), lambda: torch.nn.Softshrink(0.25)),
    (lambda: nn.Threshold(0.1, 20.0), lambda: torch.nn.Threshold(0.1, 20.0)),
    (lambda: nn.GLU(1), lambda: torch.nn.GLU(1)), (lambda: nn.RReLU(0.2, 0.4), lambda: torch.nn.RReLU(0.2, 0.4).eval()),
    (nn.Tanhshrink, torch.nn.Tanhshrink),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", MODULES, ids=lambda m: type(m[1]()).__name__)
def test_activation_module_matches_torch(make: tuple, dtype: str) -> None:
    ours, theirs = make
    check(ours(), theirs(), [_input((2, 4, 6))], dtype=dtype)


def test_every_activation_takes_inplace_as_torch() -> None:
    """Each module and functional activation whose torch twin takes ``inplace`` takes it too (same default)."""
    names = ["ReLU", "ReLU6", "LeakyReLU", "Hardtanh", "ELU", "CELU", "SELU", "SiLU", "Hardsigmoid", "Hardswish",
             "Mish", "Threshold", "RReLU"]
    functions = ["relu", "relu6", "leaky_relu", "hardtanh", "elu", "celu", "selu", "silu", "hardsigmoid",
                 "hardswish", "mish", "threshold", "rrelu"]
    for owner, torch_owner, members in ((nn, torch.nn, names), (F, TF, functions)):
        for member in members:
            ours = inspect.signature(getattr(owner, member)).parameters
            theirs = inspect.signature(getattr(torch_owner, member)).parameters
            assert "inplace" in theirs and "inplace" in ours, member
            assert ours["inplace"].default is theirs["inplace"].default is False, member
            assert list(theirs)[:len(ours)] == list(ours), member  # torch's names and order (minus deprecated ones)


def test_softplus_and_logsigmoid_do_not_overflow_in_fp16() -> None:
    """exp(x) overflows fp16 beyond x ~ 11.1: the stable forms give x (softplus) and x (logsigmoid) there."""
    x = np.array([-60.0, -30.0, -12.0, -1.0, 0.0, 1.0, 12.0, 15.0, 19.0, 30.0, 60.0], np.float32)
    for name in ("softplus", "logsigmoid", "mish"):
        check(lambda t: getattr(F, name)(t), lambda t: getattr(TF, name)(t), [x], dtype="float16")
    model = Fn(lambda t: F.softplus(t, beta=1.0, threshold=30.0)).to(trtnet.float16)
    (out,), _ = run(model, [x.astype(np.float16)])
    assert torch.isfinite(out).all(), out
    torch.testing.assert_close(out.float(), TF.softplus(torch.from_numpy(x), threshold=30.0), atol=2e-2, rtol=2e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_parameters,shape", [(1, (7,)), (1, (2, 5)), (5, (2, 5)), (3, (2, 3, 4, 4)),
                                                  (1, (2, 3, 4))])
def test_prelu_matches_torch_with_loaded_weight(num_parameters: int, shape: tuple, dtype: str) -> None:
    theirs = torch.nn.PReLU(num_parameters)
    with torch.no_grad():
        theirs.weight.copy_(torch.linspace(-0.7, 0.9, num_parameters))
    ours = nn.PReLU(num_parameters)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert_matches_torch(ours, theirs, [torch.from_numpy(_input(shape, 2.0))], dtype="fp16" if dtype == "float16" else "fp32")


def test_prelu_default_init_and_functional() -> None:
    ours, theirs = nn.PReLU(2, init=0.1), torch.nn.PReLU(2, init=0.1)
    np.testing.assert_array_equal(ours.state_dict()["weight"], theirs.weight.detach().numpy())
    weight = np.array([0.5, -2.0, 3.0], np.float32)
    check(lambda x: F.prelu(x, weight), lambda t: TF.prelu(t, torch.from_numpy(weight)), [_input((2, 3, 5))])


@pytest.mark.parametrize("fn,message", [
    (lambda x: F.glu(x, 0), "Halving dimension must be even, but dimension 0 is size 3"),
    (lambda x: F.prelu(x, np.ones(2, np.float32)), "Found parameter numbers = 2 and channel size = 4"),
    (lambda x: F.softshrink(x, -1.0), "lambda must be greater or equal to 0"),
    (lambda x: F.celu(x, 0.0), "alpha cannot be 0 for CELU"),
    (lambda x: F.softplus(x, beta=0.0), "beta must not be 0"),
    (lambda x: F.hardtanh(x, 1.0, -1.0), "min_val cannot be greater than max_val"),
    (lambda x: F.rrelu(x, training=True), "training=True draws random slopes"),
])
def test_activation_bad_arguments_are_clear_errors(fn, message: str) -> None:
    with pytest.raises(TrtnetError, match=message):
        trtnet.trace(Fn(fn), [trtnet.Input("x", (3, 4))])


# ---- normalization ------------------------------------------------------------------------------------------------
def _randomized(module: torch.nn.Module) -> torch.nn.Module:
    """Random affine parameters and running statistics (variances in [0.5, 1.5]), in eval mode."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, value in [*module.named_parameters(), *module.named_buffers()]:
            if value.dtype.is_floating_point:
                fresh = torch.rand(value.shape, generator=generator) + 0.5 if "var" in name else \
                    torch.randn(value.shape, generator=generator)
                value.copy_(fresh)
    return module.eval()


NORMS = [
    ("BatchNorm1d", dict(num_features=4), (3, 4)),
    ("BatchNorm1d", dict(num_features=4), (3, 4, 6)),
    ("BatchNorm1d", dict(num_features=4, affine=False, eps=1e-3), (2, 4, 5)),
    ("BatchNorm2d", dict(num_features=3), (2, 3, 4, 5)),
    ("BatchNorm3d", dict(num_features=3), (2, 3, 2, 4, 5)),
    ("BatchNorm3d", dict(num_features=2, affine=False), (1, 2, 3, 3, 3)),
    ("InstanceNorm1d", dict(num_features=4), (2, 4, 7)),
    ("InstanceNorm1d", dict(num_features=4, affine=True), (2, 4, 7)),
    ("InstanceNorm1d", dict(num_features=4, affine=True), (4, 7)),  # unbatched (C, L)
    ("InstanceNorm1d", dict(num_features=4, track_running_stats=True), (2, 4, 7)),
    ("InstanceNorm2d", dict(num_features=3), (2, 3, 4, 5)),
    ("InstanceNorm2d", dict(num_features=3, affine=True, eps=1e-3), (3, 4, 5)),  # unbatched (C, H, W)
    ("InstanceNorm2d", dict(num_features=3, affine=True, track_running_stats=True), (2, 3, 4, 5)),
    ("InstanceNorm3d", dict(num_features=2, affine=True), (2, 2, 3, 4, 5)),
    ("InstanceNorm3d", dict(num_features=2, track_running_stats=True), (2, 3, 4, 5)),  # unbatched, running stats
    ("RMSNorm", dict(normalized_shape=8), (2, 5, 8)),
    ("RMSNorm", dict(normalized_shape=(5, 8), eps=1e-3), (2, 5, 8)),
    ("RMSNorm", dict(normalized_shape=[6], elementwise_affine=False), (6,)),
    ("RMSNorm", dict(normalized_shape=16, eps=1e-6), (3, 16)),
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name,kwargs,shape", NORMS, ids=[f"{n}{k}{s}" for n, k, s in NORMS])
def test_norm_module_matches_torch(name: str, kwargs: dict, shape: tuple, dtype: str) -> None:
    theirs = _randomized(getattr(torch.nn, name)(**kwargs))
    ours = getattr(nn, name)(**kwargs)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1)) * 3 + 1
    assert_matches_torch(ours, theirs, [x], dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_norm_state_dict_keys_are_torch_s() -> None:
    for name, kwargs in [("BatchNorm1d", dict(num_features=2)), ("InstanceNorm2d", dict(num_features=2)),
                         ("InstanceNorm2d", dict(num_features=2, affine=True, track_running_stats=True)),
                         ("InstanceNorm1d", dict(num_features=2, track_running_stats=True)),
                         ("RMSNorm", dict(normalized_shape=2)), ("RMSNorm", dict(normalized_shape=2,
                                                                                elementwise_affine=False))]:
        theirs = getattr(torch.nn, name)(**kwargs).state_dict()
        ours = getattr(nn, name)(**kwargs)
        ours.load_state_dict(theirs)  # strict: the same keys, shapes and dtypes
        assert list(ours.state_dict()) == list(theirs), name
        for key, value in theirs.items():
            np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,normalized", [((4, 8), (8,)), ((2, 3, 8), (3, 8)), ((2, 2, 2, 5), (5,))])
@pytest.mark.parametrize("eps,with_weight", [(None, True), (1e-5, False)])
def test_functional_rms_norm_matches_torch(shape: tuple, normalized: tuple, eps: float | None, with_weight: bool,
                                           dtype: str) -> None:
    weight = (rand(*normalized, seed=3) if with_weight else None)
    weight_half = weight.astype(np.float16) if weight is not None and dtype == "float16" else weight
    check(lambda x: F.rms_norm(x, normalized, weight_half, eps),
          lambda t: TF.rms_norm(t, normalized, None if weight_half is None else torch.from_numpy(
              weight_half.astype(np.float32)), eps), [rand(*shape) * 4], dtype=dtype)


def test_rms_norm_fp16_large_values_square_in_float32() -> None:
    """|x| = 300 squares to 90,000 > fp16's 65,504: torch computes in float32, so must trtnet."""
    x = (rand(2, 16) * 300).astype(np.float32)
    check(lambda t: F.rms_norm(t, [16]), lambda t: TF.rms_norm(t, [16]), [x], dtype="float16")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 7), (1, 3, 4, 5), (2, 3, 2, 3, 4)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_functional_instance_norm_matches_torch(shape: tuple, affine: bool, dtype: str) -> None:
    half = dtype == "float16"
    weight = rand(3, seed=4).astype(np.float16 if half else np.float32) if affine else None
    bias = rand(3, seed=5).astype(np.float16 if half else np.float32) if affine else None

    def as_torch(values):
        return None if values is None else torch.from_numpy(values.astype(np.float32))

    check(lambda x: F.instance_norm(x, weight=weight, bias=bias, eps=1e-4),
          lambda t: TF.instance_norm(t, weight=as_torch(weight), bias=as_torch(bias), eps=1e-4),
          [rand(*shape) * 2 + 1], dtype=dtype)


def test_functional_instance_norm_with_running_stats() -> None:
    mean, var = rand(3, seed=6), np.abs(rand(3, seed=7)) + 0.5
    check(lambda x: F.instance_norm(x, mean, var, use_input_stats=False),
          lambda t: TF.instance_norm(t, torch.from_numpy(mean), torch.from_numpy(var), use_input_stats=False),
          [rand(2, 3, 5)])


@pytest.mark.parametrize("module,shape,message", [
    (lambda: nn.BatchNorm1d(3), (2, 3, 4, 5), r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.BatchNorm2d(3), (2, 3, 4), r"expected 4D input \(got 3D input\)"),
    (lambda: nn.BatchNorm3d(3), (2, 3, 4, 5), r"expected 5D input \(got 4D input\)"),
    (lambda: nn.InstanceNorm1d(3), (2, 3, 4, 5), r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.InstanceNorm2d(3, affine=True), (2, 4, 5, 5), r"to match num_features \(3\), but got: 4"),
    (lambda: nn.InstanceNorm1d(3), (2, 3, 1), "Expected more than 1 spatial element"),
    (lambda: nn.RMSNorm(4), (2, 3), r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"),
    (lambda: nn.BatchNorm1d(4), (2, 3), "running_mean should contain 3 elements not 4"),
])
def test_norm_bad_inputs_are_clear_errors(module, shape: tuple, message: str) -> None:
    model = module()
    model.load_state_dict({k: np.ones(p.shape, np.float32) for k, p in model.state_dict_entries()
                           if k != "num_batches_tracked"})
    with pytest.raises(ShapeError, match=message):
        trtnet.trace(model, [trtnet.Input("x", shape)])


def test_batch_and_instance_norm_refusals() -> None:
    with pytest.raises(TrtnetError, match="track_running_stats=False"):
        nn.BatchNorm3d(3, track_running_stats=False)
    with pytest.raises(TrtnetError, match="running_mean and running_var to be defined"):
        trtnet.trace(Fn(lambda x: F.instance_norm(x, use_input_stats=False)), [trtnet.Input("x", (2, 3, 4))])


def test_negative_running_var_refused_for_every_norm() -> None:
    for module in (nn.BatchNorm1d(2), nn.BatchNorm3d(2), nn.InstanceNorm2d(2, track_running_stats=True)):
        state = {k: np.ones(p.shape, np.float32) for k, p in module.state_dict_entries() if p.dtype.is_float}
        state["running_var"] = np.array([1.0, -1.0], np.float32)
        with pytest.raises(trtnet.errors.WeightsError, match="running_var with 1 negative"):
            module.load_state_dict(state)


@pytest.mark.parametrize("dtype", DTYPES)
def test_norms_with_dynamic_batch(dtype: str) -> None:
    """The batch dim dynamic (profile 1..8): statistics per sample stay right at every batch size."""
    for ours, theirs, shape in [(nn.InstanceNorm2d(3, affine=True), torch.nn.InstanceNorm2d(3, affine=True),
                                 (4, 3, 4, 5)),
                                (nn.RMSNorm(6), torch.nn.RMSNorm(6), (4, 2, 6)),
                                (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5), (4, 5))]:
        theirs = _randomized(theirs)
        ours.load_state_dict(theirs.state_dict())
        for batch in (1, 7):
            feed = rand(batch, *shape[1:], seed=batch)
            check(ours, theirs, [rand(*shape)], dynamic=1, feeds=[feed], dtype=dtype)


DYNAMIC = [("glu", dict(dim=1)), ("prelu", None), ("softplus", dict(beta=2.0, threshold=3.0)), ("celu", dict(alpha=-1.0)),
           ("threshold", dict(threshold=0.1, value=5.0)), ("logsigmoid", {}), ("instance_norm", {}),
           ("rms_norm", dict(normalized_shape=[4]))]


@pytest.mark.parametrize("name,kwargs", DYNAMIC, ids=[n for n, _ in DYNAMIC])
def test_ops_with_dynamic_batch(name: str, kwargs: dict | None) -> None:
    if name == "prelu":
        slopes = np.array([0.1, -0.3, 2.0, 0.5, 0.0, 1.0], np.float32)
        ours, theirs = (lambda x: F.prelu(x, slopes)), (lambda t: TF.prelu(t, torch.from_numpy(slopes)))
    else:
        ours, theirs = (lambda x: getattr(F, name)(x, **kwargs)), (lambda t: getattr(TF, name)(t, **kwargs))
    for batch in (1, 6):
        check(ours, theirs, [rand(4, 6, 4) * 4], dynamic=1, feeds=[rand(batch, 6, 4, seed=batch) * 4])


@pytest.mark.parametrize("module", [lambda: (nn.RMSNorm(8), torch.nn.RMSNorm(8)),
                                    lambda: (nn.InstanceNorm1d(8, affine=True), torch.nn.InstanceNorm1d(8, affine=True)),
                                    lambda: (nn.PReLU(8), torch.nn.PReLU(8)), lambda: (nn.Mish(), torch.nn.Mish())],
                         ids=["RMSNorm", "InstanceNorm1d", "PReLU", "Mish"])
def test_modules_with_dynamic_batch_and_sequence(module) -> None:
    """Two dynamic dims at once (batch 1..4, sequence 2..16), run at three shapes from one network."""
    from trtnet.build import BuildConfig, serialize
    from trtnet.reference import execute

    ours, theirs = module()
    theirs = _randomized(theirs)
    ours.load_state_dict(theirs.state_dict())
    seq_dim = 2 if isinstance(ours, (nn.InstanceNorm1d, nn.PReLU)) else 1  # channels at dim 1
    shape = [-1, -1, -1]
    shape[3 - seq_dim] = 8
    low, high = [1, 1, 1], [4, 4, 4]
    low[seq_dim], high[seq_dim], low[3 - seq_dim], high[3 - seq_dim] = 2, 16, 8, 8
    net = trtnet.trace(ours, [trtnet.Input("x", tuple(shape), min=tuple(low), opt=tuple(high), max=tuple(high))])
    assert len(serialize(net, BuildConfig())) > 0
    for batch, length in ((1, 2), (3, 5), (4, 16)):
        dims = [batch, 0, 0]
        dims[seq_dim], dims[3 - seq_dim] = length, 8
        x = rand(*dims, seed=length)
        got = execute(net.network, {"x": x})[net.outputs[0]]
        with torch.no_grad():
            torch.testing.assert_close(got, theirs(torch.from_numpy(x)), atol=2e-5, rtol=2e-5)
