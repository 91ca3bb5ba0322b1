"""VGG-16 in trtnet, module for module torchvision's ``vgg16`` (no batch norm), so its checkpoints load unchanged.

The twin of :mod:`models.vgg_torch` (same state_dict names and shapes: 32 keys at full size). Build::

    trtnet build models/vgg.py:vgg16 --weights vgg16.safetensors -o vgg16.engine

Default input ``input`` [N, 3, 224, 224] with a dynamic batch N (profile min 1, opt 2, max 4); output
``output`` [N, num_classes]. The adaptive 7x7 average pool is a single pooling layer when the feature map
is a multiple of 7 (224x224 input: 7x7, an identity pool).
"""

from __future__ import annotations

import trtnet.functional as F
import trtnet.nn as nn
from models.mobilenetv2 import batch_input
from trtnet.tensor import Tensor

#: torchvision's configurations (numbers are conv widths, "M" a 2x2 max pool).
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: list[int | str], width_divisor: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out_channels = max(1, int(v) // width_divisor)
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features``, ``avgpool`` (adaptive, 7x7), ``classifier`` (three linears)."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, width_divisor: int = 1,
                 dropout: float = 0.5, image_size: int = 224) -> None:
        super().__init__()
        self.default_inputs = [batch_input(3, image_size, image_size)]
        last = max(1, 512 // width_divisor)
        hidden = max(1, 4096 // width_divisor)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(F.flatten(x, 1))


def vgg16(num_classes: int = 1000, width_divisor: int = 1, image_size: int = 224) -> VGG:
    """torchvision's ``vgg16``; ``width_divisor`` divides every conv and linear width (tests). ``image_size``
    sets the default input; the adaptive 7x7 pool needs a feature map that is a multiple of 7 (224, 448...)."""
    return VGG(make_layers(CFGS["D"], width_divisor), num_classes, width_divisor, image_size=image_size)
