"""The model zoo at full size: build time, engine size and ``trtnet.check`` errors in fp32 and fp16.

Usage::

    python benchmarks/zoo_report.py [--models vit_b_16,vgg16,...] [--reduced] [--batch 2] [--json out.json]

For each model (ViT-B/16 224, VGG-16 224, MobileNetV2 224, U-Net 3x256x256 base 64 with transposed-conv and
with bilinear up path): random seeded weights (``models.zoo.random_twin``) saved as safetensors, the fp32
and fp16 dynamic-batch engines built with TensorRT (time, size), then ``trtnet.check`` against the eager
twin in fp32 and fp16 at one batch (CPU reference executor where no GPU runs engines). fp16 models keep
their ``fp32_islands`` (ViT: LayerNorm) in float32. The tolerance column is the first rung of
``models.zoo.TOLERANCE_LADDER`` (atol = rtol) the check met. Prints a table; ``--json`` also writes it.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from models import zoo  # noqa: E402

DEFAULT_MODELS = ["vit_b_16", "vgg16", "mobilenet_v2", "unet", "unet_bilinear"]


def run(name: str, size: str, batch: int, folder: str) -> dict:
    spec = zoo.MODELS[name]
    row: dict = {"model": name, "size": size, "input": list(spec.input_shape(size, batch))}
    start = time.perf_counter()
    twin = zoo.random_twin(spec, size)
    row["params"] = sum(p.numel() for p in twin.parameters())
    weights = zoo.save_weights(twin, Path(folder) / f"{name}.safetensors")
    del twin
    row["weights_s"] = time.perf_counter() - start
    for dtype in ("fp32", "fp16"):
        engine, seconds = zoo.build_engine(spec, size, weights, dtype)
        row[f"{dtype}_build_s"], row[f"{dtype}_engine_mb"] = seconds, len(engine) / 1e6
        del engine
        gc.collect()
        (result,) = zoo.check_batches(spec, size, dtype, weights, batches=[batch])
        row[f"{dtype}_passed"] = result.passed
        row[f"{dtype}_max_abs_err"] = result.max_abs_err
        row[f"{dtype}_tolerance"] = result.tolerance
        row[f"{dtype}_check_s"] = result.seconds
        out = result.report.outputs[0]
        row[f"{dtype}_max_rel_err"], row[f"{dtype}_cosine"] = out.max_rel_err, out.cosine
        row["output"] = list(out.expected_shape)
        row["ref_max_abs"] = result.max_abs_expected
        gc.collect()
    print(f"  {name}: done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return row


def table(rows: list[dict]) -> str:
    headers = ["model", "input", "params", "max |ref|", "fp32 max abs err", "fp16 max abs err", "fp16 tol met",
               "build fp32/fp16 (s)", "engine fp32/fp16 (MB)", "check fp32/fp16 (s)"]

    def tol(row: dict, dtype: str) -> str:
        t = row[f"{dtype}_tolerance"]
        return "FAIL" if t is None else f"{t:g}"

    cells = [[r["model"], "x".join(map(str, r["input"])), f"{r['params'] / 1e6:.1f}M", f"{r['ref_max_abs']:.3g}",
              f"{r['fp32_max_abs_err']:.2e} ({tol(r, 'fp32')})", f"{r['fp16_max_abs_err']:.2e}", tol(r, "fp16"),
              f"{r['fp32_build_s']:.1f} / {r['fp16_build_s']:.1f}",
              f"{r['fp32_engine_mb']:.0f} / {r['fp16_engine_mb']:.0f}",
              f"{r['fp32_check_s']:.0f} / {r['fp16_check_s']:.0f}"] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--reduced", action="store_true", help="the reduced test sizes instead of full size")
    parser.add_argument("--batch", type=int, default=1, help="batch of the checked input (within the 1..4 profile)")
    parser.add_argument("--json", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    size = "reduced" if args.reduced else "full"
    torch.set_grad_enabled(False)
    print(f"zoo report: {size} size, batch {args.batch}, torch threads {torch.get_num_threads()}", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models.split(","):
            rows.append(run(name, size, args.batch, folder))
    print(table(rows))
    print("\nfp32 column: max abs err (tolerance met, atol = rtol); fp16: max abs err and the tolerance met. "
          "Checks on the CPU reference executor; engines built with TensorRT for a dynamic batch 1..4.")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["fp32_passed"] and r["fp16_passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
