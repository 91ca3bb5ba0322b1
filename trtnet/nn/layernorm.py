"""``LayerNorm`` and ``GroupNorm`` (``INormalizationLayer``), with PyTorch's parameter names and shapes."""

from __future__ import annotations

from typing import Sequence

from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.nn.module import Module
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class LayerNorm(Module):
    """``torch.nn.LayerNorm``: ``weight``/``bias`` of ``normalized_shape`` (``bias=False`` drops the bias)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: object = None, dtype: object = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(int(d) for d in shape), eps, elementwise_affine
        self.weight = Parameter(self.normalized_shape) if elementwise_affine else None
        self.bias = Parameter(self.normalized_shape) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """``torch.nn.GroupNorm``: ``weight``/``bias`` of ``[num_channels]`` when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: object = None, dtype: object = None) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise TrtnetError(f"GroupNorm: num_channels {num_channels} must be divisible by num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter((num_channels,)) if affine else None
        self.bias = Parameter((num_channels,)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
