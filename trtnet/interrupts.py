"""Ctrl-C (SIGINT) and SIGTERM: cancel a TensorRT build promptly and exit quietly.

TensorRT calls back into Python (the logger, the progress monitor) while it builds, and Python runs a pending
signal handler as it enters such a callback: an exception raised there is swallowed by the bindings ("Exception
caught in log(): KeyboardInterrupt") and the build runs on. So while TensorRT runs (:func:`inside_tensorrt`,
around ``build_serialized_network``) a signal is only *recorded* (:func:`request`); the progress monitor then
returns False from ``step_complete`` (TensorRT cancels the build) and :class:`Interrupted` is raised when
TensorRT returns. Outside TensorRT the handler raises :class:`Interrupted` at once.

:func:`cancel_builds_on_signals` installs that handler for SIGINT and SIGTERM (the ``trtnet`` command, for its
whole run); :func:`inside_tensorrt` installs it for SIGINT where Python's default handler is in place (library
users). :func:`exit_quietly_while_starting` covers the ``trtnet`` command before that (the imports of
``trtnet`` itself): one line, exit 130/143. A signal before the interpreter has started is Python's own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: list[int] = []
_tensorrt_depth = 0


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by ``signum`` (SIGINT or SIGTERM); ``exit_code`` is 128 + signum (130, 143)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def request(signum: int = signal.SIGINT) -> None:
    """Record a signal: the running build is cancelled at its next progress step."""
    _pending.append(int(signum))


def requested() -> bool:
    """True once a signal was recorded and not yet raised."""
    return bool(_pending)


def raise_if_requested() -> None:
    """Raise :class:`Interrupted` for a recorded signal (and forget it)."""
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    if _tensorrt_depth:
        request(signum)
        return
    _pending.clear()
    raise Interrupted(signum)


@contextlib.contextmanager
def inside_tensorrt() -> Iterator[None]:
    """Wrap a long TensorRT call: a signal arriving meanwhile cancels it (progress monitor) and raises
    :class:`Interrupted` once it returns; one recorded before raises at once."""
    global _tensorrt_depth
    raise_if_requested()
    replaced = None
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        replaced = signal.signal(signal.SIGINT, _handler)
    _tensorrt_depth += 1
    try:
        yield
    finally:
        _tensorrt_depth -= 1
        if replaced is not None:
            signal.signal(signal.SIGINT, replaced)
    raise_if_requested()


@contextlib.contextmanager
def cancel_builds_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (cancelling a TensorRT build first) while the block runs;
    the previous handlers come back afterwards. Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    try:  # a signal between the two installs still finds its handler restored
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, _handler)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _pending.clear()


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os.write(2, f"trtnet: interrupted ({signal.Signals(signum).name})\n".encode())
    os._exit(128 + signum)


def exit_quietly_while_starting() -> None:
    """When this process is the ``trtnet`` command (console script or ``python -m trtnet``), make SIGINT and
    SIGTERM print one line and exit 130/143 until :func:`cancel_builds_on_signals` takes over: nothing has
    been written yet, and a traceback of an import would say nothing."""
    if threading.current_thread() is threading.main_thread() and _is_trtnet_command():
        for signum in SIGNALS:
            signal.signal(signum, _exit_now)


def _is_trtnet_command() -> bool:
    if os.path.basename(sys.argv[0] if sys.argv else "") == "trtnet":
        return True
    argv = list(getattr(sys, "orig_argv", []))
    return any(a == "-m" and b == "trtnet" for a, b in zip(argv, argv[1:])) or "-mtrtnet" in argv
