"""Rendering of a check: a fixed-width terminal table and a JSON report. Standard library only."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from trtnet import fileio
from trtnet import verdict
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
    """One layerwise comparison of a module call's output tensor (see :mod:`trtnet.layerwise`).

    ``comparison`` is of the ``view`` named: ``"isolated"`` (the call run from the reference's inputs: its own
    error) or ``"accumulated"`` (the whole network's run: the drift of everything before it). ``accumulated``
    holds the accumulated comparison beside an isolated one when both views were asked for."""

    module: str
    tensor: str
    comparison: Comparison
    view: str = "accumulated"
    accumulated: Comparison | None = None


@dataclass
class CheckReport:
    """Everything a check found. ``layers`` are in execution order and are diagnostics only: ``passed``
    is decided by the ``outputs`` (:func:`trtnet.verdict.report_passed`). ``outputs`` compare trtnet with the
    float32 reference; ``eager_in_dtype`` (fp16/bf16 checks) compare eager PyTorch run in the check's dtype with
    the same reference, the yardstick of the precision rule (``eager_in_dtype_error`` says why there is none).
    ``warnings`` say why a check proves little; with ``warnings_as_errors`` any of them fails it."""

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
    warnings: list[str] = field(default_factory=list)
    warnings_as_errors: bool = False
    eager_in_dtype: list[Comparison] = field(default_factory=list)
    eager_in_dtype_error: str | None = None
    label: str = "min=opt=max"  # the profile point(s) this report's inputs are at: "min", "opt", "min=opt", "given"...
    points: list[CheckReport] = field(default_factory=list)  # a dynamic check: one report per distinct profile point
    quantized: verdict.QuantizedRule | None = None  # an int8/fp8 check: outputs and layer rows judged by this rule

    @property
    def passed(self) -> bool:
        """Every output passes by a rule of :mod:`trtnet.verdict`; False when there are no outputs (nothing was
        checked) or, with ``warnings_as_errors``, when there is a warning. With ``points``: every point passes."""
        if self.points:
            return all(p.passed for p in self.points) and not (self.warnings_as_errors and self.warnings)
        return verdict.report_passed(self)

    @property
    def title(self) -> str:
        """The point and its input shapes: ``min (1x3x32x32)``, ``max (x 8x16, mask 8x16)`` for several inputs."""
        if len(self.inputs) == 1:
            return f"{self.label} ({_shape(self.inputs[0].shape)})"
        return f"{self.label} ({', '.join(f'{spec.name} {_shape(spec.shape)}' for spec in self.inputs)})"

    @property
    def verdicts(self) -> list[verdict.OutputVerdict]:
        """The verdict on each output, in the order of ``outputs``: passed, by which rule, why."""
        return verdict.output_verdicts(self)


_STAT_HEADERS = ["shape", "max abs", "mean abs", "p99 abs", "max rel", "cosine", "min atol", "status"]


def format_table(report: CheckReport) -> str:
    """The report as a fixed-width terminal table: header lines, outputs, layerwise section, verdict."""
    lines = [
        f"model:      {report.model}",
        f"reference:  {report.reference}",
        f"dtype:      {report.dtype}",
        f"executor:   {report.executor}",
        f"tolerance:  {report.tolerance}" if report.quantized is None else f"rule:       quantized: {report.quantized}",
    ]
    if report.points:  # a dynamic check: a section per profile point, from one engine
        if report.timing:
            lines.append("timing:     " + "  ".join(f"{k} {_num(v)} s" for k, v in report.timing.items()))
        lines.append(f"points:     {', '.join(p.title for p in report.points)} (one engine)")
        for point in report.points:
            lines += ["", f"== {point.title} =="] + _input_lines(point)
            lines += _point_sections(point)
            lines.append(f"{point.label}: {'PASS' if point.passed else 'FAIL'} ({_summary(point, point.verdicts)})")
    else:
        lines += _input_lines(report)
        if report.timing:
            lines.append("timing:     " + "  ".join(f"{k} {_num(v)} s" for k, v in report.timing.items()))
        lines += _point_sections(report)

    if report.warnings:
        lines += ["", "Warnings" + (" (treated as errors):" if report.warnings_as_errors else ":")]
        lines += [f"  WARNING: {text}" for text in report.warnings]
    lines += ["", f"RESULT: {'PASS' if report.passed else 'FAIL'} ({_result_summary(report)})"]
    return "\n".join(lines)


def _input_lines(report: CheckReport) -> list[str]:
    lines = []
    for spec in report.inputs:
        source = f"seed {spec.seed}" if spec.seed is not None else f"file {spec.file}" if spec.file else "given"
        lines.append(f"input:      {spec.name}: {_shape(spec.shape)} {spec.dtype} ({source})")
    return lines


def _point_sections(report: CheckReport) -> list[str]:
    """The outputs and layerwise sections of one point."""
    lines = _outputs_section(report, report.verdicts)
    if report.layers:
        lines += ["", "Layerwise (reference completion order; view isolated = from the reference's inputs to "
                      "the module, accumulated = in the whole network's run):"]
        lines += _layer_table(report)
    return lines


def _result_summary(report: CheckReport) -> str:
    """The RESULT line's reason: the outputs (one point), else the points passing and the ones failing."""
    if not report.points:
        return _summary(report, report.verdicts)
    failing = [p.title for p in report.points if not p.passed]
    text = f"{len(report.points) - len(failing)}/{len(report.points)} shape points pass"
    text += f"; failing: {', '.join(failing)}" if failing else ""
    if report.warnings:
        text += f"; {len(report.warnings)} warning(s)" + (" treated as errors" if report.warnings_as_errors else "")
    return text


def _outputs_section(report: CheckReport, verdicts: list[verdict.OutputVerdict]) -> list[str]:
    """The outputs table (with eager PyTorch's own error in the check dtype beneath each output, when it ran)
    and a line for each output that failed or passed by a rule other than the tolerance."""
    eager = {c.name: c for c in report.eager_in_dtype}
    if eager:
        lines = ["", "Outputs (error against the float32 reference):"]
        rows, statuses = [], []
        for c, v in zip(report.outputs, verdicts):
            rows.append(([c.name, f"trtnet {report.dtype}"], c))
            statuses.append(v.status)
            if c.name in eager:
                rows.append(([c.name, f"eager PyTorch {report.dtype}"], eager[c.name]))
                statuses.append("-")
        lines += _table(["output", "run"], rows, statuses)
    elif report.quantized is not None:
        lines = ["", "Outputs (quantized against the float32 reference):"]
        lines += _table(["output", "SQNR dB", "top-1 %"], [([c.name, _num(c.sqnr_db), _num(c.top1_agreement)], c)
                                                            for c in report.outputs], [v.status for v in verdicts])
    else:
        lines = ["", "Outputs:"]
        lines += _table(["output"], [([c.name], c) for c in report.outputs], [v.status for v in verdicts])
    if report.eager_in_dtype_error:
        lines.append(f"  note: {report.eager_in_dtype_error}")
    for v in verdicts:
        if not v.passed or v.rule != verdict.TOLERANCE_RULE:
            lines.append(f"  {'PASS' if v.passed else 'FAIL'} {v.name}: {v.detail}")
    return lines


def _summary(report: CheckReport, verdicts: list[verdict.OutputVerdict]) -> str:
    ok = sum(v.passed for v in verdicts)
    by_precision = sum(v.passed and v.rule == verdict.PRECISION_RULE for v in verdicts)
    text = (f"{ok}/{len(verdicts)} outputs pass the quantized rule" if report.quantized is not None else
            f"{ok}/{len(verdicts)} outputs within tolerance" if not by_precision else
            f"{ok}/{len(verdicts)} outputs pass: {ok - by_precision} within tolerance, {by_precision} by the "
            f"precision rule")
    if report.warnings:
        text += f"; {len(report.warnings)} warning(s)" + (" treated as errors" if report.warnings_as_errors else "")
    return text


#: The ``schema`` of :func:`to_json`'s document (docs/schemas/check-1.json).
SCHEMA = "trtnet.check/1"


def to_json(report: CheckReport) -> str:
    """The report as strict JSON (:data:`SCHEMA`; a non-finite number is null, see
    :meth:`trtnet.compare.Comparison.to_dict`)."""
    doc = {
        "schema": SCHEMA,
        "model": report.model,
        "reference": report.reference,
        "dtype": report.dtype,
        "executor": report.executor,
        "tolerance": json_safe(report.tolerance),
        **_point_json(report),
        "warnings": list(report.warnings),
        "warnings_as_errors": report.warnings_as_errors,
        "quantized": None if report.quantized is None else json_safe(vars(report.quantized)),
        "points": [{"label": p.label, "title": p.title, **_point_json(p), "warnings": list(p.warnings)}
                   for p in report.points or [report]],
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def _point_json(report: CheckReport) -> dict:
    """The fields of one profile point (the top level holds the opt point's, ``passed`` is the whole check's)."""
    return {
        "passed": report.passed,
        "inputs": [json_safe(vars(spec)) for spec in report.inputs],
        "timing": json_safe(report.timing),
        "outputs": [_output_json(report, c, v) for c, v in zip(report.outputs, report.verdicts)],
        "eager_in_dtype_error": report.eager_in_dtype_error,
        "layers": [{"module": r.module, "tensor": r.tensor, "view": r.view, "comparison": r.comparison.to_dict(),
                    "accumulated": r.accumulated.to_dict() if r.accumulated else None} for r in report.layers],
        "first_divergent": report.first_divergent,
    }


def _output_json(report: CheckReport, c: Comparison, v: verdict.OutputVerdict) -> dict:
    """An output's comparison (``passed``: within tolerance), its ``verdict`` (passed, rule, detail) and
    ``eager_in_dtype``: eager PyTorch in the check dtype against the same float32 reference (or None)."""
    eager = next((e for e in report.eager_in_dtype if e.name == c.name), None)
    return {**c.to_dict(), "verdict": {"passed": v.passed, "rule": v.rule, "detail": v.detail},
            "eager_in_dtype": None if eager is None else eager.to_dict()}


def write_json(report: CheckReport, path: str | os.PathLike[str]) -> None:
    """Write :func:`to_json` of ``report`` to ``path`` atomically (:func:`trtnet.fileio.atomic_write`)."""
    with fileio.atomic_write(path, "w", encoding="utf-8") as f:
        f.write(to_json(report) + "\n")


def _layer_table(report: CheckReport) -> list[str]:
    """The layer rows (the accumulated comparison beside an isolated one in an "acc." column when there is
    one) and the FIRST DIVERGENCE line(s)."""
    layers = report.layers
    first = next((i for i, row in enumerate(layers) if row.module == report.first_divergent
                  and (row.view == "isolated" or not any(r.view == "isolated" for r in layers))), None)
    beside = any(row.accumulated is not None for row in layers)
    rule = report.quantized
    rows = []
    for i, row in enumerate(layers):
        acc = row.accumulated
        extra = [f"{'PASS' if acc.passed else 'FAIL'} {_num(acc.max_abs_err)}" if acc else "-"] if beside else []
        extra += [_num(row.comparison.sqnr_db)] if rule else []
        rows.append(([">>" if i == first else "", str(i), row.module, row.tensor, row.view] + extra, row.comparison))
    statuses = None if rule is None else [
        "PASS" if verdict.quantized_verdict(row.comparison, rule).passed else "FAIL" for row in layers]
    lines = _table(["", "#", "module", "tensor", "view"] + (["acc. max abs"] if beside else [])
                   + (["SQNR dB"] if rule else []), rows, statuses)
    if first is None:  # None, or a module without a layer row
        lines.append(f"FIRST DIVERGENCE: {report.first_divergent or 'none'}")
    else:
        row = layers[first]
        reason = row.comparison.reason if rule is None else verdict.quantized_verdict(row.comparison, rule).detail
        lines.append(f"FIRST DIVERGENCE: {row.module} (tensor {row.tensor}): {reason}")
    if beside:
        views = ((row, row.accumulated if row.view == "isolated" else row.comparison) for row in layers)
        drift = next((row for row, acc in views if acc is not None and not acc.passed), None)
        lines.append("FIRST ACCUMULATED DIVERGENCE: "
                     + (f"{drift.module} (tensor {drift.tensor})" if drift else "none"))
    return lines


def _table(lead_headers: list[str], rows: list[tuple[list[str], Comparison]],
           statuses: list[str] | None = None) -> list[str]:
    """Fixed-width lines: the ``lead_headers`` columns (left-aligned), then the statistics columns; ``statuses``
    replace the comparisons' own PASS/FAIL (the verdict of an output)."""
    body = [lead + _stat_cells(c) for lead, c in rows]
    for cells, status in zip(body, statuses or []):
        cells[-1] = status
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
