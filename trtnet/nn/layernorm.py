"""``LayerNorm`` and ``GroupNorm`` (``INormalizationLayer``) and ``RMSNorm``, with PyTorch's parameter names and
shapes."""

from __future__ import annotations

from typing import Any, Sequence

from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class LayerNorm(Module):
    """``torch.nn.LayerNorm``: ``weight``/``bias`` of ``normalized_shape`` (``bias=False`` drops the bias)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        kind = parameter_dtype(device, dtype)
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        self.weight = Parameter(self.normalized_shape, dtype=kind) if elementwise_affine else None
        self.bias = Parameter(self.normalized_shape, dtype=kind) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """``torch.nn.GroupNorm``: ``weight``/``bias`` of ``[num_channels]`` when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        kind = parameter_dtype(device, dtype)
        if num_groups <= 0 or num_channels % num_groups:
            raise TrtnetError(f"GroupNorm: num_channels {num_channels} must be divisible by num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter((num_channels,), dtype=kind) if affine else None
        self.bias = Parameter((num_channels,), dtype=kind) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """``torch.nn.RMSNorm``: ``weight`` of ``normalized_shape`` when ``elementwise_affine``; ``eps=None`` is torch's
    default (float32's machine epsilon)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        kind = parameter_dtype(device, dtype)
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        self.weight = Parameter(self.normalized_shape, dtype=kind) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    return (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(d) for d in normalized_shape)
