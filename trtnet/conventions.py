"""Options users bring from trtexec and Polygraphy, answered with the trtnet option to use.

``trtnet build model.py:net --fp16 --saveEngine=net.engine`` fails (exit 2) with one line naming the trtnet
spelling: ``--fp16 is trtexec's spelling; trtnet: --dtype fp16 ...``. :class:`ConventionsParser` is the
``trtnet`` argument parser (its subcommand parsers inherit it): on any argument error it looks for such
spellings among the arguments first.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence

Answer = Callable[[str], str]  # the value given ("" for a flag) -> the trtnet spelling


def _shapes(option: str) -> Answer:
    """trtexec ``NAME:1x3x224x224[,NAME2:...]`` -> one trtnet option per input (same shape syntax)."""
    return lambda value: " ".join(f"{option} {item}" for item in value.split(",") if item) or f"{option} NAME:SHAPE"


def _int8(_: str) -> str:
    return ("int8 is explicit quantize/dequantize in the model (trtnet.functional.quantize, dequantize); "
            "networks are strongly typed, there is no int8 switch")


def _timing_cache(_: str) -> str:
    return "no timing-cache option (a no-op on TensorRT-RTX); reuse whole engines with --cache [DIR] (build, check)"


def _save(value: str) -> str:
    return f"-o {value or 'OUT.engine'}"


# spelling -> (whose, answer)
FOREIGN: dict[str, tuple[str, Answer]] = {
    "--fp16": ("trtexec's", lambda _: "--dtype fp16 (and --input NAME:fp16:SHAPE for half-precision I/O)"),
    "--bf16": ("trtexec's", lambda _: "--dtype bf16"),
    "--int8": ("trtexec's", _int8),
    "--best": ("trtexec's", lambda _: "--dtype fp16 (precision is the model's dtype; no automatic choice)"),
    "--noTF32": ("trtexec's", lambda _: "nothing: TF32 is off unless --tf32 is given"),
    "--saveEngine": ("trtexec's", _save),
    "--loadEngine": ("trtexec's", lambda value: f"trtnet inspect {value or 'ENGINE'} reads a plan; build, check "
                                                "and export-triton start from the MODEL"),
    "--onnx": ("trtexec's", lambda _: "MODEL as path/to/file.py:FACTORY (a trtnet model; trtnet builds without ONNX)"),
    "--shapes": ("trtexec's", _shapes("--input")),
    "--minShapes": ("trtexec's", _shapes("--min")),
    "--optShapes": ("trtexec's", _shapes("--opt")),
    "--maxShapes": ("trtexec's", _shapes("--max")),
    "--timingCacheFile": ("trtexec's", _timing_cache),
    "--memPoolSize": ("trtexec's", lambda value: f"--workspace {value.partition(':')[2] or 'SIZE'} (binary units: 1G, 512M)"),
    "--verbose": ("trtexec's", lambda _: "--log-level verbose"),
    "--save-engine": ("Polygraphy's", _save),
    "--input-shapes": ("Polygraphy's", _shapes("--input")),
    "--trt-min-shapes": ("Polygraphy's", _shapes("--min")),
    "--trt-opt-shapes": ("Polygraphy's", _shapes("--opt")),
    "--trt-max-shapes": ("Polygraphy's", _shapes("--max")),
    "--timing-cache": ("Polygraphy's", _timing_cache),
    "--save-timing-cache": ("Polygraphy's", _timing_cache),
    "--load-timing-cache": ("Polygraphy's", _timing_cache),
    "--pool-limit": ("Polygraphy's", lambda value: f"--workspace {value.partition(':')[2] or 'SIZE'}"),
}


def foreign_hint(arguments: Sequence[str], known: set[str] = frozenset()) -> str | None:
    """The answer to the first trtexec/Polygraphy spelling in ``arguments`` that isn't a trtnet option."""
    for position, argument in enumerate(arguments):
        name, has_value, value = argument.partition("=")
        if name not in FOREIGN or name in known:
            continue
        if not has_value and position + 1 < len(arguments) and not arguments[position + 1].startswith("-"):
            value = arguments[position + 1]
        whose, answer = FOREIGN[name]
        return f"{name} is {whose} spelling; in trtnet: {answer(value)}"
    return None


class ConventionsParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors answer trtexec/Polygraphy spellings first (see the module docstring)."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self._arguments = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        hint = foreign_hint(getattr(self, "_arguments", []), set(self._option_string_actions))
        if hint is not None:
            self.exit(2, f"{self.prog}: error: {hint}\n")
        self.exit(2, f"{self.short_usage()}\n{self.prog}: error: {message}\n(all options: {self.prog} --help)\n")

    def short_usage(self) -> str:
        """``usage: trtnet check [options] MODEL``: the full usage of a command with 40 options buries the error."""
        positionals = [action.metavar or action.dest for action in self._actions
                       if not action.option_strings and action.help is not argparse.SUPPRESS]
        return " ".join(["usage:", self.prog, "[options]", *map(str, positionals)])
