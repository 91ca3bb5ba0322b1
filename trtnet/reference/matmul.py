"""Matrix multiply (MatrixOperation NONE / TRANSPOSE / VECTOR per operand, batch dims broadcast) and einsum."""

from __future__ import annotations

from typing import Any

import torch

from trtnet.reference.registry import Inputs, register


def _operand(x: torch.Tensor, op_name: str) -> tuple[torch.Tensor, bool]:
    """(the operand as matrices, whether it is a collection of vectors)."""
    if op_name == "TRANSPOSE":
        return x.transpose(-1, -2), False
    return x, op_name == "VECTOR"


@register("MATRIX_MULTIPLY")
def matrix_multiply(layer: Any, inputs: Inputs) -> torch.Tensor:
    a, a_is_vector = _operand(inputs[0], layer.op0.name)
    b, b_is_vector = _operand(inputs[1], layer.op1.name)
    y = torch.matmul(a.unsqueeze(-2) if a_is_vector else a, b.unsqueeze(-1) if b_is_vector else b)
    if b_is_vector:
        y = y.squeeze(-1)
    if a_is_vector:
        y = y.squeeze(-1 if b_is_vector else -2)
    return y


@register("EINSUM")
def einsum(layer: Any, inputs: Inputs) -> torch.Tensor:
    return torch.einsum(layer.equation, *inputs)
