"""Whole-process cost of building ResNet-50: ``trtnet build`` against the hand-written raw TensorRT port.

Usage: ``python benchmarks/build_resnet50.py [--weights W.safetensors] [--runs 5] [--warmup 1]``

Runs ``trtnet build models/resnet.py:resnet50 --weights W -o OUT`` (the ``trtnet`` console script when on
PATH, else ``python -m trtnet``) and ``python benchmarks/raw_build_resnet50.py W OUT`` alternately (the
order flips every round), each in a fresh process. Per run it measures the wall time from spawn to exit
and the child's peak resident set size, ``ru_maxrss`` from ``os.wait4`` on that very child (no
high-water mark shared between runs). Prints every run, the medians and the trtnet/raw ratios; the goal
is <= 1.10 for both. Without ``--weights`` seeded weights are made with ``make_resnet50_weights.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 1.10


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float


def trtnet_command(weights: Path, out: Path) -> list[str]:
    console = shutil.which("trtnet")
    launcher = [console] if console else [sys.executable, "-m", "trtnet"]
    return [*launcher, "build", str(REPO / "models" / "resnet.py") + ":resnet50", "--weights", str(weights),
            "-o", str(out), "--no-progress"]


def raw_command(weights: Path, out: Path) -> list[str]:
    return [sys.executable, str(REPO / "benchmarks" / "raw_build_resnet50.py"), str(weights), str(out)]


def measure(command: list[str]) -> Run:
    """Spawn ``command``, wait for exactly that child, return its wall time and peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {child.returncode}:\n{stderr}")
    return Run(seconds, usage.ru_maxrss / 1024)  # Linux reports KiB


def make_weights(directory: Path) -> Path:
    path = directory / "resnet50.safetensors"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_resnet50_weights.py"), str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def report(results: dict[str, list[Run]]) -> bool:
    """Print the runs, medians and ratios; True when trtnet is within the goal in time and memory."""
    print(f"{'run':>4}  {'trtnet s':>9} {'raw s':>8}  {'trtnet MB':>10} {'raw MB':>8}")
    for i, (ours, raw) in enumerate(zip(results["trtnet"], results["raw"]), start=1):
        print(f"{i:>4}  {ours.seconds:>9.2f} {raw.seconds:>8.2f}  {ours.peak_rss_mb:>10.0f} {raw.peak_rss_mb:>8.0f}")
    time_ours, time_raw = (statistics.median(r.seconds for r in results[k]) for k in ("trtnet", "raw"))
    rss_ours, rss_raw = (statistics.median(r.peak_rss_mb for r in results[k]) for k in ("trtnet", "raw"))
    print(f"{'med':>4}  {time_ours:>9.2f} {time_raw:>8.2f}  {rss_ours:>10.0f} {rss_raw:>8.0f}")
    time_ratio, rss_ratio = time_ours / time_raw, rss_ours / rss_raw
    verdict = lambda ratio: "ok" if ratio <= GOAL else f"OVER the {GOAL:.2f} goal"  # noqa: E731
    print(f"ratio trtnet/raw: wall time {time_ratio:.3f} ({verdict(time_ratio)}), "
          f"peak RSS {rss_ratio:.3f} ({verdict(rss_ratio)})")
    return time_ratio <= GOAL and rss_ratio <= GOAL


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="ResNet-50 .safetensors (default: make seeded ones)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs of each first (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        weights = args.weights or make_weights(directory)
        commands = {"trtnet": trtnet_command(weights, directory / "trtnet.engine"),
                    "raw": raw_command(weights, directory / "raw.engine")}
        print(f"trtnet: {' '.join(commands['trtnet'])}\nraw:    {' '.join(commands['raw'])}")
        results: dict[str, list[Run]] = {"trtnet": [], "raw": []}
        for round_index in range(args.warmup + args.runs):
            order = ["trtnet", "raw"] if round_index % 2 == 0 else ["raw", "trtnet"]
            for name in order:
                run = measure(commands[name])
                if round_index >= args.warmup:
                    results[name].append(run)
        return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
