"""Build ResNet-50 with the raw TensorRT network API (no trtnet DSL): the baseline a hand port would be.

Usage: ``python benchmarks/raw_build_resnet50.py WEIGHTS.safetensors OUT.engine``

Reads a torchvision-named ResNet-50 state_dict (``benchmarks/make_resnet50_weights.py`` makes one), builds
a strongly typed fp32 network with input "input" [1, 3, 224, 224] and output "output" [1, 1000], TF32 off,
writes the serialized engine and prints its size and the definition/build times. Only the TensorRT module
comes from trtnet (``trtnet.backend``: enterprise ``tensorrt`` if importable, else ``tensorrt_rtx``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trtnet import backend  # noqa: E402

trt = backend.trt()
BN_EPS = 1e-5
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (planes, blocks, stride of first block)


class Port:
    """Holds the network, the state_dict and every numpy array TensorRT reads, until the build returns."""

    def __init__(self, network: Any, weights: dict[str, np.ndarray]) -> None:
        self.network = network
        self.weights = weights
        self.keep: list[np.ndarray] = []

    def array(self, value: np.ndarray) -> Any:
        """A trt.Weights over a contiguous float32 copy that stays referenced."""
        value = np.ascontiguousarray(value, dtype=np.float32)
        self.keep.append(value)
        return trt.Weights(value)

    def conv(self, x: Any, name: str, stride: int = 1, padding: int = 0) -> Any:
        kernel = self.weights[f"{name}.weight"]
        layer = self.network.add_convolution_nd(x, kernel.shape[0], trt.Dims(kernel.shape[2:]), self.array(kernel))
        layer.stride_nd = trt.Dims([stride, stride])
        layer.padding_nd = trt.Dims([padding, padding])
        layer.name = name
        return layer.get_output(0)

    def batchnorm(self, x: Any, name: str) -> Any:
        """Inference BatchNorm folded into a per-channel scale: x*scale + shift."""
        w = self.weights
        scale = w[f"{name}.weight"] / np.sqrt(w[f"{name}.running_var"] + BN_EPS)
        shift = w[f"{name}.bias"] - w[f"{name}.running_mean"] * scale
        layer = self.network.add_scale(x, trt.ScaleMode.CHANNEL, shift=self.array(shift), scale=self.array(scale))
        layer.name = name
        return layer.get_output(0)

    def relu(self, x: Any, name: str) -> Any:
        layer = self.network.add_activation(x, trt.ActivationType.RELU)
        layer.name = name
        return layer.get_output(0)

    def add(self, a: Any, b: Any, name: str) -> Any:
        layer = self.network.add_elementwise(a, b, trt.ElementWiseOperation.SUM)
        layer.name = name
        return layer.get_output(0)

    def bottleneck(self, x: Any, name: str, stride: int, has_downsample: bool) -> Any:
        out = self.relu(self.batchnorm(self.conv(x, f"{name}.conv1"), f"{name}.bn1"), f"{name}.relu1")
        out = self.relu(self.batchnorm(self.conv(out, f"{name}.conv2", stride, 1), f"{name}.bn2"), f"{name}.relu2")
        out = self.batchnorm(self.conv(out, f"{name}.conv3"), f"{name}.bn3")
        identity = x
        if has_downsample:
            identity = self.batchnorm(self.conv(x, f"{name}.downsample.0", stride), f"{name}.downsample.1")
        return self.relu(self.add(out, identity, f"{name}.add"), f"{name}.relu3")

    def fc(self, x: Any, name: str) -> Any:
        """Flatten to [N, C], then x @ W^T + b with W as a constant [out, in] and b as [1, out]."""
        weight, bias = self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        flatten = self.network.add_shuffle(x)
        flatten.reshape_dims = trt.Dims([0, -1])
        flatten.name = "flatten"
        w = self.network.add_constant(trt.Dims(weight.shape), self.array(weight)).get_output(0)
        b = self.network.add_constant(trt.Dims([1, bias.shape[0]]), self.array(bias)).get_output(0)
        matmul = self.network.add_matrix_multiply(
            flatten.get_output(0), trt.MatrixOperation.NONE, w, trt.MatrixOperation.TRANSPOSE
        )
        matmul.name = f"{name}.matmul"
        return self.add(matmul.get_output(0), b, f"{name}.bias")


def define(port: Port) -> None:
    """The torchvision ResNet-50 forward pass, layer by layer."""
    network = port.network
    x = network.add_input("input", trt.float32, trt.Dims([1, 3, 224, 224]))
    x = port.relu(port.batchnorm(port.conv(x, "conv1", stride=2, padding=3), "bn1"), "relu")
    pool = network.add_pooling_nd(x, trt.PoolingType.MAX, trt.Dims([3, 3]))
    pool.stride_nd = trt.Dims([2, 2])
    pool.padding_nd = trt.Dims([1, 1])
    pool.name = "maxpool"
    x = pool.get_output(0)
    for stage, (_, blocks, stride) in enumerate(STAGES, start=1):
        for i in range(blocks):
            x = port.bottleneck(x, f"layer{stage}.{i}", stride if i == 0 else 1, has_downsample=i == 0)
    avgpool = network.add_reduce(x, trt.ReduceOperation.AVG, (1 << 2) | (1 << 3), True)
    avgpool.name = "avgpool"
    out = port.fc(avgpool.get_output(0), "fc")
    out.name = "output"
    network.mark_output(out)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/raw_build_resnet50.py WEIGHTS.safetensors OUT.engine")
    weights_path, engine_path = Path(sys.argv[1]), Path(sys.argv[2])
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    start = time.perf_counter()
    weights = load_file(str(weights_path))
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    port = Port(network, weights)
    define(port)
    config = builder.create_builder_config()
    if hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    defined = time.perf_counter()
    engine = builder.build_serialized_network(network, config)
    built = time.perf_counter()
    if engine is None:
        sys.exit("TensorRT could not build the network (see its messages above)")
    engine_path.write_bytes(bytes(engine))
    print(f"{backend.get().name} {trt.__version__}: {network.num_layers} layers, load+define {defined - start:.2f} s, "
          f"build {built - defined:.2f} s, total {built - start:.2f} s")
    print(f"wrote {engine_path} ({engine_path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
