"""PyTorch's OpInfo sample inputs through trtnet: the counts table per op and dtype, totals, reasons, seconds.

Usage::

    python benchmarks/opinfo_report.py [--dtypes float32,float16] [--ops abs,nn.functional.conv2d] [--limit N]
    PYTHONPATH=/path/to/other/checkout python benchmarks/opinfo_report.py   # another trtnet, same harness

Each (op, dtype) is one trace of all its samples into one network, one TensorRT build, one CPU-executor run
(tests/_opinfo.py); the test is tests/test_opinfo_conformance.py, the results docs/opinfo-conformance.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p] + [str(ROOT), str(ROOT / "tests")]

import _opinfo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", default="float32,float16", help="comma-separated: float32, float16")
    parser.add_argument("--ops", default="", help="comma-separated OpInfo names (default: every op trtnet offers)")
    parser.add_argument("--limit", type=int, default=None, help="at most N samples per op and dtype")
    args = parser.parse_args()
    import trtnet

    seconds: dict = {}
    start = time.perf_counter()
    results = _opinfo.sweep(args.dtypes.split(","), args.limit, [o for o in args.ops.split(",") if o] or None,
                            seconds)
    print(f"trtnet from {Path(trtnet.__file__).parent}")
    print(_opinfo.report(results, seconds))
    print(f"\n{time.perf_counter() - start:.1f} s in all")


if __name__ == "__main__":
    main()
