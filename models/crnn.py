"""CRNN in trtnet: a small text-line recognizer (convolutions -> a width sequence -> bidirectional LSTM -> per-step
character log-probabilities, as trained with CTC), the twin of :mod:`models.crnn_torch`.

A grayscale line image ``[N, 1, 32, W]`` (W a multiple of 4) goes through four conv-BN-ReLU blocks; the max pools
halve height and width twice, then height only, so the features are ``[N, 64, 1, W/4]``: one step per 4 pixel
columns. The height is squeezed and the width becomes time, ``[W/4, N, 64]``, for a 2-layer bidirectional LSTM
(48 per direction); ``fc`` scores blank + 26 letters + 10 digits per step. A dynamic image width is a dynamic
sequence length: one engine serves every width of its profile.
"""

from __future__ import annotations

import trtnet
import trtnet.nn as nn
from trtnet.tensor import Tensor

HEIGHT = 32
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # class 0 is CTC's blank


def block(in_channels: int, out_channels: int, pool: tuple[int, int]) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True), nn.MaxPool2d(pool)]


class CRNN(nn.Module):
    def __init__(self, num_classes: int = len(ALPHABET) + 1, hidden_size: int = 48) -> None:
        super().__init__()
        self.default_inputs = [trtnet.Input("image", (-1, 1, HEIGHT, -1), trtnet.float32, min=(1, 1, HEIGHT, 32),
                                            opt=(2, 1, HEIGHT, 128), max=(4, 1, HEIGHT, 256))]
        self.cnn = nn.Sequential(*block(1, 16, (2, 2)), *block(16, 32, (2, 2)), *block(32, 64, (2, 1)),
                                 *block(64, 64, (4, 1)))
        self.rnn = nn.LSTM(64, hidden_size, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, image: Tensor) -> Tensor:
        features = self.cnn(image).squeeze(2).permute(2, 0, 1)  # [T = W/4, N, 64]
        sequence, _ = self.rnn(features)
        return self.fc(sequence).log_softmax(2)  # [T, N, classes]


def crnn() -> CRNN:
    """An unloaded CRNN; ``examples/crnn_lstm.py`` saves seeded weights for it."""
    return CRNN()
