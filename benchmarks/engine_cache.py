"""Engine cache speed-up: ``trtnet build --cache`` of ResNet-50 twice (a miss, then a hit), timed end to end
in separate processes as a user runs them (model import, weights, trace, key hash, and the build or the lookup).

Usage: ``python benchmarks/engine_cache.py [--model models/resnet.py:resnet50]``. Writes seeded weights with
benchmarks/make_resnet50_weights.py into a temporary folder (ResNet-50 only) and uses a temporary cache.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{run.stderr}")
    return elapsed, run.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/resnet.py:resnet50")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "resnet50.safetensors"
        subprocess.run([sys.executable, "benchmarks/make_resnet50_weights.py", str(weights)], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)
        build = [sys.executable, "-m", "trtnet", "build", args.model, "--weights", str(weights),
                 "-o", str(Path(folder) / "out.engine"), "--cache", str(Path(folder) / "cache"), "--no-progress"]
        miss, miss_line = timed(build)
        hit, hit_line = timed(build)
    print(f"{args.model}: first build {miss:.2f} s ({miss_line})")
    print(f"{args.model}: second build {hit:.2f} s ({hit_line})")
    print(f"speed-up {miss / hit:.1f}x")


if __name__ == "__main__":
    main()
