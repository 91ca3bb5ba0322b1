"""PyTorch's OpInfo sample inputs run through trtnet: trace, build with TensorRT, execute on the CPU executor,
compare with eager PyTorch, classify each sample.

Import only from a test or a script: ``torch.testing._internal`` freezes cuDNN's global flags on import.
Each (op, dtype) costs one trace of all its samples into ONE network (each sample its own inputs and outputs),
one TensorRT build and one executor run; a sample is traced, built and run alone only to find which one broke
a shared build or run.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import time
from typing import Any, Callable, Iterable

import torch

import trtnet
import trtnet.functional as F
from trtnet.build import BuildConfig, serialize
from trtnet import errors
from trtnet.errors import TrtnetError
from trtnet.reference import execute
from trtnet.verdict import PRECISION_FACTOR

PASS, MISMATCH, BUILD_FAILURE, REFUSED, CRASH, SKIPPED = "pass", "mismatch", "build failure", "refused", "crash", "skipped"
OUTCOMES = (PASS, REFUSED, MISMATCH, BUILD_FAILURE, CRASH, SKIPPED)
DTYPES = {"float32": torch.float32, "float16": torch.float16}
TENSOR_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int64", torch.int32: "int32",
                 torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool"}


def _method(name: str) -> Callable[..., Any]:
    def call(x: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(trtnet.tensor.Tensor, name), property):
            return getattr(x, name)
        return getattr(x, name)(*args, **kwargs)
    call.__name__ = f"Tensor.{name}"
    return call


def _functional(name: str) -> Callable[..., Any] | None:
    return getattr(F, name, None) if callable(getattr(F, name, None)) else None


# OpInfo (name, variant_test_name) -> the trtnet op called with the sample's arguments. An OpInfo entry runs the
# torch function (torch.x / torch.nn.functional.x); the trtnet functional op of that name where trtnet has one,
# else the Tensor method. Ops land as the vocabulary grows: an entry whose trtnet op is absent is left out.
FUNCTIONAL = [
    "abs", "add", "amax", "amin", "bucketize", "cat", "cdist", "ceil", "chunk", "clamp", "cos", "cummax", "cummin",
    "cumprod", "cumsum", "eq", "erf", "exp", "expand", "expand_as", "flatten", "floor", "ge", "gt", "index_select",
    "kthvalue", "le", "log", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor", "lt",
    "masked_fill", "matmul", "maximum", "mean", "median", "minimum", "mul", "narrow", "ne", "neg", "permute", "pow",
    "reciprocal", "repeat", "reshape", "rsqrt", "searchsorted", "sigmoid", "sin", "softmax", "split", "sqrt",
    "squeeze", "stack", "sub", "sum", "take_along_dim", "tanh", "topk", "transpose", "unbind", "unsqueeze",
    "div", "gather", "argmax", "argmin", "flip", "roll", "tril", "triu", "einsum", "logsumexp", "prod", "var", "std",
    "floor_divide", "remainder", "sort", "argsort", "scatter", "scatter_add", "index_add", "index_put", "clamp_min",
    "clamp_max", "max", "min", "movedim", "tile", "unflatten", "repeat_interleave", "sign", "tan", "atan", "asin",
    "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "log1p", "expm1", "exp2", "trunc", "round",
    "square", "fmod", "atan2", "lerp", "addmm", "bmm", "mm", "baddbmm", "all", "any", "isnan", "isinf", "isfinite",
    "nan_to_num", "sgn", "frac", "hypot", "xlogy", "true_divide", "rsub", "mv", "dot", "outer", "logical_not",
    "zeros_like", "ones_like", "full_like", "broadcast_to", "diagonal", "diag", "norm", "count_nonzero",
    "vdot", "clip", "heaviside", "copysign", "logaddexp", "signbit", "nansum", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "logit", "sinc", "deg2rad", "rad2deg", "erfc", "erfinv", "amax", "aminmax",
]
RENAMED = {"linalg.vector_norm": "vector_norm"}  # OpInfo name -> trtnet functional
NN_FUNCTIONAL = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "batch_norm", "celu", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "elu", "embedding", "gelu", "glu", "group_norm",
    "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "instance_norm", "layer_norm", "leaky_relu", "linear",
    "logsigmoid", "max_pool1d", "max_pool2d", "max_pool3d", "mish", "multi_head_attention_forward", "pad",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "prelu", "relu", "relu6", "rms_norm",
    "scaled_dot_product_attention", "selu", "silu", "softplus", "softshrink", "softsign", "tanhshrink", "threshold",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "normalize", "cosine_similarity",
    "pairwise_distance", "one_hot", "softmin", "local_response_norm", "unfold", "fold",
]
METHODS = ["where", "view", "view_as", "reshape_as", "T", "mT", "float", "half", "bfloat16", "to", "contiguous", "long",
           "int", "bool", "type_as", "new_zeros", "new_ones", "new_full"]  # empty/new_empty: no values to compare
# Ops taking weights: trtnet takes them as Parameters/arrays (TensorRT constants), so the sample's tensors after
# the first N (its activations) enter the network as constants instead of inputs.
# OpInfo's embedding sample is (weight, indices): its first tensor is the constant.
WEIGHT_OPS = {f"nn.functional.{name}" for name in (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear", "batch_norm",
    "layer_norm", "group_norm", "instance_norm", "rms_norm", "prelu")}
ADAPTERS: dict[str, Callable[..., Any]] = {  # OpInfo calls these with another argument order than torch's
    "nn.functional.embedding": lambda weight, indices, **kwargs: F.embedding(indices, weight, **kwargs),
    "einsum": lambda operands, equation: F.einsum(equation, operands)}
MAX_PER_NETWORK = 64  # samples traced into one network (a shared build that fails is bisected)


MHA_WEIGHTS = {"in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj_weight", "out_proj_bias",
               "q_proj_weight", "k_proj_weight", "v_proj_weight"}


def _is_constant(name: str, position: int) -> bool:
    """Whether the sample's ``position``-th tensor is a weight (a TensorRT constant) rather than a network input."""
    if name == "nn.functional.embedding":
        return position == 0
    return name in WEIGHT_OPS and position > 0


def _weight_ids(op: Any, tree: Any) -> set[int]:
    """The weights of multi_head_attention_forward (by torch's parameter names: positions move where one is None)."""
    if op.name != "nn.functional.multi_head_attention_forward":
        return set()
    _, args, kwargs = tree
    names = ["key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight", "in_proj_bias", "bias_k", "bias_v",
             "add_zero_attn", "dropout_p", "out_proj_weight", "out_proj_bias"]
    given = {**dict(zip(names, args)), **kwargs}
    return {id(value) for key, value in given.items() if key in MHA_WEIGHTS and isinstance(value, torch.Tensor)}


SKIP_OPINFO_PREFIXES = ("masked.", "_refs.", "special.", "linalg.", "fft.", "sparse.")  # linalg: only RENAMED
SKIP_VARIANTS = {"complex", "without_cudnn"}


def trtnet_ops() -> dict[tuple[str, str], Callable[..., Any]]:
    """Every OpInfo entry that names an op trtnet offers, mapped to that op."""
    from torch.testing._internal.common_methods_invocations import op_db

    table: dict[tuple[str, str], Callable[..., Any]] = {}
    functional = set(FUNCTIONAL)
    nn_functional = set(NN_FUNCTIONAL)
    for op in op_db:
        if (op.name.startswith(SKIP_OPINFO_PREFIXES) and op.name not in RENAMED
                or op.variant_test_name in SKIP_VARIANTS):
            continue
        found = None
        if op.name.startswith("nn.functional."):
            base = op.name[len("nn.functional."):]
            found = _functional(base) if base in nn_functional else None
        elif op.name in functional:
            found = _functional(op.name)
        elif op.name in RENAMED:
            found = _functional(RENAMED[op.name])
        if op.name in METHODS and hasattr(trtnet.tensor.Tensor, op.name):  # OpInfo calls the method's argument order
            found = _method(op.name)
        if found is None and op.name in FUNCTIONAL and hasattr(trtnet.tensor.Tensor, op.name):
            found = _method(op.name)
        if found is not None:
            table[(op.name, op.variant_test_name)] = ADAPTERS.get(op.name, found)
    return table


@dataclasses.dataclass
class Sample:
    index: int
    outcome: str = ""
    reason: str = ""


@dataclasses.dataclass
class _Prepared:
    sample: Sample
    tree: Any  # input, args, kwargs with each tensor replaced by a _Slot
    arrays: list[Any]  # the tensors' values (numpy), one network input each
    expected: list[torch.Tensor]
    reference: list[torch.Tensor | None]  # float64 eager outputs, when torch computes them
    ties: Callable[[torch.Tensor], torch.Tensor] | None = None  # indices -> the input values they pick
    output_count: int = 0


@dataclasses.dataclass(frozen=True)
class _Slot:
    position: int


def _replace(tree: Any, leaf: Callable[[Any], Any]) -> Any:
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return type(tree)(_replace(item, leaf) for item in tree)
    if isinstance(tree, dict):
        return {key: _replace(value, leaf) for key, value in tree.items()}
    return leaf(tree)


def _flat(result: Any) -> list[Any]:
    if isinstance(result, (list, tuple)):
        return [leaf for item in result for leaf in _flat(item)]
    return [result]


def _skip_reason(tensors: Iterable[torch.Tensor]) -> str | None:
    for t in tensors:
        if t.dtype not in TENSOR_DTYPES:
            return f"needs {str(t.dtype).replace('torch.', '')}"
    return None


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _to_float64(tree: Any) -> Any:
    return _replace(tree, lambda v: v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v)


def _prepare(op: Any, sample: Any, index: int) -> _Prepared | Sample:
    # copies: OpInfo shares tensors between samples and torch ops may write into them (batch_norm's running stats)
    tree = _replace((sample.input, tuple(sample.args), dict(sample.kwargs)), _copy)
    wide = _to_float64(tree)
    tensors: list[torch.Tensor] = []
    seen: list[torch.Tensor] = []
    weights = _weight_ids(op, tree)

    def slot(value: Any) -> Any:
        if not isinstance(value, torch.Tensor):
            return value
        seen.append(value)
        if _is_constant(op.name, len(seen) - 1) or id(value) in weights:
            return value.contiguous().numpy() if value.dtype in TENSOR_DTYPES else value
        tensors.append(value)
        return _Slot(len(tensors) - 1)

    slotted = _replace(tree, slot)
    reason = _skip_reason(seen)
    if reason:
        return Sample(index, SKIPPED, reason)
    try:
        with torch.no_grad():
            eager = _replace(tree, _copy)
            expected = _flat(op(eager[0], *eager[1], **eager[2]))
    except Exception as error:  # noqa: BLE001 - the torch reference itself fails: not trtnet's sample
        return Sample(index, SKIPPED, f"torch reference fails: {type(error).__name__}")
    if not all(isinstance(e, torch.Tensor) for e in expected):
        return Sample(index, SKIPPED, "torch returns a non-tensor")
    reason = _skip_reason(expected)
    if reason:
        return Sample(index, SKIPPED, f"torch output {reason}")
    try:
        with torch.no_grad():
            reference = _flat(op(wide[0], *wide[1], **wide[2]))
    except Exception:  # noqa: BLE001 - no float64 kernel: the eager output alone is the reference
        reference = [None] * len(expected)
    if len(reference) != len(expected):
        reference = [None] * len(expected)
    arrays = [t.contiguous().numpy() for t in tensors]
    return _Prepared(Sample(index), slotted, arrays, expected, reference, _ties(op.name, tree))


def _ties(name: str, tree: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """For an unstable sort, the values its indices pick: equal values may come in any order (torch's contract)."""
    if name not in ("sort", "argsort") or tree[2].get("stable"):
        return None
    x, args, kwargs = tree
    dim = kwargs.get("dim", args[0] if args and not isinstance(args[0], bool) else -1)
    return lambda indices: torch.take_along_dim(x, indices.long(), dim) if x.ndim else x


class _Samples(trtnet.nn.Module):
    """Calls ``fn`` once per prepared sample on that sample's network inputs; returns all outputs in order.
    With ``isolate``, a sample that raises is recorded (refused / crash) and left out."""

    def __init__(self, fn: Callable[..., Any], prepared: list[_Prepared], isolate: bool) -> None:
        super().__init__()
        self.fn, self.prepared, self.isolate = fn, prepared, isolate
        self.failed: dict[int, tuple[str, str]] = {}

    def forward(self, *tensors: Any) -> list[Any]:
        outputs: list[Any] = []
        start = 0
        for p in self.prepared:
            mine = tensors[start:start + len(p.arrays)]
            start += len(p.arrays)
            tree = _replace(p.tree, lambda v: mine[v.position] if isinstance(v, _Slot) else v)
            try:
                result = _flat(self.fn(tree[0], *tree[1], **tree[2]))
                strays = [type(r).__name__ for r in result if not isinstance(r, trtnet.tensor.Tensor)]
                if strays:
                    raise TypeError(f"trtnet returned {', '.join(strays)} where torch returns a tensor")
                if len(result) != len(p.expected):
                    raise TypeError(f"trtnet returned {len(result)} outputs, torch {len(p.expected)}")
            except Exception as error:  # noqa: BLE001 - classified, per sample
                if not self.isolate:
                    raise
                self.failed[p.sample.index] = classify(error)
                continue
            p.output_count = len(result)
            outputs.extend(result)
        return outputs


def classify(error: BaseException) -> tuple[str, str]:
    """(refused, reason) for a trtnet error, (crash, reason) for any other exception (also one trtnet wrapped)."""
    trace_error = getattr(errors, "TraceError", None)
    if trace_error is not None and isinstance(error, trace_error) and error.__cause__ is not None:
        error = error.__cause__
    kind = REFUSED if isinstance(error, TrtnetError) else CRASH
    return kind, f"{type(error).__name__}: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def _inputs(prepared: list[_Prepared]) -> list[trtnet.Input]:
    return [trtnet.Input(f"s{p.sample.index}_{k}", a.shape, TENSOR_DTYPES[torch.from_numpy(a).dtype])
            for p in prepared for k, a in enumerate(p.arrays)]


def _feeds(prepared: list[_Prepared]) -> dict[str, Any]:
    return {f"s{p.sample.index}_{k}": a for p in prepared for k, a in enumerate(p.arrays)}


def _model(fn: Callable[..., Any], prepared: list[_Prepared], dtype: str, isolate: bool) -> _Samples:
    model = _Samples(fn, prepared, isolate)
    return model.to(trtnet.float16) if dtype == "float16" else model


def _valid_inputs(prepared: list[_Prepared], refused: list[Sample]) -> list[_Prepared]:
    kept = []
    for p in prepared:
        try:
            _inputs([p])
        except TrtnetError as error:
            p.sample.outcome, p.sample.reason = REFUSED, f"{type(error).__name__}: {_first_line(error)}"
            refused.append(p.sample)
            continue
        kept.append(p)
    return kept


def _build_and_run(fn: Callable[..., Any], prepared: list[_Prepared], dtype: str) -> list[torch.Tensor]:
    net = trtnet.trace(_model(fn, prepared, dtype, isolate=False), _inputs(prepared))
    serialize(net, BuildConfig())
    outputs = execute(net.network, _feeds(prepared))
    return [outputs[name] for name in net.outputs]


def run_op(op: Any, fn: Callable[..., Any], dtype: str, limit: int | None = None) -> list[Sample]:
    """Every OpInfo sample of ``op`` in ``dtype`` through trtnet, classified."""
    samples = list(op.sample_inputs("cpu", DTYPES[dtype], requires_grad=False))[:limit]
    tol = tolerance(op, dtype)
    done: list[Sample] = []
    prepared: list[_Prepared] = []
    for index, sample in enumerate(samples):
        item = _prepare(op, sample, index)
        (prepared.append(item) if isinstance(item, _Prepared) else done.append(item))
    prepared = _valid_inputs(prepared, done)
    if prepared:
        probe = _model(fn, prepared, dtype, isolate=True)
        try:
            trtnet.trace(probe, _inputs(prepared))
            failed = probe.failed
        except Exception:  # noqa: BLE001 - the trace as a whole failed (no outputs left...): the others alone
            failed = dict(probe.failed)
            failed.update(_one_by_one_trace(fn, [p for p in prepared if p.sample.index not in failed], dtype))
        for p in prepared:
            if p.sample.index in failed:
                p.sample.outcome, p.sample.reason = failed[p.sample.index]
                done.append(p.sample)
        prepared = [p for p in prepared if p.sample.index not in failed]
    for start in range(0, len(prepared), MAX_PER_NETWORK):
        _build_and_judge(fn, prepared[start:start + MAX_PER_NETWORK], dtype, tol)
    done.extend(p.sample for p in prepared)
    return sorted(done, key=lambda s: s.index)


def _build_and_judge(fn: Callable[..., Any], prepared: list[_Prepared], dtype: str, tol: dict[str, float]) -> None:
    """One build and run for all of ``prepared``; when that fails, halves until the failing samples are alone."""
    if len(prepared) == 1:
        _judge_alone(fn, prepared[0], dtype, tol)
        return
    try:
        got = _build_and_run(fn, prepared, dtype)
    except Exception:  # noqa: BLE001 - some sample broke the shared build or run: find it
        half = len(prepared) // 2
        _build_and_judge(fn, prepared[:half], dtype, tol)
        _build_and_judge(fn, prepared[half:], dtype, tol)
        return
    for p in prepared:
        mine, got = got[:p.output_count], got[p.output_count:]
        p.sample.outcome, p.sample.reason = judge(mine, p.expected, p.reference, tol, p.ties)


def _one_by_one_trace(fn: Callable[..., Any], prepared: list[_Prepared], dtype: str) -> dict[int, tuple[str, str]]:
    failed: dict[int, tuple[str, str]] = {}
    for p in prepared:
        probe = _model(fn, [p], dtype, isolate=True)
        try:
            trtnet.trace(probe, _inputs([p]))
        except Exception as alone:  # noqa: BLE001
            failed[p.sample.index] = probe.failed.get(p.sample.index) or classify(alone)
        failed.update(probe.failed)
    return failed


def _judge_alone(fn: Callable[..., Any], p: _Prepared, dtype: str, tol: dict[str, float]) -> None:
    try:
        net = trtnet.trace(_model(fn, [p], dtype, isolate=False), _inputs([p]))
    except Exception as error:  # noqa: BLE001
        p.sample.outcome, p.sample.reason = classify(error)
        return
    try:
        serialize(net, BuildConfig())
    except Exception as error:  # noqa: BLE001
        p.sample.outcome, p.sample.reason = BUILD_FAILURE, f"{type(error).__name__}: {_first_line(error)}"
        return
    try:
        outputs = execute(net.network, _feeds([p]))
    except Exception as error:  # noqa: BLE001 - the executor failed on a network TensorRT built
        p.sample.outcome, p.sample.reason = CRASH, f"executor {type(error).__name__}: {_first_line(error)}"
        return
    p.sample.outcome, p.sample.reason = judge([outputs[n] for n in net.outputs], p.expected, p.reference, tol,
                                                p.ties)


def _kind(t: torch.Tensor) -> str:
    return "bool" if t.dtype == torch.bool else "float" if t.is_floating_point() else "int"


def tolerance(op: Any, dtype: str) -> dict[str, float]:
    """PyTorch's own tolerance for ``op`` in ``dtype``: torch.testing's default, loosened to the loosest
    ``toleranceOverride`` the OpInfo entry declares for that dtype (in any of PyTorch's test classes)."""
    from torch.testing._internal.common_device_type import toleranceOverride

    torch_dtype = DTYPES[dtype]
    rtol, atol = {torch.float16: (1e-3, 1e-5), torch.float32: (1.3e-6, 1e-5)}[torch_dtype]
    for info in op.decorators:
        for decorator in getattr(info, "decorators", [info]):
            if isinstance(decorator, toleranceOverride) and torch_dtype in decorator.d:
                rtol, atol = max(rtol, decorator.d[torch_dtype].rtol), max(atol, decorator.d[torch_dtype].atol)
    return dict(rtol=rtol, atol=atol)


def _scaled(tol: dict[str, float], expected: torch.Tensor) -> dict[str, float]:
    """In fp16 the executor rounds every layer's output to fp16 (unfused): allow one fp16 rounding (rtol) of an
    intermediate at the output's scale, max|expected|, as an absolute error. fp32 keeps ``tol``."""
    if expected.dtype != torch.float16:
        return tol
    finite = expected[torch.isfinite(expected)].float()
    scale = float(finite.abs().max()) if finite.numel() else 0.0
    return dict(rtol=tol["rtol"], atol=max(tol["atol"], tol["rtol"] * scale))


def judge(got: list[torch.Tensor], expected: list[torch.Tensor], reference: list[torch.Tensor | None],
          tol: dict[str, float], ties: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[str, str]:
    """pass, or mismatch with the first differing output described.

    A float output passes when it is within ``tol`` (:func:`tolerance`) of eager PyTorch in the same dtype
    (NaN/Inf matched position for position: an fp16 overflow eager fp16 shares passes), or within it of
    torch's float64 result on the same values plus twice eager's own error there (``_close_to_float64``).
    Other outputs must be equal; with ``ties`` (an unstable sort), indices that pick the same values pass."""
    for k, (g, e, r) in enumerate(zip(got, expected, reference)):
        if tuple(g.shape) != tuple(e.shape):
            return MISMATCH, f"output {k}: shape {tuple(g.shape)}, torch {tuple(e.shape)}"
        if _kind(g) != _kind(e):
            return MISMATCH, f"output {k}: dtype {g.dtype}, torch {e.dtype}"
        if _kind(e) != "float":
            if not torch.equal(g.to(e.dtype), e) and not (ties is not None and torch.equal(ties(g), ties(e))):
                wrong = int((g.to(e.dtype) != e).sum())
                return MISMATCH, f"output {k}: {wrong}/{e.numel()} values differ"
            continue
        try:
            torch.testing.assert_close(g, e, check_dtype=False, equal_nan=True, **_scaled(tol, e))
            continue
        except AssertionError as eager_error:
            message = _first_mismatch_line(eager_error)
        if r is not None and _close_to_float64(g, e, r, _scaled(tol, e)):
            continue
        return MISMATCH, f"output {k}: {message}"
    return PASS, ""


def _close_to_float64(g: torch.Tensor, e: torch.Tensor, r: torch.Tensor, tol: dict[str, float]) -> bool:
    """Within ``tol`` of float64 torch plus PRECISION_FACTOR x eager's own error there (cancellation makes eager
    inexact too); NaN/Inf exactly where eager or float64 torch has them."""
    finite = torch.isfinite(g)
    if not torch.equal(finite, torch.isfinite(e)) and not torch.equal(finite, torch.isfinite(r)):
        return False
    if not torch.equal(g[~finite].double().nan_to_num(), r.to(e.dtype)[~finite].double().nan_to_num()) and \
            not torch.equal(g[~finite].double().nan_to_num(), e[~finite].double().nan_to_num()):
        return False
    g, e, r = g[finite].double(), e[finite].double(), r[finite].double()
    allowed = tol["atol"] + tol["rtol"] * r.abs() + PRECISION_FACTOR * (e - r).abs().nan_to_num(posinf=0.0)
    return bool(((g - r).abs() <= allowed).all())


def _first_mismatch_line(error: AssertionError) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines[1:4])[:300]


# ---- reporting ----------------------------------------------------------------------------------------------

def counts(results: dict[tuple[str, str, str], list[Sample]]) -> dict[str, int]:
    total = collections.Counter(s.outcome for samples in results.values() for s in samples)
    return {outcome: total.get(outcome, 0) for outcome in OUTCOMES}


def _group(reason: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'|\([^)]*\)|\[[^\]]*\]", "…", reason))[:160]


def report(results: dict[tuple[str, str, str], list[Sample]], seconds: dict | None = None) -> str:
    """The counts table per (op, variant, dtype) (samples = all but skipped), totals, the reasons grouped."""
    rows = ["| op | dtype | samples | pass | refused | mismatch | build failure | crash | skipped | s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    seconds = seconds or {}
    for key, samples in sorted(results.items()):
        name, variant, dtype = key
        c = collections.Counter(s.outcome for s in samples)
        label = f"{name}.{variant}" if variant else name
        rows.append(f"| {label} | {dtype} | {len(samples) - c[SKIPPED]} | " +
                    " | ".join(str(c[o]) for o in (PASS, REFUSED, MISMATCH, BUILD_FAILURE, CRASH, SKIPPED)) +
                    f" | {seconds.get(key, 0):.1f} |")
    total = counts(results)
    rows.append(f"| **total** ({len(results)} op/dtype pairs) | | {sum(total.values()) - total[SKIPPED]} | " +
                " | ".join(str(total[o]) for o in (PASS, REFUSED, MISMATCH, BUILD_FAILURE, CRASH, SKIPPED)) +
                f" | {sum(seconds.values()):.1f} |")
    for outcome in (MISMATCH, BUILD_FAILURE, CRASH, REFUSED, SKIPPED):
        groups: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for (name, variant, dtype), samples in results.items():
            for s in samples:
                if s.outcome == outcome:
                    groups[_group(s.reason) if outcome in (REFUSED, SKIPPED) else s.reason][
                        f"{name}{'.' + variant if variant else ''}"] += 1
        if not groups:
            continue
        rows.append(f"\n{outcome} reasons (samples: ops):")
        for reason, ops in sorted(groups.items(), key=lambda kv: -sum(kv[1].values())):
            listed = ", ".join(f"{op} {n}" for op, n in ops.most_common(8))
            rows.append(f"- {sum(ops.values())}: {reason} — {listed}")
    return "\n".join(rows)


def sweep(dtypes: Iterable[str] = ("float32", "float16"), limit: int | None = None,
          only: Iterable[str] | None = None, seconds: dict | None = None,
          limits: dict[str, int] | None = None) -> dict[tuple[str, str, str], list[Sample]]:
    """Run every mapped OpInfo op in each dtype OpInfo supports of ``dtypes``: {(name, variant, dtype): samples}.
    ``seconds``, if given, receives the wall time of each (name, variant, dtype); ``limits`` caps the samples of
    the ops it names (``name`` or ``name.variant``), ``limit`` those of every other op."""
    from torch.testing._internal.common_methods_invocations import op_db

    table = trtnet_ops()
    wanted = set(only) if only else None
    results: dict[tuple[str, str, str], list[Sample]] = {}
    for op in op_db:
        fn = table.get((op.name, op.variant_test_name))
        if fn is None or (wanted and op.name not in wanted):
            continue
        supported = op.supported_dtypes("cpu")
        for dtype in dtypes:
            if DTYPES[dtype] in supported:
                start = time.perf_counter()
                label = f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name
                cap = (limits or {}).get(label, limit)
                results[(op.name, op.variant_test_name, dtype)] = run_op(op, fn, dtype, cap)
                if seconds is not None:
                    seconds[(op.name, op.variant_test_name, dtype)] = time.perf_counter() - start
    return results
