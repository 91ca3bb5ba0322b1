"""PyTorch ops that ``torch.onnx.export`` (torch 2.13) cannot export, with either exporter.

Each test runs the real exporters on a tiny model and shows the failure, once per exporter:

- ``torchscript``: the legacy exporter, ``torch.onnx.export(..., dynamo=False)``;
- ``dynamo``: the default exporter in torch 2.13, ``torch.onnx.export(..., dynamo=True)``.

A failure is either an exception (``pytest.raises`` on the exporter's own exception type and
message) or, for an export that goes through, onnxruntime computing something else than eager
PyTorch. These are the ops trtnet rebuilds from TensorRT layers; see ``docs/onnx-cannot-export.md``
for the verified messages, the TensorRT lowering plans and the decompositions.

If one of these tests starts failing, torch has learnt to export that op: update the doc.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")  # the dynamo exporter's translation library
ort = pytest.importorskip("onnxruntime")

EXPORTERS = ["torchscript", "dynamo"]


class Fn(torch.nn.Module):
    """A module whose forward is ``fn`` (the exporters take modules, not functions)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


def _export(fn, args, exporter, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation warning, tracer warnings
        torch.onnx.export(Fn(fn).eval(), args, str(path), dynamo=(exporter == "dynamo"))


def _run_onnx(path, args):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {inp.name: arg.numpy() for inp, arg in zip(session.get_inputs(), args)}
    return session.run(None, feeds)


def _assert_cannot_export(exporter, fn, args, tmp_path, aten_op, dynamo_op):
    """The TorchScript exporter has no symbolic for ``aten::<aten_op>``; the dynamo exporter
    finds no ONNX function for the ``dynamo_op`` node that torch.export produced."""
    path = tmp_path / "model.onnx"
    if exporter == "torchscript":
        with pytest.raises(torch.onnx.errors.UnsupportedOperatorError,
                           match=rf"Exporting the operator 'aten::{aten_op}' to ONNX opset version \d+ is not supported"):
            _export(fn, args, exporter, path)
    else:
        with pytest.raises(torch.onnx.OnnxExporterError,
                           match=rf"No ONNX function found for <OpOverload\(op='{dynamo_op}'") as info:
            _export(fn, args, exporter, path)
        # step 3/3 (translating the graph to ONNX) failed, not torch.export itself
        assert type(info.value).__name__ == "ConversionError"


# ---- control: the harness itself exports a neighbouring op fine --------------------------------

@pytest.mark.parametrize("exporter", EXPORTERS)
def test_control_cumsum_exports_and_matches(exporter, tmp_path):
    x = torch.randn(2, 3, 9)
    fn = lambda x: torch.cumsum(x, -1)  # noqa: E731
    path = tmp_path / "model.onnx"
    _export(fn, (x,), exporter, path)
    (got,) = _run_onnx(path, (x,))
    np.testing.assert_allclose(got, fn(x).numpy(), rtol=1e-5, atol=1e-6)


# ---- the ops ------------------------------------------------------------------------------------

@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cumprod(exporter, tmp_path):
    # NeRF volume rendering: transmittance T_i = cumprod(1 - alpha + 1e-10)
    x = torch.rand(2, 3, 9)
    # the dynamo exporter decomposes cumprod, then has no ONNX function for the prims.prod it made
    _assert_cannot_export(exporter, lambda x: torch.cumprod(x, -1), (x,), tmp_path, "cumprod", "prims.prod")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cummax(exporter, tmp_path):
    x = torch.randint(-3, 4, (2, 3, 9)).float()
    _assert_cannot_export(exporter, lambda x: torch.cummax(x, -1), (x,), tmp_path, "cummax", "aten.cummax")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cummin(exporter, tmp_path):
    x = torch.randint(-3, 4, (2, 3, 9)).float()
    _assert_cannot_export(exporter, lambda x: torch.cummin(x, -1).values, (x,), tmp_path, "cummin", "aten.cummin")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_searchsorted(exporter, tmp_path):
    # NeRF hierarchical sampling (inverse-CDF), spline flows: per-row sorted boundaries
    cdf = torch.sort(torch.rand(2, 3, 9), -1).values
    u = torch.rand(2, 3, 5)
    _assert_cannot_export(exporter, lambda s, v: torch.searchsorted(s, v, right=True), (cdf, u), tmp_path,
                          "searchsorted", "aten.searchsorted")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_kthvalue(exporter, tmp_path):
    x = torch.randn(2, 3, 9)
    _assert_cannot_export(exporter, lambda x: torch.kthvalue(x, 4, -1), (x,), tmp_path, "kthvalue", "aten.kthvalue")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_median_dim(exporter, tmp_path):
    x = torch.randn(2, 3, 9)
    _assert_cannot_export(exporter, lambda x: torch.median(x, -1), (x,), tmp_path, "median", "aten.median")


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cdist_p1(exporter, tmp_path):
    """Manhattan cdist: the TorchScript exporter exports it *silently wrong*; dynamo refuses."""
    a = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]])   # [B=1, P=2, M=2]
    b = torch.tensor([[[1.0, -1.0], [3.0, 0.0]]])  # [B=1, R=2, M=2]
    fn = lambda a, b: torch.cdist(a, b, p=1.0)  # noqa: E731
    expected = fn(a, b).numpy()
    np.testing.assert_array_equal(expected, [[[2.0, 3.0], [3.0, 4.0]]])
    path = tmp_path / "model.onnx"
    if exporter == "torchscript":
        _export(fn, (a, b), exporter, path)  # no error, no warning about it
        (got,) = _run_onnx(path, (a, b))
        # exported as Pow(ReduceSum(Pow(a - b, p)), 1/(p + eps)): the Abs is missing, so signed
        # differences cancel (|0-1| + |0+1| = 2 comes out 0) and negative sums become NaN
        assert got[0, 0, 0] == pytest.approx(0.0, abs=1e-6)
        assert np.isnan(got[0, 0, 1])
        assert not np.allclose(got, expected, equal_nan=False)
    else:
        with pytest.raises(torch.onnx.OnnxExporterError,
                           match=r"No ONNX function found for <OpOverload\(op='aten._cdist_forward'") as info:
            _export(fn, (a, b), exporter, path)
        assert type(info.value).__name__ == "ConversionError"
