"""Rendering of a check: a fixed-width terminal table and a JSON report. Standard library only."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from trtnet import fileio
from trtnet.compare import Comparison, Tolerance, json_safe


@dataclass
class InputSpec:
    """One network input: where its values came from (a random ``seed`` or a ``file``)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    seed: int | None = None
    file: str | None = None


@dataclass
class LayerRow:
    """One layerwise comparison: a module's output tensor."""

    module: str
    tensor: str
    comparison: Comparison


@dataclass
class CheckReport:
    """Everything a check found. ``layers`` are in execution order and are diagnostics only: ``passed``
    is decided by the ``outputs``."""

    model: str
    reference: str
    dtype: str
    executor: str  # e.g. "TensorRT engine (GPU)" or "CPU reference executor"
    tolerance: Tolerance
    outputs: list[Comparison]
    layers: list[LayerRow] = field(default_factory=list)
    first_divergent: str | None = None  # module path of the first failing layer row
    inputs: list[InputSpec] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)  # seconds, e.g. {"build": 12.3, "run": 0.004}

    @property
    def passed(self) -> bool:
        """All outputs within tolerance; False when there are no outputs (nothing was checked)."""
        return bool(self.outputs) and all(c.passed for c in self.outputs)


_STAT_HEADERS = ["shape", "max abs", "mean abs", "p99 abs", "max rel", "cosine", "min atol", "status"]


def format_table(report: CheckReport) -> str:
    """The report as a fixed-width terminal table: header lines, outputs, layerwise section, verdict."""
    lines = [
        f"model:      {report.model}",
        f"reference:  {report.reference}",
        f"dtype:      {report.dtype}",
        f"executor:   {report.executor}",
        f"tolerance:  {report.tolerance}",
    ]
    for spec in report.inputs:
        source = f"seed {spec.seed}" if spec.seed is not None else f"file {spec.file}" if spec.file else "given"
        lines.append(f"input:      {spec.name}: {_shape(spec.shape)} {spec.dtype} ({source})")
    if report.timing:
        lines.append("timing:     " + "  ".join(f"{k} {_num(v)} s" for k, v in report.timing.items()))

    lines += ["", "Outputs:"]
    lines += _table(["output"], [([c.name], c) for c in report.outputs])
    lines += [f"  FAIL {c.name}: {c.reason}" for c in report.outputs if not c.passed]

    if report.layers:
        lines += ["", "Layerwise (execution order):"]
        first = next((i for i, row in enumerate(report.layers) if row.module == report.first_divergent), None)
        rows = [([">>" if i == first else "", str(i), row.module, row.tensor], row.comparison)
                for i, row in enumerate(report.layers)]
        lines += _table(["", "#", "module", "tensor"], rows)
        if first is None:  # None, or a module without a layer row
            lines.append(f"FIRST DIVERGENCE: {report.first_divergent or 'none'}")
        else:
            row = report.layers[first]
            lines.append(f"FIRST DIVERGENCE: {row.module} (tensor {row.tensor}): {row.comparison.reason}")

    ok = sum(c.passed for c in report.outputs)
    verdict = "PASS" if report.passed else "FAIL"
    lines += ["", f"RESULT: {verdict} ({ok}/{len(report.outputs)} outputs within tolerance)"]
    return "\n".join(lines)


def to_json(report: CheckReport) -> str:
    """The report as strict JSON (non-finite numbers are the strings "nan", "inf", "-inf")."""
    doc = {
        "model": report.model,
        "reference": report.reference,
        "dtype": report.dtype,
        "executor": report.executor,
        "tolerance": json_safe(report.tolerance),
        "passed": report.passed,
        "inputs": [json_safe(vars(spec)) for spec in report.inputs],
        "timing": json_safe(report.timing),
        "outputs": [c.to_dict() for c in report.outputs],
        "layers": [{"module": r.module, "tensor": r.tensor, "comparison": r.comparison.to_dict()}
                   for r in report.layers],
        "first_divergent": report.first_divergent,
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def write_json(report: CheckReport, path: str | os.PathLike[str]) -> None:
    """Write :func:`to_json` of ``report`` to ``path`` atomically (:func:`trtnet.fileio.atomic_write`)."""
    with fileio.atomic_write(path, "w", encoding="utf-8") as f:
        f.write(to_json(report) + "\n")


def _table(lead_headers: list[str], rows: list[tuple[list[str], Comparison]]) -> list[str]:
    """Fixed-width lines: the ``lead_headers`` columns (left-aligned), then the statistics columns."""
    body = [lead + _stat_cells(c) for lead, c in rows]
    table = [lead_headers + _STAT_HEADERS] + body
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    n_lead = len(lead_headers)

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < n_lead else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(table[0]), line(["-" * w for w in widths])] + [line(r) for r in body]


def _stat_cells(c: Comparison) -> list[str]:
    shape = (_shape(c.expected_shape) if c.actual_shape == c.expected_shape
             else f"{_shape(c.actual_shape)} vs {_shape(c.expected_shape)}")
    cosine = "-" if c.cosine is None else f"{c.cosine:.6f}"
    stats = [c.max_abs_err, c.mean_abs_err, c.p99_abs_err, c.max_rel_err]
    return [shape] + [_num(x) for x in stats] + [cosine, _num(c.min_atol), "PASS" if c.passed else "FAIL"]


def _num(x: float | None) -> str:
    """3 significant digits; scientific below 1e-3 and from 1e3 on; "-" for None."""
    if x is None:
        return "-"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e3 else f"{x:.2e}"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"
