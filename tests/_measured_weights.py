"""Seeded torch weights with BatchNorm running statistics measured on random inputs, so a network's activations
have the scale they have on real data (the default init, mean 0 / variance 1, leaves them unnormalised)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

_BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


def measure_batchnorm(model: torch.nn.Module, input_shape: Sequence[int], seed: int, batches: int = 3) -> torch.nn.Module:
    """Set every BatchNorm's ``running_mean``/``running_var`` to the exact mean over ``batches`` seeded standard-normal
    batches of ``input_shape`` (train mode with ``momentum=None``: a cumulative average), then return ``model.eval()``."""
    norms = [m for m in model.modules() if isinstance(m, _BATCH_NORMS)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*input_shape, generator=generator))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return model.eval()


def save_measured_weights(model: torch.nn.Module, path: Path, input_shape: Sequence[int], seed: int) -> str:
    """Seed the init (``torch.manual_seed(seed)`` must precede building ``model``), measure BatchNorm statistics,
    write the state_dict to ``path`` (.safetensors); returns the path as a string."""
    from safetensors.torch import save_file

    measure_batchnorm(model, input_shape, seed)
    save_file(model.state_dict(), str(path))
    return str(path)
