"""Time trtnet's CPU reference executor on a raw ResNet-50 INetworkDefinition against eager PyTorch.

Usage: ``python benchmarks/executor_resnet50.py [--runs N] [--batches 1 8] [--threads T]``

Builds ResNet-50 (torchvision layout, seeded random weights and BatchNorm statistics) twice: as a PyTorch module
(``models/resnet_torch.py``) and as a strongly typed TensorRT network made with raw ``add_*`` calls (BatchNorm
folded into CHANNEL scale layers, global average pool as a reduce, the classifier as a matrix multiply). Then, per
batch size, times ``trtnet.reference.execute`` and the eager module on CPU (median of N runs each, interleaved),
prints both, their ratio and the largest absolute difference of the logits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.resnet_torch import resnet50  # noqa: E402
from trtnet import backend  # noqa: E402
from trtnet.reference import execute  # noqa: E402

trt = backend.trt()
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # planes, blocks, stride of the first block


def seeded_model(seed: int = 0) -> torch.nn.Module:
    """ResNet-50 with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = resnet50()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


class RawResNet50:
    """A raw TensorRT ResNet-50 from a torchvision-named state_dict; keeps every array TensorRT reads alive."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        self.state = {k: v.detach().numpy() for k, v in state.items()}
        self.builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        self.network = self.builder.create_network(backend.get().network_flags())
        self.alive: list[np.ndarray] = []
        self._build()

    def _keep(self, array: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.alive.append(array)
        return array

    def _conv_bn(self, x: Any, prefix: str, bn: str, stride: int, relu: bool) -> Any:
        kernel = self.state[f"{prefix}.weight"]
        conv = self.network.add_convolution_nd(x, kernel.shape[0], kernel.shape[2:], self._keep(kernel), trt.Weights())
        conv.stride_nd = (stride, stride)
        conv.padding_nd = (kernel.shape[2] // 2, kernel.shape[3] // 2)
        gamma, beta = self.state[f"{bn}.weight"], self.state[f"{bn}.bias"]
        mean, var = self.state[f"{bn}.running_mean"], self.state[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + 1e-5)
        bn_layer = self.network.add_scale(
            conv.get_output(0), trt.ScaleMode.CHANNEL, self._keep(beta - mean * scale), self._keep(scale), trt.Weights()
        )
        out = bn_layer.get_output(0)
        return self.network.add_activation(out, trt.ActivationType.RELU).get_output(0) if relu else out

    def _bottleneck(self, x: Any, prefix: str, stride: int, downsample: bool) -> Any:
        y = self._conv_bn(x, f"{prefix}.conv1", f"{prefix}.bn1", 1, True)
        y = self._conv_bn(y, f"{prefix}.conv2", f"{prefix}.bn2", stride, True)
        y = self._conv_bn(y, f"{prefix}.conv3", f"{prefix}.bn3", 1, False)
        shortcut = self._conv_bn(x, f"{prefix}.downsample.0", f"{prefix}.downsample.1", stride, False) if downsample else x
        total = self.network.add_elementwise(y, shortcut, trt.ElementWiseOperation.SUM).get_output(0)
        return self.network.add_activation(total, trt.ActivationType.RELU).get_output(0)

    def _build(self) -> None:
        net = self.network
        x = net.add_input("input", trt.float32, (-1, 3, 224, 224))
        y = self._conv_bn(x, "conv1", "bn1", 2, True)
        pool = net.add_pooling_nd(y, trt.PoolingType.MAX, (3, 3))
        pool.stride_nd, pool.padding_nd = (2, 2), (1, 1)
        y = pool.get_output(0)
        for stage, (_, blocks, stride) in enumerate(STAGES, start=1):
            for block in range(blocks):
                y = self._bottleneck(y, f"layer{stage}.{block}", stride if block == 0 else 1, block == 0)
        pooled = net.add_reduce(y, trt.ReduceOperation.AVG, 0b1100, False).get_output(0)  # [N, 2048]
        fc_weight = self._keep(self.state["fc.weight"])
        weight = net.add_constant(fc_weight.shape, fc_weight).get_output(0)
        logits = net.add_matrix_multiply(pooled, trt.MatrixOperation.NONE, weight, trt.MatrixOperation.TRANSPOSE)
        fc_bias = self._keep(self.state["fc.bias"].reshape(1, -1))
        bias = net.add_constant(fc_bias.shape, fc_bias).get_output(0)
        out = net.add_elementwise(logits.get_output(0), bias, trt.ElementWiseOperation.SUM).get_output(0)
        out.name = "output"
        net.mark_output(out)


def _median_seconds(fn: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per batch size and side (median reported)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = seeded_model()
    raw = RawResNet50(model.state_dict())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {backend.get().name} {backend.get().version}, "
          f"{raw.network.num_layers} layers")
    print(f"{'batch':>5} {'executor ms':>12} {'eager ms':>10} {'ratio':>7} {'max |diff|':>11}")
    for batch in args.batches:
        images = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
        run_executor = lambda: execute(raw.network, {"input": images})["output"]  # noqa: E731

        def run_eager() -> torch.Tensor:
            with torch.inference_mode():
                return model(images)

        diff = (run_executor() - run_eager()).abs().max().item()  # also the warm-up
        executor_times, eager_times = [], []
        for _ in range(args.runs):  # interleaved, so drifting machine load hits both sides alike
            executor_times += _median_seconds(run_executor, 1)
            eager_times += _median_seconds(run_eager, 1)
        executor_ms, eager_ms = 1e3 * statistics.median(executor_times), 1e3 * statistics.median(eager_times)
        print(f"{batch:>5} {executor_ms:>12.1f} {eager_ms:>10.1f} {executor_ms / eager_ms:>7.2f} {diff:>11.2e}")


if __name__ == "__main__":
    main()
