"""Activations (``IActivationLayer``), and the ones PyTorch has that TensorRT builds from two layers."""

from __future__ import annotations

from trtnet import graph
from trtnet.errors import TrtnetError
from trtnet.functional._util import out, trt
from trtnet.functional.elementwise import mul
from trtnet.tensor import Tensor


def activation(op: str, x: Tensor, kind: str, alpha: float | None = None, beta: float | None = None) -> Tensor:
    """Lower one ``ActivationType`` (by name) with its alpha/beta."""
    layer = graph.current().network.add_activation(x.itensor, getattr(trt().ActivationType, kind))
    if alpha is not None:
        layer.alpha = float(alpha)
    if beta is not None:
        layer.beta = float(beta)
    return out(graph.current().add(op, layer))


def relu(x: Tensor) -> Tensor:
    return activation("relu", x, "RELU")


def relu6(x: Tensor) -> Tensor:
    return activation("relu6", x, "CLIP", 0.0, 6.0)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return activation("hardtanh", x, "CLIP", min_val, max_val)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return activation("leaky_relu", x, "LEAKY_RELU", negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return activation("elu", x, "ELU", alpha)


def sigmoid(x: Tensor) -> Tensor:
    return activation("sigmoid", x, "SIGMOID")


def tanh(x: Tensor) -> Tensor:
    return activation("tanh", x, "TANH")


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """PyTorch's GELU: ``approximate='none'`` (erf) or ``'tanh'``."""
    kinds = {"none": "GELU_ERF", "tanh": "GELU_TANH"}
    if approximate not in kinds:
        raise TrtnetError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation("gelu", x, kinds[approximate])


def hardsigmoid(x: Tensor) -> Tensor:
    """PyTorch's hardsigmoid: ``clip(x/6 + 1/2, 0, 1)``."""
    return activation("hardsigmoid", x, "HARD_SIGMOID", 1.0 / 6.0, 0.5)


def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)``: TensorRT has no SiLU activation."""
    return mul(x, sigmoid(x))


def hardswish(x: Tensor) -> Tensor:
    """``x * hardsigmoid(x)``."""
    return mul(x, hardsigmoid(x))
