"""Loops written by hand (``ILoop``: trip limits, iterators, recurrences, loop outputs) run by the reference executor,
against numpy loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _raw import RawNet, close, randn, trt
from trtnet.errors import TrtnetError
from trtnet.reference import execute_layers, supported_layer_types


def _running_sum(net: RawNet, x: object, count: int, reverse: bool) -> tuple:
    """A loop summing the columns of ``x [3, 4]`` (last to first when ``reverse``); returns the loop and layers."""
    loop = net.network.add_loop()
    loop.name = "running_sum"
    trip = net.const(np.array(count, dtype=np.int64))
    loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    column = loop.add_iterator(x, 1, reverse).get_output(0)
    state = loop.add_recurrence(net.const(np.zeros(3, dtype=np.float32)))
    total = net.network.add_elementwise(state.get_output(0), column, trt.ElementWiseOperation.SUM).get_output(0)
    state.set_input(1, total)
    return loop, state, total, trip


def test_iterator_recurrence_and_every_loop_output():
    x_val = randn(3, 4)
    net = RawNet()
    loop, state, total, trip = _running_sum(net, net.input("x", (3, 4)), 4, reverse=True)
    concatenated = loop.add_loop_output(total, trt.LoopOutput.CONCATENATE, 1)
    concatenated.set_input(1, trip)
    reversed_ = loop.add_loop_output(total, trt.LoopOutput.REVERSE, 0)
    reversed_.set_input(1, trip)
    before = loop.add_loop_output(state.get_output(0), trt.LoopOutput.CONCATENATE, 0)  # the value entering each step
    before.set_input(1, trip)
    last = loop.add_loop_output(state.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    outputs = [layer.get_output(0) for layer in (concatenated, reversed_, before, last)]
    net.mark(*outputs)
    got = net.run({"x": x_val})

    sums, entering, running = [], [], np.zeros(3, dtype=np.float32)
    for column in range(3, -1, -1):  # reverse: the last column first
        entering.append(running.copy())
        running = running + x_val[:, column]
        sums.append(running.copy())
    close(got[outputs[0].name], np.stack(sums, axis=1))
    close(got[outputs[1].name], np.stack(sums[::-1], axis=0))
    close(got[outputs[2].name], np.stack(entering, axis=0))
    close(got[outputs[3].name], x_val.sum(axis=1))


def test_trip_count_from_the_runtime_shape():
    x_val = randn(3, 4)
    net = RawNet()
    x = net.input("x", (3, 4))
    shape = net.network.add_shape(x).get_output(0)
    count = net.network.add_gather(shape, net.const(np.array(1, dtype=np.int64)), 0).get_output(0)
    loop = net.network.add_loop()
    loop.add_trip_limit(count, trt.TripLimit.COUNT)
    column = loop.add_iterator(x, 1, False).get_output(0)
    state = loop.add_recurrence(net.const(np.zeros(3, dtype=np.float32)))
    total = net.network.add_elementwise(state.get_output(0), column, trt.ElementWiseOperation.SUM).get_output(0)
    state.set_input(1, total)
    sums = loop.add_loop_output(total, trt.LoopOutput.CONCATENATE, 0)
    sums.set_input(1, count)
    net.mark(sums.get_output(0))
    close(net.run({"x": x_val})[sums.get_output(0).name], np.cumsum(x_val, axis=1).T)


def test_output_length_other_than_the_iterations_is_refused():
    """TensorRT-RTX refuses the network at build time; the executor says why instead of guessing a tail."""
    net = RawNet()
    loop, state, total, trip = _running_sum(net, net.input("x", (3, 4)), 4, reverse=False)
    longer = loop.add_loop_output(total, trt.LoopOutput.CONCATENATE, 0)
    longer.set_input(1, net.const(np.array(6, dtype=np.int64)))
    net.mark(longer.get_output(0))
    with pytest.raises(TrtnetError, match="output length 6 differs from the 4 iterations"):
        net.run({"x": randn(3, 4)}, build=False)


def test_while_loop():
    """WHILE: the iteration runs only while the condition computed from its recurrence values holds."""
    net = RawNet()
    loop = net.network.add_loop()
    counter = loop.add_recurrence(net.const(np.array(0.0, dtype=np.float32)))
    value = counter.get_output(0)
    condition = net.network.add_elementwise(value, net.const(np.array(5.5, dtype=np.float32)),
                                            trt.ElementWiseOperation.LESS).get_output(0)
    loop.add_trip_limit(condition, trt.TripLimit.WHILE)
    counter.set_input(1, net.network.add_elementwise(value, net.const(np.array(1.0, dtype=np.float32)),
                                                     trt.ElementWiseOperation.SUM).get_output(0))
    last = loop.add_loop_output(value, trt.LoopOutput.LAST_VALUE, 0).get_output(0)
    net.mark(last)
    assert float(net.run()[last.name]) == 6.0  # 0 -> 1 ... -> 6, which fails 6 < 5.5


def test_the_layers_of_a_loop_alone():
    """``execute_layers`` on exactly a loop's layers (as the layerwise checker runs one module call), reading the
    iterated tensor from the values given."""
    x_val = randn(3, 4)
    net = RawNet()
    x = net.network.add_identity(net.input("x", (3, 4))).get_output(0)
    first = net.network.num_layers
    loop, state, total, trip = _running_sum(net, x, 4, reverse=False)
    last = loop.add_loop_output(state.get_output(0), trt.LoopOutput.LAST_VALUE, 0).get_output(0)
    net.mark(last)
    net.build()
    got = execute_layers(net.network, range(first, net.network.num_layers), {x.name: torch.from_numpy(x_val)})
    close(got[last.name], x_val.sum(axis=1))
    assert "LOOP_OUTPUT" in supported_layer_types() and "RECURRENCE" in supported_layer_types()
