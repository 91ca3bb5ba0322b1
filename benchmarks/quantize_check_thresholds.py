"""What SQNR and top-1 agreement ``trtnet check --dtype int8|fp8`` sees for correct and for broken quantization:
the evidence for the quantized rule's defaults (trtnet/verdict.py ``MIN_SQNR_DB``, ``MIN_TOP1``).

Models: the digits CNN and the tiny ResNet (calibrated on training images, checked on 128 held-out ones) and a
seeded ResNet-18 (10 classes, 8x3x32x32, calibrated and checked on seeded normal batches). Per model and dtype:
correct scales (max calibration), planted bugs: every scale 100x too small, every scale 10x too large, one
activation's scale 20x too small (the first residual add, or the second convolution, of the model).

Run from the repository root: ``python benchmarks/quantize_check_thresholds.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trtnet  # noqa: E402
from models.digits_data import load_digits_data  # noqa: E402

HELD_OUT = 128


def _models() -> list[tuple[str, Callable[[], Any], Callable[[], Any], str | None, np.ndarray, list[np.ndarray], str]]:
    """(name, trtnet factory, torch factory, weights, check inputs, calibration batches, the single planted key)."""
    from benchmarks.quantize_builds import seeded_resnet18, seeded_state_dict
    from models import digits, digits_torch, resnet_torch, tiny_resnet, tiny_resnet_torch

    data = load_digits_data()
    rows = [("digits CNN", digits.digits, digits_torch.digits, str(ROOT / "weights" / "digits.safetensors"),
             data["x_test"][:HELD_OUT], [data["x_train"][i:i + 256] for i in range(0, 1024, 256)], "features.3")]
    tiny_weights = ROOT / "weights" / "tiny_resnet.safetensors"
    if tiny_weights.exists():
        up = tiny_resnet.upscale
        train = up(data["x_train"][:512])
        rows.append(("tiny ResNet", tiny_resnet.tiny_resnet, tiny_resnet_torch.tiny_resnet, str(tiny_weights),
                     up(data["x_test"][:HELD_OUT]), [train[i:i + 128] for i in range(0, 512, 128)], None))
    rng = np.random.default_rng(3)
    weights = {k: np.asarray(v) for k, v in seeded_state_dict(seeded_resnet18()).items()}
    rows.append(("ResNet-18 (seeded)", seeded_resnet18, lambda: resnet_torch.resnet18(num_classes=10), weights,
                 rng.standard_normal((8, 3, 32, 32)).astype(np.float32),
                 [rng.standard_normal((8, 3, 32, 32)).astype(np.float32) for _ in range(4)], "layer1.0"))
    return rows


def measure(name, factory, torch_factory, weights, inputs, batches, key, dtype, directory) -> list[str]:
    """One line per case: SQNR and top-1 agreement of the check's output, and its verdict."""
    model = factory()
    if isinstance(weights, str):
        model.load_safetensors(weights)
    else:
        model.load_state_dict(weights)
    trtnet.quantize(model, batches, dtype, "max", inputs=[trtnet.Input("input", batches[0].shape)])
    plan = model.quantization
    key = key or next(k for k in plan.scales if "/" not in k and k.count(".") == 1 and not k.startswith("stem"))
    cases = {"correct": {}, "all scales / 100": {k: 0.01 for k in plan.scales},
             "all scales x 10": {k: 10.0 for k in plan.scales}, f"{key} scale / 20": {key: 0.05}}
    lines = []
    for case, factors in cases.items():
        original = dict(plan.scales)
        plan.scales = {k: v * factors.get(k, 1.0) for k, v in original.items()}
        path = Path(directory) / f"{dtype}.json"
        plan.save(path)
        plan.scales = original
        report = trtnet.check(factory(), torch_factory(), weights=weights, dtype=dtype, scales=path,
                              inputs=[trtnet.Input("input", inputs.shape)], input_arrays={"input": inputs})
        c = report.outputs[0]
        lines.append(f"{name:19} {dtype:5} {case:24} {c.sqnr_db:8.1f} {c.top1_agreement:7.1f}% "
                     f"{'PASS' if report.passed else 'FAIL'}")
    return lines


def main() -> int:
    print(f"{'model':19} {'dtype':5} {'case':24} {'SQNR dB':>8} {'top-1':>8} verdict")
    with tempfile.TemporaryDirectory() as directory:
        for row in _models():
            for dtype in ("int8", "fp8"):
                for line in measure(*row, dtype, directory):
                    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
