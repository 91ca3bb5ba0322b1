"""Engine cache speed-up on ResNet-50: the engine step (``trtnet.cache.serialize``: a TensorRT build on a miss,
the key hash and lookup on a hit) in one process, and ``trtnet build --cache`` run twice end to end in separate
processes as a user runs them (Python start-up, imports, weights, trace, key, build or lookup, writing the engine).

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


def engine_step(model_spec: str, weights: Path, folder: Path) -> tuple[float, float]:
    """Seconds of ``cache.serialize`` on a miss and on a hit, for one traced network."""
    sys.path.insert(0, str(REPO))
    import trtnet
    from trtnet import cache, loading

    model = loading.load_model(model_spec)
    loading.load_weights(model, str(weights))
    net = trtnet.trace(model, log_level="error")
    config = trtnet.BuildConfig(progress=False, log_level="error")
    times = []
    with cache.use(cache.EngineCache(folder)) as active:
        for expected in ("miss", "hit"):
            start = time.perf_counter()
            cache.serialize(net, config)
            times.append(time.perf_counter() - start)
            assert active.last[0] == expected, active.last
    return times[0], times[1]


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
        step_miss, step_hit = engine_step(args.model, weights, Path(folder) / "step-cache")
    print(f"{args.model}: engine step: TensorRT build {step_miss:.2f} s, cache hit (key + lookup) {step_hit:.3f} s: "
          f"{step_miss / step_hit:.1f}x")
    print(f"{args.model}: trtnet build --cache end to end: first {miss:.2f} s ({miss_line})")
    print(f"{args.model}: trtnet build --cache end to end: second {hit:.2f} s ({hit_line}): {miss / hit:.1f}x")


if __name__ == "__main__":
    main()
