"""The engine cache: an identical build is a hit that runs no TensorRT build; a changed weight, build option or
backend version misses; LRU eviction; ``trtnet build/check --cache``, ``trtnet cache list|clear``.
(Timing: benchmarks/engine_cache.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import trtnet
from trtnet import cache as engine_cache, loading
from trtnet.backend import Backend
from trtnet.build import BuildConfig, Network
from trtnet.cli import main

REPO = Path(__file__).resolve().parent.parent
DIGITS = str(REPO / "models" / "digits.py") + ":digits"
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")


def _digits_net(scale_first_weight: float = 1.0) -> Network:
    model = loading.load_model(DIGITS)
    loading.load_weights(model, DIGITS_WEIGHTS)
    if scale_first_weight != 1.0:
        name, parameter = next(iter(model.named_parameters()))
        values = parameter.numpy().copy()
        values.flat[0] *= scale_first_weight
        model.load_state_dict({name: values}, strict=False)
    return trtnet.trace(model, log_level="error")


def _fail_if_built(*args: object, **kwargs: object) -> None:
    raise AssertionError("TensorRT was asked to build on a cache hit")


def test_second_identical_build_is_a_hit_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = engine_cache.EngineCache(tmp_path)
    config = BuildConfig(log_level="error")
    with engine_cache.use(cache):
        first = bytes(engine_cache.serialize(_digits_net(), config))
        assert cache.last[0] == "miss"
        monkeypatch.setattr(engine_cache, "build_serialize", _fail_if_built)
        second = engine_cache.serialize(_digits_net(), BuildConfig(log_level="warning", progress=False))
    assert cache.last[0] == "hit"
    assert bytes(second) == first
    assert [e.key for e in cache.entries()] == [cache.last[1]]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # atomic writes leave no temporaries


@pytest.mark.parametrize("change", ["weight", "workspace", "tf32", "targets", "backend version", "input shape"])
def test_a_change_misses(change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base_net, base_config = _digits_net(), BuildConfig()
    key = engine_cache.engine_key(base_net, base_config)
    assert engine_cache.engine_key(_digits_net(), BuildConfig(progress=True, log_level="verbose")) == key
    net, config = base_net, base_config
    if change == "weight":
        net = _digits_net(scale_first_weight=1.0 + 2 ** -20)  # one element, one ulp-scale step
    elif change == "workspace":
        config = BuildConfig(workspace=1 << 28)
    elif change == "tf32":
        config = BuildConfig(tf32=True)
    elif change == "targets":
        config = BuildConfig(compute_capabilities=["SM89"])
    elif change == "backend version":
        monkeypatch.setattr(Backend, "version", property(lambda self: "99.0.0"))
    else:
        model = loading.load_model(DIGITS)
        loading.load_weights(model, DIGITS_WEIGHTS)
        net = trtnet.trace(model, [trtnet.Input("input", (2, 1, 8, 8))], log_level="error")
    assert engine_cache.engine_key(net, config) != key


def test_least_recently_used_entries_are_evicted(tmp_path: Path) -> None:
    cache = engine_cache.EngineCache(tmp_path, max_bytes=2500)
    for index, key in enumerate(["a" * 64, "b" * 64, "c" * 64]):
        cache.store(key, bytes(1000), {"model": key[0]})
        os.utime(tmp_path / f"{key}.engine", (1000 + index, 1000 + index))
    assert {e.key[0] for e in cache.entries()} == {"b", "c"}  # "a" went when "c" came in
    assert cache.lookup("b" * 64) is not None  # b is now the most recently used
    cache.store("d" * 64, bytes(1000), {"model": "d"})
    assert [e.key[0] for e in cache.entries()] == ["d", "b"]
    assert not list(tmp_path.glob("c*"))
    assert cache.clear() == 2 and cache.entries() == []


def test_cli_build_and_check_reuse_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("TRTNET_CACHE_DIR", str(tmp_path / "cache"))
    build = ["build", DIGITS, "--weights", DIGITS_WEIGHTS, "--log-level", "error", "--cache"]
    assert main(build + ["-o", str(tmp_path / "a.engine")]) == 0
    assert "engine cache miss: built and stored" in capsys.readouterr().err
    monkeypatch.setattr(engine_cache, "build_serialize", _fail_if_built)
    assert main(build + ["-o", str(tmp_path / "b.engine")]) == 0
    assert "engine cache hit: the stored engine, no TensorRT build" in capsys.readouterr().err
    assert (tmp_path / "a.engine").read_bytes() == (tmp_path / "b.engine").read_bytes()
    pytest.importorskip("torch")
    assert main(["check", DIGITS, "--weights", DIGITS_WEIGHTS, "--reference",
                 str(REPO / "models" / "digits_torch.py") + ":digits", "--cache"]) == 0
    assert "engine cache hit" in capsys.readouterr().err
    assert main(["cache", "list"]) == 0
    listing = capsys.readouterr().out
    assert "1 engine(s)" in listing and "digits.py:digits" in listing
    assert main(["cache", "clear", "--dir", str(tmp_path / "cache")]) == 0
    assert "removed 1 engine(s)" in capsys.readouterr().out
    assert not list((tmp_path / "cache").glob("*.engine"))
