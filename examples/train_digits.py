"""Train DigitsNet on the shipped UCI digits (CPU, seeded) and save weights/digits.safetensors.

Usage: ``python examples/train_digits.py [OUT.safetensors]``. Takes a few seconds; prints train/test accuracy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.digits_data import load_digits_data  # noqa: E402
from models.digits_torch import DigitsNet, digits  # noqa: E402

SEED = 0
EPOCHS = 40
BATCH = 64
LR = 1e-3


def accuracy(model: DigitsNet, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct argmax predictions in eval mode."""
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(data: dict[str, np.ndarray]) -> DigitsNet:
    """Adam on shuffled minibatches; deterministic for a fixed SEED on one thread count."""
    torch.manual_seed(SEED)
    model = digits()
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(BATCH):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "weights" / "digits.safetensors"
    torch.use_deterministic_algorithms(True)
    data = load_digits_data()
    start = time.perf_counter()
    model = train(data)
    seconds = time.perf_counter() - start
    train_acc = accuracy(model, data["x_train"], data["y_train"])
    test_acc = accuracy(model, data["x_test"], data["y_test"])
    print(f"trained {EPOCHS} epochs in {seconds:.1f} s: train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
