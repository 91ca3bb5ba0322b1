"""TensorRT's log routed to Python ``logging`` (logger ``trtnet.tensorrt``), and the build progress monitor
(which cancels on Ctrl-C/SIGTERM, see :mod:`trtnet.interrupts`, and draws a bar when asked)."""

from __future__ import annotations

import functools
import gc
import logging
import sys
import time
import traceback
from typing import Any

from trtnet import backend, interrupts

LOGGER = logging.getLogger("trtnet.tensorrt")
LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "verbose": logging.DEBUG}


#: On a machine without a usable GPU TensorRT follows every error with this line: noise, not the cause.
CUDA_DRIVER_NOISE = "cudaError 35"


def without_gc(callback: Any) -> Any:
    """Run a TensorRT callback with Python's garbage collector paused.

    TensorRT calls the logger and the progress monitor while holding its own locks (``createInferBuilder``
    logs under one). A collection triggered by the callback's allocations may free an unreachable TensorRT
    object (a builder of an earlier, dropped graph) whose destructor takes the same lock: a deadlock, seen
    in the test suite. Collection resumes when the callback returns."""

    @functools.wraps(callback)
    def paused(*args: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return callback(*args)
        finally:
            if enabled:
                gc.enable()

    return paused


def make_logger(level: str = "warning") -> Any:
    """The process-wide ``trt.ILogger`` (TensorRT keeps the first one it sees) at ``level``: it forwards
    to ``trtnet.tensorrt`` and keeps every error message in ``.errors``, with the Python stack at the moment it
    was logged in ``.error_stacks`` (how :meth:`trtnet.graph.Graph.check_trt_errors` points at the op).

    A ``cudaError 35`` line right after another error (what a CPU-only machine adds to each error) is logged
    at debug level and not kept: it would be read as the cause."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    logger = _routed_logger()
    logger.threshold = LEVELS[level]
    LOGGER.setLevel(logger.threshold)
    return logger


@functools.lru_cache(maxsize=None)
def _routed_logger() -> Any:
    trt = backend.trt()
    severity_to_level = {
        trt.ILogger.INTERNAL_ERROR: logging.CRITICAL, trt.ILogger.ERROR: logging.ERROR,
        trt.ILogger.WARNING: logging.WARNING, trt.ILogger.INFO: logging.INFO, trt.ILogger.VERBOSE: logging.DEBUG,
    }

    class RoutedLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.error_stacks: list[list[traceback.FrameSummary]] = []
            self.threshold = logging.WARNING
            self._last_was_error = False

        @without_gc
        def log(self, severity: Any, msg: str) -> None:
            py_level = severity_to_level.get(severity, logging.INFO)
            is_error = py_level >= logging.ERROR
            if interrupts.requested():  # errors after a cancel (BuildCanceled) are its consequence
                py_level, is_error = logging.DEBUG, False
            elif is_error and self._last_was_error and CUDA_DRIVER_NOISE in msg:
                py_level, is_error = logging.DEBUG, False
            elif is_error:
                self.errors.append(msg)
                self.error_stacks.append(traceback.extract_stack()[:-1])
            self._last_was_error = is_error
            if py_level >= self.threshold:
                LOGGER.log(py_level, msg)

    if not LOGGER.handlers:
        handler = _UntilLoggingIsConfigured()
        handler.setFormatter(logging.Formatter("[TensorRT] %(levelname)s: %(message)s"))
        LOGGER.addHandler(handler)
    return RoutedLogger()


class _UntilLoggingIsConfigured(logging.StreamHandler):
    """Writes to stderr only while the root logger has no handlers; records always propagate, so logging
    configured later (``basicConfig`` after the first build) receives them instead."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            self.stream = sys.stderr
            super().emit(record)


def make_progress_monitor(stream: Any = None, draw: bool = True) -> Any:
    """An ``IProgressMonitor`` that cancels the build once a signal was recorded (:mod:`trtnet.interrupts`)
    and, with ``draw``, draws one line per build phase on ``stream`` (stderr)."""
    trt = backend.trt()
    out = stream or sys.stderr

    class ProgressBar(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.phases: dict[str, tuple[int, float]] = {}

        @without_gc
        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self.phases[phase_name] = (max(num_steps, 1), time.perf_counter())
            self._draw(phase_name, 0)

        @without_gc
        def step_complete(self, phase_name: str, step: int) -> bool:
            if interrupts.requested():
                if draw and self.phases:  # end the bar's line before the "interrupted" message
                    out.write("\n")
                    self.phases.clear()
                return False
            self._draw(phase_name, step + 1)
            return True

        @without_gc
        def phase_finish(self, phase_name: str) -> None:
            total, start = self.phases.get(phase_name, (1, time.perf_counter()))
            self._draw(phase_name, total, done=f" {time.perf_counter() - start:.1f}s\n")
            self.phases.pop(phase_name, None)

        def _draw(self, phase: str, step: int, done: str = "") -> None:
            if not draw or interrupts.requested():
                return
            total = self.phases.get(phase, (1, 0.0))[0]
            filled = int(24 * min(step, total) / total)
            indent = "  " * (len(self.phases) - 1)
            out.write(f"\r{indent}{phase[:40]:<40} [{'#' * filled}{'.' * (24 - filled)}] {min(step, total)}/{total}{done}")
            out.flush()

    return ProgressBar()
