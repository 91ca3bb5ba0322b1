"""MobileNetV2 in trtnet, module for module torchvision's ``mobilenet_v2``, so its checkpoints load unchanged.

The twin of :mod:`models.mobilenetv2_torch` (same module tree, state_dict names and shapes, including
BatchNorm's ``num_batches_tracked``: 314 keys at full size). Build from the command line::

    trtnet build models/mobilenetv2.py:mobilenet_v2 --weights mobilenet_v2.safetensors -o mobilenet_v2.engine

Default input ``input`` [N, 3, 224, 224] with a dynamic batch N (profile min 1, opt 2, max 4); output
``output`` [N, num_classes] (logits).
"""

from __future__ import annotations

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet.tensor import Tensor

#: torchvision's default ``inverted_residual_setting``: expansion t, channels c, repeats n, first stride s.
INVERTED_RESIDUAL_SETTING = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def batch_input(channels: int, height: int, width: int, batch: tuple[int, int, int] = (1, 2, 4)) -> trtnet.Input:
    """``input`` [-1, C, H, W] with the batch profile ``(min, opt, max)``."""
    lo, opt, hi = batch
    return trtnet.Input("input", (-1, channels, height, width), min=(lo, channels, height, width),
                        opt=(opt, channels, height, width), max=(hi, channels, height, width))


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of ``divisor``, never more than 10% down."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """torchvision's ``Conv2dNormActivation`` as MobileNetV2 uses it: conv (no bias), BatchNorm, ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """1x1 expansion (unless ``expand_ratio`` is 1), 3x3 depthwise, 1x1 linear projection; residual when the
    stride is 1 and the channel counts agree."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2, got {stride}")
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """Stem, 17 inverted residual blocks, 1x1 head conv, global average pool, dropout + linear."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None, round_nearest: int = 8,
                 last_channel: int = 1280, image_size: int = 224) -> None:
        super().__init__()
        self.default_inputs = [batch_input(3, image_size, image_size)]
        setting = inverted_residual_setting or INVERTED_RESIDUAL_SETTING
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2)]
        for t, c, n, s in setting:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last_channel, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(F.flatten(x, 1))


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None, last_channel: int = 1280,
                 image_size: int = 224) -> MobileNetV2:
    """torchvision's ``mobilenet_v2``; ``width_mult``, ``inverted_residual_setting``, ``last_channel`` and
    ``image_size`` (of the default input) shrink it for tests."""
    return MobileNetV2(num_classes, width_mult, inverted_residual_setting, last_channel=last_channel,
                       image_size=image_size)
