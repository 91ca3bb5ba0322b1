"""DigitsNet: a small CNN for the 1x8x8 UCI digits, in eager PyTorch.

State-dict names (18 keys; BatchNorm keys are weight, bias, running_mean, running_var, num_batches_tracked)::

    features.0.weight [8, 1, 3, 3]     features.0.bias [8]       Conv2d(1, 8, 3, padding=1)
    features.1.*      [8]                                        BatchNorm2d(8)
    features.3.weight [16, 8, 3, 3]    features.3.bias [16]      Conv2d(8, 16, 3, padding=1)
    features.4.*      [16]                                       BatchNorm2d(16)
    classifier.1.weight [32, 256]      classifier.1.bias [32]    Linear(16*4*4, 32)
    classifier.4.weight [10, 32]       classifier.4.bias [10]    Linear(32, 10)

Layers without weights: features.2 ReLU, features.5 ReLU, features.6 MaxPool2d(2), classifier.0 Flatten,
classifier.2 ReLU, classifier.3 Dropout(0.2). Input ``[N, 1, 8, 8]`` float32 in [0, 1]; output logits ``[N, 10]``.
9,900 numbers in all (about 40 KB as float32): widths are kept small so the shipped weights stay small.
"""

from __future__ import annotations

import torch
from torch import nn


class DigitsNet(nn.Module):
    """Conv-BN-ReLU x2, max pool, then a two-layer classifier."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 32),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(32, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def digits() -> DigitsNet:
    """A freshly initialised DigitsNet; load ``weights/digits.safetensors`` for the trained one."""
    return DigitsNet()
