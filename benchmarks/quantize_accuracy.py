"""Held-out accuracy of INT8 and FP8 post-training quantization, per calibration method, against fp32.

Each model is calibrated on its training images (trtnet's CPU executor, batches of 128) and evaluated by the CPU
executor on the held-out images; the table shows accuracy and its difference from fp32 in percentage points.
Models: the digits CNN (models/digits.py, 8x8 digits) and, when its weights are present, the tiny residual
network with BatchNorm (models/tiny_resnet.py, digits upscaled to 16x16).

Run from the repository root: ``python benchmarks/quantize_accuracy.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trtnet  # noqa: E402
from models.digits import digits  # noqa: E402
from models.digits_data import load_digits_data  # noqa: E402
from trtnet import reference  # noqa: E402
from trtnet.calibrate import METHODS, collect  # noqa: E402

BATCH = 128


def accuracy(model: trtnet.Module, images: np.ndarray, labels: np.ndarray) -> float:
    net = trtnet.trace(model, [trtnet.Input("input", images.shape)])
    logits = reference.execute(net.network, {"input": images})["output"].numpy()
    return float(np.mean(logits.argmax(1) == labels))


def models() -> list[tuple[str, Callable[[], trtnet.Module], Callable[[np.ndarray], np.ndarray]]]:
    """(name, loaded model factory, image transform) for every model whose weights ship."""
    def load_digits() -> trtnet.Module:
        model = digits()
        model.load_safetensors(ROOT / "weights" / "digits.safetensors")
        return model

    found = [("digits CNN", load_digits, lambda x: x)]
    tiny = ROOT / "weights" / "tiny_resnet.safetensors"
    if tiny.exists():
        from models.tiny_resnet import tiny_resnet, upscale

        def load_tiny() -> trtnet.Module:
            model = tiny_resnet()
            model.load_safetensors(tiny)
            return model

        found.append(("tiny ResNet (BN, residual adds)", load_tiny, upscale))
    return found


def main() -> int:
    data = load_digits_data()
    worst_int8 = 0.0
    for name, load, transform in models():
        train, test = transform(data["x_train"]), transform(data["x_test"])
        model = load()
        fp32 = accuracy(model, test, data["y_test"])
        start = time.perf_counter()
        stats = collect(model, [train[i:i + BATCH] for i in range(0, len(train), BATCH)])
        print(f"\n{name}: {len(test)} held-out images, fp32 accuracy {fp32:.2%}; calibrated on {len(train)} training "
              f"images in {time.perf_counter() - start:.1f} s")
        print(f"{'dtype':6} {'method':11} {'accuracy':>9} {'vs fp32':>9}")
        for dtype in ("int8", "fp8"):
            for method in METHODS:
                trtnet.quantize(model, stats, dtype, method)
                quantized = accuracy(model, test, data["y_test"])
                delta = (quantized - fp32) * 100
                if dtype == "int8" and method in ("max", "entropy"):
                    worst_int8 = min(worst_int8, delta)
                print(f"{dtype:6} {method:11} {quantized:9.2%} {delta:+8.2f}pp", flush=True)
    print(f"\nINT8 (max, entropy) worst difference from fp32: {worst_int8:+.2f} pp (goal: within 1 pp)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
