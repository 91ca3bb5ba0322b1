"""Load the shipped UCI digits split (``data/digits.npz``); numpy only, no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "digits.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_digits_data(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """``x_train``/``x_test`` float32 ``[N, 1, 8, 8]`` in [0, 1] and ``y_train``/``y_test`` int64 labels."""
    with np.load(DEFAULT_PATH if path is None else path) as npz:
        return {key: npz[key] for key in KEYS}
