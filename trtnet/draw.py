"""A picture of a traced network: one node per TensorRT layer (type and output shape), grouped in a box per
module, laid out by Graphviz's ``dot``; with a layerwise check, nodes colored by their module's error and the
first divergence marked. Written as SVG, or as one self-contained HTML file (the SVG inline, no external
resources) in which clicking a module's box collapses it.

The graph comes from an :func:`trtnet.inspection.inspect_network` listing: edges join each layer input to the
layer whose output has that name.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from trtnet import fileio
from trtnet.errors import TrtnetError

DOT_TIMEOUT_S = 120
_PASS_COLOR, _NO_ROW_COLOR = "#cfe8cf", "#f2f2f2"


@dataclass(frozen=True)
class ModuleError:
    """A module call's layerwise result: ``ratio`` is the atol it needs over the atol allowed (<= 1 passes)."""

    ratio: float
    passed: bool
    text: str


@dataclass(frozen=True)
class CheckColors:
    """Layerwise results to paint: by module call name and by compared tensor name; the first divergence's
    module and tensor."""

    by_module: dict[str, ModuleError]
    by_tensor: dict[str, ModuleError]
    first_divergent: str | None = None
    first_divergent_tensor: str | None = None

    def for_layer(self, row: dict[str, Any]) -> ModuleError | None:
        """The worst result on one of the layer's output tensors, else its module call's result."""
        found = [self.by_tensor[t["name"]] for t in row["outputs"] if t["name"] in self.by_tensor]
        if found:
            return min(found, key=lambda e: (e.passed, -e.ratio))
        return self.by_module.get(row["module"])


def colors_from_report(report: Any) -> CheckColors:
    """:class:`CheckColors` from a :class:`trtnet.report.CheckReport`'s layerwise rows."""
    by_module: dict[str, ModuleError] = {}
    by_tensor: dict[str, ModuleError] = {}
    first_tensor = None
    for row in report.layers:
        comparison = row.comparison
        needed, allowed = comparison.min_atol, comparison.tolerance.atol
        if needed is None or not math.isfinite(needed):
            ratio = math.inf
        else:
            ratio = needed / allowed if allowed > 0 else (0.0 if needed == 0 else math.inf)
        text = (f"{row.module}: max abs err {comparison.max_abs_err:.3g}, max rel err {comparison.max_rel_err:.3g}"
                if comparison.max_abs_err is not None else f"{row.module}: {comparison.reason or 'not compared'}")
        error = ModuleError(ratio, comparison.passed, f"{row.view} {text}")
        by_module[row.module] = error
        previous = by_tensor.get(row.tensor)
        if previous is None or (error.passed, -error.ratio) < (previous.passed, -previous.ratio):
            by_tensor[row.tensor] = error
        if row.module == report.first_divergent and first_tensor is None:
            first_tensor = row.tensor
    return CheckColors(by_module, by_tensor, report.first_divergent, first_tensor)


def _color(error: ModuleError | None) -> str:
    """Green (far within tolerance) through yellow (at it) to red (failing)."""
    if error is None:
        return _NO_ROW_COLOR
    if not error.passed:
        return "#e8505b"
    position = min(max((math.log10(max(error.ratio, 1e-12)) + 3) / 3, 0.0), 1.0)  # ratio 1e-3 -> 0, 1 -> 1
    red, green = int(120 + 135 * position), int(200 - 20 * position)
    return f"#{red:02x}{green:02x}70"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _css_class(path: str) -> str:
    return "m-" + re.sub(r"[^A-Za-z0-9_-]", "_", path)


def _shape(tensor: dict[str, Any]) -> str:
    return "x".join(map(str, tensor["shape"])) or "scalar"


def to_dot(listing: dict[str, Any], colors: CheckColors | None = None) -> str:
    """The Graphviz source: a cluster per module holding two or more layers, a node per layer."""
    rows = listing["layers"]
    paths = [row["module"].split("#")[0] for row in rows]
    counts: dict[str, int] = {}
    for path in paths:
        for prefix in _prefixes(path):
            counts[prefix] = counts.get(prefix, 0) + 1
    clusters = {p for p, n in counts.items() if n >= 2}
    classes = {m["path"]: m["class"] for m in listing["modules"]}
    members: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        home = next((p for p in reversed(_prefixes(path)) if p in clusters), "")
        members.setdefault(home, []).append(index)

    lines = ["digraph trtnet {", '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.3];',
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fillcolor="#f2f2f2"];',
             '  edge [color="#777777", arrowsize=0.6];']
    for tensor in listing["inputs"]:
        lines.append(f"  {_quoted('in:' + tensor['name'])} [shape=oval, fillcolor=\"#dde8f6\", class=\"io\", "
                     f"label={_quoted(tensor['name'] + chr(10) + _shape(tensor) + ' ' + tensor['dtype'])}];")

    def node(index: int, indent: str) -> str:
        row = rows[index]
        error = colors.for_layer(row) if colors is not None else None
        label = f"{row['type']}\n{', '.join(_shape(t) for t in row['outputs'])}"
        css = ["layer"] + [_css_class(p) for p in _prefixes(paths[index])]
        attributes = [f"label={_quoted(label)}", f"tooltip={_quoted(row['name'] + (chr(10) + error.text if error else ''))}"]
        if colors is not None:
            attributes.append(f"fillcolor={_quoted(_color(error))}")
            if colors.first_divergent_tensor in (t["name"] for t in row["outputs"]):
                css.append("first-divergence")
                attributes += ['color="#b00020"', "penwidth=3",
                               f"xlabel={_quoted('first divergence: ' + str(colors.first_divergent))}"]
        attributes.append(f"class={_quoted(' '.join(css))}")
        return f"{indent}L{index} [{', '.join(attributes)}];"

    def cluster(path: str, indent: str) -> None:
        children = sorted(c for c in clusters if _parent(c, clusters) == path)
        if path:
            title = f"{path} ({classes.get(path, '')})" if classes.get(path) else path
            lines.append(f"{indent}subgraph {_quoted('cluster_' + path)} {{")
            lines.append(f'{indent}  label={_quoted(title)}; style="rounded"; color="#9aa7b8"; '
                         f"class={_quoted('module ' + _css_class(path))};")
            indent += "  "
        lines.extend(node(i, indent) for i in members.get(path, []))
        for child in children:
            cluster(child, indent)
        if path:
            lines.append(indent[:-2] + "}")

    cluster("", "  ")
    producer = {t["name"]: f"L{row['index']}" for row in rows for t in row["outputs"]}
    producer.update({t["name"]: _quoted("in:" + t["name"]) for t in listing["inputs"]})
    for index, row in enumerate(rows):
        for tensor in row["inputs"]:
            if tensor is not None and tensor["name"] in producer:
                lines.append(f"  {producer[tensor['name']]} -> L{index} "
                             f"[class={_quoted(' '.join(_css_class(p) for p in _prefixes(paths[index])))}];")
    for tensor in listing["outputs"]:
        lines.append(f"  {_quoted('out:' + tensor['name'])} [shape=oval, fillcolor=\"#dde8f6\", class=\"io\", "
                     f"label={_quoted(tensor['name'] + chr(10) + _shape(tensor) + ' ' + tensor['dtype'])}];")
        if tensor["name"] in producer:
            lines.append(f"  {producer[tensor['name']]} -> {_quoted('out:' + tensor['name'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _prefixes(path: str) -> list[str]:
    """``layer1.0.conv1`` -> ``["layer1", "layer1.0", "layer1.0.conv1"]``; the root model has none."""
    parts = path.split(".") if path else []
    return [".".join(parts[:i + 1]) for i in range(len(parts))]


def _parent(path: str, clusters: set[str]) -> str:
    return next((p for p in reversed(_prefixes(path)[:-1]) if p in clusters), "")


def render_svg(dot_source: str) -> str:
    """Lay out and draw with Graphviz's ``dot`` (TrtnetError if it is missing or fails)."""
    dot = shutil.which("dot")
    if dot is None:
        raise TrtnetError("drawing needs Graphviz's `dot` program: install Graphviz (apt-get install graphviz, "
                          "brew install graphviz, conda install graphviz)")
    try:
        run = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, timeout=DOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise TrtnetError(f"Graphviz's dot took more than {DOT_TIMEOUT_S} s to lay out the network") from None
    if run.returncode != 0:
        raise TrtnetError(f"Graphviz's dot failed: {run.stderr.strip()[:500]}")
    return run.stdout[run.stdout.index("<svg"):]  # drop the XML prologue and doctype: the SVG goes inline


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }} p {{ margin: 4px 0; font-size: 13px; }}
.legend span {{ display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 3px; font-size: 12px; }}
g.cluster > text {{ cursor: pointer; }} .hidden {{ display: none; }}
g.cluster.collapsed > path, g.cluster.collapsed > polygon {{ fill: #e6eaf0; }}
</style></head><body>
<h1>{title}</h1>
{summary}
<div id="graph">{svg}</div>
<script>
// Click a module's title to collapse it: its layers and edges are hidden, its box stays.
document.querySelectorAll("g.cluster").forEach(function (box) {{
  var module = Array.prototype.find.call(box.classList, function (c) {{ return c.indexOf("m-") === 0; }});
  var title = box.querySelector("text");
  if (!module || !title) return;
  title.addEventListener("click", function () {{
    var collapsed = box.classList.toggle("collapsed");
    document.querySelectorAll("g.node." + module + ", g.edge." + module + ", g.cluster." + module).forEach(
      function (element) {{ if (element !== box) element.classList.toggle("hidden", collapsed); }});
  }});
}});
</script>
</body></html>
"""


def to_html(svg: str, title: str, summary_lines: list[str]) -> str:
    """One self-contained page: the inline SVG, a summary, and the collapse script."""
    summary = "\n".join(f"<p>{html.escape(line)}</p>" for line in summary_lines)
    return _PAGE.format(title=html.escape(title), summary=summary, svg=svg)


def check_summary(report: Any) -> list[str]:
    """Summary lines and the color legend for a picture of a check."""
    verdict = "PASS" if report.passed else "FAIL"
    lines = [f"check: {verdict} ({report.dtype}, {report.executor}); reference {report.reference}"]
    if report.points:  # a dynamic check: the colors are the opt point's
        lines.append("points: " + ", ".join(f"{p.title} {'PASS' if p.passed else 'FAIL'}" for p in report.points)
                     + f"; colors at {report.title}")
    lines.append(f"first divergence: {report.first_divergent}" if report.first_divergent
                 else "first divergence: none (every module within tolerance)" if report.layers
                 else "no layerwise rows: run the check with --layerwise to color the layers")
    lines.append("colors: green far within tolerance, yellow near it, red failing, grey not compared")
    return lines


def write(listing: dict[str, Any], path: str, report: Any = None) -> None:
    """Draw ``listing`` (with the layerwise errors of ``report``, a CheckReport, if given) to ``path``:
    ``.svg`` or ``.html``."""
    if not path.endswith((".svg", ".html", ".htm")):
        raise TrtnetError(f"-o {path}: write a .html or .svg file")
    svg = render_svg(to_dot(listing, colors_from_report(report) if report is not None else None))
    if path.endswith(".svg"):
        document = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + svg
    else:
        totals = listing["totals"]
        summary = [f"{totals['layers']} layers, {totals['parameters']:,} parameters, "
                   f"{totals['weight_bytes'] / 1e6:.2f} MB of weights, {totals['macs'] / 1e6:,.1f} MMACs; "
                   f"{listing['backend']['name']} {listing['backend']['version']}. Click a module's title to collapse it."]
        document = to_html(svg, listing["model"], summary + (check_summary(report) if report is not None else []))
    try:
        with fileio.atomic_write(path, "w", encoding="utf-8") as handle:
            handle.write(document)
    except OSError as exc:
        raise TrtnetError(f"-o {path}: can't write the picture ({fileio.describe_os_error(exc)})") from None
