"""Shared pytest setup: ``@pytest.mark.gpu`` tests run only where a TensorRT engine can be executed."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip gpu-marked tests unless ``trtnet.runtime.gpu_available()``, with its reason."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return
    from trtnet.runtime import gpu_available

    ok, reason = gpu_available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"cannot run TensorRT engines: {reason}")
    for item in gpu_items:
        item.add_marker(skip)
