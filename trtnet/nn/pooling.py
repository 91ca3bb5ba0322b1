"""Pooling modules in 1-3 spatial dims (PyTorch defaults: stride = kernel size, padding counted in averages)."""

from __future__ import annotations

from typing import Sequence

from trtnet.functional.pooling import adaptive_max_pool, adaptive_pool, avg_pool, max_pool, pool
from trtnet.nn.module import Module
from trtnet.tensor import Tensor

IntOrTuple = int | Sequence[int]


class _MaxPoolNd(Module):
    nd = 0

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 dilation: IntOrTuple = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return max_pool(f"max_pool{self.nd}d", self.nd, x, self.kernel_size, self.stride, self.padding,
                         self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    nd = 1


class MaxPool2d(_MaxPoolNd):
    nd = 2


class MaxPool3d(_MaxPoolNd):
    nd = 3


class AvgPool1d(Module):
    """``torch.nn.AvgPool1d`` (no ``divisor_override``, as torch)."""

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return pool("avg_pool1d", x, "AVERAGE", 1, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    nd = 0

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool(f"avg_pool{self.nd}d", self.nd, x, self.kernel_size, self.stride, self.padding,
                         self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class AvgPool2d(_AvgPoolNd):
    nd = 2


class AvgPool3d(_AvgPoolNd):
    nd = 3


class _AdaptivePoolNd(Module):
    nd, kind = 0, ""

    def __init__(self, output_size: int | Sequence[int | None], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "MAX":
            return adaptive_max_pool(f"adaptive_max_pool{self.nd}d", x, self.nd, self.output_size, self.return_indices)
        return adaptive_pool(f"adaptive_avg_pool{self.nd}d", x, "AVERAGE", self.nd, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    nd, kind = 1, "AVERAGE"

    def __init__(self, output_size: int | Sequence[int]) -> None:
        super().__init__(output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    nd, kind = 2, "AVERAGE"

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__(output_size)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    nd, kind = 3, "AVERAGE"

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__(output_size)


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    nd, kind = 1, "MAX"


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    nd, kind = 2, "MAX"


class AdaptiveMaxPool3d(_AdaptivePoolNd):
    nd, kind = 3, "MAX"
