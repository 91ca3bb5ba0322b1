"""kill -9 sweep of ``trtnet build`` on ResNet-50: the output path always holds the previous engine or the complete
new one, byte-identical to a clean build; temporary files of killed builds are removed by the next build.

Usage: ``python benchmarks/kill_sweep.py [--moments 20] [--write-moments 6] [--workdir DIR]``.

1. Writes seeded ResNet-50 weights (the torch twin, ``torch.manual_seed(0)``) and builds two clean engines:
   TensorRT-RTX builds are compared byte for byte (the sweep's check needs a deterministic build).
2. Puts another engine (the digits model's) at the output path.
3. Starts ``python -m trtnet build`` and SIGKILLs it at ``--moments`` moments spread evenly over a clean run, and
   at ``--write-moments`` more moments just after its temporary file appears (during the engine write).
4. After each kill: the path holds the previous engine or the clean engine (nothing else); temporary files
   left by the kill are counted. A final build must remove them all.

Prints one line per kill and a summary; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def build_command(weights: Path, out: Path, model: str = "models/resnet.py:resnet50") -> list[str]:
    return [sys.executable, "-m", "trtnet", "build", model, "--weights", str(weights), "-o", str(out), "--no-progress"]


def clean_build(weights: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(build_command(weights, out), cwd=REPO, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.startswith(".trtnet-")]


def kill_at(weights: Path, out: Path, delay: float, after_temp_appears: bool) -> float:
    """Start a build, SIGKILL it ``delay`` s after the start (or after its temporary file appears); returns the
    moment of the kill in seconds after the start."""
    before = {p.name for p in temp_files(out.parent)}
    start = time.perf_counter()
    proc = subprocess.Popen(build_command(weights, out), cwd=REPO, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if after_temp_appears:
        while proc.poll() is None and not [p for p in temp_files(out.parent) if p.name not in before]:
            time.sleep(0.002)
    time.sleep(delay)
    moment = time.perf_counter() - start
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return moment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moments", type=int, default=20, help="kills spread over a whole build (default 20)")
    parser.add_argument("--write-moments", type=int, default=6, help="extra kills during the engine write (default 6)")
    parser.add_argument("--workdir", type=Path, help="where to put weights and engines (default: a temporary folder)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kill_sweep_"))
    workdir.mkdir(parents=True, exist_ok=True)

    import torch

    sys.path.insert(0, str(REPO))
    from models.resnet_torch import resnet50
    from trtnet.weights import save_safetensors

    torch.manual_seed(0)
    weights = workdir / "resnet50.safetensors"
    save_safetensors(weights, {k: v.numpy() for k, v in resnet50().state_dict().items()})
    first, second = workdir / "clean1.engine", workdir / "clean2.engine"
    seconds = [clean_build(weights, first), clean_build(weights, second)]
    clean = first.read_bytes()
    deterministic = clean == second.read_bytes()
    print(f"clean builds: {len(clean)} bytes, {seconds[0]:.2f} s and {seconds[1]:.2f} s, "
          f"byte-identical: {'yes' if deterministic else 'NO'}")
    if not deterministic:
        print("TensorRT builds differ from run to run: the sweep can only check for the previous engine or *a* "
              "complete engine of the right size")

    sweep = workdir / "sweep"
    sweep.mkdir(exist_ok=True)
    out = sweep / "resnet50.engine"
    subprocess.run(build_command(REPO / "weights" / "digits.safetensors", out, "models/digits.py:digits"), cwd=REPO,
                   env=ENV, check=True, capture_output=True)
    previous = out.read_bytes()
    run_time = min(seconds)
    plan = [(run_time * (i + 0.5) / args.moments, False) for i in range(args.moments)]
    plan += [(0.4 * i / max(args.write_moments - 1, 1), True) for i in range(args.write_moments)]
    outcomes = {"previous": 0, "new": 0, "other": 0}
    failures = 0
    for delay, during_write in plan:
        moment = kill_at(weights, out, delay, during_write)
        data = out.read_bytes()
        if data == previous:
            outcome = "previous"
        elif data == clean or (not deterministic and len(data) == len(clean)):
            outcome = "new"
        else:
            outcome = "other"
            failures += 1
        outcomes[outcome] += 1
        left = temp_files(sweep)
        where = f"{delay:.3f} s after its temp file appeared" if during_write else f"{moment:.2f} s after the start"
        print(f"kill at {where:<38} -> {outcome:<8} ({len(data)} bytes); temp files left: {len(left)} "
              f"({sum(p.stat().st_size for p in left)} bytes)")
        if outcome == "new":  # put the previous engine back for the next kill
            out.write_bytes(previous)
    left_after_kills = len(temp_files(sweep))
    subprocess.run(build_command(weights, out), cwd=REPO, env=ENV, check=True, capture_output=True)
    final_ok = out.read_bytes() == clean
    left_after_build = len(temp_files(sweep))
    failures += (not final_ok) + (left_after_build != 0)
    print(f"\n{len(plan)} kills: {outcomes['previous']} left the previous engine, {outcomes['new']} the complete new one, "
          f"{outcomes['other']} anything else; temp files after the kills: {left_after_kills}, after the next build: "
          f"{left_after_build}; next build byte-identical: {'yes' if final_ok else 'NO'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
