"""Padding of convolution, deconvolution and pooling layers, resolved from ``PaddingMode`` as NvInfer.h defines it.

Shorthand (NvInfer.h): I input size, B pre-padding, A post-padding, S stride, DK = 1 + D*(F-1), M = I + B + A.
Convolution/pooling: ROUND_DOWN O = floor((M-DK)/S)+1, ROUND_UP O = ceil((M-DK)/S)+1, SAME_* O = ceil(I/S)
with P = floor((I-1)/S)*S + DK - I split B = floor(P/2) (SAME_UPPER) or A = floor(P/2) (SAME_LOWER).
Deconvolution: O = (I-1)*S + DK - (B+A); SAME_* use P = max(DK-S, 0), split the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Padding:
    """Per spatial dim: ``pre``/``post`` explicit (or SAME) padding; ``ceil_extra`` past ``post`` for ROUND_UP."""

    pre: tuple[int, ...]
    post: tuple[int, ...]
    ceil_extra: tuple[int, ...]

    @property
    def symmetric(self) -> bool:
        return self.pre == self.post and not any(self.ceil_extra)

    def total_post(self) -> tuple[int, ...]:
        return tuple(a + e for a, e in zip(self.post, self.ceil_extra))


def _mode_name(layer: Any) -> str:
    return layer.padding_mode.name


def _split_same(mode: str, total: int) -> tuple[int, int]:
    half = total // 2
    return (half, total - half) if mode == "SAME_UPPER" else (total - half, half)


def forward(layer: Any, sizes: tuple[int, ...], extents: tuple[int, ...], strides: tuple[int, ...]) -> Padding:
    """Padding of a convolution or pooling layer over input spatial ``sizes`` with kernel ``extents`` (DK)."""
    mode = _mode_name(layer)
    if mode.startswith("SAME"):
        totals = [max(0, (i - 1) // s * s + k - i) for i, k, s in zip(sizes, extents, strides)]
        split = [_split_same(mode, p) for p in totals]
        zeros = (0,) * len(sizes)
        return Padding(tuple(b for b, _ in split), tuple(a for _, a in split), zeros)
    pre, post = tuple(layer.pre_padding), tuple(layer.post_padding)
    extra = []
    for i, k, s, b, a in zip(sizes, extents, strides, pre, post):
        span = i + b + a - k
        if mode == "EXPLICIT_ROUND_UP" and span % s:
            extra.append(s - span % s)
        else:
            extra.append(0)
    return Padding(pre, post, tuple(extra))


def transposed(layer: Any, extents: tuple[int, ...], strides: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(pre, post) cropping of a deconvolution's full output, per spatial dim."""
    mode = _mode_name(layer)
    if mode.startswith("SAME"):
        split = [_split_same(mode, max(k - s, 0)) for k, s in zip(extents, strides)]
        return tuple(b for b, _ in split), tuple(a for _, a in split)
    return tuple(layer.pre_padding), tuple(layer.post_padding)


def pad_spatial(x: torch.Tensor, pre: tuple[int, ...], post: tuple[int, ...], value: float = 0.0) -> torch.Tensor:
    """Pad (negative: crop) the trailing ``len(pre)`` dims of ``x``."""
    if not any(pre) and not any(post):
        return x
    pads: list[int] = []
    for b, a in zip(reversed(pre), reversed(post)):
        pads += [b, a]
    return F.pad(x, pads, value=value)

