"""U-Net in plain PyTorch, in the structure and state_dict names of the widely used "milesial Pytorch-UNet".

With ``base`` B and ``depth`` d (the classic model: B 64, d 4)::

    inc.double_conv.{0,3}.weight  inc.double_conv.{1,4}.* (BatchNorm)        DoubleConv(n_channels, B)
    down{k}.maxpool_conv.0 MaxPool2d(2)  down{k}.maxpool_conv.1.double_conv.*   k = 1..d, width B*2^k
                                                                            (the last one / factor)
    up{k}.up: ConvTranspose2d(C, C/2, 2, stride 2) (.weight, .bias)     or  Upsample(x2, bilinear, align_corners)
    up{k}.conv.double_conv.*                                                 DoubleConv after cat([skip, up])
    outc.conv.{weight,bias}                                                 1x1 conv to n_classes

``factor`` is 2 with bilinear upsampling (the deepest block and the ups halve their outputs), 1 otherwise.
Convs inside DoubleConv have no bias, each is followed by BatchNorm and ReLU.
UNet(3, 2, bilinear=False): 118 state_dict keys (100 without num_batches_tracked), 31,037,698 parameters.
UNet(3, 2, bilinear=True): 110 state_dict keys (92 without num_batches_tracked), 17,263,042 parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    """(3x3 conv, BatchNorm, ReLU) twice."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None) -> None:
        super().__init__()
        mid_channels = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """2x2 max pool, then DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upsample x1 by 2, pad it to the skip's size, concatenate ``[skip, x1]`` on channels, DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = False) -> None:
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """``inc``, ``down1..d``, ``up1..d``, ``outc``; ``base`` and ``depth`` generalise the classic 64/4."""

    def __init__(self, n_channels: int = 3, n_classes: int = 2, bilinear: bool = False, base: int = 64,
                 depth: int = 4) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.n_channels, self.n_classes, self.bilinear, self.depth = n_channels, n_classes, bilinear, depth
        factor = 2 if bilinear else 1
        widths = [base * 2 ** k for k in range(depth + 1)]
        self.inc = DoubleConv(n_channels, widths[0])
        for k in range(1, depth + 1):
            out = widths[k] // factor if k == depth else widths[k]
            setattr(self, f"down{k}", Down(widths[k - 1], out))
        for k in range(1, depth + 1):
            in_ch = widths[depth - k + 1]
            out = widths[depth - k] // factor if k < depth else widths[0]
            setattr(self, f"up{k}", Up(in_ch, out, bilinear))
        self.outc = OutConv(widths[0], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for k in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{k}")(skips[-1]))
        x = skips.pop()
        for k in range(1, self.depth + 1):
            x = getattr(self, f"up{k}")(x, skips.pop())
        return self.outc(x)


def unet(n_channels: int = 3, n_classes: int = 2, bilinear: bool = False, base: int = 64, depth: int = 4) -> UNet:
    """The classic U-Net (base 64, depth 4); smaller ``base``/``depth`` for tests."""
    return UNet(n_channels, n_classes, bilinear, base, depth)
