"""Convolution modules."""

from __future__ import annotations

from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.functional._util import check_groups, ntuple
from trtnet.nn.module import Module
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class Conv2d(Module):
    """``torch.nn.Conv2d``: parameters ``weight [out, in/groups, kh, kw]`` and ``bias [out]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        check_groups("Conv2d", groups)
        if in_channels % groups or out_channels % groups:
            raise TrtnetError(f"Conv2d: in_channels {in_channels} and out_channels {out_channels} "
                              f"must be divisible by groups {groups}")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise TrtnetError(f"Conv2d: invalid padding string {padding!r}, should be one of 'valid', 'same'")
        if padding_mode != "zeros":
            raise TrtnetError(f"Conv2d: padding_mode={padding_mode!r} is not supported (only 'zeros'); "
                              "pad explicitly with trtnet.functional.pad")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size")
        self.stride, self.dilation = ntuple(stride, 2, "stride"), ntuple(dilation, 2, "dilation")
        self.padding = padding if isinstance(padding, str) else ntuple(padding, 2, "padding")
        self.weight = Parameter((out_channels, in_channels // groups, *self.kernel_size))
        self.bias = Parameter((out_channels,)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}")
