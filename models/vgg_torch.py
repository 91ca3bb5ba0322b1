"""VGG in plain PyTorch with torchvision's module structure and state_dict names (no torchvision needed).

Matches ``torchvision.models.vgg16`` (configuration "D", no batch norm). Names::

    features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}   3x3 convs, padding 1, each followed by ReLU;
                                                                  MaxPool2d(2, 2) at 4, 9, 16, 23, 30
    avgpool AdaptiveAvgPool2d((7, 7)), flatten
    classifier.0 Linear(512*7*7, 4096), 1 ReLU, 2 Dropout, 3 Linear(4096, 4096), 4 ReLU, 5 Dropout,
    classifier.6 Linear(4096, num_classes)

vgg16: 32 state_dict keys, 138,357,544 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

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
                 dropout: float = 0.5) -> None:
        super().__init__()
        last = max(1, 512 // width_divisor)
        hidden = max(1, 4096 // width_divisor)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg16(num_classes: int = 1000, width_divisor: int = 1) -> VGG:
    """torchvision's ``vgg16``; ``width_divisor`` divides every conv and linear width (tests)."""
    return VGG(make_layers(CFGS["D"], width_divisor), num_classes, width_divisor)
