"""Command-line building blocks: load a model from ``FILE.py:FACTORY``/``MODULE:FACTORY``, parse shapes,
input specs and sizes, turn them into :class:`trtnet.Input` s, and load weights.

Every function raises :class:`trtnet.TrtnetError` with a message naming the argument, file or key;
nothing here imports torch.

>>> parse_shape("-1x3x224x224", "--input")
(-1, 3, 224, 224)
>>> parse_size("512M", "--workspace")
536870912
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
import zipfile
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from trtnet import dtypes, fileio, weights
from trtnet.build import MAX_DIM, Input, check_volume
from trtnet.errors import TrtnetError, did_you_mean
from trtnet.nn.module import Module

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# ---- MODEL / REFERENCE specs -------------------------------------------------------------------
def call_factory(spec: str, what: str = "MODEL") -> Any:
    """Import ``path/to/file.py:factory`` or ``package.module:factory`` and call the factory; errors start
    with ``what`` (the argument's name: MODEL, REFERENCE) and show the user's failing line."""
    source, _, factory_name = spec.rpartition(":")
    if not source or not factory_name:
        raise TrtnetError(f"{what} {spec!r}: write FILE.py:FACTORY or MODULE:FACTORY, e.g. models/resnet.py:resnet50")
    try:
        module = _import_file(source) if _is_file_spec(source) else _import_module(source)
    except TrtnetError as exc:
        raise TrtnetError(str(exc).replace("MODEL", what, 1)) from None
    factory = getattr(module, factory_name, None)
    if factory is None:
        candidates = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise TrtnetError(f"{what} {spec!r}: {source} has no factory {factory_name!r}{did_you_mean(factory_name, candidates)}")
    if not callable(factory):
        raise TrtnetError(f"{what} {spec!r}: {factory_name!r} is a {type(factory).__name__}, not a factory function")
    required = _required_parameters(factory)
    if required:
        raise TrtnetError(f"{what} {spec!r}: {factory_name}() needs arguments ({', '.join(required)}); "
                          "name a factory that takes none")
    try:
        return factory()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code: report where it failed, no traceback
        raise TrtnetError(f"{what} {spec!r}: calling {factory_name}() failed: {_describe(exc)}") from None


def load_model(spec: str) -> Module:
    """The trtnet model returned by the factory named by ``spec`` (see :func:`call_factory`)."""
    model = call_factory(spec, "MODEL")
    if not isinstance(model, Module):
        factory_name = spec.rpartition(":")[2]
        raise TrtnetError(f"MODEL {spec!r}: {factory_name}() returned {_kind(model)}, not a trtnet Module"
                          f"{_torch_hint(model)}")
    return model


def _required_parameters(factory: Callable[..., Any]) -> list[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return []
    return [p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _is_file_spec(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or "/" in source


def _import_file(path: str) -> ModuleType:
    """Import a model file as a script would run: its own directory first on ``sys.path``; a file inside a
    package (folders with ``__init__.py``) is imported as ``package.module``, so its relative and absolute
    imports of siblings work."""
    try:
        os.stat(path)
    except FileNotFoundError:
        raise TrtnetError(f"MODEL: no such file {path!r}") from None
    except (OSError, ValueError):
        pass  # a loop, a file used as a folder, a name too long: check_input_file names it
    if os.path.isdir(path):
        raise TrtnetError(f"MODEL: {path!r} is a directory, not a .py file")
    fileio.check_input_file(path, "MODEL")
    path = os.path.abspath(path)
    if package := _package_module_name(path):
        root, dotted = package
        _prepend_sys_path(root)
        try:
            return importlib.import_module(dotted)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code
            raise TrtnetError(f"MODEL: importing {path} (as {dotted}) failed: {_describe(exc)}") from None
    name = "_trtnet_model_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise TrtnetError(f"MODEL: {path!r} can't be imported as Python source")
    module = importlib.util.module_from_spec(module_spec)
    _prepend_sys_path(os.path.dirname(path))
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code
        del sys.modules[name]
        raise TrtnetError(f"MODEL: importing {path} failed: {_describe(exc)}") from None
    return module


def _package_module_name(path: str) -> tuple[str, str] | None:
    """``(folder to put on sys.path, "package.sub.module")`` for a file inside a package, else None."""
    directory, filename = os.path.split(path)
    parts = [os.path.splitext(filename)[0]]
    while os.path.isfile(os.path.join(directory, "__init__.py")) and os.path.basename(directory).isidentifier():
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    if len(parts) == 1 or not parts[-1].isidentifier():
        return None
    return directory, ".".join(parts)


def _import_module(name: str) -> ModuleType:
    """Import ``package.module`` with the working directory importable (console scripts leave it out)."""
    _prepend_sys_path(os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise TrtnetError(f"MODEL: no module named {exc.name!r} (importable from {os.getcwd()} or the "
                              f"installed packages); for a file write path/to/file.py:FACTORY") from None
        raise TrtnetError(f"MODEL: importing {name} failed: {_describe(exc)}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code
        raise TrtnetError(f"MODEL: importing {name} failed: {_describe(exc)}") from None


def _prepend_sys_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)


def _describe(exc: BaseException) -> str:
    """``Type: message (at file:line)`` of the innermost frame outside trtnet, for errors raised by user code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<") and not os.path.abspath(f.filename).startswith(_PACKAGE_DIR + os.sep)]
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}){where}"
    if isinstance(exc, TrtnetError):
        return f"{exc}{where}"
    return f"{type(exc).__name__}: {exc}{where}"


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__qualname__}"


def _torch_hint(value: Any) -> str:
    if any(cls.__module__.startswith("torch.") for cls in type(value).__mro__):
        return " (a PyTorch model: port it to trtnet.nn; it can load the same state_dict)"
    return ""


# ---- shapes, sizes, inputs -------------------------------------------------------------------
def parse_shape(text: str, arg: str) -> tuple[int, ...]:
    """``1x3x224x224`` -> ``(1, 3, 224, 224)``; -1 marks a dynamic dim."""
    dims = []
    for part in text.strip().lower().split("x"):
        try:
            dims.append(int(part))
        except ValueError:
            raise TrtnetError(f"{arg}: bad shape {text!r}: {part!r} is not an integer "
                              "(write dims joined by 'x', e.g. 1x3x224x224, -1 for a dynamic dim)") from None
        if dims[-1] == 0 or dims[-1] < -1:
            raise TrtnetError(f"{arg}: bad shape {text!r}: dims are positive sizes or -1 (dynamic)")
        if dims[-1] > MAX_DIM:
            raise TrtnetError(f"{arg}: bad shape {text!r}: dim {part} is beyond TensorRT's 64-bit dims")
    check_volume([d for d in dims if d != -1], arg)
    return tuple(dims)


def format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def parse_size(text: str, arg: str) -> int:
    """Bytes from ``1G``, ``512M``, ``64KiB``, ``1048576`` (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise TrtnetError(f"{arg}: bad size {text!r}; write e.g. 1G, 512M, 64K or a number of bytes")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])


@dataclass
class InputSpec:
    """One input as given by ``--input NAME[:DTYPE]:SHAPE`` or declared by the model, with its profile."""

    name: str
    shape: tuple[int, ...]
    dtype: dtypes.DType | None
    profile: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "min"/"opt"/"max" -> shape


def parse_inputs(texts: Sequence[str]) -> list[InputSpec]:
    """Every ``--input``; one name given twice is an error (which one was meant?)."""
    specs: dict[str, tuple[str, InputSpec]] = {}
    for text in texts:
        spec = parse_input(text)
        if spec.name in specs:
            raise TrtnetError(f"--input {text!r}: input {spec.name!r} is already given by --input {specs[spec.name][0]!r}; "
                              "give each input once")
        specs[spec.name] = (text, spec)
    return [spec for _, spec in specs.values()]


def parse_input(text: str) -> InputSpec:
    """``NAME:DTYPE:SHAPE`` or ``NAME:SHAPE``."""
    parts = text.rsplit(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise TrtnetError(f"--input {text!r}: write NAME:DTYPE:SHAPE or NAME:SHAPE, e.g. input:fp16:1x3x224x224")
    dtype = None
    if len(parts) == 3:
        try:
            dtype = dtypes.get(parts[1])
        except TrtnetError as exc:
            raise TrtnetError(f"--input {text!r}: {exc}") from None
    return InputSpec(parts[0], parse_shape(parts[-1], f"--input {text!r}"), dtype)


def parse_profile_shape(text: str, arg: str, input_names: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """``NAME:SHAPE``, or just ``SHAPE`` when the model has a single input."""
    name, _, shape = text.rpartition(":")
    if not name:
        if len(input_names) != 1:
            raise TrtnetError(f"{arg} {text!r}: the model has inputs {', '.join(input_names)}; write NAME:SHAPE")
        name = input_names[0]
    if name not in input_names:
        raise TrtnetError(f"{arg} {text!r}: no input {name!r}{did_you_mean(name, input_names)}; "
                          f"inputs: {', '.join(input_names)}")
    return name, parse_shape(shape, f"{arg} {text!r}")


def resolve_inputs(model: Module, specs: Sequence[InputSpec], profiles: dict[str, Sequence[str]]) -> list[Input]:
    """The model's ``default_inputs`` overridden by name with ``specs`` (``--input``), then given the
    ``profiles`` (``{"min": [...], "opt": [...], "max": [...]}`` of ``[NAME:]SHAPE`` strings).

    A declared profile is kept unless ``--input`` changes the shape; a static shape given profile
    shapes becomes dynamic (-1) in the dims where min/opt/max differ."""
    inputs = {spec.name: spec for spec in _merge(model, specs)}
    options: dict[str, list[str]] = {name: [] for name in inputs}  # the --min/--opt/--max given, by input
    for which, texts in profiles.items():
        given: dict[str, str] = {}
        for text in texts:
            name, shape = parse_profile_shape(text, f"--{which}", list(inputs))
            if name in given:
                raise TrtnetError(f"--{which} {text!r}: input {name!r} already has --{which} {given[name]!r}; "
                                  "give each input's shape once")
            given[name] = text
            inputs[name].profile[which] = shape
            options[name].append(f"--{which} {text}")
    return [_make_input(spec, options[spec.name]) for spec in inputs.values()]


def _merge(model: Module, specs: Sequence[InputSpec]) -> list[InputSpec]:
    declared = model.default_inputs or []
    if not declared:
        if not specs:
            raise TrtnetError(f"{type(model).__name__} declares no default_inputs: give --input NAME:DTYPE:SHAPE")
        return list(specs)
    merged = {i.name: InputSpec(i.name, tuple(i.shape), i.dtype, i.profile_shapes() if i.is_dynamic else {})
              for i in declared}
    for spec in specs:
        if spec.name not in merged:
            raise TrtnetError(f"--input {spec.name!r}: the model has no input {spec.name!r}"
                              f"{did_you_mean(spec.name, merged)}; its inputs: {', '.join(merged)}")
        old = merged[spec.name]
        merged[spec.name] = InputSpec(spec.name, spec.shape, spec.dtype or old.dtype,
                                      old.profile if spec.shape == old.shape else {})
    return list(merged.values())


def _make_input(spec: InputSpec, options: Sequence[str] = ()) -> Input:
    shape, profile = spec.shape, spec.profile
    named = f" (given: {', '.join(options)})" if options else ""
    if -1 not in shape and profile:
        given = list(profile.values())
        if any(len(p) != len(shape) for p in given):
            raise TrtnetError(f"input {spec.name!r}: profile shapes {', '.join(map(format_shape, given))} "
                              f"don't have the rank of {format_shape(shape)}{named}")
        shape = tuple(-1 if len({p[axis] for p in given}) > 1 else d for axis, d in enumerate(shape))
    try:
        return Input(spec.name, shape, spec.dtype, **profile)
    except TrtnetError as exc:
        raise TrtnetError(f"--input/--min/--opt/--max: {exc}{named}") from None


def parse_seed(text: str) -> int:
    """``--seed``: a non-negative integer (numpy's seeds); for argparse's ``type=``."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds are non-negative integers (0, 1, 2, ...)")
    return seed


def read_input_arrays(path: str, option: str = "--load-inputs") -> dict[str, Any]:
    """Input values by name from a ``.npz`` or ``.safetensors`` file; errors name ``option`` and the file: not a
    readable regular file, not a valid archive, no arrays, an object (pickled) array."""
    where = f"{option} {path}"
    fileio.check_input_file(path, option)
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise TrtnetError(f"{where}: not a valid .npz file ({type(exc).__name__}: {exc})") from None
    elif path.endswith(".safetensors"):
        try:
            arrays = {key: np.array(value) for key, value in weights.read_safetensors(path).items()}
        except TrtnetError as exc:
            raise TrtnetError(f"{option} {exc}") from None
    else:
        raise TrtnetError(f"{where}: input files are .npz or .safetensors")
    if not arrays:
        raise TrtnetError(f"{where}: holds no arrays (expected one per model input, by input name)")
    return arrays


def nonfinite_inputs(arrays: dict[str, Any]) -> list[str]:
    """``'x': 3 NaN, 1 Inf`` for every float array holding non-finite values."""
    found = []
    for name, array in arrays.items():
        if np.asarray(array).dtype.kind == "f":
            nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
            if nan or inf:
                found.append(f"{name!r}: " + ", ".join(f"{n} {what}" for n, what in ((nan, "NaN"), (inf, "Inf")) if n))
    return found


# ---- weights ---------------------------------------------------------------------------------
def load_weights(model: Module, path: str, strict: bool = True) -> list[str]:
    """Load a ``.safetensors`` file; returns the file's keys the model ignored
    (only possible with ``strict=False``)."""
    return model.load_state_dict(weights.read_safetensors(path), strict, source=path).unexpected_keys


def call_user(fn: Callable[[], Any], what: str) -> Any:
    """Run user code, turning any non-trtnet exception into a one-line :class:`TrtnetError`."""
    try:
        return fn()
    except TrtnetError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TrtnetError(f"{what} failed: {_describe(exc)}") from None
