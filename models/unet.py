"""U-Net in trtnet, module for module the "milesial Pytorch-UNet" (:mod:`models.unet_torch` is its twin).

``base`` (64) and ``depth`` (4) generalise the classic model; ``bilinear`` chooses ``nn.Upsample`` (bilinear,
align_corners=True) over ``nn.ConvTranspose2d`` for the up path. Build::

    trtnet build models/unet.py:unet --weights unet.safetensors -o unet.engine

Default input ``input`` [N, 3, 256, 256] with a dynamic batch N (profile min 1, opt 2, max 4); output
``output`` [N, n_classes, 256, 256] (per-pixel logits). Spatial sizes are static: the pad that aligns an
upsampled map with its skip connection is computed at build time (none for sizes divisible by 2^depth).
"""

from __future__ import annotations

import trtnet.functional as F
import trtnet.nn as nn
from models.mobilenetv2 import batch_input
from trtnet.tensor import Tensor


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

    def forward(self, x: Tensor) -> Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """2x2 max pool, then DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: Tensor) -> Tensor:
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

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1 = self.up(x1)
        diff_y = x2.shape[2] - x1.shape[2]
        diff_x = x2.shape[3] - x1.shape[3]
        if diff_x or diff_y:
            x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(F.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """``inc``, ``down1..d``, ``up1..d``, ``outc``; ``base`` and ``depth`` generalise the classic 64/4."""

    def __init__(self, n_channels: int = 3, n_classes: int = 2, bilinear: bool = False, base: int = 64,
                 depth: int = 4, image_size: int = 256) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.default_inputs = [batch_input(n_channels, image_size, image_size)]
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

    def forward(self, x: Tensor) -> Tensor:
        skips = [self.inc(x)]
        for k in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{k}")(skips[-1]))
        x = skips.pop()
        for k in range(1, self.depth + 1):
            x = getattr(self, f"up{k}")(x, skips.pop())
        return self.outc(x)


def unet(n_channels: int = 3, n_classes: int = 2, bilinear: bool = False, base: int = 64, depth: int = 4,
         image_size: int = 256) -> UNet:
    """The classic U-Net (base 64, depth 4, default input 256x256); smaller ``base``/``depth`` for tests."""
    return UNet(n_channels, n_classes, bilinear, base, depth, image_size)
