"""The ``trtnet`` command. One function adds each subcommand's parser (``add_build_parser``), one runs it
(``run_build``); model, weights and input arguments are shared (``add_model_arguments`` +
``model_from_args``) so every subcommand reads them the same way.

Exit codes: 0 success, 1 TensorRT could not build the engine, 2 bad arguments, model, weights or inputs.
Building imports neither torch nor onnx.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, Callable, Sequence, TextIO

from trtnet import __version__, dtypes, fileio, interrupts, loading, weights
from trtnet.backend import BackendUnavailable
from trtnet.conventions import ConventionsParser
from trtnet.build import BuildConfig, Input, Network, save, trace
from trtnet.cache import serialize as cache_serialize
from trtnet.calibrate import METHODS
from trtnet.errors import BuildError, TrtnetError, WeightsError
from trtnet.nn.module import Module

EXIT_OK, EXIT_BUILD_FAILED, EXIT_USAGE = 0, 1, 2
QUANTIZED = ("int8", "fp8")  # --dtype values that quantize (trtnet.quantize) rather than convert

BUILD_EPILOG = """\
MODEL is path/to/file.py:FACTORY or package.module:FACTORY; FACTORY() returns a trtnet Module.
Its default_inputs are used unless --input overrides them (by name).

shapes:   dims joined by 'x': 1x3x224x224; -1 marks a dynamic dim, which needs --min/--opt/--max.
          --min/--opt/--max take NAME:SHAPE (NAME may be left out when the model has one input); a
          static input given min/opt/max shapes becomes dynamic in the dims where they differ.
dtypes:   fp32 (float32), fp16 (float16), bf16 (bfloat16), int32, int64, int8, bool.
--dtype   converts the model's weights and computation; inputs declared with a dtype keep it (cast
          inside the engine): override with --input NAME:fp16:SHAPE for half-precision I/O.

examples:
  trtnet build models/resnet.py:resnet50 --weights resnet50.safetensors -o resnet50.engine
  trtnet build models/resnet.py:resnet50 --weights resnet50.safetensors -o r50_fp16.engine \\
      --dtype fp16 --input input:fp16:1x3x224x224 --workspace 2G --compute-capability SM89
  trtnet build models/resnet.py:resnet18 --weights resnet18.safetensors -o r18_dyn.engine \\
      --input input:fp32:-1x3x224x224 --min 1x3x224x224 --opt 8x3x224x224 --max 32x3x224x224
  trtnet build mypackage.models:make_net --weights net.safetensors -o net.engine --non-strict
  trtnet build models/digits.py:digits --weights weights/digits.safetensors -o digits_int8.engine \\
      --dtype int8 --calibration samples.npz --calibration-method entropy --save-scales scales.json
  (--dtype fp8 also needs FP8 targets: --compute-capability SM89,SM120)
  trtnet build models/digits.py:digits --weights weights/digits.safetensors -o digits.engine --json - \\
      | python -m json.tool

exit codes: 0 built, 1 TensorRT could not build the engine, 2 bad arguments, model, weights or inputs.
"""


# ---- shared arguments ------------------------------------------------------------------------
def add_model_arguments(parser: argparse.ArgumentParser, quantized_dtypes: bool = False) -> None:
    """MODEL, --weights, --non-strict, --input, --min/--opt/--max, --dtype (also int8/fp8 if ``quantized_dtypes``)."""
    parser.add_argument("model", metavar="MODEL", help="path/to/file.py:FACTORY or package.module:FACTORY")
    parser.add_argument("--weights", metavar="FILE",
                        help="PyTorch state_dict as .safetensors; needed unless FACTORY loads its own")
    parser.add_argument("--non-strict", action="store_true",
                        help="accept a weights file with extra keys the model lacks (listed, then ignored)")
    add_nonfinite_weights_argument(parser)
    parser.add_argument("--input", action="append", default=[], metavar="NAME:DTYPE:SHAPE",
                        help="declare or override an input, e.g. input:fp32:1x3x224x224 "
                             "(DTYPE may be left out); repeatable")
    add_profile_arguments(parser)
    parser.add_argument("--dtype", choices=("fp32", "fp16", "bf16", *(QUANTIZED if quantized_dtypes else ())),
                        default=None, help="precision of the weights and computation (model.to; int8/fp8: "
                                           "post-training quantization, see --calibration); default: the model's")


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """--min/--opt/--max [NAME:]SHAPE (:func:`trtnet.loading.resolve_inputs`)."""
    for which in ("min", "opt", "max"):
        parser.add_argument(f"--{which}", action="append", default=[], metavar="[NAME:]SHAPE",
                            help=f"{which} shape of the optimization profile of a dynamic input; repeatable")


def add_nonfinite_weights_argument(parser: argparse.ArgumentParser) -> None:
    """--nonfinite-weights warn|error|ignore (:func:`trtnet.weights.nonfinite_weights`)."""
    parser.add_argument("--nonfinite-weights", choices=weights.NONFINITE_POLICIES, default="warn",
                        help="weights holding NaN or Inf: warn (default), error (exit 2) or ignore")


def model_from_args(args: argparse.Namespace) -> tuple[Module, list[Input], list[str]]:
    """The loaded model, its resolved inputs and the weight keys it ignored (``--non-strict``)."""
    specs = loading.parse_inputs(args.input)
    model = loading.load_model(args.model)
    ignored: list[str] = []
    if args.weights is not None:
        try:
            with weights.nonfinite_weights(args.nonfinite_weights):
                ignored = loading.load_weights(model, args.weights, strict=not args.non_strict)
        except WeightsError as exc:  # its message starts with the file's name
            raise WeightsError(f"--weights {exc}") from None
    elif unset := model.unset_parameters():
        raise TrtnetError(f"--weights FILE.safetensors is required: {args.model} has {len(unset)} parameter(s) "
                          "without values")
    if args.dtype is not None and args.dtype not in QUANTIZED:
        model.to(args.dtype)
    inputs = loading.resolve_inputs(model, specs, {w: getattr(args, w) for w in ("min", "opt", "max")})
    return model, inputs, ignored


# ---- build -----------------------------------------------------------------------------------
def add_build_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet build``."""
    parser = subparsers.add_parser(
        "build", help="build a TensorRT engine from a trtnet model and safetensors weights",
        description="Build a serialized TensorRT engine from a trtnet model and a PyTorch state_dict "
                    "(.safetensors). No ONNX, no torch.",
        epilog=BUILD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser, quantized_dtypes=True)
    add_quantize_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT.engine", help="where to write the engine")
    parser.add_argument("--workspace", metavar="SIZE", help="workspace memory limit, e.g. 1G, 512M (binary units)")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 in fp32 matmul/conv (off by default)")
    parser.add_argument("--compute-capability", action="append", default=[], metavar="SM89",
                        help="TensorRT-RTX engine target (SM75, SM80, SM86, SM89, SM120, ...); repeatable "
                             "or comma-separated; default: TensorRT-RTX's own set")
    parser.add_argument("--log-level", choices=("error", "warning", "info", "verbose"), default="warning",
                        help="TensorRT messages shown on stderr (default: warning)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="draw build phases on stderr (default: when stderr is a terminal)")
    parser.add_argument("--json", metavar="FILE", help="also write what was built as JSON (schema trtnet.build/1; "
                                                     "- : JSON on stdout, the summary on stderr)")
    add_cache_argument(parser)
    parser.set_defaults(run=with_engine_cache(run_build))


def run_build(args: argparse.Namespace) -> int:
    """Load, trace, build and save; print what was built."""
    start = time.perf_counter()
    config = BuildConfig(
        workspace=None if args.workspace is None else loading.parse_size(args.workspace, "--workspace"),
        tf32=args.tf32, compute_capabilities=_split_commas(args.compute_capability),
        progress=args.progress, log_level=args.log_level)
    fileio.check_output_file(args.output, "-o")
    if args.json not in (None, "-"):
        fileio.check_output_file(args.json, "--json")
    model, inputs, ignored = model_from_args(args)
    quantize_from_args(model, inputs, args)
    if ignored:
        print(f"note: --non-strict: ignored {len(ignored)} weight(s) of {args.weights} the model lacks: "
              f"{', '.join(ignored[:10])}{' ...' if len(ignored) > 10 else ''}", file=sys.stderr)
    net = loading.call_user(lambda: trace(model, inputs, log_level=args.log_level), f"tracing {args.model}")
    traced = time.perf_counter()
    try:
        engine = cache_serialize(net, config)
    except BuildError as exc:
        raise _explain_out_of_memory(exc, net) from None
    built = time.perf_counter()
    try:
        save(engine, args.output)
    except OSError as exc:
        raise TrtnetError(f"-o {args.output}: can't write the engine ({fileio.describe_os_error(exc)}); "
                          "the previous file, if any, is unchanged") from None
    timing = {"trace": traced - start, "build": built - traced}
    text = _summary(args, model, net, len(engine), timing["trace"], timing["build"])
    if args.json is None:
        emit(text)
    else:
        _emit_listing(text, _build_json(args, model, net, len(engine), timing, config), args.json)
    return EXIT_OK


#: The ``schema`` of ``trtnet build --json`` (docs/schemas/build-1.json).
BUILD_SCHEMA = "trtnet.build/1"


def _build_json(args: argparse.Namespace, model: Module, net: Network, size: int, timing: dict[str, float],
                config: BuildConfig) -> dict[str, Any]:
    """What ``trtnet build`` built, as the ``--json`` document (seconds in ``timing``)."""
    from trtnet import cache as engine_cache

    network, backend = net.network, net.graph.backend
    specs = {spec.name: spec for spec in net.inputs}
    cache = engine_cache.active()
    last = None if cache is None else cache.last  # ("hit" | "miss", key) of this build's lookup
    return {
        "schema": BUILD_SCHEMA, "model": args.model, "model_class": type(model).__name__, "weights": args.weights,
        "dtype": args.dtype, "output": args.output, "engine_bytes": size,
        "inputs": [dict(_tensor_json(network.get_input(i)),
                        profile={k: list(v) for k, v in specs[network.get_input(i).name].profile_shapes().items()})
                   for i in range(network.num_inputs)],
        "outputs": [_tensor_json(network.get_output(i)) for i in range(network.num_outputs)],
        "layers": network.num_layers,
        "timing": {**timing, "total": timing["trace"] + timing["build"]},
        "backend": {"name": backend.name, "version": backend.version},
        "compute_capabilities": list(config.compute_capabilities),
        "cache": None if last is None else {"hit": last[0] == "hit", "key": last[1], "folder": os.fspath(cache.folder)},
    }


def _tensor_json(tensor: Any) -> dict[str, Any]:
    """``name``, ``shape`` and ``dtype`` of a TensorRT ITensor."""
    return {"name": tensor.name, "shape": [int(d) for d in tensor.shape], "dtype": dtypes.from_trt(tensor.dtype).name}


def _explain_out_of_memory(exc: BuildError, net: Network) -> BuildError:
    """A build that ran out of memory names the inputs' largest sizes (the usual cause: a huge --input/--max)."""
    if not any("outofmemory" in m.replace(" ", "").lower() for m in [str(exc), *exc.trt_messages]):
        return exc
    sizes = []
    for spec, index in zip(net.inputs, range(net.network.num_inputs)):
        shape = spec.profile_shapes()["max"]
        dtype = dtypes.from_trt(net.network.get_input(index).dtype)
        volume = 1
        for d in shape:
            volume *= d
        itemsize = 2 if dtype is dtypes.bfloat16 else dtype.carrier.itemsize
        sizes.append(f"input {spec.name!r} {loading.format_shape(shape)} {dtype.name} = {_human_bytes(volume * itemsize)}")
    return BuildError(f"{exc}\n  TensorRT ran out of memory; largest input sizes: {'; '.join(sizes)} "
                      "(give smaller --input/--max shapes)", exc.trt_messages, exc.layers)


def _split_commas(values: Sequence[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _summary(args: argparse.Namespace, model: Module, net: Network, size: int, trace_s: float,
             build_s: float) -> str:
    network, backend = net.network, net.graph.backend
    specs = {spec.name: spec for spec in net.inputs}
    lines = [f"built {args.model} ({type(model).__name__}) -> {args.output}"]
    for index in range(network.num_inputs):
        line = f"  input   {_describe_tensor(network.get_input(index))}"
        spec = specs[network.get_input(index).name]
        if spec.is_dynamic:
            line += "  (" + ", ".join(f"{k} {loading.format_shape(v)}" for k, v in spec.profile_shapes().items()) + ")"
        lines.append(line)
    for index in range(network.num_outputs):
        lines.append(f"  output  {_describe_tensor(network.get_output(index))}")
    lines += [f"  layers  {network.num_layers} (network definition)",
              f"  engine  {_human_bytes(size)} ({size} bytes)",
              f"  time    {trace_s + build_s:.2f} s (load + trace {trace_s:.2f} s, TensorRT build {build_s:.2f} s)",
              f"  backend {backend.name} {backend.version}"]
    return "\n".join(lines)


def _describe_tensor(tensor: Any) -> str:
    """``name  dtype  shape`` of a TensorRT ITensor."""
    return f"{tensor.name}  {dtypes.from_trt(tensor.dtype).name}  {loading.format_shape(tuple(tensor.shape))}"


def _human_bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.2f} GiB"


# ---- check -----------------------------------------------------------------------------------
CHECK_EPILOG = """\
MODEL is a trtnet factory (as for build); REFERENCE is path/to/file.py:FACTORY or package.module:FACTORY
whose FACTORY() returns the eager torch.nn.Module with the same state_dict names. The same .safetensors
file is loaded strictly into both. The engine is always built; it runs on the GPU when one can run it
(--device auto), else the CPU reference executor runs the same network definition.

--dtype fp16/bf16 runs the trtnet model in that precision against the float32 reference, with the
dtype's default tolerance (fp32 atol 1e-4 rtol 1e-3, fp16 1e-2/1e-2, bf16 5e-2/5e-2); eager PyTorch also
runs in that dtype, and an output within 2x of eager PyTorch's own error passes by the precision rule.
Warnings flag checks that prove little (constant, all-zero or input-independent reference outputs, ...).
Inputs are seeded random (float: standard normal, int: [0, 10)) at the model's default_inputs shapes
(--input NAME:DTYPE:SHAPE overrides by name), or loaded with --load-inputs (.npz / .safetensors).
--layerwise [VIEW] compares every module call's output (CPU executor vs forward hooks) and names the first
divergent module: isolated (the default) runs each module from the reference's inputs, so a row is that
module's own error; accumulated compares the whole network's run; both shows the two side by side.
--dtype int8/fp8 quantizes the float32 model (calibrated on --calibration DATA by the CPU executor, or --scales
S.json) and compares it with the float32 reference: each output shows its SQNR (dB) and, for (N, C) outputs,
top-1 agreement; it passes when SQNR >= --min-sqnr (default 15 dB int8, 10 dB fp8) and top-1 agreement
>= --min-top1 (default 70%). --layerwise shows each module's own quantization error (SQNR per row).
A dynamic input (-1 dims; --min/--opt/--max as for build) is checked at min, opt and max from one engine
(equal points once), each point with its own seeded inputs, its own table (and layerwise rows); the check
fails if any point fails. --load-inputs values take the opt point's place; --save-inputs writes opt's.

examples:
  trtnet check models/digits.py:digits --weights weights/digits.safetensors \\
      --reference models/digits_torch.py:digits
  trtnet check models/resnet.py:resnet18 --weights r18.safetensors --reference models/resnet_torch.py:resnet18 \\
      --input input:fp32:1x3x64x64 --dtype fp16 --layerwise --json report.json
  trtnet check models/resnet.py:resnet18 --weights r18.safetensors --reference models/resnet_torch.py:resnet18 \\
      --input input:fp32:-1x3x64x64 --min 1x3x64x64 --opt 4x3x64x64 --max 8x3x64x64
  trtnet check models/digits.py:digits --weights weights/digits.safetensors \
      --reference models/digits_torch.py:digits --dtype int8 --calibration samples.npz --layerwise

exit codes: 0 all outputs within tolerance, 1 mismatch or TensorRT could not build the engine,
2 bad arguments, model, weights or inputs.
"""
EXIT_MISMATCH = 1


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet check``."""
    parser = subparsers.add_parser(
        "check", help="compare a trtnet model with its eager PyTorch original",
        description="Build the trtnet model, run it and its PyTorch reference on the same inputs and weights, "
                    "and compare the outputs (optionally every module's output).",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="path/to/file.py:FACTORY or package.module:FACTORY (trtnet)")
    parser.add_argument("--weights", metavar="FILE", help="PyTorch state_dict as .safetensors, loaded into both")
    add_nonfinite_weights_argument(parser)
    parser.add_argument("--reference", required=True, metavar="REF",
                        help="path/to/file.py:FACTORY or package.module:FACTORY returning a torch.nn.Module")
    parser.add_argument("--dtype", choices=("fp32", "fp16", "bf16", *QUANTIZED), default="fp32", metavar="DTYPE",
                        help="precision of the trtnet model: fp32 (default), fp16, bf16, int8 or fp8 (the reference "
                             "stays float32; int8/fp8: post-training quantization, see --calibration)")
    add_quantize_arguments(parser)
    parser.add_argument("--min-sqnr", type=float, metavar="DB", help="--dtype int8/fp8: least SQNR of an output, in "
                                                                   "dB (default 15 for int8, 10 for fp8)")
    parser.add_argument("--min-top1", type=float, metavar="PCT", help="--dtype int8/fp8: least top-1 agreement of a "
                                                                    "classifier output, in percent (default 70)")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="gpu: run the engine; cpu: the CPU reference executor; auto: gpu when possible")
    parser.add_argument("--layerwise", nargs="?", const="isolated", choices=("isolated", "accumulated", "both"),
                        metavar="VIEW", help="compare every module call and find the first divergence: isolated "
                        "(default; each module from the reference's inputs: its own error), accumulated (the "
                        "whole network's run: drift included) or both")
    parser.add_argument("--atol", type=float, help="absolute tolerance (default: the dtype's)")
    parser.add_argument("--rtol", type=float, help="relative tolerance (default: the dtype's)")
    parser.add_argument("--warnings-as-errors", action="store_true",
                        help="fail (exit 1) on any warning: a reference output that is constant, all zero, below "
                             "the tolerance's scale or independent of the input, NaN/Inf in it or in the weights")
    parser.add_argument("--seed", type=loading.parse_seed, default=0,
                        help="seed of the random inputs, a non-negative integer (default 0)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME:DTYPE:SHAPE",
                        help="declare or override an input, e.g. input:fp32:1x3x64x64; repeatable")
    add_profile_arguments(parser)
    parser.add_argument("--save-inputs", metavar="FILE", help="write the inputs used (.npz or .safetensors; "
                                                              "of a dynamic model: the opt point's)")
    parser.add_argument("--load-inputs", metavar="FILE", help="read the inputs (.npz or .safetensors) instead of random "
                                                              "ones (of a dynamic model: in place of the opt point's)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON (schema trtnet.check/1; "
                                                     "- : JSON on stdout, the table on stderr)")
    add_html_argument(parser)
    parser.add_argument("--log-level", choices=("error", "warning", "info", "verbose"), default="error",
                        help="TensorRT messages shown on stderr (default: error)")
    add_cache_argument(parser)
    parser.set_defaults(run=with_engine_cache(run_check))


def run_check(args: argparse.Namespace) -> int:
    """Run :func:`trtnet.check`, print the table, write the JSON; 0 pass, 1 mismatch (errors raise: 2)."""
    from trtnet.check import check
    from trtnet.report import format_table, to_json, write_json

    for option, path in (("--json", args.json), ("--save-inputs", args.save_inputs), ("--html", args.html)):
        if path is not None and not (option == "--json" and path == "-"):
            fileio.check_output_file(path, option)
    if args.load_inputs is not None:  # read here first: errors and NaN warnings name the option and file
        for found in loading.nonfinite_inputs(loading.read_input_arrays(args.load_inputs, "--load-inputs")):
            print(f"trtnet check: warning: --load-inputs {args.load_inputs}: input {found}", file=sys.stderr)

    specs = loading.parse_inputs(args.input)
    model = loading.load_model(args.model)
    profiles = {which: getattr(args, which) for which in ("min", "opt", "max")}
    given = specs or model.default_inputs or any(profiles.values())
    inputs = loading.resolve_inputs(model, specs, profiles) if given else None
    calibration = _check_calibration(args, inputs or model.default_inputs or [])
    report = _naming_load_inputs(args, lambda: loading.call_user(lambda: check(
        model, args.reference, weights=args.weights, inputs=inputs, dtype=args.dtype, device=args.device,
        layerwise=args.layerwise, atol=args.atol, rtol=args.rtol, seed=args.seed,
        input_arrays=args.load_inputs, save_inputs=args.save_inputs, log_level=args.log_level,
        nonfinite_weights=args.nonfinite_weights, warnings_as_errors=args.warnings_as_errors,
        calibration=calibration, calibration_method=args.calibration_method, scales=args.scales,
        min_sqnr=args.min_sqnr, min_top1=args.min_top1),
        f"checking {args.model}"))
    if args.save_scales is not None:
        model.quantization.save(args.save_scales)
    report.model = args.model + (f" (weights {args.weights})" if args.weights else "")
    if args.html:
        write_check_picture(args, model, inputs, report)
    if args.json == "-":  # JSON on stdout, the table on stderr
        emit(to_json(report))
        emit(format_table(report), sys.stderr)
    else:
        if args.json:  # written before the table is printed: a closed stdout can't lose it
            try:
                write_json(report, args.json)
            except OSError as exc:
                raise TrtnetError(f"--json {args.json}: can't write the report ({fileio.describe_os_error(exc)})") from None
        emit(format_table(report))
    return EXIT_OK if report.passed else EXIT_MISMATCH


def _check_calibration(args: argparse.Namespace, inputs: list[Input]) -> list[dict[str, Any]] | None:
    """``--calibration DATA`` split in ``--calibration-batch`` batches (checked here: errors name the option)."""
    if args.dtype not in QUANTIZED:
        for option in ("calibration", "scales", "save_scales", "min_sqnr", "min_top1"):
            if getattr(args, option) is not None:
                raise TrtnetError(f"--{option.replace('_', '-')} needs --dtype int8 or --dtype fp8")
        return None
    if (args.calibration is None) == (args.scales is None):
        raise TrtnetError(f"--dtype {args.dtype} needs --calibration DATA (input samples to calibrate on) or "
                          "--scales S.json, not both")
    if args.save_scales is not None:
        fileio.check_output_file(args.save_scales, "--save-scales")
    if args.calibration is None:
        return None
    from trtnet.calibrate import split_batches
    from trtnet.check import read_input_arrays

    path = fileio.check_input_file(args.calibration, "--calibration")
    return split_batches(read_input_arrays(path), [spec.name for spec in inputs], args.calibration_batch,
                         f"--calibration {path}")


def _naming_load_inputs(args: argparse.Namespace, run: Callable[[], Any]) -> Any:
    """``run()``; errors about the input values of ``--load-inputs FILE`` name the option and the file."""
    try:
        return run()
    except TrtnetError as exc:
        if args.load_inputs and str(exc).startswith("input "):
            raise TrtnetError(f"--load-inputs {args.load_inputs}: {exc}") from None
        raise


# ---- inspect ---------------------------------------------------------------------------------
INSPECT_EPILOG = """\
TARGET is a trtnet model (path/to/file.py:FACTORY or package.module:FACTORY, read with --weights, --input ...
as for build) or a serialized engine file.

A model is traced, not built: one row per TensorRT layer in order (module path, layer type, input -> output
shapes and dtypes), the parameters and weight bytes of every module, totals (layers, parameters, weight MB,
MACs of convolutions and matrix multiplies), inputs, outputs and profiles.
An engine is read without a GPU: size, the TensorRT version and compute-capability targets in its header, the
input and output names found in it; TensorRT's engine inspector adds per-layer information where a GPU can
deserialize it.

examples:
  trtnet inspect models/resnet.py:resnet50 --weights resnet50.safetensors
  trtnet inspect models/digits.py:digits --weights weights/digits.safetensors --json - | python -m json.tool
  trtnet inspect resnet50.engine --json engine.json
"""


def add_inspect_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet inspect``."""
    parser = subparsers.add_parser(
        "inspect", help="list a model's TensorRT layers, parameters and MACs, or what an engine file holds",
        description="Show a trtnet model as TensorRT will see it, or read a serialized engine.",
        epilog=INSPECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--json", metavar="FILE", help="write the listing as JSON (schema trtnet.inspect/1; "
                                                     "- : on stdout, the table on stderr)")
    parser.set_defaults(run=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    """Print the listing of a model or an engine file; write it as JSON with ``--json``."""
    from trtnet import inspection

    if args.json not in (None, "-"):
        fileio.check_output_file(args.json, "--json")
    if os.path.isfile(args.model) and not args.model.endswith(".py"):
        with open(fileio.check_input_file(args.model, "TARGET"), "rb") as handle:
            listing = inspection.inspect_engine(handle.read(), args.model)
        text = inspection.format_engine(listing)
    else:
        model, inputs, _ = model_from_args(args)
        net = loading.call_user(lambda: trace(model, inputs, log_level="error"), f"tracing {args.model}")
        listing = inspection.inspect_network(model, net, args.model)
        text = inspection.format_network(listing)
    _emit_listing(text, listing, args.json)
    return EXIT_OK


def _emit_listing(text: str, data: dict[str, Any], json_path: str | None) -> None:
    """The text on stdout and the JSON in ``json_path``; with ``--json -`` the JSON on stdout, the text on stderr."""
    import json

    document = json.dumps(data, indent=1, allow_nan=False)
    if json_path == "-":
        emit(text, sys.stderr)
        emit(document)
        return
    if json_path is not None:
        try:
            with fileio.atomic_write(json_path, "w", encoding="utf-8") as handle:
                handle.write(document + "\n")
        except OSError as exc:
            raise TrtnetError(f"--json {json_path}: can't write ({fileio.describe_os_error(exc)})") from None
    emit(text)


# ---- engine cache ----------------------------------------------------------------------------
def add_quantize_arguments(parser: argparse.ArgumentParser) -> None:
    """--calibration, --calibration-method, --calibration-batch, --scales, --save-scales (with --dtype int8/fp8)."""
    parser.add_argument("--calibration", metavar="DATA", help="--dtype int8/fp8: input samples (.npz or .safetensors, "
                                                              "arrays by input name, samples on dim 0) to calibrate on")
    parser.add_argument("--calibration-method", choices=METHODS, default="max", metavar="METHOD",
                        help=f"how activation ranges are chosen: {', '.join(METHODS)} (default: max; entropy = "
                             "TensorRT's KL method)")
    parser.add_argument("--calibration-batch", type=int, default=32, metavar="N",
                        help="samples per calibration batch (default: 32)")
    parser.add_argument("--scales", metavar="S.json", help="--dtype int8/fp8: load scales (trtnet JSON or a TensorRT "
                                                           "calibration cache) instead of calibrating")
    parser.add_argument("--save-scales", metavar="S.json", help="write the scales used as JSON")


def quantize_from_args(model: Module, inputs: list[Input], args: argparse.Namespace) -> None:
    """``--dtype int8/fp8``: calibrate on ``--calibration`` (or load ``--scales``); ``--save-scales``."""
    if args.dtype not in QUANTIZED:
        for option in ("calibration", "scales", "save_scales"):
            if getattr(args, option) is not None:
                raise TrtnetError(f"--{option.replace('_', '-')} needs --dtype int8 or --dtype fp8")
        return
    from trtnet.calibrate import split_batches
    from trtnet.check import read_input_arrays
    from trtnet.quantize import quantize

    if (args.calibration is None) == (args.scales is None):
        raise TrtnetError(f"--dtype {args.dtype} needs --calibration DATA (input samples to calibrate on) or "
                          "--scales S.json, not both")
    if args.save_scales is not None:
        fileio.check_output_file(args.save_scales, "--save-scales")
    batches = None
    if args.calibration is not None:
        path = fileio.check_input_file(args.calibration, "--calibration")
        batches = split_batches(read_input_arrays(path), [spec.name for spec in inputs], args.calibration_batch,
                                f"--calibration {path}")
    quantize(model, batches, args.dtype, args.calibration_method, scales=args.scales, inputs=inputs,
             progress=args.progress)
    if args.save_scales is not None:
        model.quantization.save(args.save_scales)


def add_cache_argument(parser: argparse.ArgumentParser) -> None:
    """``--cache [DIR]`` (:mod:`trtnet.cache`)."""
    parser.add_argument("--cache", nargs="?", const="", default=None, metavar="DIR",
                        help="reuse an identical earlier build from the engine cache, else build and store it "
                             "(DIR default: $TRTNET_CACHE_DIR, else ~/.cache/trtnet/engines)")


def with_engine_cache(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run`` with the cache of ``--cache`` active for its builds; says on stderr whether it was a hit."""
    from trtnet import cache as engine_cache

    def run_cached(args: argparse.Namespace) -> int:
        if args.cache is None:
            return run(args)
        cache = engine_cache.EngineCache(args.cache or None)
        cache.label = args.model
        with engine_cache.use(cache):
            code = run(args)
        if cache.last is not None:
            outcome, key = cache.last
            what = "hit: the stored engine, no TensorRT build" if outcome == "hit" else "miss: built and stored"
            print(f"engine cache {what} ({key[:16]} in {cache.folder})", file=sys.stderr)
        return code

    return run_cached


def add_cache_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet cache list|clear``."""
    parser = subparsers.add_parser("cache", help="list or clear the engine cache (build --cache, check --cache)",
                                   description="List or clear the engines stored by `trtnet build --cache`.")
    parser.add_argument("action", choices=("list", "clear"))
    parser.add_argument("--dir", metavar="DIR", help="the cache folder (default: $TRTNET_CACHE_DIR, else "
                                                     "~/.cache/trtnet/engines)")
    parser.set_defaults(run=run_cache)


def run_cache(args: argparse.Namespace) -> int:
    from trtnet import cache as engine_cache

    cache = engine_cache.EngineCache(args.dir)
    if args.action == "clear":
        emit(f"removed {cache.clear()} engine(s) from {cache.folder}")
        return EXIT_OK
    entries = cache.entries()
    lines = [f"{cache.folder}: {len(entries)} engine(s), {_human_bytes(sum(e.size for e in entries))} "
             f"(limit {_human_bytes(cache.max_bytes)})"]
    for entry in entries:
        used = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.last_used))
        lines.append(f"  {entry.key[:16]}  {_human_bytes(entry.size):>10}  used {used}  "
                     f"{entry.info.get('model', '?')}  ({entry.info.get('backend', '?')})")
    emit("\n".join(lines))
    return EXIT_OK


# ---- export-triton ---------------------------------------------------------------------------
TRITON_EPILOG = """\
Builds the engine (as trtnet build does) and writes a Triton Inference Server model repository entry:
REPO/NAME/config.pbtxt (platform tensorrt_plan, inputs and outputs with Triton data types and dims,
max_batch_size, dynamic batching, instance group) and REPO/NAME/VERSION/model.plan.

Batching: with a dynamic first dim (--input input:fp32:-1x3x224x224 --min/--opt/--max) Triton batches along it;
--max-batch-size defaults to the profile's max batch and may not exceed it; 0 turns batching off (full dims).
--dynamic-batching prefers the profile's opt batch and the max batch size. Serve with
  tritonserver --model-repository=REPO
(the engine must be built for the server's GPU: same TensorRT version; see examples/triton_client.py).

examples:
  trtnet export-triton models/resnet.py:resnet50 --weights resnet50.safetensors -o model_repository \\
      --input input:fp32:-1x3x224x224 --min 1x3x224x224 --opt 8x3x224x224 --max 32x3x224x224 \\
      --dynamic-batching --instances 2
"""


def add_export_triton_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet export-triton``."""
    parser = subparsers.add_parser(
        "export-triton", help="build the engine into a Triton Inference Server model repository",
        description="Build a trtnet model and write REPO/NAME/config.pbtxt and REPO/NAME/VERSION/model.plan.",
        epilog=TRITON_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="REPO", help="the model repository folder")
    parser.add_argument("--name", help="model name (default: the factory's name)")
    parser.add_argument("--version", type=int, default=1, help="model version folder (default 1)")
    parser.add_argument("--max-batch-size", type=int, metavar="B",
                        help="Triton's max_batch_size (default: the profile's max batch, or 0 for static inputs)")
    parser.add_argument("--instances", type=int, default=1, metavar="K", help="GPU instances (default 1)")
    parser.add_argument("--dynamic-batching", action="store_true", help="let Triton batch requests together")
    parser.add_argument("--workspace", metavar="SIZE", help="workspace memory limit, e.g. 1G (binary units)")
    parser.add_argument("--compute-capability", action="append", default=[], metavar="SM89",
                        help="TensorRT-RTX engine target (the server's GPU); repeatable or comma-separated")
    add_cache_argument(parser)
    parser.set_defaults(run=with_engine_cache(run_export_triton))


def run_export_triton(args: argparse.Namespace) -> int:
    """Trace, build, write the repository entry; print what was written."""
    from trtnet import triton

    config = BuildConfig(
        workspace=None if args.workspace is None else loading.parse_size(args.workspace, "--workspace"),
        compute_capabilities=_split_commas(args.compute_capability), progress=False, log_level="error")
    model, inputs, _ = model_from_args(args)
    net = loading.call_user(lambda: trace(model, inputs, log_level="error"), f"tracing {args.model}")
    name = args.name or args.model.rpartition(":")[2]
    description = triton.describe(net, name, args.max_batch_size, args.instances, args.dynamic_batching)
    engine = cache_serialize(net, config)
    config_path, plan_path = triton.write_repository(args.output, description, engine, args.version)
    emit(f"wrote {config_path} and {plan_path} ({_human_bytes(len(engine))})\n"
         f"  max_batch_size {description.max_batch_size}"
         + (f", dynamic batching (preferred {description.preferred_batch_sizes})"
            if description.preferred_batch_sizes is not None else "")
         + f", {description.instances} GPU instance(s)\n  serve: tritonserver --model-repository={args.output}")
    return EXIT_OK


# ---- draw ------------------------------------------------------------------------------------
def add_draw_parser(subparsers: argparse._SubParsersAction) -> None:
    """``trtnet draw``."""
    parser = subparsers.add_parser(
        "draw", help="draw the network (a box per module, a node per layer) as .html or .svg",
        description="Trace a trtnet model and draw its TensorRT layers grouped by module, laid out by Graphviz's "
                    "dot. The .html file is self-contained (opens offline); click a module's title to collapse it. "
                    "For a picture colored by a layerwise check use `trtnet check ... --layerwise --html FILE`.",
        epilog="example:\n  trtnet draw models/resnet.py:resnet18 --weights r18.safetensors -o resnet18.html",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="NET.html", help="where to write (.html or .svg)")
    parser.set_defaults(run=run_draw)


def add_html_argument(parser: argparse.ArgumentParser) -> None:
    """``check --html FILE``."""
    parser.add_argument("--html", metavar="FILE", help="draw the network colored by the layerwise errors, the first "
                                                     "divergence marked (.html, self-contained; or .svg)")


def write_check_picture(args: argparse.Namespace, model: Module, inputs: list[Input] | None, report: Any) -> None:
    """The picture of ``check --html``: ``model`` (weights and dtype as the check left it) traced again."""
    from trtnet import draw, inspection

    net = trace(model, inputs, log_level="error")
    draw.write(inspection.inspect_network(model, net, args.model), args.html, report)


def run_draw(args: argparse.Namespace) -> int:
    from trtnet import draw, inspection

    fileio.check_output_file(args.output, "-o")
    model, inputs, _ = model_from_args(args)
    net = loading.call_user(lambda: trace(model, inputs, log_level="error"), f"tracing {args.model}")
    draw.write(inspection.inspect_network(model, net, args.model), args.output)
    emit(f"drew {net.network.num_layers} layers of {args.model} -> {args.output}")
    return EXIT_OK


# ---- entry point -----------------------------------------------------------------------------
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_build_parser, add_check_parser, add_inspect_parser,
                                                                   add_cache_parser, add_export_triton_parser, add_draw_parser]


def make_parser() -> argparse.ArgumentParser:
    """The ``trtnet`` parser with every subcommand in :data:`SUBCOMMANDS`."""
    parser = ConventionsParser(prog="trtnet", description="Write neural networks layer by layer in TensorRT.")
    parser.add_argument("--version", action="version", version=f"trtnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def _print_error(command: str, exc: Exception, max_lines: int = 12) -> None:
    """``trtnet COMMAND: error: ...`` on stderr; long listings (e.g. weight problems) are cut short."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [f"  ... and {len(lines) - max_lines + 1} more"]
    print(f"{command}: error: " + "\n".join(lines), file=sys.stderr)


def emit(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` to ``stream`` (stdout). A reader that closed the pipe (``trtnet ... | head -1``) changes
    neither the files written nor the exit code: stdout is pointed at the null device (Python's documented
    recipe for SIGPIPE) and the rest of the output is dropped."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``trtnet``; returns the exit code (argparse itself exits with 2 on malformed arguments).

    Ctrl-C and SIGTERM cancel the run at any moment (a TensorRT build at its next progress step; no partial
    file is left, see :mod:`trtnet.fileio`): one line on stderr, exit 130 (SIGINT) or 143 (SIGTERM)."""
    command = "trtnet"
    try:  # outside the handlers' block: a signal while it restores them or reports an error is caught too
        with interrupts.cancel_builds_on_signals():
            try:
                args = make_parser().parse_args(argv)
                command = f"trtnet {args.command}"
                return args.run(args)
            except (BuildError, BackendUnavailable) as exc:
                _print_error(command, exc)
                return EXIT_BUILD_FAILED
            except TrtnetError as exc:
                _print_error(command, exc)
                return EXIT_USAGE
    except KeyboardInterrupt as exc:  # the trtnet command's start-up handlers are back: a second signal exits quietly
        signum = exc.signum if isinstance(exc, interrupts.Interrupted) else signal.SIGINT
        print(f"{command}: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
