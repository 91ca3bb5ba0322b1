"""Time ``trtnet.weights.read_safetensors`` on a ResNet-50-sized file (about 102 MB, 263 tensors).

Usage: ``python benchmarks/read_safetensors.py [FILE.safetensors] [--runs N]``. Without FILE, seeded random
float32 tensors with ResNet-50's shapes are written to a temporary file first. Prints the median and the
fastest of N runs of reading every tensor, and of reading plus touching every page (as building does).
The file is read once before timing, so it is in the page cache: this measures trtnet, not the disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trtnet.weights import read_safetensors, save_safetensors  # noqa: E402


def resnet50_like_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """float32 tensors totalling ResNet-50's 25.6 M parameters, in 263 tensors of its shapes."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {"conv1.weight": rng.standard_normal((64, 3, 7, 7), np.float32)}
    width_in = 64
    for stage, (blocks, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)], start=1):
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            shapes = {"conv1": (width, width_in, 1, 1), "conv2": (width, width, 3, 3), "conv3": (4 * width, width, 1, 1)}
            if block == 0:
                shapes["downsample.0"] = (4 * width, width_in, 1, 1)
            for name, shape in shapes.items():
                tensors[f"{prefix}.{name}.weight"] = rng.standard_normal(shape, np.float32)
                bn = f"{prefix}.{name.replace('conv', 'bn').replace('downsample.0', 'downsample.1')}"
                for stat in ("weight", "bias", "running_mean", "running_var"):
                    tensors[f"{bn}.{stat}"] = rng.random(shape[0], np.float32) + 0.5
            width_in = 4 * width
    tensors["fc.weight"] = rng.standard_normal((1000, 2048), np.float32)
    tensors["fc.bias"] = rng.standard_normal(1000, np.float32)
    return tensors


def median_and_best(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="a .safetensors file (default: a generated one)")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.file
        if path is None:
            path = Path(folder) / "resnet50_like.safetensors"
            save_safetensors(path, resnet50_like_tensors())
        read_safetensors(path)  # warm the page cache
        size = os.path.getsize(path)

        def read_and_touch() -> None:
            for array in read_safetensors(path).values():
                array.reshape(-1).view(np.uint8)[::4096].sum()  # one byte per page

        read_median, read_best = median_and_best(lambda: read_safetensors(path), args.runs)
        touch_median, touch_best = median_and_best(read_and_touch, max(3, args.runs // 4))
        count = len(read_safetensors(path))
    print(f"{path.name}: {size / 1e6:.1f} MB, {count} tensors, {args.runs} runs")
    print(f"read_safetensors:           median {read_median * 1e3:7.1f} ms, best {read_best * 1e3:7.1f} ms")
    print(f"read + touch every page:    median {touch_median * 1e3:7.1f} ms, best {touch_best * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
