"""``Linear``: ``x @ weight.T + bias`` over any number of leading dims."""

from __future__ import annotations

from typing import Any

from trtnet import functional as F
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        kind = parameter_dtype(device, dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter((out_features, in_features), dtype=kind)
        self.bias = Parameter((out_features,), dtype=kind) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
