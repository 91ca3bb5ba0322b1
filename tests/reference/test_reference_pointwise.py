"""Activation, unary, elementwise, parametric ReLU, select, cast and identity against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt

ALPHA, BETA = 0.3, 1.7

ACTIVATIONS = {  # NvInfer.h formulas written with torch.nn.functional where it has them
    "RELU": lambda x: F.relu(x),
    "SIGMOID": lambda x: torch.sigmoid(x),
    "TANH": lambda x: torch.tanh(x),
    "LEAKY_RELU": lambda x: F.leaky_relu(x, ALPHA),
    "ELU": lambda x: F.elu(x, ALPHA),
    "SELU": lambda x: BETA * (F.relu(x) - ALPHA * F.relu(1 - torch.exp(x))),
    "SOFTSIGN": lambda x: x / (1 + x.abs()),
    "SOFTPLUS": lambda x: ALPHA * torch.log1p(torch.exp(BETA * x)),
    "CLIP": lambda x: torch.clamp(x, ALPHA, BETA),
    "HARD_SIGMOID": lambda x: torch.clamp(ALPHA * x + BETA, 0, 1),
    "SCALED_TANH": lambda x: ALPHA * torch.tanh(BETA * x),
    "THRESHOLDED_RELU": lambda x: F.threshold(x, ALPHA, 0.0),
    "GELU_ERF": lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))),
    "GELU_TANH": lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
}


def test_every_activation_type_is_covered():
    assert set(ACTIVATIONS) == {n for n in dir(trt.ActivationType) if n.isupper()}


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation(kind):
    net = RawNet()
    x_val = randn(2, 3, 4, 5, seed=1) * 2
    layer = net.network.add_activation(net.input("x", x_val.shape), getattr(trt.ActivationType, kind))
    layer.alpha, layer.beta = ALPHA, BETA
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, ACTIVATIONS[kind](torch.from_numpy(x_val).double()), atol=1e-5)


def test_relu_of_integers_stays_integer():
    net = RawNet()
    layer = net.network.add_activation(net.input("x", (5,), trt.int32), trt.ActivationType.RELU)
    got = single(net, layer.get_output(0), {"x": np.array([-2, -1, 0, 1, 7], np.int32)})
    assert got.dtype == torch.int32 and got.tolist() == [0, 0, 0, 1, 7]


UNARY = {
    "EXP": (torch.exp, "any"),
    "LOG": (torch.log, "positive"),
    "SQRT": (torch.sqrt, "positive"),
    "RECIP": (lambda x: 1 / x, "positive"),
    "ABS": (torch.abs, "any"),
    "NEG": (lambda x: -x, "any"),
    "SIN": (torch.sin, "any"),
    "COS": (torch.cos, "any"),
    "TAN": (torch.tan, "unit"),
    "SINH": (torch.sinh, "any"),
    "COSH": (torch.cosh, "any"),
    "ASIN": (torch.asin, "unit"),
    "ACOS": (torch.acos, "unit"),
    "ATAN": (torch.atan, "any"),
    "ASINH": (torch.asinh, "any"),
    "ACOSH": (torch.acosh, "above_one"),
    "ATANH": (torch.atanh, "unit"),
    "CEIL": (torch.ceil, "any"),
    "FLOOR": (torch.floor, "any"),
    "ERF": (torch.erf, "any"),
    "SIGN": (torch.sign, "any"),
    "ROUND": (lambda x: torch.from_numpy(np.round(x.numpy())), "halves"),  # numpy rounds half to even
}
DOMAINS = {
    "any": lambda v: v * 2,
    "positive": lambda v: np.abs(v) + 0.1,
    "unit": lambda v: np.tanh(v) * 0.9,
    "above_one": lambda v: np.abs(v) + 1.0,
    "halves": lambda v: np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6], np.float32),
}


def test_every_unary_operation_is_covered():
    assert set(UNARY) | {"NOT", "ISINF", "ISNAN"} == {n for n in dir(trt.UnaryOperation) if n.isupper()}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op):
    fn, domain = UNARY[op]
    x_val = DOMAINS[domain](randn(8, seed=2)).astype(np.float32)
    net = RawNet()
    layer = net.network.add_unary(net.input("x", x_val.shape), getattr(trt.UnaryOperation, op))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, fn(torch.from_numpy(x_val).double()), atol=1e-5)


@pytest.mark.parametrize("op", ["ISINF", "ISNAN"])
def test_unary_float_predicates(op):
    x_val = np.array([1.0, np.inf, -np.inf, np.nan, 0.0], np.float32)
    net = RawNet()
    layer = net.network.add_unary(net.input("x", x_val.shape), getattr(trt.UnaryOperation, op))
    got = single(net, layer.get_output(0), {"x": x_val})
    expected = np.isinf(x_val) if op == "ISINF" else np.isnan(x_val)
    assert got.dtype == torch.bool and got.tolist() == expected.tolist()


def test_unary_not_and_integer_abs_sign():
    net = RawNet()
    b = net.network.add_unary(net.input("b", (3,), trt.bool), trt.UnaryOperation.NOT)
    i = net.input("i", (4,), trt.int64)
    absolute = net.network.add_unary(i, trt.UnaryOperation.ABS)
    sign = net.network.add_unary(i, trt.UnaryOperation.SIGN)
    net.mark(b.get_output(0), absolute.get_output(0), sign.get_output(0))
    got = net.run({"b": np.array([True, False, True]), "i": np.array([-3, 0, 2, -1], np.int64)})
    assert got[b.get_output(0).name].tolist() == [False, True, False]
    assert got[absolute.get_output(0).name].tolist() == [3, 0, 2, 1]
    assert got[sign.get_output(0).name].tolist() == [-1, 0, 1, -1]
    assert got[absolute.get_output(0).name].dtype == torch.int64


FLOAT_BINARY = {
    "SUM": torch.add,
    "PROD": torch.mul,
    "MAX": torch.maximum,
    "MIN": torch.minimum,
    "SUB": torch.sub,
    "DIV": torch.div,
    "POW": lambda a, b: torch.abs(a) ** b,
    "FLOOR_DIV": lambda a, b: torch.floor(a / b),
    "EQUAL": torch.eq,
    "GREATER": torch.gt,
    "LESS": torch.lt,
}
# Every broadcast is over size-1 dims of equal-rank operands.
BROADCASTS = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (1, 3, 1)), ((2, 1, 4), (1, 3, 1)), ((1, 1, 1), (2, 3, 4))]


def test_every_elementwise_operation_is_covered():
    assert set(FLOAT_BINARY) | {"AND", "OR", "XOR"} == {n for n in dir(trt.ElementWiseOperation) if n.isupper()}


@pytest.mark.parametrize("op", sorted(FLOAT_BINARY))
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_elementwise_float(op, shapes):
    a_val, b_val = randn(*shapes[0], seed=3), randn(*shapes[1], seed=4)
    if op == "POW":
        a_val = np.abs(a_val)
    if op in ("EQUAL", "GREATER", "LESS"):
        a_val, b_val = np.round(a_val), np.round(b_val)  # some equal pairs
    if op in ("DIV", "FLOOR_DIV"):
        b_val = np.where(np.abs(b_val) < 0.1, 0.5, b_val).astype(np.float32)
    net = RawNet()
    a, b = net.input("a", a_val.shape), net.const(b_val)
    layer = net.network.add_elementwise(a, b, getattr(trt.ElementWiseOperation, op))
    got = single(net, layer.get_output(0), {"a": a_val})
    expected = FLOAT_BINARY[op](torch.from_numpy(a_val).double(), torch.from_numpy(b_val).double())
    if expected.dtype == torch.bool:
        assert got.dtype == torch.bool
    close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "op,expected",
    [("DIV", [3, -3, -3, 3]), ("FLOOR_DIV", [3, -4, -4, 3]), ("SUM", [9, -5, 5, -9]), ("POW", [343, -343, 49, 49])],
)
def test_elementwise_int32(op, expected):
    a_val, b_val = np.array([7, -7, 7, -7], np.int32), np.array([2, 2, -2, -2], np.int32)
    if op == "POW":
        b_val = np.array([3, 3, 2, 2], np.int32)
    net = RawNet()
    layer = net.network.add_elementwise(net.input("a", (4,), trt.int32), net.input("b", (4,), trt.int32), getattr(trt.ElementWiseOperation, op))
    got = single(net, layer.get_output(0), {"a": a_val, "b": b_val})
    assert got.dtype == torch.int32 and got.tolist() == expected


@pytest.mark.parametrize("op,fn", [("AND", np.logical_and), ("OR", np.logical_or), ("XOR", np.logical_xor)])
def test_elementwise_logical(op, fn):
    a_val = np.array([[True, False, True, False]])
    b_val = np.array([[True], [False]])
    net = RawNet()
    a, b = net.input("a", a_val.shape, trt.bool), net.input("b", b_val.shape, trt.bool)
    layer = net.network.add_elementwise(a, b, getattr(trt.ElementWiseOperation, op))
    got = single(net, layer.get_output(0), {"a": a_val, "b": b_val})
    assert got.dtype == torch.bool and got.tolist() == fn(a_val, b_val).tolist()


def test_parametric_relu_with_broadcast_slopes():
    x_val, slopes = randn(2, 3, 4, 4, seed=5), np.array([0.1, -0.2, 0.3], np.float32).reshape(1, 3, 1, 1)
    net = RawNet()
    layer = net.network.add_parametric_relu(net.input("x", x_val.shape), net.const(slopes))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.prelu(torch.from_numpy(x_val), torch.from_numpy(slopes.reshape(3))))


def test_select_broadcasts_condition():
    cond, a_val, b_val = np.array([[True], [False]]), randn(2, 3, seed=6), randn(1, 3, seed=7)
    net = RawNet()
    layer = net.network.add_select(net.input("c", cond.shape, trt.bool), net.input("a", a_val.shape), net.const(b_val))
    got = single(net, layer.get_output(0), {"c": cond, "a": a_val})
    close(got, np.where(cond, a_val, b_val))


@pytest.mark.parametrize(
    "to,values,expected",
    [
        ("int32", [1.7, -1.7, 2.5, -0.2], [1, -1, 2, 0]),
        ("bool", [0.0, -1.5, 2.0, 0.0], [False, True, True, False]),
        ("float16", [1.0001, 65504.0, -2.5, 3.14159], [1.0, 65504.0, -2.5, 3.140625]),
    ],
)
def test_cast_from_float(to, values, expected):
    net = RawNet()
    layer = net.network.add_cast(net.input("x", (4,)), getattr(trt, to))
    got = single(net, layer.get_output(0), {"x": np.array(values, np.float32)})
    assert got.dtype == getattr(torch, to) and got.tolist() == expected


def test_cast_and_identity_from_integer_and_bool():
    net = RawNet()
    i = net.input("i", (3,), trt.int64)
    to_float = net.network.add_cast(i, trt.float32)
    to_int = net.network.add_cast(net.input("b", (3,), trt.bool), trt.int32)
    same = net.network.add_identity(i)
    net.mark(to_float.get_output(0), to_int.get_output(0), same.get_output(0))
    got = net.run({"i": np.array([3, -4, 5], np.int64), "b": np.array([True, False, True])})
    assert got[to_float.get_output(0).name].tolist() == [3.0, -4.0, 5.0]
    assert got[to_int.get_output(0).name].tolist() == [1, 0, 1]
    assert got[same.get_output(0).name].dtype == torch.int64
