"""trtnet's exceptions. Every error a user can cause names the file, key, layer or argument involved."""

from __future__ import annotations

import difflib
import os
import traceback
from collections.abc import Iterable


class TrtnetError(Exception):
    """Base class of all trtnet errors."""


class WeightsError(TrtnetError):
    """Weights that don't fit the model: missing or unexpected keys, shapes, dtypes, unset parameters."""


class BuildError(TrtnetError):
    """TensorRT refused the network; carries TensorRT's messages and the layer names they mention."""

    def __init__(self, message: str, trt_messages: list[str] | None = None, layers: list[str] | None = None):
        super().__init__(message)
        self.trt_messages = trt_messages or []
        self.layers = layers or []


class ShapeError(TrtnetError):
    """Operands or arguments whose shapes can't work, found while lowering."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame() -> str:
    """``file:line: code`` of the innermost stack frame outside trtnet, to point errors at the user's line."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            code = f": {frame.line.strip()}" if frame.line else ""
            return f"{frame.filename}:{frame.lineno}{code}"
    return "<unknown>"
