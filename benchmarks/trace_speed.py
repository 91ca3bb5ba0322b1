"""What tracing costs: ``trtnet.trace`` of a deep residual MLP vs the same network written with raw ``add_*`` calls.

Usage: ``python benchmarks/trace_speed.py [--runs 5] [--sizes 250,1000,2000,4000,8000]``

The model is N/6 blocks ``x + relu(linear(x))`` (6 TensorRT layers each: weight constant, matmul, bias constant,
bias add, activation, residual add); the raw port adds the same layers in the same order and names them and
their outputs as trtnet does (``blocks.0.fc.weight``, ``blocks.0.fc/matmul_1``, ``blocks.0.fc``, ...). Both
create a builder and a network and stop there (no engine build). Times are this process's CPU time (the
machine is shared; wall time counts other processes' turns); trtnet and raw run alternately. Prints, per N,
medians of ``--runs`` runs: trtnet ms, raw ms, the per-run ratio and µs per layer for both; then ``ModuleList`` indexing µs per index at 250 and
8,000 modules. Layer counts and layer names of the two networks are checked equal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trtnet  # noqa: E402
from trtnet import backend, log, nn  # noqa: E402

trt = backend.trt()
WIDTH = 16
BATCH = 4
LAYERS_PER_BLOCK = 6


class Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x: Any) -> Any:
        return x + self.act(self.fc(x))


class DeepMLP(nn.Module):
    def __init__(self, blocks: int, width: int = WIDTH) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block(width) for _ in range(blocks)])

    def forward(self, x: Any) -> Any:
        for block in self.blocks:
            x = block(x)
        return x


def seeded_model(blocks: int) -> DeepMLP:
    model = DeepMLP(blocks)
    rng = np.random.default_rng(0)
    for parameter in model.parameters():
        parameter.assign(rng.standard_normal(parameter.shape).astype(np.float32) * 0.1)
    return model


def trace_trtnet(model: DeepMLP) -> Any:
    return trtnet.trace(model, [trtnet.Input("x", (BATCH, WIDTH))])


def _named(layer: Any, name: str) -> Any:
    layer.name = name
    output = layer.get_output(0)
    output.name = name
    return output


def trace_raw(weights: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Any, Any, list[np.ndarray]]:
    """The same network by raw ``add_*`` calls; returns (builder, network, kept arrays)."""
    builder = trt.Builder(log.make_logger("warning"))
    network = builder.create_network(backend.get().network_flags())
    keep: list[np.ndarray] = []
    x = network.add_input("x", trt.float32, (BATCH, WIDTH))
    for index, (weight, bias) in enumerate(weights):
        path = f"blocks.{index}"
        keep += [weight, bias]
        w = _named(network.add_constant(weight.shape, trt.Weights(weight)), f"{path}.fc.weight")
        y = _named(network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w, trt.MatrixOperation.TRANSPOSE),
                   f"{path}.fc/matmul_1")
        b = _named(network.add_constant(bias.shape, trt.Weights(bias)), f"{path}.fc.bias")
        y = _named(network.add_elementwise(y, b, trt.ElementWiseOperation.SUM), f"{path}.fc")
        y = _named(network.add_activation(y, trt.ActivationType.RELU), f"{path}.act")
        x = _named(network.add_elementwise(x, y, trt.ElementWiseOperation.SUM), path)
    x.name = "output"
    network.mark_output(x)
    return builder, network, keep


def raw_weights(model: DeepMLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.ascontiguousarray(b.fc.weight.numpy()), np.ascontiguousarray(b.fc.bias.numpy().reshape(1, -1)))
            for b in model.blocks]


def median_seconds(run: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        result = None  # the previous network is dropped before the next run
        start = time.process_time()
        result = run()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def paired_seconds(first: Callable[[], Any], second: Callable[[], Any], runs: int) -> tuple[float, float, float, Any, Any]:
    """Medians of ``first`` and ``second`` and of their per-run ratio, the two run alternately (a slow spell of the
    shared machine then slows both sides of a pair instead of one column); returns their last results too."""
    pairs, results = [], [None, None]
    for _ in range(runs):
        pair = []
        for index, run in enumerate((first, second)):
            results[index] = None  # the previous network is dropped before the next run
            start = time.process_time()
            results[index] = run()
            pair.append(time.process_time() - start)
        pairs.append(pair)
    medians = [statistics.median(p[i] for p in pairs) for i in (0, 1)]
    return medians[0], medians[1], statistics.median(a / b for a, b in pairs), results[0], results[1]


def layer_names(network: Any) -> list[str]:
    return [network.get_layer(i).name for i in range(network.num_layers)]


def indexing_us(modules: int, runs: int) -> float:
    """Median µs per ``ModuleList[i]`` over every index of a list of ``modules`` modules."""
    container = nn.ModuleList([nn.ReLU() for _ in range(modules)])
    indices = list(range(-modules, modules))

    def index_all() -> None:
        for i in indices:
            container[i]  # noqa: B018 - the indexing is what is timed

    seconds, _ = median_seconds(index_all, runs)
    return seconds / len(indices) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="250,1000,2000,4000,8000")
    args = parser.parse_args()
    print(f"{backend.get().name} {backend.get().version}; CPU time, median of {args.runs} runs; tracing only, no build")
    print(f"{'N layers':>9} {'trtnet ms':>10} {'raw ms':>8} {'ratio':>6} {'trtnet µs/layer':>16} {'raw µs/layer':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        model = seeded_model(max(1, size // LAYERS_PER_BLOCK))
        weights = raw_weights(model)
        trtnet_s, raw_s, ratio, net, (_, raw_network, _) = paired_seconds(
            lambda: trace_trtnet(model), lambda: trace_raw(weights), args.runs)
        network = net.graph.network
        if layer_names(network) != layer_names(raw_network):
            raise SystemExit(f"N={size}: the raw port's layers differ from trtnet's")
        layers = network.num_layers
        print(f"{layers:>9} {trtnet_s * 1e3:>10.1f} {raw_s * 1e3:>8.1f} {ratio:>6.2f} "
              f"{trtnet_s / layers * 1e6:>16.1f} {raw_s / layers * 1e6:>13.1f}")
    for modules in (250, 8000):
        print(f"ModuleList[{modules}] indexing: {indexing_us(modules, args.runs):.2f} µs per index")


if __name__ == "__main__":
    main()
