"""Activations (``IActivationLayer``, ``IParametricReLULayer``), and the ones PyTorch has that TensorRT builds from
several layers.

``inplace=`` is accepted wherever torch takes it and changes nothing: tracing builds a new tensor per op, and no
trtnet tensor is ever written in place, so the in-place and out-of-place forms compute the same network.
TensorRT's kinds are used where NvInfer.h's formula is torch's (ELU, SELU, SOFTSIGN, CLIP, HARD_SIGMOID, GELU);
SOFTPLUS (``alpha * log(exp(beta * x) + 1)``) only ever sees ``-|beta x| <= 0``, so its exponential can't overflow,
in fp16 either (softplus, logsigmoid, mish).
"""

from __future__ import annotations

import builtins

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_same_dtype, normalize_dim, out, parameter_values
from trtnet.functional.elementwise import add, minimum, mul, sub
from trtnet.functional.indexing import narrow
from trtnet.functional.pointwise import abs, exp, gt, le, where
from trtnet.functional.shape import reshape
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

# torch.nn.SELU's constants (Klambauer et al.)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation(op: str, x: Tensor, kind: str, alpha: float | None = None, beta: float | None = None) -> Tensor:
    """Lower one ``ActivationType`` (by name) with its alpha/beta."""
    g = graph.current()
    layer = g.network.add_activation(x.itensor, getattr(g.backend.trt.ActivationType, kind))
    if alpha is not None:
        layer.alpha = float(alpha)
    if beta is not None:
        layer.beta = float(beta)
    return g.output(op, layer, x.static_shape, x.dtype)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return activation("relu", input, "RELU")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return activation("relu6", input, "CLIP", 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise TrtnetError("hardtanh: min_val cannot be greater than max_val")
    return activation("hardtanh", input, "CLIP", min_val, max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return activation("leaky_relu", input, "LEAKY_RELU", negative_slope)


def rrelu(input: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU in eval: a leaky ReLU with the mean slope ``(lower + upper) / 2``."""
    if training:
        raise TrtnetError("rrelu: training=True draws random slopes; TensorRT builds inference engines "
                          "(training=False uses the mean slope)")
    return activation("rrelu", input, "LEAKY_RELU", (lower + upper) / 2.0)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return activation("elu", input, "ELU", alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * (x if x > 0 else alpha * (exp(x) - 1))``: TensorRT's SELU with torch's constants."""
    return activation("selu", input, "SELU", SELU_ALPHA, SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x if x > 0 else alpha * (exp(x / alpha) - 1)`` (torch's kernel): TensorRT's SELU (alpha 1, scale ``alpha``)
    of ``x / alpha`` for ``alpha > 0``; a negative alpha flips the sign of ``x / alpha``, so it selects explicitly."""
    if alpha == 0:
        raise TrtnetError("ZeroDivisionError: alpha cannot be 0 for CELU")
    if alpha > 0:
        return activation("celu", mul(input, 1.0 / alpha), "SELU", 1.0, alpha)
    return where(gt(input, 0.0), input, mul(sub(exp(mul(input, 1.0 / alpha)), 1.0), alpha))


def sigmoid(input: Tensor) -> Tensor:
    return activation("sigmoid", input, "SIGMOID")


def tanh(input: Tensor) -> Tensor:
    return activation("tanh", input, "TANH")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """PyTorch's GELU: ``approximate='none'`` (erf) or ``'tanh'``."""
    kinds = {"none": "GELU_ERF", "tanh": "GELU_TANH"}
    if approximate not in kinds:
        raise TrtnetError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation("gelu", input, kinds[approximate])


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """PyTorch's hardsigmoid: ``clip(x/6 + 1/2, 0, 1)``."""
    return activation("hardsigmoid", input, "HARD_SIGMOID", 1.0 / 6.0, 0.5)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``: TensorRT has no SiLU activation."""
    return mul(input, sigmoid(input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``."""
    return mul(input, hardsigmoid(input))


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return activation("softsign", input, "SOFTSIGN")


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return sub(input, tanh(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """torch's softplus: ``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    Computed as ``max(x, 0) + log(1 + exp(-|beta x|)) / beta`` (``min(x, 0)`` for a negative beta)."""
    if beta == 0:
        raise TrtnetError("softplus: beta must not be 0 (torch divides by it)")
    linear_part = relu(input) if beta > 0 else minimum(input, 0.0)
    smooth = activation("softplus", abs(input), "SOFTPLUS", 1.0 / beta, -builtins.abs(beta))
    above = gt(input if beta == 1 else mul(input, beta), threshold)
    return where(above, input, add(linear_part, smooth))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))``, stable for large ``|x|`` (= ``-softplus(-x)``)."""
    return add(minimum(input, 0.0), activation("logsigmoid", abs(input), "SOFTPLUS", -1.0, -1.0))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return mul(input, tanh(softplus(input)))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``0`` where ``-lambd <= x <= lambd``, else ``x``."""
    return where(le(abs(input), lambd), 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - clip(x, -lambd, lambd)``: ``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    if lambd < 0:
        raise TrtnetError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    return sub(input, activation("softshrink", input, "CLIP", -lambd, lambd))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where ``x <= threshold``, else ``x``."""
    return where(le(input, threshold), value, input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` of the two halves ``a, b`` of ``dim``."""
    if input.ndim == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    dim = normalize_dim(dim, input.ndim)
    size = input.static_shape[dim]
    if size == -1:
        raise ShapeError(f"glu: dimension {dim} is dynamic; the halved dimension must be static")
    if size % 2:
        raise ShapeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    half = size // 2
    return mul(narrow(input, dim, 0, half), sigmoid(narrow(input, dim, half, half)))


def prelu(input: Tensor, weight: Parameter | np.ndarray) -> Tensor:
    """``x if x >= 0 else weight * x``; ``weight`` holds one slope or one per channel (dim 1)."""
    if input.ndim == 0:  # torch takes a 0-d input as one element
        return reshape(prelu(reshape(input, (1,)), weight), ())
    values, weight_dtype = parameter_values(weight, "weight")
    check_same_dtype(weight_dtype, input.dtype, "weight")
    channels = input.static_shape[1] if input.ndim >= 2 else 1
    if channels == -1 and values.size != 1:
        raise ShapeError("prelu: the channel dim (1) is dynamic; one slope per channel needs it static")
    if values.size != 1 and values.size != channels:
        raise ShapeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                         f"{values.size} and channel size = {channels}.")
    shape = [1] * input.ndim
    if values.size != 1:
        shape[1] = values.size
    g = graph.current()
    slopes = g.constant(values.reshape(shape), input.dtype, name=g.parameter_names.get(id(weight)), cache_key=weight)
    return out(g.add("prelu", g.network.add_parametric_relu(input.itensor, slopes.itensor)))
