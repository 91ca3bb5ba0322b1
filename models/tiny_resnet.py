"""TinyResNet in trtnet: a residual network with BatchNorm for the UCI digits upscaled to 16x16.

The twin of :mod:`models.tiny_resnet_torch` (same module tree and state_dict names); trained weights ship in
``weights/tiny_resnet.safetensors`` (``examples/train_tiny_resnet.py``). It reuses ResNet's ``BasicBlock``: a stem
(conv 1->16, BN, ReLU), ``layer1`` (a 16-channel block, identity shortcut), ``layer2`` (a 32-channel block, stride 2,
1x1-conv + BN shortcut), global average pool and ``fc``. Default input ``input`` float32 [1, 1, 16, 16] in [0, 1].
"""

from __future__ import annotations

import numpy as np

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from models.resnet import BasicBlock, conv1x1
from trtnet.tensor import Tensor

SIZE = 16


def upscale(images: np.ndarray) -> np.ndarray:
    """``[N, 1, 8, 8]`` digits -> ``[N, 1, 16, 16]`` (each pixel repeated 2x2); numpy only."""
    return np.ascontiguousarray(images.repeat(2, axis=2).repeat(2, axis=3), dtype=np.float32)


class TinyResNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.default_inputs = [trtnet.Input("input", (1, 1, SIZE, SIZE), trtnet.float32)]
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2, nn.Sequential(conv1x1(16, 32, 2), nn.BatchNorm2d(32))))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(F.flatten(self.avgpool(x), 1))


def tiny_resnet() -> TinyResNet:
    """An unloaded TinyResNet; load ``weights/tiny_resnet.safetensors`` before building."""
    return TinyResNet()
