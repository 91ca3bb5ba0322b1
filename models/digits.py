"""DigitsNet in trtnet: the twin of :mod:`models.digits_torch` (same module tree and state_dict names).

Default input ``input`` float32 [1, 1, 8, 8] in [0, 1]; output ``output`` [1, 10] (logits). Trained
weights ship in ``weights/digits.safetensors``::

    trtnet build models/digits.py:digits --weights weights/digits.safetensors -o digits.engine
"""

from __future__ import annotations

import trtnet
import trtnet.nn as nn
from trtnet.tensor import Tensor


class DigitsNet(nn.Module):
    """Conv-BN-ReLU x2, max pool, then a two-layer classifier."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.default_inputs = [trtnet.Input("input", (1, 1, 8, 8), trtnet.float32)]
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

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def digits() -> DigitsNet:
    """An unloaded DigitsNet; load ``weights/digits.safetensors`` (or pass ``--weights``) before building."""
    return DigitsNet()
