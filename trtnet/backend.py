"""The one place that knows which TensorRT is installed and how its versions differ.

trtnet runs on enterprise TensorRT (``tensorrt`` 10.x/11.x) and on TensorRT-RTX (``tensorrt_rtx``).
Both expose the same network API; this module hides the differences (module name, network flags,
what RTX lacks, compute-capability targets). Nothing else in trtnet branches on versions.

>>> from trtnet import backend
>>> backend.get().name in ("tensorrt", "tensorrt_rtx")
True
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from trtnet.errors import TrtnetError

ENV_VAR = "TRTNET_BACKEND"
_ALIASES = {"tensorrt": "tensorrt", "trt": "tensorrt", "tensorrt_rtx": "tensorrt_rtx", "rtx": "tensorrt_rtx"}
_INSTALL_HINT = (
    "install one: `pip install tensorrt-rtx` (TensorRT-RTX; builds engines on any machine, also without a GPU) "
    "or `pip install tensorrt` (enterprise TensorRT, data-centre GPUs)"
)


# TensorRT-RTX 1.7, measured CPU-only: which compute capabilities build each hardware-specific datatype.
_DATATYPE_TARGETS = {
    "FP8": ("SM89", "SM120", "SM121"),
    "FP4": ("SM120", "SM121"),
    "INT4": ("SM80", "SM86", "SM89", "SM120", "SM121"),
}
_RTX_DEFAULT_TARGETS = ("SM80", "SM86", "SM89", "SM120")


class BackendUnavailable(TrtnetError):
    """No usable TensorRT module could be imported."""


@dataclass(frozen=True)
class Backend:
    """An imported TensorRT module plus the facts trtnet needs about it."""

    trt: ModuleType
    name: str  # "tensorrt" or "tensorrt_rtx"

    @property
    def version(self) -> str:
        return str(self.trt.__version__)

    @property
    def is_rtx(self) -> bool:
        return self.name == "tensorrt_rtx"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def supports_plugins(self) -> bool:
        """Quickly-deployable Python plugins: enterprise TensorRT >= 10.6 only."""
        if self.is_rtx:
            return False
        try:
            importlib.import_module(f"{self.name}.plugin")
        except ImportError:
            return False
        return True

    @property
    def supports_timing_cache(self) -> bool:
        """On TensorRT-RTX a timing cache is a no-op that also breaks CPU-only builds."""
        return not self.is_rtx

    def network_flags(self) -> int:
        """Creation flags for a strongly typed network, looked up by name (its value changed in TRT 11)."""
        flag = getattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")
        return 1 << int(flag)

    def enum(self, enum_name: str, member: str) -> Any:
        """``enum("ActivationType", "RELU")`` with a trtnet error if this TensorRT lacks it."""
        owner = getattr(self.trt, enum_name, None)
        value = getattr(owner, member, None) if owner is not None else None
        if value is None:
            raise TrtnetError(f"{self.name} {self.version} has no {enum_name}.{member}")
        return value

    def set_compute_capabilities(self, config: Any, targets: list[str]) -> None:
        """Set engine compute-capability targets (TensorRT-RTX only), e.g. ``["SM80", "SM89"]``."""
        if not targets:
            return
        if not self.is_rtx:
            raise TrtnetError("compute-capability targets are a TensorRT-RTX option; enterprise TensorRT builds for the GPU present")
        cc_enum = self.trt.ComputeCapability
        known = [n for n in dir(cc_enum) if n.isupper()]
        config.num_compute_capabilities = len(targets)
        for index, target in enumerate(targets):
            key = target.upper()
            if key not in known:
                raise TrtnetError(f"unknown compute capability {target!r}; known: {', '.join(known)}")
            config.set_compute_capability(getattr(cc_enum, key), index)

    def check_datatype_targets(self, network: Any, targets: list[str]) -> None:
        """Refuse, before building, a network holding datatypes that some compute-capability targets cannot run.

        TensorRT-RTX checks hardware-specific datatypes (FP8, INT4, FP4) only against explicit targets: a
        default-target build (SM80, SM86, SM89, SM120) of an FP8 network passes and makes an engine SM80 can't run.
        So FP8/FP4 networks need explicit targets, all of which hold the datatype."""
        if not self.is_rtx:
            return
        used = {network.get_layer(i).get_output(j).dtype.name for i in range(network.num_layers)
                for j in range(network.get_layer(i).num_outputs)}
        for datatype in sorted(used & set(_DATATYPE_TARGETS)):
            holding = _DATATYPE_TARGETS[datatype]
            wanted = [t.upper() for t in targets] or list(_RTX_DEFAULT_TARGETS)
            refused = [t for t in wanted if t not in holding]
            if not refused:
                continue
            which = (f"the targets {', '.join(refused)} cannot run them" if targets else
                     f"TensorRT-RTX's default targets ({', '.join(_RTX_DEFAULT_TARGETS)}) include {', '.join(refused)}, "
                     "which cannot run them, and a default-target build does not check")
            raise TrtnetError(f"the network holds {datatype} tensors, which only compute capabilities "
                              f"{', '.join(holding)} run: {which}; set compute_capabilities (--compute-capability) to "
                              f"{' and/or '.join(holding)}")

    def clear_tf32(self, config: Any) -> None:
        if hasattr(self.trt.BuilderFlag, "TF32"):
            config.clear_flag(self.trt.BuilderFlag.TF32)


@functools.lru_cache(maxsize=None)
def _load(forced: str | None) -> Backend:
    if forced:
        module_name = _ALIASES.get(forced.strip().lower())
        if module_name is None:
            raise BackendUnavailable(f"{ENV_VAR}={forced!r} is not a backend; use 'tensorrt' or 'tensorrt_rtx'")
        try:
            return Backend(importlib.import_module(module_name), module_name)
        except ImportError as exc:
            raise BackendUnavailable(f"{ENV_VAR}={forced} but `import {module_name}` failed ({exc}); {_INSTALL_HINT}") from exc
    errors = []
    for module_name in ("tensorrt", "tensorrt_rtx"):
        try:
            return Backend(importlib.import_module(module_name), module_name)
        except ImportError as exc:
            errors.append(f"{module_name}: {exc}")
    raise BackendUnavailable(f"no TensorRT found ({'; '.join(errors)}); {_INSTALL_HINT}")


def get() -> Backend:
    """The active backend: ``tensorrt`` when importable, else ``tensorrt_rtx``; ``TRTNET_BACKEND`` forces one."""
    return _load(os.environ.get(ENV_VAR) or None)


def trt() -> ModuleType:
    """Shorthand for ``get().trt``."""
    return get().trt
