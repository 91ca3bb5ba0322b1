"""Transposed convolution modules."""

from __future__ import annotations

from typing import Sequence

from trtnet import functional as F
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_groups, ntuple
from trtnet.nn.module import Module
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class ConvTranspose2d(Module):
    """``torch.nn.ConvTranspose2d``: parameters ``weight [in, out/groups, kh, kw]`` and ``bias [out]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, int] = 1, padding_mode: str = "zeros", device: object = None,
                 dtype: object = None) -> None:
        super().__init__()
        check_groups("ConvTranspose2d", groups)
        if in_channels % groups or out_channels % groups:
            raise TrtnetError(f"ConvTranspose2d: in_channels {in_channels} and out_channels {out_channels} "
                              f"must be divisible by groups {groups}")
        if padding_mode != "zeros":
            raise TrtnetError(f"ConvTranspose2d: only padding_mode='zeros' is supported (as in PyTorch), "
                              f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size")
        self.stride, self.padding = ntuple(stride, 2, "stride"), ntuple(padding, 2, "padding")
        self.output_padding = ntuple(output_padding, 2, "output_padding")
        self.dilation = ntuple(dilation, 2, "dilation")
        self.weight = Parameter((in_channels, out_channels // groups, *self.kernel_size))
        self.bias = Parameter((out_channels,)) if bias else None

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, int]:
        """PyTorch's ``output_size`` argument: the output padding that reaches it."""
        if output_size is None:
            return self.output_padding
        wanted = list(output_size)[-2:]
        result = []
        for i, want in enumerate(wanted):
            n = x.static_shape[2 + i]
            smallest = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not smallest <= want < smallest + self.stride[i]:
                raise ShapeError(f"ConvTranspose2d: requested output size {tuple(wanted)} is not in the range "
                                 f"[{smallest}, {smallest + self.stride[i] - 1}] for dim {2 + i}")
            result.append(want - smallest)
        return tuple(result)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, groups={self.groups}, "
                f"dilation={self.dilation}, bias={self.bias is not None}")
