"""Every TensorRT name trtnet uses exists in enterprise TensorRT 10.x, 11.x and in TensorRT-RTX.

**Which names.** trtnet's own source is scanned on every run, so the list can't go stale: every identifier after
a dot and every identifier-like string literal (enum members are looked up by name, ``getattr(trt().PoolingType,
kind)``) that names something in the installed TensorRT-RTX bindings — a class or enum, a method, property or
enum member of one — plus every ``network.add_*`` and ``trtp.*`` (``tensorrt.plugin``) name, which RTX lacks.

**Where they are looked up.** Enterprise TensorRT can't be imported without its GPU libraries, but its Python
bindings wheels (``tensorrt-cu12-bindings``, ``tensorrt-cu11-bindings``) are on PyPI: they are downloaded once
with ``pip download --no-deps`` into a cache folder (``TRTNET_COMPAT_WHEELS``, default
``~/.cache/trtnet/compat-wheels``; ``.ci/run`` fills it) and read without importing. pybind11 keeps every bound
name as a NUL-terminated string in the ``.so``; the linker shares string tails (``RELU`` may be stored only as
the end of ``LEAKY_RELU``), so a name counts as present when some NUL-terminated identifier (C++ mangled
symbols aside) ends with it. The
wheels' Python files (``__init__.py``, ``plugin/``) add the names defined in Python. The installed
TensorRT-RTX is read the same way; its introspected names calibrate the method (every one must be found).

A name trtnet uses that a version lacks must be listed in ``GUARDED`` with the place that guards it.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELS = {  # PyPI requirement -> backend version it carries
    "tensorrt-cu11-bindings==10.13.0.35": "10.13.0.35",
    "tensorrt-cu12-bindings==10.16.1.11": "10.16.1.11",
    "tensorrt-cu12-bindings==11.4.0.106": "11.4.0.106",
}
# name -> (families that may lack it: enterprise, 10.x, rtx; where trtnet guards it)
GUARDED = {
    "ComputeCapability": (("enterprise",), "backend.set_compute_capabilities: compute-capability targets are RTX-only"),
    "num_compute_capabilities": (("enterprise",), "backend.set_compute_capabilities"),
    "set_compute_capability": (("enterprise",), "backend.set_compute_capabilities"),
    "get_engine_validity": (("enterprise",), "inspection.inspect_engine: getattr(runtime, 'get_engine_validity', None)"),
    "EngineInvalidityDiagnostics": (("enterprise",), "inspection.inspect_engine: read only after get_engine_validity"),
    "num_ranks": (("10.x",), "netinfo.layer_attributes: named to be skipped, never read"),
    "add_normalization_v2": (("10.x",), "functional/normalization.py: hasattr(network, 'add_normalization_v2')"),
    "is_v2": (("10.x",), "reference/normalization.py: read only from add_normalization_v2 layers"),
    "add_plugin": (("rtx",), "plugins.py: TensorRT-RTX has no plugins (a clear TrtnetError)"),
    "get_plugin": (("rtx", "enterprise"), "reference/plugin.py: hasattr fallback for IPluginV3Layer.plugin"),
    "register": (("rtx",), "plugins.py: tensorrt.plugin.register, enterprise only (a clear TrtnetError on RTX)"),
}
COMPUTE_CAPABILITY_MEMBER = re.compile(r"SM\d+")  # ComputeCapability.SM89 ...: guarded as ComputeCapability is
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?=\0)")


def _trtnet_source() -> str:
    return "\n".join(Path(p).read_text() for p in sorted(glob.glob(str(ROOT / "trtnet" / "**" / "*.py"), recursive=True)))


@functools.lru_cache(maxsize=None)
def rtx_namespace() -> frozenset[str]:
    """Names the TensorRT-RTX bindings define: classes and enums, their members, methods and properties."""
    trt = pytest.importorskip("tensorrt_rtx")
    names = set()
    for name in dir(trt):
        obj = getattr(trt, name)
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        names.add(name)
        if not isinstance(obj, type):
            continue
        names.update(attr for attr in dir(obj) if not attr.startswith("__"))
    return frozenset(names)


@functools.lru_cache(maxsize=None)
def used_names() -> frozenset[str]:
    """Attributes of objects that are TensorRT's by name (``network.``, ``layer.``, ``trt.``, ``trtp.`` ...), and
    any other dotted or quoted identifier that is a TensorRT-RTX name and not one trtnet defines itself."""
    source = _trtnet_source()
    tokens = set(re.findall(r"\.([A-Za-z_]\w*)", source)) | set(re.findall(r"[\"']([A-Za-z_]\w*)[\"']", source))
    own = (set(re.findall(r"\b(?:def|class) (\w+)", source))
           | {Path(p).stem for p in glob.glob(str(ROOT / "trtnet" / "**" / "*.py"), recursive=True)})
    explicit = set(re.findall(r"\b(?:network|layer|builder|itensor|trtp|trt|trt\(\))\.([A-Za-z]\w*)", source))
    return frozenset(((tokens - own) & rtx_namespace()) | explicit)


class Corpus:
    """The names one TensorRT Python package defines, read from its files without importing it."""

    def __init__(self, label: str, files: dict[str, bytes]) -> None:
        self.label = label
        self._binary_names: set[bytes] = set()
        self._python_names: set[str] = set()
        for path, data in files.items():
            if path.endswith(".so"):
                self._binary_names.update(n for n in _IDENTIFIER.findall(data) if not n.startswith(b"_Z"))
            elif path.endswith(".py"):
                self._python_names.update(re.findall(r"[A-Za-z_]\w*", data.decode("utf-8", "replace")))
        self._suffixes = {name[i:] for name in self._binary_names for i in range(len(name))}
        assert self._binary_names, f"{label}: no compiled bindings found in {sorted(files)}"

    def has(self, name: str) -> bool:
        return name in self._python_names or name.encode() in self._suffixes


def _package_files(directory: str) -> dict[str, bytes]:
    return {p: Path(p).read_bytes() for p in glob.glob(os.path.join(directory, "**", "*"), recursive=True)
            if p.endswith((".so", ".py"))}


@functools.lru_cache(maxsize=None)
def rtx_corpus() -> Corpus:
    trt = pytest.importorskip("tensorrt_rtx")
    bindings = sys.modules[trt.Builder.__module__]
    files = _package_files(os.path.dirname(bindings.__file__)) | _package_files(os.path.dirname(trt.__file__))
    return Corpus(f"tensorrt_rtx {trt.__version__}", files)


def wheel_folder() -> Path:
    return Path(os.environ.get("TRTNET_COMPAT_WHEELS") or Path.home() / ".cache" / "trtnet" / "compat-wheels")


@functools.lru_cache(maxsize=None)
def wheel_corpus(requirement: str) -> Corpus:
    """The bindings wheel of ``requirement``, downloaded once (PyPI through pip) into :func:`wheel_folder`."""
    project, version = requirement.split("==")
    pattern = f"{project.replace('-', '_')}-{version}-*.whl"
    folder = wheel_folder()
    found = sorted(folder.glob(pattern))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                                  "-d", str(folder), requirement], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip(f"pip download {requirement} timed out after 300 s")
        found = sorted(folder.glob(pattern))
        if run.returncode != 0 or not found:
            last = (run.stderr.strip().splitlines() or ["no wheel for this platform"])[-1]
            pytest.skip(f"can't download {requirement} from PyPI: {last}")
    with zipfile.ZipFile(found[-1]) as wheel:
        files = {n: wheel.read(n) for n in wheel.namelist() if n.endswith((".so", ".py"))}
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        read_version = re.search(r"^Version: (\S+)", wheel.read(metadata).decode(), re.M).group(1)
    assert read_version == version, f"{found[-1].name} carries version {read_version}"
    return Corpus(f"tensorrt {read_version} ({project})", files)


def _may_lack(name: str, family: str) -> bool:
    if COMPUTE_CAPABILITY_MEMBER.fullmatch(name):
        name = "ComputeCapability"
    return any(guarded in family for guarded in GUARDED.get(name, ((), ""))[0])


def test_the_scan_finds_the_names_trtnet_uses() -> None:
    names = used_names()
    for expected in ("add_convolution_nd", "build_serialized_network", "padding_mode", "STRONGLY_TYPED",
                     "average_count_excludes_padding", "LEAKY_RELU", "IProgressMonitor", "add_plugin"):
        assert expected in names
    print(f"\n{len(names)} TensorRT names used by trtnet")
    for name in GUARDED:
        assert name in names, f"GUARDED lists {name}, which trtnet no longer uses: remove it"


def test_string_reading_agrees_with_introspection_on_tensorrt_rtx() -> None:
    corpus = rtx_corpus()
    missing = sorted(n for n in rtx_namespace() & used_names() if not corpus.has(n))
    assert not missing, f"{corpus.label}: introspected names not found in its files: {missing}"


@pytest.mark.parametrize("requirement", list(WHEELS), ids=[f"tensorrt-{v}" for v in WHEELS.values()])
def test_names_exist_in_enterprise_tensorrt(requirement: str) -> None:
    corpus = wheel_corpus(requirement)
    family = f"enterprise {WHEELS[requirement].split('.')[0]}.x"
    print(f"\nread {corpus.label}")
    missing = sorted(n for n in used_names() if not corpus.has(n))
    unguarded = [n for n in missing if not _may_lack(n, family)]
    assert not unguarded, f"{corpus.label} lacks names trtnet uses without a guard: {unguarded}"
    assert corpus.has("add_convolution_nd") and not corpus.has("add_no_such_layer_xyz")


def test_names_exist_in_tensorrt_rtx() -> None:
    corpus = rtx_corpus()
    print(f"\nread {corpus.label}")
    missing = sorted(n for n in used_names() if not corpus.has(n))
    assert [n for n in missing if not _may_lack(n, "rtx")] == [], f"{corpus.label} lacks {missing}"


def test_every_guard_is_needed() -> None:
    """Each GUARDED name is really missing in a version of the family it names (else the entry is stale)."""
    corpora = [wheel_corpus(r) for r in WHEELS] + [rtx_corpus()]
    families = [f"enterprise {v.split('.')[0]}.x" for v in WHEELS.values()] + ["rtx"]
    for name, (guarded, where) in GUARDED.items():
        for family in guarded:
            lacking = [c.label for c, f in zip(corpora, families) if family in f and not c.has(name)]
            assert lacking, f"GUARDED[{name!r}] ({where}): every {family} version read has it; drop {family!r}"
