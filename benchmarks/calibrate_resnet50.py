"""Time INT8 calibration of ResNet-50 on trtnet's CPU executor against eager PyTorch running the same batches.

Usage: ``python benchmarks/calibrate_resnet50.py [--batches 32] [--batch 8] [--size 112] [--runs 3] [--method max]``

ResNet-50 (1000 classes, seeded weights and BatchNorm statistics, the same values on both sides) is calibrated by
``trtnet.calibrate.collect`` over ``--batches`` seeded normal batches of ``batch x 3 x size x size`` (tracing and
marking the 70 recorded activations included; ``max`` runs the batches once, the histogram methods twice), and
eager PyTorch (``models/resnet_torch.py``, inference mode) runs the same batches once. Median of ``--runs`` runs
each, interleaved; prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trtnet  # noqa: E402
from benchmarks.quantize_builds import seeded_state_dict  # noqa: E402
from models.resnet import resnet50  # noqa: E402
from models.resnet_torch import resnet50 as torch_resnet50  # noqa: E402
from trtnet.calibrate import METHODS, collect  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--method", choices=METHODS, default="max")
    args = parser.parse_args()

    shape = (args.batch, 3, args.size, args.size)
    model = resnet50()
    state = seeded_state_dict(model)
    model.load_state_dict(state)
    model.default_inputs = [trtnet.Input("input", shape)]
    eager = torch_resnet50().eval()
    eager.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal(shape).astype(np.float32) for _ in range(args.batches)]

    trtnet_times, eager_times = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        stats = collect(model, batches, histograms=args.method != "max", progress=False)
        trtnet_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                eager(torch.from_numpy(batch))
        eager_times.append(time.perf_counter() - start)
    mine, theirs = statistics.median(trtnet_times), statistics.median(eager_times)
    print(f"ResNet-50 calibration, {args.batches} batches of {'x'.join(map(str, shape))}, method {args.method}, "
          f"{len(stats.amax)} activations, median of {args.runs} runs, {torch.get_num_threads()} torch threads")
    print(f"{'trtnet CPU executor (collect)':32} {mine:8.1f} s  ({', '.join(f'{t:.1f}' for t in trtnet_times)})")
    print(f"{'eager PyTorch (same batches)':32} {theirs:8.1f} s  ({', '.join(f'{t:.1f}' for t in eager_times)})")
    print(f"{'ratio trtnet / eager':32} {mine / theirs:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
