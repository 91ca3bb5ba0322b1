"""trtnet's exceptions. Every error a user can cause names the file, key, layer or argument involved.

Errors raised while a model is traced carry a :class:`TraceContext`: the module call that was running
(``layer3.1.conv2 (Conv2d)``), the trtnet op that raised (``conv2d``) and the user's own source line, shown
under the message (see :func:`in_module_call`, applied once by ``Module.__call__``)::

    conv2d: input has 8 channels but weight (4, 16, 1, 1) with groups=1 expects 16
      in:   layer3.1.conv2 (Conv2d)
      op:   conv2d
      line: models/resnet.py:52
            out = self.bn2(self.conv2(out))
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class TrtnetError(Exception):
    """Base class of all trtnet errors. ``context`` is set for errors raised while tracing a model."""

    context: "TraceContext | None" = None

    def __str__(self) -> str:
        message = super().__str__()
        return message if self.context is None else f"{message}\n{self.context}"


class WeightsError(TrtnetError):
    """Weights that don't fit the model: missing or unexpected keys, shapes, dtypes, unset parameters."""


class TrtnetWarning(UserWarning):
    """Base class of trtnet's warnings: input that builds but is probably not what was meant."""


class NonFiniteWeightsWarning(TrtnetWarning):
    """Loaded weights hold NaN or Inf (see :func:`trtnet.weights.nonfinite_weights` to make it an error)."""


class BuildError(TrtnetError):
    """TensorRT refused the network; carries TensorRT's messages and the layer names they mention."""

    def __init__(self, message: str, trt_messages: list[str] | None = None, layers: list[str] | None = None):
        super().__init__(message)
        self.trt_messages = trt_messages or []
        self.layers = layers or []


class ShapeError(TrtnetError):
    """Operands or arguments whose shapes can't work, found while lowering."""


class LayerError(TrtnetError):
    """TensorRT reported an error while a layer was added or configured (a bad layer parameter).

    ``trt_messages`` holds TensorRT's own text; ``frames`` the Python stack at the moment TensorRT logged it,
    which points the error at the op and the user's line that caused it."""

    def __init__(self, message: str, trt_messages: Sequence[str], frames: Sequence[traceback.FrameSummary]):
        super().__init__(message)
        self.trt_messages = list(trt_messages)
        self.frames = list(frames)


class TraceError(TrtnetError):
    """A non-trtnet exception raised while tracing (in the user's forward or in an op): the original is its
    ``__cause__``, the message says its type and where it happened."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_FUNCTIONAL_DIR = os.path.join(_PACKAGE_DIR, "functional") + os.sep


def is_trtnet_file(filename: str) -> bool:
    """True for trtnet's own source files (frames that an error should look past)."""
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def user_frame() -> str:
    """``file:line: code`` of the innermost stack frame outside trtnet, to point errors at the user's line."""
    frame = _innermost_user_frame(traceback.extract_stack()[:-1])
    if frame is None:
        return "<unknown>"
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"{frame.filename}:{frame.lineno}{code}"


def _innermost_user_frame(frames: Sequence[traceback.FrameSummary]) -> traceback.FrameSummary | None:
    for frame in reversed(frames):
        if not frame.filename.startswith("<") and not is_trtnet_file(frame.filename):
            return frame
    return None


@dataclass(frozen=True)
class TraceContext:
    """Where a tracing error happened: the module call, the op and the user's source line."""

    module: str  # "layer3.1.conv2 (Conv2d)"
    op: str | None  # the trtnet.functional op that raised, e.g. "conv2d"
    location: str | None  # "models/resnet.py:52"
    code: str | None  # the source line

    def __str__(self) -> str:
        lines = [f"  in:   {self.module}"]
        if self.op:
            lines.append(f"  op:   {self.op}")
        if self.location:
            lines.append(f"  line: {self.location}")
            if self.code:
                lines.append(f"        {self.code}")
        return "\n".join(lines)


def in_module_call(exc: BaseException, path: str, class_name: str) -> TrtnetError:
    """``exc`` (raised inside the module call ``path`` of class ``class_name``) as a :class:`TrtnetError`
    carrying its :class:`TraceContext`. Errors that already carry one (from an inner call) are returned
    unchanged; other exceptions become a :class:`TraceError` whose ``__cause__`` is ``exc``."""
    if isinstance(exc, TrtnetError) and exc.context is not None:
        return exc
    frames = exc.frames if isinstance(exc, LayerError) else _frames_through(exc)
    user_index = next((i for i in range(len(frames) - 1, -1, -1)
                       if not frames[i].filename.startswith("<") and not is_trtnet_file(frames[i].filename)), None)
    user = frames[user_index] if user_index is not None else None
    inner = frames[user_index + 1:] if user_index is not None else frames
    op = next((f.name for f in inner if os.path.abspath(f.filename).startswith(_FUNCTIONAL_DIR)
               and not f.name.startswith("_")), None)
    module = f"{path} ({class_name})" if path else f"the model ({class_name})"
    context = TraceContext(module, op, f"{_shown_path(user.filename)}:{user.lineno}" if user else None,
                           user.line.strip() if user and user.line else None)
    if isinstance(exc, TrtnetError):
        error = exc
    else:
        error = _trace_error_class(type(exc))(f"{type(exc).__name__}: {exc}")
        error.__cause__ = exc
    error.context = context
    return error


@functools.lru_cache(maxsize=None)
def _trace_error_class(original: type[BaseException]) -> type[TraceError]:
    """A :class:`TraceError` that is also an instance of ``original`` (``except ValueError`` keeps working),
    or plain TraceError where the two can't be combined."""
    try:
        return type(f"TraceError[{original.__name__}]", (TraceError, original), {})
    except TypeError:
        return TraceError


def _frames_through(exc: BaseException) -> list[traceback.FrameSummary]:
    """The stack from the outermost caller down to where ``exc`` was raised."""
    outer = traceback.extract_stack(sys._getframe(2))
    return [*outer, *traceback.extract_tb(exc.__traceback__)]


def _shown_path(filename: str) -> str:
    """A path relative to the working directory when it lies below it."""
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative
