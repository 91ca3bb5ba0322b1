"""TinyResNet in eager PyTorch: the twin of :mod:`models.tiny_resnet` (same module tree and state_dict names)."""

from __future__ import annotations

import torch
from torch import nn

from models.resnet_torch import BasicBlock, conv1x1


class TinyResNet(nn.Module):
    """Stem conv-BN-ReLU, a 16-channel and a strided 32-channel BasicBlock, global average pool, fc."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2, nn.Sequential(conv1x1(16, 32, 2), nn.BatchNorm2d(32))))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def tiny_resnet() -> TinyResNet:
    """A freshly initialised TinyResNet; load ``weights/tiny_resnet.safetensors`` for the trained one."""
    return TinyResNet()
