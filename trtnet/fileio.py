"""Files trtnet writes and reads on the user's behalf: atomic outputs and checked paths.

**Atomic outputs.** Every file trtnet writes (engines, JSON reports, saved inputs, safetensors) goes through
:func:`atomic_write`: the bytes go to a temporary file in the destination's folder, are flushed and fsynced,
and the temporary file is then renamed over the destination (``os.replace``) and the folder fsynced. A crash,
``kill -9``, Ctrl-C or a full disk at any moment leaves the previous file or the complete new one, never a
fragment; concurrent writers to one path end with one complete file (the last rename wins) and a reader
never sees a partial one. The new file gets the permissions of any new file (``0o666`` less the umask). A
symlink at the destination stays a link: its target is replaced.

Temporary files are named ``.trtnet-<hash of the destination name>-<pid>-<random>.tmp``; one left behind by
a killed process (the only way one can survive) is removed by the next write to the same destination, once
its process is gone.

**Paths** given on the command line are checked by :func:`check_input_file` and :func:`check_output_file`,
which raise :class:`TrtnetError` naming the option and the path: missing, a folder, not a regular file (a
named pipe would block ``open``), unreadable, a symlink loop, a name too long, a parent that is a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from typing import IO, Iterator

from trtnet.errors import TrtnetError

_TEMP_PREFIX = ".trtnet-"
_TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing (``mode`` "wb" or "w"); on a clean exit from the
    ``with`` block it atomically becomes ``path``; on any exception (``KeyboardInterrupt`` included) it is
    removed and ``path`` is untouched. Raises ``OSError`` as ``open`` would."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    target = os.path.realpath(os.fspath(path))
    if os.path.lexists(target) and not os.path.isfile(target):  # never rename over a folder, pipe or device
        raise OSError(errno.EISDIR if os.path.isdir(target) else errno.EINVAL, "not a regular file", target)
    directory, name = os.path.split(target)
    _remove_stale_temps(directory, name)
    temp = os.path.join(directory, f"{_temp_stem(name)}{os.getpid()}-{secrets.token_hex(4)}{_TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def write_bytes(path: str | os.PathLike[str], data: bytes | memoryview) -> None:
    """Atomically write ``data`` to ``path`` (see :func:`atomic_write`)."""
    with atomic_write(path) as handle:
        handle.write(data)


def _temp_stem(name: str) -> str:
    """``.trtnet-<hash>-``: fixed length, so a destination name near the file system's limit still works."""
    return f"{_TEMP_PREFIX}{hashlib.sha1(name.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}-"


def _remove_stale_temps(directory: str, name: str) -> None:
    """Remove temporary files of earlier writes to ``name`` whose process no longer exists."""
    stem = _temp_stem(name)
    try:
        entries = [e for e in os.listdir(directory or ".") if e.startswith(stem) and e.endswith(_TEMP_SUFFIX)]
    except OSError:
        return
    for entry in entries:
        pid_text = entry[len(stem):].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _process_exists(int(pid_text)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; file systems that can't fsync a folder are left as they are."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- paths -------------------------------------------------------------------------------------
def describe_os_error(exc: OSError) -> str:
    """A short reason for ``exc`` in words a user acts on."""
    reasons = {errno.ENOENT: "no such file or directory", errno.ENOTDIR: "a part of the path is a file, not a folder",
               errno.ELOOP: "a symbolic link loop", errno.ENAMETOOLONG: "the name is too long",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EISDIR: "is a directory", errno.ENOSPC: "no space left on the device",
               errno.EROFS: "a read-only file system", errno.EDQUOT: "disk quota exceeded"}
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def check_input_file(path: str | os.PathLike[str], option: str) -> str:
    """``path`` as a string if it names a readable regular file, else a :class:`TrtnetError` naming ``option``."""
    path = os.fspath(path)
    where = f"{option} {path}"
    try:
        info = os.stat(path)
    except OSError as exc:
        raise TrtnetError(f"{where}: {describe_os_error(exc)}") from None
    except ValueError as exc:  # embedded NUL
        raise TrtnetError(f"{where}: not a valid path ({exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise TrtnetError(f"{where}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise TrtnetError(f"{where}: is {_file_kind(info.st_mode)}, not a regular file")
    if not os.access(path, os.R_OK):
        raise TrtnetError(f"{where}: permission denied (not readable)")
    return path


def check_output_file(path: str | os.PathLike[str], option: str) -> str:
    """Fail early (before a long build) when ``path`` can't be written: the folder is missing or not
    writable, the path is a folder or not a regular file, the name is too long, a parent is a file."""
    path = os.fspath(path)
    where = f"{option} {path}"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            info = None
        else:
            raise TrtnetError(f"{where}: {describe_os_error(exc)}") from None
    except ValueError as exc:
        raise TrtnetError(f"{where}: not a valid path ({exc})") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise TrtnetError(f"{where}: is a directory; give a file name such as model.engine")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise TrtnetError(f"{where}: is {_file_kind(info.st_mode)}, not a regular file")
    if len(os.path.basename(path).encode()) > _name_max(path):
        raise TrtnetError(f"{where}: the name is too long ({len(os.path.basename(path))} characters)")
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        try:
            os.stat(directory)
            problem = "is not a directory"
        except OSError as exc:
            problem = "does not exist" if exc.errno == errno.ENOENT else describe_os_error(exc)
        raise TrtnetError(f"{where}: directory {directory} {problem}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise TrtnetError(f"{where}: directory {directory} is not writable")
    return path


def _name_max(path: str) -> int:
    try:
        return os.pathconf(os.path.dirname(os.path.abspath(path)) or ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
