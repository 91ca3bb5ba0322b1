"""Transposed convolution modules: ``ConvTranspose1d``, ``ConvTranspose2d``, ``ConvTranspose3d``."""

from __future__ import annotations

from typing import Sequence

from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_groups, ntuple
from trtnet.functional.deconv import transposed_convolution
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]


class _ConvTransposeNd(Module):
    """``torch.nn.ConvTranspose{N}d``: parameters ``weight [in, out/groups, *kernel]`` and ``bias [out]``."""

    nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros", device: object = None,
                 dtype: object = None) -> None:
        super().__init__()
        name, nd = type(self).__name__, self.nd
        check_groups(name, groups)
        if in_channels % groups or out_channels % groups:
            raise TrtnetError(f"{name}: in_channels {in_channels} and out_channels {out_channels} "
                              f"must be divisible by groups {groups}")
        if padding_mode != "zeros":
            raise TrtnetError(f"{name}: only padding_mode='zeros' is supported (as in PyTorch), got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.stride, self.padding = ntuple(stride, nd, "stride"), ntuple(padding, nd, "padding")
        self.output_padding = ntuple(output_padding, nd, "output_padding")
        self.dilation = ntuple(dilation, nd, "dilation")
        kind = parameter_dtype(device, dtype)
        self.weight = Parameter((in_channels, out_channels // groups, *self.kernel_size), dtype=kind)
        self.bias = Parameter((out_channels,), dtype=kind) if bias else None

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """PyTorch's ``output_size`` argument: the output padding that reaches it."""
        if output_size is None:
            return self.output_padding
        wanted = list(output_size)[-self.nd:]
        result = []
        for i, want in enumerate(wanted):
            n = x.static_shape[x.ndim - self.nd + i]
            smallest = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not smallest <= want < smallest + self.stride[i]:
                raise ShapeError(f"{type(self).__name__}: requested output size {tuple(wanted)} is not in the range "
                                 f"[{smallest}, {smallest + self.stride[i] - 1}] for dim {x.ndim - self.nd + i}")
            result.append(want - smallest)
        return tuple(result)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return transposed_convolution(f"conv_transpose{self.nd}d", x, self.weight, self.bias, self.stride,
                                      self.padding, self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, groups={self.groups}, "
                f"dilation={self.dilation}, bias={self.bias is not None}")


class ConvTranspose1d(_ConvTransposeNd):
    """``torch.nn.ConvTranspose1d`` on ``(N, C, L)`` or ``(C, L)``."""

    nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """``torch.nn.ConvTranspose2d`` on ``(N, C, H, W)`` or ``(C, H, W)``."""

    nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """``torch.nn.ConvTranspose3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    nd = 3
