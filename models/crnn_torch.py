"""CRNN in eager PyTorch: the twin of :mod:`models.crnn` (same module tree and state_dict names)."""

from __future__ import annotations

import torch
from torch import nn

from models.crnn import ALPHABET


def block(in_channels: int, out_channels: int, pool: tuple[int, int]) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True), nn.MaxPool2d(pool)]


class CRNN(nn.Module):
    """Four conv-BN-ReLU-pool blocks to ``[N, 64, 1, W/4]``, a 2-layer bidirectional LSTM over the width, ``fc``."""

    def __init__(self, num_classes: int = len(ALPHABET) + 1, hidden_size: int = 48) -> None:
        super().__init__()
        self.cnn = nn.Sequential(*block(1, 16, (2, 2)), *block(16, 32, (2, 2)), *block(32, 64, (2, 1)),
                                 *block(64, 64, (4, 1)))
        self.rnn = nn.LSTM(64, hidden_size, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.cnn(image).squeeze(2).permute(2, 0, 1)
        sequence, _ = self.rnn(features)
        return self.fc(sequence).log_softmax(2)


def crnn() -> CRNN:
    """A freshly initialised CRNN."""
    return CRNN()
