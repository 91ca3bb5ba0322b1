"""trtnet's pytest plugin, installed with the package (entry point ``pytest11``: ``trtnet``).

- registers the ``gpu`` marker: ``@pytest.mark.gpu`` tests run only where this process can execute
  TensorRT engines (:func:`trtnet.runtime.gpu_available`) and are skipped elsewhere with its reason;
- :func:`trtnet.testing.assert_matches_torch` hides its own frames (``__tracebackhide__``), so a failing
  test shows the test's line and the comparison table, not trtnet's source.

Disable it with ``pytest -p no:trtnet``.
"""

from __future__ import annotations

import pytest

GPU_MARKER = "gpu: needs a GPU that can execute TensorRT engines (skipped, with the reason, where none can)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", GPU_MARKER)


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
