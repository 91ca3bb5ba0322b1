"""Element-wise layers: activation, unary, elementwise (binary), parametric ReLU, select, cast, identity.

Formulas follow NvInfer.h. Integer DIV truncates toward zero (FLOOR_DIV floors); ROUND rounds half to even;
casts from float to integer truncate toward zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from trtnet.reference import dtypes
from trtnet.reference.registry import Inputs, register

Activation = Callable[[torch.Tensor, float, float], torch.Tensor]

_ACTIVATIONS: dict[str, Activation] = {
    "RELU": lambda x, a, b: F.relu(x),
    "SIGMOID": lambda x, a, b: torch.sigmoid(x),
    "TANH": lambda x, a, b: torch.tanh(x),
    "LEAKY_RELU": lambda x, a, b: F.leaky_relu(x, a),
    "ELU": lambda x, a, b: torch.where(x >= 0, x, a * torch.expm1(x)),
    "SELU": lambda x, a, b: torch.where(x > 0, b * x, b * (a * torch.exp(x) - a)),
    "SOFTSIGN": lambda x, a, b: F.softsign(x),
    "SOFTPLUS": lambda x, a, b: a * F.softplus(b * x),
    "CLIP": lambda x, a, b: x.clamp(max=b).clamp(min=a),
    "HARD_SIGMOID": lambda x, a, b: (a * x + b).clamp(0.0, 1.0),
    "SCALED_TANH": lambda x, a, b: a * torch.tanh(b * x),
    "THRESHOLDED_RELU": lambda x, a, b: torch.where(x > a, x, torch.zeros((), dtype=x.dtype)),
    "GELU_ERF": lambda x, a, b: F.gelu(x),
    "GELU_TANH": lambda x, a, b: F.gelu(x, approximate="tanh"),
}

_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "EXP": torch.exp,
    "LOG": torch.log,
    "SQRT": torch.sqrt,
    "RECIP": torch.reciprocal,
    "ABS": torch.abs,
    "NEG": torch.neg,
    "SIN": torch.sin,
    "COS": torch.cos,
    "TAN": torch.tan,
    "SINH": torch.sinh,
    "COSH": torch.cosh,
    "ASIN": torch.asin,
    "ACOS": torch.acos,
    "ATAN": torch.atan,
    "ASINH": torch.asinh,
    "ACOSH": torch.acosh,
    "ATANH": torch.atanh,
    "CEIL": torch.ceil,
    "FLOOR": torch.floor,
    "ERF": torch.erf,
    "NOT": torch.logical_not,
    "SIGN": torch.sign,
    "ROUND": torch.round,
    "ISINF": torch.isinf,
    "ISNAN": torch.isnan,
}


def _divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dtype.is_floating_point:
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "SUM": torch.add,
    "PROD": torch.mul,
    "MAX": torch.maximum,
    "MIN": torch.minimum,
    "SUB": torch.sub,
    "DIV": _divide,
    "POW": torch.pow,
    "FLOOR_DIV": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "AND": torch.logical_and,
    "OR": torch.logical_or,
    "XOR": torch.logical_xor,
    "EQUAL": torch.eq,
    "GREATER": torch.gt,
    "LESS": torch.lt,
}


_BINARY_IN_PLACE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "SUM": torch.Tensor.add_,
    "PROD": torch.Tensor.mul_,
    "SUB": torch.Tensor.sub_,
    "MAX": lambda a, b: torch.maximum(a, b, out=a),
    "MIN": lambda a, b: torch.minimum(a, b, out=a),
}
_COMMUTATIVE = {"SUM", "PROD", "MAX", "MIN"}


@register("ACTIVATION", donation=True)
def activation(layer: Any, inputs: Inputs, donated: tuple[bool, ...]) -> torch.Tensor:
    kind = layer.type.name  # IActivationLayer.type is the ActivationType
    if kind == "RELU" and donated[0]:
        return torch.relu_(inputs[0])
    return _ACTIVATIONS[kind](inputs[0], layer.alpha, layer.beta)


@register("UNARY")
def unary(layer: Any, inputs: Inputs) -> torch.Tensor:
    return _UNARY[layer.op.name](inputs[0])


@register("ELEMENTWISE", donation=True)
def elementwise(layer: Any, inputs: Inputs, donated: tuple[bool, ...]) -> torch.Tensor:
    """Computes into a donated operand when it already has the result's shape and dtype."""
    op, a, b = layer.op.name, inputs[0], inputs[1]
    if op in _BINARY_IN_PLACE and a.dtype == b.dtype and a.dtype != torch.bool:
        if donated[0] and _covers(a, b):
            return _BINARY_IN_PLACE[op](a, b)
        if donated[1] and _covers(b, a) and op in _COMMUTATIVE:
            return _BINARY_IN_PLACE[op](b, a)
    return _BINARY[op](a, b)


def _covers(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether a (same rank as b, as TensorRT requires) already has the broadcast shape of a and b."""
    return a.dim() == b.dim() and all(n == m or m == 1 for n, m in zip(a.shape, b.shape))


@register("PARAMETRIC_RELU")
def parametric_relu(layer: Any, inputs: Inputs) -> torch.Tensor:
    x, slopes = inputs[0], inputs[1]
    return torch.where(x >= 0, x, x * slopes)


@register("SELECT")
def select(layer: Any, inputs: Inputs) -> torch.Tensor:
    condition, then, otherwise = inputs
    return torch.where(condition, then, otherwise)


@register("CAST")
def cast(layer: Any, inputs: Inputs) -> torch.Tensor:
    return inputs[0].to(dtypes.to_torch(layer.to_type))


@register("IDENTITY")
def identity(layer: Any, inputs: Inputs) -> torch.Tensor:
    return inputs[0]
