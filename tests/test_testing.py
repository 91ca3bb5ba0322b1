"""``trtnet.testing.assert_matches_torch``: passes for correct ports, raises with the table for a wrong one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.errors import WeightsError  # noqa: E402
from trtnet.testing import CheckWarning, assert_matches_torch  # noqa: E402


def test_passes_for_a_correct_layer_and_returns_the_report() -> None:
    torch.manual_seed(0)
    report = assert_matches_torch(nn.Conv2d(4, 6, 3, padding=1), torch.nn.Conv2d(4, 6, 3, padding=1),
                                  [torch.randn(2, 4, 9, 9)])
    assert report.passed and report.outputs[0].actual_shape == (2, 6, 9, 9)
    assert report.inputs[0].name == "input" and report.inputs[0].seed is None


def test_passes_for_a_small_network_with_numpy_input_in_fp16() -> None:
    torch.manual_seed(1)
    ref = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 3))
    port = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 3))
    report = assert_matches_torch(port, ref, [np.random.default_rng(0).standard_normal((5, 8), dtype=np.float32)],
                                  dtype="fp16")
    assert report.dtype == "float16" and report.tolerance == trtnet.compare.tolerance_for("fp16")


def test_trtnet_inputs_get_seeded_values() -> None:
    torch.manual_seed(2)
    report = assert_matches_torch(nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3).eval(),
                                  [trtnet.Input("x", (1, 3, 4, 4))], seed=5)
    assert report.inputs[0].name == "x" and report.inputs[0].seed == 5


def test_raises_with_the_table_for_a_wrong_port() -> None:
    with pytest.raises(AssertionError) as info:
        assert_matches_torch(nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.2), [torch.randn(2, 16)])
    message = str(info.value)
    assert message.startswith("trtnet LeakyReLU does not match torch LeakyReLU (float32):")
    assert "FAIL output: tolerance:" in message and "RESULT: FAIL" in message


def test_raises_for_a_shape_mismatch() -> None:
    with pytest.raises(AssertionError, match="shape mismatch"):
        assert_matches_torch(nn.MaxPool2d(2), torch.nn.MaxPool2d(2, ceil_mode=True), [torch.randn(1, 1, 5, 5)])


def test_weights_are_copied_strictly() -> None:
    with pytest.raises(WeightsError, match="missing key 'bias'"):
        assert_matches_torch(nn.Linear(4, 2), torch.nn.Linear(4, 2, bias=False), [torch.randn(1, 4)])


def test_nan_outputs_fail_and_degenerate_outputs_warn() -> None:
    torch.manual_seed(4)
    ref = torch.nn.Linear(4, 2)
    with torch.no_grad():
        ref.weight.fill_(float("nan"))
    with pytest.raises(AssertionError, match="nothing compared: none of the 4 positions is finite"):
        with pytest.warns(UserWarning):  # the NaN weights
            assert_matches_torch(nn.Linear(4, 2), ref, [torch.randn(2, 4)])
    with torch.no_grad():
        ref.weight.zero_()
        ref.bias.zero_()
    with pytest.warns(CheckWarning, match="the reference output is all zero"):
        assert assert_matches_torch(nn.Linear(4, 2), ref, [torch.randn(2, 4)]).passed
    with pytest.raises(AssertionError, match=r"1 warning\(s\) treated as errors"):
        assert_matches_torch(nn.Linear(4, 2), ref, [torch.randn(2, 4)], warnings_as_errors=True)
