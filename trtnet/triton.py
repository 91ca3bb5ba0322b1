"""Triton Inference Server model repository export: ``REPO/NAME/config.pbtxt`` and ``REPO/NAME/VERSION/model.plan``.

The config (protobuf text of Triton's ``ModelConfig``) has platform ``tensorrt_plan``, the engine's inputs and
outputs with Triton data types and dims, ``max_batch_size``, optional dynamic batching and an instance group.

Batching: with ``max_batch_size`` > 0 Triton owns the first dim, so every input and output must have a dynamic
first dim (-1) and the dims listed leave it out; ``max_batch_size`` may not exceed any input's profile max of
that dim. Left unset it is that smallest profile max when every input is batch-dynamic, else 0 (no batching,
full dims). Dynamic batching prefers the profile's opt batch and ``max_batch_size``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from trtnet import fileio, netinfo
from trtnet.build import Network
from trtnet.errors import TrtnetError

TRITON_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "bfloat16": "TYPE_BF16", "int8": "TYPE_INT8",
                "uint8": "TYPE_UINT8", "int32": "TYPE_INT32", "int64": "TYPE_INT64", "bool": "TYPE_BOOL"}


@dataclass
class TritonModel:
    """What ``config.pbtxt`` says about one model."""

    name: str
    max_batch_size: int
    inputs: list[tuple[str, str, list[int]]]  # (name, Triton data type, dims)
    outputs: list[tuple[str, str, list[int]]]
    preferred_batch_sizes: list[int] | None  # None: no dynamic batching
    instances: int

    def config_text(self) -> str:
        """The ``config.pbtxt`` text (protobuf text format of ``inference.ModelConfig``)."""
        lines = [f'name: "{self.name}"', 'platform: "tensorrt_plan"', f"max_batch_size: {self.max_batch_size}"]
        for kind, tensors in (("input", self.inputs), ("output", self.outputs)):
            for name, data_type, dims in tensors:
                lines += [f"{kind} {{", f'  name: "{_escaped(name)}"', f"  data_type: {data_type}",
                          f"  dims: [ {', '.join(map(str, dims))} ]", "}"]
        if self.preferred_batch_sizes is not None:
            lines += ["dynamic_batching {",
                      f"  preferred_batch_size: [ {', '.join(map(str, self.preferred_batch_sizes))} ]", "}"]
        lines += ["instance_group [", "  {", f"    count: {self.instances}", "    kind: KIND_GPU", "  }", "]"]
        return "\n".join(lines) + "\n"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def describe(net: Network, name: str, max_batch_size: int | None = None, instances: int = 1,
             dynamic_batching: bool = False) -> TritonModel:
    """The Triton model of a traced network (see the module docstring); TrtnetError naming the option that
    doesn't fit the network."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name) or name in (".", ".."):
        raise TrtnetError(f"--name {name!r}: a Triton model name is a folder name: letters, digits, _ . - only")
    if instances < 1:
        raise TrtnetError(f"--instances {instances}: needs at least 1 instance")
    network = net.network
    inputs = [netinfo.tensor_info(network.get_input(i)) for i in range(network.num_inputs)]
    outputs = [netinfo.tensor_info(network.get_output(i)) for i in range(network.num_outputs)]
    profiles = {spec.name: spec.profile_shapes() for spec in net.inputs}
    batch_dynamic = all(t.shape and t.shape[0] == -1 for t in inputs + outputs)
    batch_max = min(profiles[t.name]["max"][0] for t in inputs) if batch_dynamic else 0
    if max_batch_size is None:
        max_batch_size = batch_max
    elif max_batch_size < 0:
        raise TrtnetError(f"--max-batch-size {max_batch_size}: give 0 (no batching) or a positive size")
    elif max_batch_size > 0 and not batch_dynamic:
        fixed = [f"{t.name} {_shape_text(t.shape)}" for t in inputs + outputs if not t.shape or t.shape[0] != -1]
        raise TrtnetError(f"--max-batch-size {max_batch_size}: Triton batches along the first dim, which must be "
                          f"dynamic (-1) in every input and output; static: {', '.join(fixed)} "
                          "(build with --input NAME:DTYPE:-1x... --min/--opt/--max)")
    elif max_batch_size > batch_max:
        raise TrtnetError(f"--max-batch-size {max_batch_size}: exceeds the optimization profile's max batch "
                          f"{batch_max} (raise --max)")
    preferred = None
    if dynamic_batching:
        if max_batch_size == 0:
            raise TrtnetError("--dynamic-batching needs batching: a dynamic first dim and --max-batch-size > 0")
        low = max(profiles[t.name]["min"][0] for t in inputs)
        opt = profiles[inputs[0].name]["opt"][0]
        preferred = sorted({size for size in (opt, max_batch_size) if low <= size <= max_batch_size})
    drop = 1 if max_batch_size > 0 else 0
    return TritonModel(name, max_batch_size,
                       [(t.name, _triton_type(t), list(t.shape[drop:])) for t in inputs],
                       [(t.name, _triton_type(t), list(t.shape[drop:])) for t in outputs],
                       preferred, instances)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _triton_type(tensor: netinfo.TensorInfo) -> str:
    if tensor.dtype not in TRITON_TYPES:
        raise TrtnetError(f"{tensor.name}: Triton has no data type for {tensor.dtype} tensors; "
                          f"use one of {', '.join(TRITON_TYPES)} for inputs and outputs")
    return TRITON_TYPES[tensor.dtype]


def write_repository(repository: str | os.PathLike, model: TritonModel, engine: bytes | memoryview,
                     version: int = 1) -> tuple[Path, Path]:
    """Write ``config.pbtxt`` and ``VERSION/model.plan`` (atomically); returns their paths."""
    if version < 1:
        raise TrtnetError(f"--version {version}: Triton model versions are positive integers")
    folder = Path(repository) / model.name
    config_path, plan_path = folder / "config.pbtxt", folder / str(version) / "model.plan"
    try:
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        fileio.write_bytes(plan_path, engine)
        with fileio.atomic_write(config_path, "w", encoding="utf-8") as handle:
            handle.write(model.config_text())
    except OSError as exc:
        raise TrtnetError(f"-o {repository}: can't write the model repository ({fileio.describe_os_error(exc)})") from None
    return config_path, plan_path


__all__ = ["TritonModel", "describe", "write_repository", "TRITON_TYPES"]
