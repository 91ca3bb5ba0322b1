"""INT8 and FP8 ResNet-18 builds per compute-capability target (TensorRT-RTX, CPU-only).

A ResNet-18 (10 classes) with seeded weights is calibrated on the CPU executor (method ``max``, seeded random
batches, input 1x3x32x32), then built once per target: INT8 for SM80/SM86/SM89/SM120, FP8 for SM89/SM120, and
FP8 for SM80, which trtnet refuses before building. Prints one row per build.

Run from the repository root: ``python benchmarks/quantize_builds.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trtnet  # noqa: E402
from models.resnet import resnet18  # noqa: E402
from trtnet.calibrate import collect  # noqa: E402

INPUT = (1, 3, 32, 32)
INT8_TARGETS = ("SM80", "SM86", "SM89", "SM120")
FP8_TARGETS = ("SM89", "SM120")


def seeded_state_dict(model: trtnet.Module, seed: int = 0) -> dict[str, np.ndarray]:
    """He-initialised convolutions and linears, BatchNorm statistics and affines near identity."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, parameter in model.state_dict_entries():
        shape, carrier = tuple(parameter.shape), parameter.dtype.carrier
        if name.endswith("num_batches_tracked"):
            values = np.zeros(shape)
        elif name.endswith("running_var"):
            values = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("running_mean", "bias")):
            values = rng.normal(0.0, 0.1, shape)
        elif len(shape) > 1:
            values = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
        else:  # BatchNorm weight
            values = rng.uniform(0.5, 1.5, shape)
        state[name] = values.astype(carrier)
    return state


def seeded_resnet18() -> trtnet.Module:
    model = resnet18(num_classes=10)
    model.load_state_dict(seeded_state_dict(model))
    model.default_inputs = [trtnet.Input("input", INPUT)]
    return model


def calibration_batches(count: int = 2, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(INPUT).astype(np.float32) for _ in range(count)]


def main() -> int:
    model = seeded_resnet18()
    start = time.perf_counter()
    stats = collect(model, calibration_batches(), histograms=False)
    print(f"calibration (2 batches, max): {time.perf_counter() - start:.1f} s, {len(stats.amax)} activations")
    print(f"{'dtype':6} {'target':7} {'result':>10} {'engine':>10} {'time':>7}")
    failures = 0
    for dtype, targets in (("int8", INT8_TARGETS), ("fp8", FP8_TARGETS), ("fp8", ("SM80",))):
        trtnet.quantize(model, stats, dtype, "max")
        for target in targets:
            start = time.perf_counter()
            try:
                engine = trtnet.build(model, compute_capabilities=[target])
                result, size = "built", f"{len(engine) / 1e6:.1f} MB"
            except trtnet.TrtnetError as exc:
                result, size = "refused", ""
                print(f"  {exc}")
                failures += dtype != "fp8" or target != "SM80"
            print(f"{dtype:6} {target:7} {result:>10} {size:>10} {time.perf_counter() - start:6.1f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
