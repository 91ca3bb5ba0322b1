"""Atomic outputs (trtnet.fileio.atomic_write) and every writer that uses it: interrupted, failing, full-disk and
concurrent writes leave the previous file or the complete new one, and no temporary file."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trtnet import fileio
from trtnet.build import save
from trtnet.check import read_input_arrays, save_input_arrays
from trtnet.compare import Tolerance, compare
from trtnet.errors import TrtnetError
from trtnet.report import CheckReport, write_json
from trtnet.weights import read_safetensors, save_safetensors


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".trtnet-"))


def test_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    fileio.write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents" and leftovers(tmp_path) == []


def test_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fileio.write_bytes(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_error_inside_the_block_keeps_the_old_file(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        with fileio.atomic_write(target) as handle:
            handle.write(b"half")
            raise error
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_failing_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC simulated in fsync (where a full disk shows up for buffered writes)."""
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        fileio.write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MiB tmpfs (needs root and mount); skipped where it can't be mounted."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"can't mount a tmpfs: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_leaves_the_old_file_and_no_fragment(tiny_disk: Path) -> None:
    target = tiny_disk / "model.engine"
    save(b"E" * 400_000, target)
    for writer in (lambda: save(b"N" * 2_000_000, target),
                   lambda: save_safetensors(target, {"w": np.ones(500_000, np.float32)}),
                   lambda: save_input_arrays(str(target) + ".npz", {"x": np.ones(500_000, np.float32)})):
        with pytest.raises(OSError) as info:
            writer()
        assert info.value.errno == errno.ENOSPC
        assert target.read_bytes() == b"E" * 400_000
        assert sorted(p.name for p in tiny_disk.iterdir()) == ["model.engine"]


def test_symlink_destination_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real.engine").write_bytes(b"old")
    (tmp_path / "link.engine").symlink_to("real.engine")
    save(b"new", tmp_path / "link.engine")
    assert (tmp_path / "link.engine").is_symlink() and (tmp_path / "real.engine").read_bytes() == b"new"


def test_refuses_to_replace_a_folder_or_a_pipe(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    for target in (tmp_path / "dir", tmp_path / "fifo"):
        with pytest.raises(OSError):
            fileio.write_bytes(target, b"x")
    assert (tmp_path / "dir").is_dir() and leftovers(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{fileio._temp_stem('a.bin')}{dead.pid}-0000.tmp"
    alive = tmp_path / f"{fileio._temp_stem('a.bin')}{os.getppid()}-0000.tmp"  # a live writer's file stays
    other = tmp_path / f"{fileio._temp_stem('b.bin')}{dead.pid}-0000.tmp"  # another destination's file stays
    for path in (stale, alive, other):
        path.write_bytes(b"partial")
    fileio.write_bytes(target, b"x")
    assert not stale.exists() and alive.exists() and other.exists()


def test_a_255_character_name_can_be_written(tmp_path: Path) -> None:
    target = tmp_path / ("e" * 248 + ".engine")
    fileio.write_bytes(target, b"x")
    assert target.read_bytes() == b"x" and leftovers(tmp_path) == []


def _writer(path: str, byte: int, rounds: int) -> None:
    for _ in range(rounds):
        save(bytes([byte]) * 3_000_000, path)


def test_concurrent_writers_and_a_reader_never_see_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.engine"
    save(b"\x00" * 3_000_000, target)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(target), byte, 8)) for byte in (1, 2)]
    for writer in writers:
        writer.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        data = target.read_bytes()
        assert len(data) == 3_000_000 and len(set(data)) == 1, "a reader saw a partial or mixed file"
        seen.add(data[0])
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    final = target.read_bytes()
    assert len(final) == 3_000_000 and final[0] in (1, 2) and len(set(final)) == 1
    assert leftovers(tmp_path) == []
    assert seen & {1, 2}, "the reader never saw a new version"


KILLED_WRITER = """
import sys, numpy as np
from trtnet.build import save
print("ready", flush=True)
save(b"N" * 200_000_000, sys.argv[1])
"""


def test_kill_9_during_a_write_keeps_the_old_file(tmp_path: Path) -> None:
    """SIGKILL a process writing 200 MB at several moments: the old bytes or the new, never a fragment;
    its temporary file is gone after the next write."""
    target = tmp_path / "model.engine"
    outcomes = []
    for delay in (0.0, 0.05, 0.15, 0.3, 0.6, 0.9, 1.2, 2.5):
        save(b"OLD" * 1000, target)
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        size = target.stat().st_size
        assert size in (3000, 200_000_000)
        data = target.read_bytes()
        assert data == (b"OLD" * 1000 if size == 3000 else b"N" * 200_000_000)
        outcomes.append("old" if size == 3000 else "new")
    assert "old" in outcomes
    save(b"done", target)
    assert leftovers(tmp_path) == [] and target.read_bytes() == b"done"
    print("kill -9 outcomes:", outcomes)


def test_every_writer_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Engines, JSON reports, saved inputs (.npz, .safetensors) and safetensors files keep the old file when
    the write fails halfway, and write correct content otherwise."""
    report = CheckReport(model="m", reference="r", dtype="float32", executor="cpu", tolerance=Tolerance(1e-4, 1e-3),
                         outputs=[compare("output", np.ones(3, np.float32), np.ones(3, np.float32), Tolerance(1e-4, 1e-3))])
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}
    writers = {
        "a.engine": (lambda p: save(b"engine", p), lambda p: p.read_bytes() == b"engine"),
        "r.json": (lambda p: write_json(report, p), lambda p: '"passed": true' in p.read_text()),
        "i.npz": (lambda p: save_input_arrays(p, arrays), lambda p: np.array_equal(read_input_arrays(p)["x"], arrays["x"])),
        "i.safetensors": (lambda p: save_input_arrays(p, arrays),
                          lambda p: np.array_equal(read_safetensors(p)["x"], arrays["x"])),
        "w.safetensors": (lambda p: save_safetensors(p, arrays), lambda p: np.array_equal(read_safetensors(p)["x"], arrays["x"])),
    }
    real_fsync = os.fsync
    for name, (write, is_right) in writers.items():
        path = tmp_path / name
        path.write_bytes(b"old")
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
        with pytest.raises(OSError):
            write(path)
        assert path.read_bytes() == b"old", name
        monkeypatch.setattr(os, "fsync", real_fsync)
        write(path)
        assert is_right(path), name
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing", "no such file or directory"),
    (lambda d: d, "is a directory, not a file"),
    (lambda d: (os.mkfifo(d / "fifo"), d / "fifo")[1], "is a named pipe, not a regular file"),
    (lambda d: ((d / "loop").symlink_to("loop"), d / "loop")[1], "a symbolic link loop"),
    (lambda d: d / ("n" * 300), "the name is too long"),
    (lambda d: ((d / "f").write_text("x"), d / "f" / "x")[1], "a part of the path is a file, not a folder"),
])
def test_check_input_file_names_the_option_and_path(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(TrtnetError) as info:
        fileio.check_input_file(path, "--load-inputs")
    assert str(info.value).startswith(f"--load-inputs {path}: ") and message in str(info.value)


def test_unreadable_input_and_unwritable_folder_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission checks (os.access; root passes them all, so they are simulated here)."""
    (tmp_path / "in.npz").write_bytes(b"x")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(TrtnetError, match=rf"^--load-inputs {tmp_path}/in.npz: permission denied \(not readable\)$"):
        fileio.check_input_file(tmp_path / "in.npz", "--load-inputs")
    with pytest.raises(TrtnetError, match=rf"^-o {tmp_path}/x.engine: directory {tmp_path} is not writable$"):
        fileio.check_output_file(tmp_path / "x.engine", "-o")
