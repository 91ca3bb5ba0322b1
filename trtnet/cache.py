"""The engine cache: a built engine is stored under a hash of everything that decides its bytes, and an
identical build later returns the stored engine without running TensorRT.

**Key** (:func:`engine_key`): SHA-256 of every layer of the network definition in order (type, name, every
attribute :func:`trtnet.netinfo.layer_attributes` reads — weights as their bytes —, input tensor names, output
names, shapes and dtypes), the network's inputs (shapes, dtypes, profiles) and outputs, the build config
(workspace, TF32, optimization level, compute-capability targets; not the progress bar or log level) and the
backend's name and version. Changing any weight, option or TensorRT version misses.

**Store**: ``KEY.engine`` and ``KEY.json`` (what was built, when) in the cache folder: the one given, else
``TRTNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/trtnet/engines`` (``~/.cache/trtnet/engines``). Writes are atomic
(:func:`trtnet.fileio.atomic_write`), so concurrent builds and a kill at any moment leave whole entries only. A
hit marks the entry used (its mtime); past the size limit (``TRTNET_CACHE_SIZE``, default 4G) the least
recently used entries are removed.

Builds go through :func:`serialize`, which uses the cache made active by :func:`use` (``trtnet build --cache``,
``trtnet check --cache``) and is plain :func:`trtnet.build.serialize` otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from trtnet import fileio, loading, netinfo
from trtnet.build import BuildConfig, Network, serialize as build_serialize
from trtnet.errors import TrtnetError

KEY_VERSION = "trtnet-engine-cache/1"
DEFAULT_MAX_BYTES = 4 << 30
_NOT_IN_KEY = {"progress", "log_level"}  # build options that don't change the engine


def default_folder() -> Path:
    """``TRTNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/trtnet/engines``, else ``~/.cache/trtnet/engines``."""
    if os.environ.get("TRTNET_CACHE_DIR"):
        return Path(os.environ["TRTNET_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trtnet" / "engines"


def engine_key(net: Network, config: BuildConfig) -> str:
    """The hash of the network definition, build config and backend (see the module docstring)."""
    digest = hashlib.sha256()

    def feed(*items: Any) -> None:
        for item in items:
            if isinstance(item, np.ndarray):
                array = np.ascontiguousarray(item)
                digest.update(f"array {array.dtype.str} {array.shape}\0".encode())
                digest.update(memoryview(array).cast("B"))
            else:
                digest.update(repr(item).encode() + b"\0")

    backend = net.graph.backend
    feed(KEY_VERSION, backend.name, backend.version)
    feed(sorted((k, v) for k, v in dataclasses.asdict(config).items() if k not in _NOT_IN_KEY))
    network = net.network
    for spec in net.inputs:
        feed("input", spec.name, spec.shape, str(spec.dtype), sorted(spec.profile_shapes().items()))
    for index in range(network.num_inputs):
        feed(netinfo.tensor_info(network.get_input(index)))
    for index in range(network.num_outputs):
        feed("output", netinfo.tensor_info(network.get_output(index)))
    for _, type_name, layer in netinfo.layers(network):
        inputs, outputs = netinfo.layer_tensors(layer)
        feed("layer", type_name, [t.name if t is not None else None for t in inputs], outputs)
        for name, value in sorted(netinfo.layer_attributes(layer).items()):
            feed(name, value)
    return digest.hexdigest()


@dataclass
class Entry:
    key: str
    size: int
    last_used: float
    info: dict[str, Any]


class EngineCache:
    """A folder of engines keyed by :func:`engine_key`, at most ``max_bytes`` in all (LRU eviction).

    ``last`` records the outcome of the latest :meth:`lookup`: ``("hit" | "miss", key)``; ``label`` (the model's
    name) is stored with each new entry."""

    def __init__(self, folder: str | os.PathLike | None = None, max_bytes: int | None = None) -> None:
        self.folder = Path(folder) if folder else default_folder()
        if max_bytes is None:
            size = os.environ.get("TRTNET_CACHE_SIZE")
            max_bytes = loading.parse_size(size, "TRTNET_CACHE_SIZE") if size else DEFAULT_MAX_BYTES
        self.max_bytes = max_bytes
        self.last: tuple[str, str] | None = None
        self.label = ""

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.engine", self.folder / f"{key}.json"

    def lookup(self, key: str) -> bytes | None:
        """The stored engine (and it becomes the most recently used), or None."""
        engine_path, _ = self._paths(key)
        try:
            data = engine_path.read_bytes()
            os.utime(engine_path)
        except FileNotFoundError:
            self.last = ("miss", key)
            return None
        except OSError as exc:
            raise TrtnetError(f"engine cache {self.folder}: can't read {engine_path.name} "
                              f"({fileio.describe_os_error(exc)})") from None
        self.last = ("hit", key)
        return data

    def store(self, key: str, engine: bytes | memoryview, info: dict[str, Any]) -> None:
        """Write the entry atomically, then evict least recently used entries beyond the size limit."""
        engine_path, info_path = self._paths(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with fileio.atomic_write(info_path, "w", encoding="utf-8") as handle:
                json.dump(dict(info, key=key, size=len(engine), created=time.time()), handle, indent=1)
            fileio.write_bytes(engine_path, engine)
        except OSError as exc:
            raise TrtnetError(f"engine cache {self.folder}: can't store the engine ({fileio.describe_os_error(exc)})") from None
        self.evict(keep=key)

    def entries(self) -> list[Entry]:
        """Every entry, most recently used first."""
        found = []
        for engine_path in self.folder.glob("*.engine") if self.folder.is_dir() else []:
            try:
                stat = engine_path.stat()
            except FileNotFoundError:  # removed meanwhile
                continue
            try:
                info = json.loads(engine_path.with_suffix(".json").read_text())
            except (OSError, ValueError):
                info = {}
            found.append(Entry(engine_path.stem, stat.st_size, stat.st_mtime, info))
        return sorted(found, key=lambda e: e.last_used, reverse=True)

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least recently used entries until the total fits ``max_bytes``; returns the removed keys."""
        entries = self.entries()
        total = sum(e.size for e in entries)
        removed = []
        for entry in reversed(entries):
            if total <= self.max_bytes:
                break
            if entry.key == keep:
                continue
            self._remove(entry.key)
            total -= entry.size
            removed.append(entry.key)
        return removed

    def clear(self) -> int:
        """Remove every entry; returns how many."""
        entries = self.entries()
        for entry in entries:
            self._remove(entry.key)
        return len(entries)

    def _remove(self, key: str) -> None:
        for path in self._paths(key):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


_active: contextvars.ContextVar[EngineCache | None] = contextvars.ContextVar("trtnet_engine_cache", default=None)


@contextlib.contextmanager
def use(cache: EngineCache | None) -> Iterator[EngineCache | None]:
    """Make ``cache`` the one :func:`serialize` uses inside the ``with`` block (None: no cache)."""
    token = _active.set(cache)
    try:
        yield cache
    finally:
        _active.reset(token)


def active() -> EngineCache | None:
    """The cache :func:`serialize` uses now (set by :func:`use`), or None."""
    return _active.get()


def serialize(net: Network, config: BuildConfig) -> bytes | memoryview:
    """:func:`trtnet.build.serialize` through the active cache: a stored engine if the key is known, else a
    build that is then stored."""
    cache = _active.get()
    if cache is None:
        return build_serialize(net, config)
    key = engine_key(net, config)
    engine = cache.lookup(key)
    if engine is not None:
        return engine
    engine = build_serialize(net, config)
    backend = net.graph.backend
    cache.store(key, engine, {"model": cache.label, "backend": f"{backend.name} {backend.version}", "layers": net.network.num_layers,
                              "inputs": [spec.name for spec in net.inputs], "outputs": list(net.outputs),
                              "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_IN_KEY}})
    return engine
