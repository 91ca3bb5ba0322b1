"""Convolution modules: ``Conv1d``, ``Conv2d``, ``Conv3d`` (PyTorch's arguments, incl. ``padding_mode``)."""

from __future__ import annotations

from typing import Sequence

from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.functional._util import check_groups, ntuple
from trtnet.functional.conv import convolution
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """``torch.nn.Conv{N}d``: parameters ``weight [out, in/groups, *kernel]`` and ``bias [out]``. A
    ``padding_mode`` other than ``'zeros'`` pads with ``F.pad`` first and convolves unpadded, as PyTorch."""

    nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: object = None, dtype: object = None) -> None:
        super().__init__()
        name, nd = type(self).__name__, self.nd
        check_groups(name, groups)
        if in_channels % groups or out_channels % groups:
            raise TrtnetError(f"{name}: in_channels {in_channels} and out_channels {out_channels} "
                              f"must be divisible by groups {groups}")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise TrtnetError(f"{name}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
        if padding_mode not in PADDING_MODES:
            raise TrtnetError(f"{name}: padding_mode must be one of {set(PADDING_MODES)}, but got "
                              f"padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.stride, self.dilation = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
        self.padding = padding if isinstance(padding, str) else ntuple(padding, nd, "padding")
        self.padding_mode = padding_mode
        kind = parameter_dtype(device, dtype)
        self.weight = Parameter((out_channels, in_channels // groups, *self.kernel_size), dtype=kind)
        self.bias = Parameter((out_channels,), dtype=kind) if bias else None

    def _explicit_padding(self) -> list[int]:
        """``F.pad``'s pairs for ``padding`` (``'same'``: the odd pixel after), last dim first, as PyTorch's
        ``_reversed_padding_repeated_twice``."""
        if self.padding == "valid":
            return [0, 0] * self.nd
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            return [v for t in reversed(totals) for v in (t // 2, t - t // 2)]
        return [p for p in reversed(self.padding) for _ in (0, 1)]

    def forward(self, x: Tensor) -> Tensor:
        op = f"conv{self.nd}d"
        if self.padding_mode == "zeros":
            return convolution(op, x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise TrtnetError(f"{op}: padding='same' is not supported for strided convolutions (as in PyTorch)")
        padded = F.pad(x, self._explicit_padding(), mode=self.padding_mode)
        return convolution(op, padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}"
                + ("" if self.padding_mode == "zeros" else f", padding_mode={self.padding_mode!r}"))


class Conv1d(_ConvNd):
    """``torch.nn.Conv1d`` on ``(N, C, L)`` or ``(C, L)``."""

    nd = 1


class Conv2d(_ConvNd):
    """``torch.nn.Conv2d`` on ``(N, C, H, W)`` or ``(C, H, W)``."""

    nd = 2


class Conv3d(_ConvNd):
    """``torch.nn.Conv3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    nd = 3
