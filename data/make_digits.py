"""Make data/digits.npz from the UCI digits bundled in scikit-learn (run once; the repo ships the npz).

Usage: ``python data/make_digits.py`` (needs scikit-learn; nothing is downloaded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
TEST_FRACTION = 0.2
OUT = Path(__file__).resolve().parent / "digits.npz"


def main() -> None:
    """Split 80/20 stratified with a fixed seed, scale 0..16 to [0, 1], save compressed."""
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_FRACTION, stratify=y, random_state=SEED)
    np.savez_compressed(OUT, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): train {len(y_train)}, test {len(y_test)}")


if __name__ == "__main__":
    main()
