"""Time ``trtnet.check`` of ResNet-50 with and without the layerwise comparison, against eager PyTorch alone.

Usage: ``python benchmarks/layerwise_resnet50.py [--runs 5] [--size 224] [--dtype fp32]``

ResNet-50 (models/resnet.py against models/resnet_torch.py), seeded weights with BatchNorm statistics measured
on random inputs, one 1x3xSIZExSIZE input. Each run times, interleaved: a plain ``check`` (trace, engine build,
CPU executor, reference, output comparison), ``check(layerwise=...)`` in each view, and the eager torch
reference's forward alone. Prints the median of the runs and each median's ratio to the plain check's and to
eager torch's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import trtnet  # noqa: E402
from _measured_weights import save_measured_weights  # noqa: E402
from models import resnet_torch  # noqa: E402

MODEL = f"{REPO / 'models' / 'resnet.py'}:resnet50"
REFERENCE = f"{REPO / 'models' / 'resnet_torch.py'}:resnet50"
VARIANTS = ("check", "check --layerwise isolated", "check --layerwise accumulated", "check --layerwise both")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "fp16", "bf16"))
    args = parser.parse_args()
    shape = (1, 3, args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(50)
        weights = save_measured_weights(resnet_torch.resnet50(), Path(tmp) / "r50.safetensors", (4, *shape[1:]), 50)
        eager = resnet_torch.resnet50()
        eager.load_state_dict(_load(weights))
        eager.eval()
        x = torch.randn(*shape)
        times: dict[str, list[float]] = {name: [] for name in (*VARIANTS, "eager torch forward")}
        stages: dict[str, dict[str, list[float]]] = {name: {} for name in VARIANTS}
        for _ in range(args.runs):
            for name in VARIANTS:
                layerwise = name.rpartition(" ")[2] if "--layerwise" in name else False
                start = time.perf_counter()
                report = trtnet.check(MODEL, REFERENCE, weights=weights, inputs=[trtnet.Input("input", shape)],
                                      dtype=args.dtype, layerwise=layerwise)
                times[name].append(time.perf_counter() - start)
                for stage, seconds in report.timing.items():
                    stages[name].setdefault(stage, []).append(seconds)
            with torch.inference_mode():
                start = time.perf_counter()
                eager(x)
                times["eager torch forward"].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    plain, torch_alone = medians["check"], medians["eager torch forward"]
    print(f"ResNet-50, input 1x3x{args.size}x{args.size} {args.dtype}, median of {args.runs} runs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'':32} {'seconds':>8} {'x check':>8} {'x eager':>8}  stages (median s)")
    for name, seconds in medians.items():
        detail = "  ".join(f"{k} {statistics.median(v):.3f}" for k, v in stages.get(name, {}).items())
        print(f"{name:32} {seconds:8.3f} {seconds / plain:8.2f} {seconds / torch_alone:8.1f}  {detail}")


def _load(path: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path)


if __name__ == "__main__":
    main()
