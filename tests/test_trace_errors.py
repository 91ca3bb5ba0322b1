"""Tracing errors stop at the op and point at the model: TensorRT's own errors become trtnet errors, invalid
layer arguments are refused before TensorRT sees them (in PyTorch's words, checked against torch's own), and
every error names the module call, the op and the user's source line."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet import graph, log
from trtnet.build import BuildConfig, serialize
from trtnet.cli import main
from trtnet.errors import BuildError, LayerError, ShapeError, TraceError, TrtnetError

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models import resnet  # noqa: E402

INPUT = [trtnet.Input("x", (1, 3, 8, 8))]


def filled(module: nn.Module) -> nn.Module:
    """``module`` with every required parameter set to ones (the values don't matter here)."""
    module.load_state_dict({k: np.ones(p.shape, np.float32) for k, p in module.state_dict_entries() if not p.optional},
                           strict=False)
    return module


class Holder(nn.Module):
    """One sub-module ``layer`` called from this file's forward: errors must point at that line."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)  # the user's line


HOLDER_LINE = inspect.getsourcelines(Holder.forward)[1] + 1


def trace_error(layer: nn.Module) -> TrtnetError:
    with pytest.raises(TrtnetError) as info:
        trtnet.trace(filled(Holder(layer)), INPUT)
    return info.value


# (trtnet module, torch module, words of the message; torch must refuse the same arguments)
BAD_LAYERS = [
    ("conv stride 0", lambda m: m.Conv2d(3, 4, 3, stride=0), "non-positive stride", "stride=(0, 0)"),
    ("conv stride -1", lambda m: m.Conv2d(3, 4, 3, stride=-1), "non-positive stride", "stride=(-1, -1)"),
    ("conv stride (1, 0)", lambda m: m.Conv2d(3, 4, 3, stride=(1, 0)), "non-positive stride", "stride=(1, 0)"),
    ("conv dilation 0", lambda m: m.Conv2d(3, 4, 3, dilation=0), "dilation should be greater than zero",
     "dilation=(0, 0)"),
    ("conv padding -1", lambda m: m.Conv2d(3, 4, 3, padding=-1), "negative padding", "padding=(-1, -1)"),
    ("conv kernel 0", lambda m: m.Conv2d(3, 4, 0), "kernel size should be greater than zero", "kernel_size=(0, 0)"),
    ("conv kernel > input", lambda m: m.Conv2d(3, 4, 9), "Kernel size can't be greater than actual input size",
     "(9, 9)"),
    ("conv dilated kernel > input", lambda m: m.Conv2d(3, 4, 3, dilation=4), "Kernel size can't be greater",
     "(9, 9)"),
    ("max pool stride 0", lambda m: m.MaxPool2d(3, stride=0), "non-positive stride", "stride=(0, 0)"),
    ("max pool kernel 0", lambda m: m.MaxPool2d(0), "kernel size should be greater than zero", "kernel_size=(0, 0)"),
    ("max pool padding -1", lambda m: m.MaxPool2d(3, padding=-1), "negative padding", "padding=(-1, -1)"),
    ("max pool padding > kernel/2", lambda m: m.MaxPool2d(3, padding=2), "at most half of effective kernel size",
     "pad=(2, 2)"),
    ("max pool output too small", lambda m: m.MaxPool2d(9), "output size is too small", "(0, 0)"),
    ("avg pool stride 0", lambda m: m.AvgPool2d(3, stride=0), "non-positive stride", "stride=(0, 0)"),
    ("avg pool padding -1", lambda m: m.AvgPool2d(3, padding=-1), "negative padding", "padding=(-1, -1)"),
    ("deconv stride 0", lambda m: m.ConvTranspose2d(3, 4, 3, stride=0), "non-positive stride", "stride=(0, 0)"),
    ("deconv padding -1", lambda m: m.ConvTranspose2d(3, 4, 3, padding=-1), "negative padding", "padding=(-1, -1)"),
    ("deconv dilation 0", lambda m: m.ConvTranspose2d(3, 4, 3, dilation=0), "dilation should be greater than zero",
     "dilation=(0, 0)"),
    ("deconv kernel 0", lambda m: m.ConvTranspose2d(3, 4, 0), "kernel size should be greater than zero",
     "kernel_size=(0, 0)"),
    ("deconv output_padding -1", lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, output_padding=-1),
     "negative output_padding", "output_padding=(-1, -1)"),
]


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize("case,make,words,argument", BAD_LAYERS, ids=[c[0] for c in BAD_LAYERS])
def test_invalid_layer_arguments_are_refused_naming_module_argument_and_line(case, make, words, argument) -> None:
    with pytest.raises(Exception):  # the independent reference: torch refuses these arguments too
        torch_layer = make(torch.nn)
        torch_layer(torch.randn(1, 3, 8, 8))
    error = trace_error(make(nn))
    message = str(error)
    assert words in message and argument in message
    assert f"in:   layer ({type(make(nn)).__name__})" in message
    assert f"test_trace_errors.py:{HOLDER_LINE}" in message
    assert "return self.layer(x)  # the user's line" in message
    assert "Error Code" not in message  # trtnet refused it before TensorRT saw it


@pytest.mark.parametrize("make", [lambda m: m.Conv2d(3, 3, 3, groups=0), lambda m: m.Conv2d(3, 3, 3, groups=-1),
                                  lambda m: m.ConvTranspose2d(3, 3, 3, groups=0)])
def test_groups_must_be_positive_as_in_torch(make) -> None:
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        make(torch.nn)
    with pytest.raises(TrtnetError, match="groups must be a positive integer"):
        make(nn)


def test_functional_conv_groups_not_dividing_weight_is_refused() -> None:
    class Grouped(nn.Module):
        def forward(self, x):
            return F.conv2d(x, np.ones((5, 1, 3, 3), np.float32), groups=3)

    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.randn(1, 3, 8, 8), torch.ones(5, 1, 3, 3), groups=3)
    with pytest.raises(ShapeError, match="divisible by 3 at dimension 0") as info:
        trtnet.trace(Grouped(), INPUT)
    assert "op:   conv2d" in str(info.value) and "in:   the model (Grouped)" in str(info.value)


def test_wrong_in_channels_deep_in_resnet50_names_the_module_and_its_line() -> None:
    model = resnet.resnet50()
    model.layer3[1].conv2 = nn.Conv2d(128, 256, 3, padding=1, bias=False)  # the real one takes 256 channels
    model.load_state_dict({k: np.ones(p.shape, np.float32) for k, p in model.state_dict_entries() if not p.optional},
                          strict=False)
    with pytest.raises(ShapeError) as info:
        trtnet.trace(model, [trtnet.Input("input", (1, 3, 64, 64))])
    message = str(info.value)
    source, first = inspect.getsourcelines(resnet.Bottleneck.forward)
    line = first + next(i for i, text in enumerate(source) if "self.conv2(" in text)
    assert message.startswith("conv2d: input has 256 channels but weight (256, 128, 3, 3)")
    assert "in:   layer3.1.conv2 (Conv2d)" in message
    assert f"resnet.py:{line}" in message and "self.conv2(out)" in message


def test_broadcast_error_in_a_forward_names_the_op_and_the_calling_module() -> None:
    class Adds(nn.Module):
        def forward(self, x):
            return x + x[:, :, :2, :3]

    with pytest.raises(ShapeError) as info:
        trtnet.trace(nn.Sequential(Adds()), INPUT)
    message = str(info.value)
    assert "don't broadcast" in message and "in:   0 (Adds)" in message and "op:   add" in message
    assert "return x + x[:, :, :2, :3]" in message


def test_python_error_in_a_forward_keeps_its_type_and_cause() -> None:
    class Typo(nn.Module):
        def forward(self, x):
            return x.rleu()

    with pytest.raises(AttributeError) as info:  # still an AttributeError for `except AttributeError`
        trtnet.trace(nn.Sequential(nn.ReLU(), Typo()), INPUT)
    assert isinstance(info.value, TraceError) and isinstance(info.value.__cause__, AttributeError)
    assert "in:   1 (Typo)" in str(info.value) and "return x.rleu()" in str(info.value)


class RawBadStride(nn.Module):
    """A lowering bug stand-in: a layer configured with a parameter TensorRT rejects (it logs and carries on)."""

    def forward(self, x):
        g = graph.current()
        layer = g.network.add_pooling_nd(x.itensor, g.backend.trt.PoolingType.MAX, (2, 2))
        layer.stride_nd = (0, 0)  # TensorRT logs an API usage error here
        return trtnet.tensor.Tensor(g.add("raw_pool", layer).get_output(0))


RAW_LINE = inspect.getsourcelines(RawBadStride.forward)[1] + 3


def test_tensorrt_error_while_configuring_a_layer_stops_tracing_at_that_line() -> None:
    with pytest.raises(LayerError) as info:
        trtnet.trace(nn.Sequential(RawBadStride()), INPUT)
    error = info.value
    assert any("setStrideNd" in m for m in error.trt_messages)
    assert not any("cudaError 35" in m for m in error.trt_messages)  # CPU-only noise is not the cause
    assert "in:   0 (RawBadStride)" in str(error)
    assert f"test_trace_errors.py:{RAW_LINE}" in str(error) and "layer.stride_nd = (0, 0)" in str(error)


def test_build_fails_when_tensorrt_logged_an_error_even_if_it_returned_an_engine() -> None:
    net = trtnet.trace(filled(nn.Sequential(nn.Conv2d(3, 4, 3))), INPUT)
    real_builder = net.graph.builder

    class ErrorLoggingBuilder:
        def __getattr__(self, name):
            return getattr(real_builder, name)

        def build_serialized_network(self, network, config):
            engine = real_builder.build_serialized_network(network, config)
            net.graph.logger.log(net.graph.backend.trt.ILogger.ERROR, "simulated builder error")
            return engine

    net.graph.builder = ErrorLoggingBuilder()
    with pytest.raises(BuildError, match="simulated builder error"):
        serialize(net, BuildConfig())


def test_cuda_driver_noise_after_an_error_is_not_kept_as_an_error() -> None:
    logger = log.make_logger()
    trt = graph.backend.trt()
    before = len(logger.errors)
    logger.log(trt.ILogger.ERROR, "IConvolutionLayer::setStrideNd: Error Code 3: API Usage Error")
    logger.log(trt.ILogger.ERROR, "[checkMacros.cpp::catchCudaError::250] Error Code 1: Cuda Runtime "
                                  "(cudaError 35: CUDA driver version is insufficient for CUDA runtime version)")
    assert logger.errors[before:] == ["IConvolutionLayer::setStrideNd: Error Code 3: API Usage Error"]
    del logger.errors[before:], logger.error_stacks[before:]


BAD_MODEL = '''
import numpy as np
import trtnet.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=0)

    def forward(self, x):
        return self.conv1(x)


def net():
    model = Net()
    model.load_state_dict({"conv1.weight": np.ones((4, 3, 3, 3), np.float32),
                           "conv1.bias": np.zeros(4, np.float32)})
    return model
'''


def test_cli_exits_2_naming_module_argument_and_line(tmp_path, capsys) -> None:
    model = tmp_path / "badstride.py"
    model.write_text(BAD_MODEL)
    code = main(["build", f"{model}:net", "--input", "x:fp32:1x3x8x8", "-o", str(tmp_path / "x.engine")])
    stderr = capsys.readouterr().err
    assert code == 2
    assert "non-positive stride" in stderr and "in:   conv1 (Conv2d)" in stderr
    assert re.search(r"badstride\.py:12\n\s+return self\.conv1\(x\)", stderr)
    assert "Traceback" not in stderr and not (tmp_path / "x.engine").exists()
