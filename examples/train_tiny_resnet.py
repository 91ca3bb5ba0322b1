"""Train TinyResNet (residual adds, BatchNorm) on the shipped digits upscaled to 16x16; save its weights.

Usage: ``python examples/train_tiny_resnet.py [OUT.safetensors]`` (default ``weights/tiny_resnet.safetensors``).
CPU, seeded, under a minute; prints train/test accuracy. The quantization benchmark
(``benchmarks/quantize_accuracy.py``) calibrates and evaluates it.
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
from models.tiny_resnet import upscale  # noqa: E402
from models.tiny_resnet_torch import TinyResNet, tiny_resnet  # noqa: E402

SEED = 0
EPOCHS = 12
BATCH = 64
LR = 2e-3


def accuracy(model: TinyResNet, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def train(x_train: np.ndarray, y_train: np.ndarray) -> TinyResNet:
    """Adam with a cosine schedule on shuffled minibatches; deterministic for a fixed SEED."""
    torch.manual_seed(SEED)
    model = tiny_resnet()
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(BATCH):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
        schedule.step()
    return model


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "weights" / "tiny_resnet.safetensors"
    torch.use_deterministic_algorithms(True)
    data = load_digits_data()
    x_train, x_test = upscale(data["x_train"]), upscale(data["x_test"])
    start = time.perf_counter()
    model = train(x_train, data["y_train"])
    print(f"trained {EPOCHS} epochs in {time.perf_counter() - start:.1f} s: train accuracy "
          f"{accuracy(model, x_train, data['y_train']):.4f}, test accuracy {accuracy(model, x_test, data['y_test']):.4f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
