"""``trtnet inspect``: a traced network as TensorRT will see it, and what a plan file tells without a GPU.

:func:`inspect_network` lists every layer in network order (module path, TensorRT layer type, input -> output
shapes and dtypes, MACs), every module's parameters and weight bytes, totals, inputs, outputs and profiles.
:func:`inspect_engine` reads a serialized engine: size, TensorRT version and compute-capability targets from its
header (``Runtime.get_engine_validity`` where the backend has it) and the IO names found as strings; with a GPU
that can deserialize it, TensorRT's engine inspector adds the per-layer information.

Both return plain dicts (``schema`` ``trtnet.inspect/1``) that :func:`format_network`/:func:`format_engine` print
and ``--json`` writes. No torch.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from trtnet import backend, log, netinfo
from trtnet.build import Network
from trtnet.nn.module import Module

SCHEMA = "trtnet.inspect/1"

def _tensor(info: netinfo.TensorInfo | None) -> dict[str, Any] | None:
    return None if info is None else {"name": info.name, "shape": list(info.shape), "dtype": info.dtype}


def inspect_network(model: Module, net: Network, model_name: str = "") -> dict[str, Any]:
    """The listing of a traced model (see the module docstring)."""
    network = net.network
    owners = netinfo.module_of_layers(net.graph.module_calls, network.num_layers)
    rows = []
    for index, type_name, layer in netinfo.layers(network):
        inputs, outputs = netinfo.layer_tensors(layer)
        call = owners[index]
        rows.append({"index": index, "name": layer.name, "type": type_name,
                     "module": call.name if call is not None else "", "module_class": call.class_name if call else "",
                     "inputs": [_tensor(t) for t in inputs], "outputs": [_tensor(t) for t in outputs],
                     "macs": netinfo.macs(type_name, layer, inputs, outputs)})
    modules = []
    for path, module in model.named_modules():
        registered = [(k, p, False) for k, p in module.named_parameters(prefix=path)]
        registered += [(k, p, True) for k, p in module.named_buffers(prefix=path)]  # register_buffer's
        entries = [(k, p) for k, p, _ in registered if p.is_set]
        buffers = {k for k, p, buffer in registered if buffer}  # BatchNorm's running statistics among them
        modules.append({"path": path, "class": type(module).__name__,
                        "parameters": sum(_numel(p) for k, p in entries if k not in buffers),
                        "buffers": sum(_numel(p) for k, p in entries if k in buffers),
                        "weight_bytes": sum(_nbytes(p) for _, p in entries)})
    root = modules[0]
    specs = {spec.name: spec for spec in net.inputs}
    trt_backend = net.graph.backend
    return {
        "schema": SCHEMA, "kind": "network", "model": model_name or type(model).__name__,
        "backend": {"name": trt_backend.name, "version": trt_backend.version},
        "inputs": [dict(_tensor(netinfo.tensor_info(network.get_input(i))),
                        profile={k: list(v) for k, v in specs[network.get_input(i).name].profile_shapes().items()})
                   for i in range(network.num_inputs)],
        "outputs": [_tensor(netinfo.tensor_info(network.get_output(i))) for i in range(network.num_outputs)],
        "layers": rows,
        "modules": modules,
        "totals": {"layers": len(rows), "parameters": root["parameters"], "buffers": root["buffers"],
                   "weight_bytes": root["weight_bytes"], "weight_mb": round(root["weight_bytes"] / 1e6, 3),
                   "macs": sum(row["macs"] for row in rows)},
    }


def _numel(param: Any) -> int:
    count = 1
    for dim in param.shape:
        count *= int(dim)
    return count


def _nbytes(param: Any) -> int:
    itemsize = 2 if param.dtype.name == "bfloat16" else param.dtype.carrier.itemsize
    return _numel(param) * itemsize


def format_network(listing: dict[str, Any]) -> str:
    """The layer table, the modules holding parameters, and the totals, as text."""
    def shapes(tensors: list[dict[str, Any] | None]) -> str:
        return ", ".join("-" if t is None else f"{'x'.join(map(str, t['shape'])) or 'scalar'} {t['dtype']}" for t in tensors)

    rows = [("#", "layer", "type", "module", "inputs -> outputs")]
    rows += [(str(r["index"]), r["name"], r["type"], r["module"] or "(model)",
              f"{shapes(r['inputs'])} -> {shapes(r['outputs'])}") for r in listing["layers"]]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{listing['model']} on {listing['backend']['name']} {listing['backend']['version']}"]
    for tensor in listing["inputs"]:
        profile = tensor["profile"]
        dynamic = "" if profile["min"] == profile["max"] else "  " + "  ".join(
            f"{k} {'x'.join(map(str, v))}" for k, v in profile.items())
        lines.append(f"  input   {tensor['name']}  {tensor['dtype']}  {'x'.join(map(str, tensor['shape']))}{dynamic}")
    for tensor in listing["outputs"]:
        lines.append(f"  output  {tensor['name']}  {tensor['dtype']}  {'x'.join(map(str, tensor['shape']))}")
    lines.append("")
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines += ["", "modules with parameters:"]
    for module in listing["modules"]:
        if module["parameters"] or module["buffers"]:
            lines.append(f"  {module['path'] or '(model)'}  {module['class']}  {module['parameters']:,} parameters"
                         + (f" + {module['buffers']:,} buffer values" if module["buffers"] else "")
                         + f"  {module['weight_bytes']:,} bytes")
    totals = listing["totals"]
    lines += ["", f"totals: {totals['layers']} layers, {totals['parameters']:,} parameters "
                  f"(+ {totals['buffers']:,} buffer values), {totals['weight_bytes'] / 1e6:.2f} MB of weights, "
                  f"{totals['macs'] / 1e6:,.1f} MMACs (convolutions and matrix multiplies)"]
    return "\n".join(lines)


# ---- plan files ------------------------------------------------------------------------------
_MYELIN_IO = re.compile(rb'\b(inputs|outputs)=\{((?: "[^"]{1,400}")+) \}')
# TensorRT-RTX plans (magic "vtrt"), as measured on 1.7 plans built with each target alone: the version in bytes
# 24-26, the compute-capability targets as a bit mask in byte 32.
_RTX_MAGIC = b"vtrt"
_RTX_TARGET_BITS = {0x01: "75", 0x02: "80", 0x04: "86", 0x08: "89", 0x10: "120", 0x20: "121"}


def inspect_engine(plan: bytes, path: str = "") -> dict[str, Any]:
    """What can be read from a serialized engine on this machine (see the module docstring)."""
    trt_backend = backend.get()
    header = bytes(plan[:64])
    info: dict[str, Any] = {"schema": SCHEMA, "kind": "engine", "path": path, "size_bytes": len(plan),
                            "backend": {"name": trt_backend.name, "version": trt_backend.version},
                            "magic": header[:4].decode("latin-1"), "header_hex": header.hex(),
                            "plan_version": ".".join(str(b) for b in header[24:27]) if header[:4] == _RTX_MAGIC else None,
                            "compute_capabilities": _rtx_targets(header[32]) if header[:4] == _RTX_MAGIC else None}
    logger = log.make_logger("error")
    threshold, logger.threshold = logger.threshold, logging.CRITICAL + 1  # no GPU: TensorRT's complaints are expected
    try:
        runtime = trt_backend.trt.Runtime(logger)
        validity = getattr(runtime, "get_engine_validity", None)
        if validity is not None:
            errors_before = len(logger.errors)
            verdict, diagnostics = validity(header)
            if len(logger.errors) > errors_before:
                info["validity"] = "unknown: no GPU to compare the header with"
            else:
                info["validity"] = verdict.name
                info["validity_diagnostics"] = _flag_names(trt_backend.trt, diagnostics)
        info["layers"] = _inspector_layers(trt_backend, runtime, plan)
    finally:
        logger.threshold = threshold
    info["targets_named_in_plan"] = sorted({m.decode() for m in re.findall(rb"\bsm_?(\d{2,3})\b", plan)}, key=int)
    found: dict[str, list[str]] = {"inputs": [], "outputs": []}
    for kind, names in _MYELIN_IO.findall(plan):
        for name in re.findall(rb'"([^"]+)"', names):
            name = re.sub(rb"\.\d+$", b"", name).decode("utf-8", "replace")  # the compiler appends .1
            if name not in found[kind.decode()] and _length_prefixed(plan, name):
                found[kind.decode()].append(name)
    info["io_names_found"] = found
    return info


def _rtx_targets(mask: int) -> list[str]:
    """Compute capabilities of a TensorRT-RTX plan's target mask; a bit not measured is named ``bit N``."""
    return [_RTX_TARGET_BITS.get(1 << bit, f"bit {bit}") for bit in range(8) if mask & (1 << bit)]


def _length_prefixed(plan: bytes, name: str) -> bool:
    """Whether ``name`` is stored as a plan string (its 8-byte little-endian length right before it)."""
    encoded = name.encode()
    return len(encoded).to_bytes(8, "little") + encoded in plan


def _flag_names(trt: Any, flags: int) -> list[str]:
    enum = trt.EngineInvalidityDiagnostics
    return [n for n in dir(enum) if n.isupper() and int(getattr(enum, n)) & int(flags)]


def _inspector_layers(trt_backend: Any, runtime: Any, plan: bytes) -> list[Any] | None:
    """TensorRT's engine inspector per-layer information; None where the engine can't be deserialized (no GPU)."""
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        return None
    inspector = engine.create_engine_inspector()
    text = inspector.get_engine_information(trt_backend.trt.LayerInformationFormat.JSON)
    return json.loads(text).get("Layers", [])


def format_engine(info: dict[str, Any]) -> str:
    lines = [f"{info['path'] or 'engine'}: {info['size_bytes']:,} bytes",
             f"  read with        {info['backend']['name']} {info['backend']['version']}"]
    if "validity" in info:
        lines.append(f"  header validity  {info['validity']}"
                     + (f" ({', '.join(info['validity_diagnostics'])})" if info.get("validity_diagnostics") else ""))
    if info["compute_capabilities"] is not None:
        lines.append(f"  targets          {', '.join(c if c.startswith('bit') else 'sm' + c for c in info['compute_capabilities'])}"
                     " (plan header)")
    lines.append(f"  named in plan    {', '.join('sm' + c for c in info['targets_named_in_plan']) or 'no sm targets'}")
    if info["plan_version"]:
        lines.append(f"  built with       {info['plan_version']} (plan header)")
    for kind, names in info["io_names_found"].items():
        lines.append(f"  {kind:<16} {', '.join(names) or 'not found'} (names found in the plan)")
    if info["layers"] is None:
        lines.append("  layers           not read: deserializing the engine needs a GPU it can run on")
    else:
        lines.append(f"  layers           {len(info['layers'])} (TensorRT engine inspector)")
        lines += [f"    {layer if isinstance(layer, str) else layer.get('Name', layer)}" for layer in info["layers"]]
    return "\n".join(lines)
