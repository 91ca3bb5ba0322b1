"""The pytest plugin installed with trtnet (entry point ``pytest11``): the ``gpu`` marker and hidden helper frames."""

from __future__ import annotations

import pytest

from trtnet.runtime import gpu_available

pytest_plugins = ["pytester"]

FAILING_TEST = '''
import pytest
import torch
import trtnet.nn as nn
from trtnet.testing import assert_matches_torch


class Doubled(torch.nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


@pytest.mark.gpu
def test_needs_gpu():
    pass


def test_mismatch():
    torch.manual_seed(0)
    assert_matches_torch(nn.Linear(4, 3), Doubled(4, 3), [torch.randn(2, 4)], device="cpu")
'''


def test_gpu_marker_and_hidden_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=FAILING_TEST)
    result = pytester.runpytest_subprocess("--strict-markers", "-rs", "-p", "no:cacheprovider")
    output = result.stdout.str()
    ok, reason = gpu_available()
    if ok:
        result.assert_outcomes(passed=1, failed=1)
    else:  # skipped with gpu_available()'s own reason; --strict-markers proves the marker is registered
        result.assert_outcomes(skipped=1, failed=1)
        assert f"cannot run TensorRT engines: {reason}" in output
    assert "does not match torch Doubled" in output  # the comparison table is shown ...
    assert "RESULT: FAIL (0/1 outputs within tolerance)" in output
    assert "assert_matches_torch(nn.Linear(4, 3)" in output  # ... at the user's line ...
    assert "def assert_matches_torch" not in output and "report = check(" not in output  # ... not trtnet's source


def test_plugin_is_the_entry_point(pytestconfig: pytest.Config) -> None:
    import trtnet.pytest_plugin

    assert pytestconfig.pluginmanager.is_registered(trtnet.pytest_plugin)
    assert any(line.startswith("gpu:") for line in pytestconfig.getini("markers"))
