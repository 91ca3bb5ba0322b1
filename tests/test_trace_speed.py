"""What the tracing-speed work relies on: shapes trtnet knows without asking TensorRT are TensorRT's own,
ModuleList indexing costs the same at any length, lowerings don't read the environment per op, and the
benchmark's raw port is the same network as trtnet's (``benchmarks/trace_speed.py``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from trtnet import backend, symbolic
from trtnet.build import serialize
from trtnet.graph import Graph
from trtnet.tensor import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import trace_speed  # noqa: E402

BROADCASTS = [((2, 3), (2, 3)), ((2, 1), (1, 3)), ((4, 1, 5), (4, 3, 1)), ((1, 0), (3, 1)), ((0, 2), (1, 2))]


@pytest.mark.parametrize("shape_a,shape_b", BROADCASTS)
def test_known_shapes_are_tensorrts(shape_a, shape_b) -> None:
    """Constants, elementwise and activation outputs carry a shape computed in Python: it must be the one
    TensorRT infers for the layer (0-size dims included)."""
    with Graph() as g:
        x = Tensor(g.network.add_input("x", backend.get().trt.float32, shape_a))
        made = [F.as_tensor(np.ones(shape_b, np.float32), like=x)]
        made += [x + made[0], x * 2.0, F.relu(x + made[0]), F.maximum(made[0], x)]
        for tensor in made:
            assert tensor.static_shape == symbolic.dims_of(tensor.itensor)
        expected = tuple(np.broadcast_shapes(shape_a, shape_b))
        assert made[1].static_shape == expected


MATMULS = [((4, 16), (8, 16), True), ((2, 3, 5), (5, 7), False), ((1, 3, 5), (4, 5, 2), False), ((2, 0, 5), (5, 3), False)]


@pytest.mark.parametrize("shape_a,shape_b,transpose_b", MATMULS)
def test_known_matmul_shapes_and_dtypes_are_tensorrts(shape_a, shape_b, transpose_b) -> None:
    """matmul, comparisons and casts hand their output's shape and dtype to Tensor: TensorRT's own."""
    trt = backend.get().trt
    with Graph() as g:
        a = Tensor(g.network.add_input("a", trt.float32, shape_a))
        b = Tensor(g.network.add_input("b", trt.float32, shape_b))
        made = [F.matmul(a, b, transpose_b=transpose_b), a > 0.5, (a == a).float(), a.half(), F.relu(a).int()]
        for tensor in made:
            assert tensor.static_shape == symbolic.dims_of(tensor.itensor)
            assert tensor.dtype is trtnet.dtypes.from_trt(tensor.itensor.dtype)
    expected = np.matmul(np.zeros(shape_a), np.zeros(shape_b).swapaxes(-1, -2) if transpose_b else np.zeros(shape_b))
    assert made[0].static_shape == expected.shape


def test_the_last_layer_is_named_before_anything_reads_the_network() -> None:
    """A layer is named in TensorRT once, when the network is next used: a reader never sees it unnamed."""
    trt = backend.get().trt
    with Graph() as g:
        x = Tensor(g.network.add_input("x", trt.float32, (2, 3)))
        y = F.relu(x)
        assert y.name == "relu_1" and g.network.get_layer(0).name == "relu_1"
        z = F.relu(y)
        assert g.producer("relu_2").get_output(0).name != "relu_2"  # not named yet: nothing has read it
        assert z.itensor.name != "relu_2"
    assert g.network.get_layer(1).name == "relu_2" and z.itensor.name == "relu_2"  # named when the graph closes


class _Pair(nn.Module):
    def forward(self, x):
        y = F.relu(x)
        return y, y * 2.0  # y's layer is named in TensorRT (the mul came after it) when the call renames it


class _Outer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.pair = _Pair()

    def forward(self, x):
        return self.pair(self.fc(x))


def test_module_outputs_take_the_module_path_in_tensorrt() -> None:
    """Whether the renamed layer was still unnamed (the last one) or named already (an earlier output)."""
    model = _Outer()
    for parameter in model.parameters():
        parameter.assign(np.ones(parameter.shape, np.float32))
    net = trtnet.trace(model, [trtnet.Input("x", (2, 3))], output_names=["a", "b"])
    names = [(layer.name, layer.get_output(0).name) for layer in
             (net.network.get_layer(i) for i in range(net.network.num_layers))]
    assert names == [("fc.weight", "fc.weight"), ("fc/matmul_1", "fc/matmul_1"), ("fc.bias", "fc.bias"),
                     ("fc", "fc"), ("pair:0", "a"), ("pair/constant_1", "pair/constant_1"), ("pair:1", "b")]


def test_known_shapes_with_a_dynamic_dim_are_read_from_tensorrt() -> None:
    model = nn.ReLU()
    net = trtnet.trace(model, [trtnet.Input("x", (-1, 3), min=(1, 3), opt=(2, 3), max=(4, 3))])
    assert [c.outputs[0].static_shape for c in net.graph.module_calls] == [(-1, 3)]


def _index_seconds(container: nn.ModuleList, repeats: int = 7) -> float:
    indices = [0, len(container) // 2, -1] * 2000
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for i in indices:
            container[i]  # noqa: B018 - the indexing is timed
        best = min(best, time.process_time() - start)
    return best / len(indices)


def test_modulelist_indexing_does_not_grow_with_length() -> None:
    short, long = (nn.ModuleList([nn.ReLU() for _ in range(n)]) for n in (250, 8000))
    assert long[-1] is list(long)[-1] and long[4000] is list(long)[4000] and short[-250] is list(short)[0]
    t_short, t_long = _index_seconds(short), _index_seconds(long)
    print(f"ModuleList indexing: {t_short * 1e6:.2f} µs at 250 modules, {t_long * 1e6:.2f} µs at 8000")
    assert t_long < 3 * t_short  # was ~20x: the keys were listed on every index


def test_lowerings_take_tensorrt_from_the_graph(monkeypatch) -> None:
    """Once a graph exists its ops don't consult TRTNET_BACKEND (read once, when the graph was made)."""
    with Graph() as g:
        x = Tensor(g.network.add_input("x", g.backend.trt.float32, (2, 3)))
        monkeypatch.setenv(backend.ENV_VAR, "not-a-backend")
        y = F.relu(x + x) * 3.0
        monkeypatch.delenv(backend.ENV_VAR)
    assert y.static_shape == (2, 3)


def test_benchmark_raw_port_is_trtnets_network() -> None:
    """The benchmark compares like with like: same layers, types, names and output names; and it builds."""
    model = trace_speed.seeded_model(4)
    net = trace_speed.trace_trtnet(model)
    _, raw, _ = trace_speed.trace_raw(trace_speed.raw_weights(model))

    def described(network):
        return [(layer.type, layer.name, layer.get_output(0).name)
                for layer in (network.get_layer(i) for i in range(network.num_layers))]

    assert described(net.network) == described(raw)
    assert net.network.num_layers == 4 * trace_speed.LAYERS_PER_BLOCK
    assert len(serialize(net)) > 0
