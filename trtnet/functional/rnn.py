"""Recurrent networks through TensorRT's loop layers (``ILoop``), lowered in :func:`recurrent_loop`: a trip limit
from the runtime sequence length, an iterator over the time axis, one recurrence per state, loop outputs for the
per-step outputs (in time order) and the last states. ``lstm`` and ``gru`` are ``torch.lstm``/``torch.gru``
(what ``nn.LSTM``/``nn.GRU`` call): stacked layers, both directions, PyTorch's gate order and arithmetic.

The input projection of all steps is one matmul before the loop; only the recurrent matmul runs per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import check_same_dtype, out, trt
from trtnet.functional.activation import sigmoid, tanh
from trtnet.functional.creation import zeros
from trtnet.functional.dims import shape_of, unsqueeze
from trtnet.functional.gathering import gather_layer
from trtnet.functional.indexing import chunk, getitem, narrow
from trtnet.functional.linear import linear
from trtnet.functional.shape import cat, transpose
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

Cell = Callable[[Tensor, list[Tensor]], list[Tensor]]


def recurrent_loop(op: str, steps: Tensor, initial: Sequence[Tensor], cell: Cell,
                   reverse: bool = False) -> tuple[Tensor, list[Tensor]]:
    """Lower one loop over dim 0 of ``steps`` (``[T, ...]``, T may be dynamic): ``states = cell(steps[t], states)``
    from ``initial`` for t = 0 .. T-1 (T-1 .. 0 when ``reverse``).

    Returns the first state after every step, in time order (``[T, *state.shape]``), and the last states."""
    g = graph.current()
    kinds = trt().LoopOutput
    loop = g.network.add_loop()
    loop.name = g.unique_name(f"{op}/loop")
    length = _length(steps)
    g.add("trip_limit", loop.add_trip_limit(length.itensor, trt().TripLimit.COUNT))
    step = out(g.add("iterator", loop.add_iterator(steps.itensor, 0, bool(reverse))))
    recurrences = [g.add("recurrence", loop.add_recurrence(state.itensor)) for state in initial]
    states = [out(layer) for layer in recurrences]
    updated = cell(step, states)
    for layer, state, new in zip(recurrences, states, updated):
        if new.static_shape != state.static_shape or new.dtype is not state.dtype:
            raise ShapeError(f"{op}: a step turns state {state.static_shape}/{state.dtype.name} into "
                             f"{new.static_shape}/{new.dtype.name}; a recurrence keeps its shape and dtype")
        layer.set_input(1, new.itensor)
    g.check_trt_errors()
    sequence_layer = loop.add_loop_output(updated[0].itensor, kinds.REVERSE if reverse else kinds.CONCATENATE, 0)
    sequence_layer.set_input(1, length.itensor)
    sequence = out(g.add("loop_output", sequence_layer))
    last = [out(g.add("loop_output", loop.add_loop_output(state.itensor, kinds.LAST_VALUE, 0))) for state in states]
    return sequence, last


def _length(steps: Tensor) -> Tensor:
    """The number of steps (dim 0) as a 0-D int64 shape tensor: a constant when static, else read at run time."""
    g = graph.current()
    if steps.static_shape[0] != -1:
        return g.constant(np.array(steps.static_shape[0], dtype=np.int64), dtypes.int64)
    return gather_layer("sequence_length", shape_of(steps), g.constant(np.array(0, dtype=np.int64), dtypes.int64), 0)


def zero_state(like: Tensor, batch_dim: int, count: int, size: int) -> Tensor:
    """Zeros ``[count, B, size]`` in ``like``'s dtype, B the size of dim ``batch_dim`` of ``like`` (a symbolic size
    when dynamic)."""
    return zeros(count, like.shape[batch_dim], size, dtype=like.dtype)


def lstm_cell(hidden_weight: Parameter, hidden_bias: Parameter | None, projection: Parameter | None) -> Cell:
    """PyTorch's LSTM step on projected inputs ``x W_ih^T + b_ih``: gates i, f, g, o of ``x + h W_hh^T + b_hh``,
    ``c' = f c + i g``, ``h' = o tanh(c')`` (times ``W_hr^T`` with a projection); states ``[h, c]``."""

    def step(projected: Tensor, states: list[Tensor]) -> list[Tensor]:
        h, c = states
        i, f, g, o = chunk(projected + linear(h, hidden_weight, hidden_bias), 4, 1)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)
        return [h if projection is None else linear(h, projection), c]

    return step


def gru_cell(hidden_weight: Parameter, hidden_bias: Parameter | None) -> Cell:
    """PyTorch's GRU step on projected inputs ``x W_ih^T + b_ih``: r, z from the sums of both projections,
    ``n = tanh(x_n + r (h W_hn^T + b_hn))``, ``h' = (h - n) z + n``; state ``[h]``."""

    def step(projected: Tensor, states: list[Tensor]) -> list[Tensor]:
        (h,) = states
        x_r, x_z, x_n = chunk(projected, 3, 1)
        h_r, h_z, h_n = chunk(linear(h, hidden_weight, hidden_bias), 3, 1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        return [(h - n) * z + n]

    return step


def lstm(input: Tensor, hx: Sequence[Tensor], params: Sequence[Parameter], has_biases: bool, num_layers: int,
         dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.lstm``: ``(output, h_n, c_n)`` for a 3-D ``input`` and ``hx = (h_0, c_0)`` of
    ``[num_layers * directions, B, H_out]`` and ``[..., H]``; ``params`` per layer and direction
    ``w_ih, w_hh[, b_ih, b_hh][, w_hr]`` (a projection when ``h_0`` is narrower than ``c_0``)."""
    h0, c0 = hx
    projected = h0.static_shape[-1] != c0.static_shape[-1]
    per_layer = 2 + 2 * has_biases + projected

    def cell(weights: list[Parameter]) -> Cell:
        return lstm_cell(weights[1], weights[3] if has_biases else None, weights[-1] if projected else None)

    output, last = _stacked("lstm", input, [h0, c0], params, per_layer, has_biases, num_layers, train,
                            bidirectional, batch_first, cell)
    return output, last[0], last[1]


def gru(input: Tensor, hx: Tensor, params: Sequence[Parameter], has_biases: bool, num_layers: int, dropout: float,
        train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    """``torch.gru``: ``(output, h_n)``; ``params`` per layer and direction ``w_ih, w_hh[, b_ih, b_hh]``."""

    def cell(weights: list[Parameter]) -> Cell:
        return gru_cell(weights[1], weights[3] if has_biases else None)

    output, last = _stacked("gru", input, [hx], params, 2 + 2 * has_biases, has_biases, num_layers, train,
                            bidirectional, batch_first, cell)
    return output, last[0]


def _stacked(op: str, input: Tensor, hx: list[Tensor], params: Sequence[Parameter], per_layer: int,
             has_biases: bool, num_layers: int, train: bool, bidirectional: bool, batch_first: bool,
             cell: Callable[[list[Parameter]], Cell]) -> tuple[Tensor, list[Tensor]]:
    """Layers one after another, each direction a :func:`recurrent_loop` over the input projected by one matmul;
    the directions' outputs concatenated as the next layer's input; final states stacked as ``hx``."""
    if train:
        raise TrtnetError(f"{op}: train=True is not supported; TensorRT networks run inference only")
    if input.ndim != 3:
        raise ShapeError(f"{op}: input must be 3-D ([T, B, features], or [B, T, features] with batch_first), "
                         f"got {input.static_shape}")
    directions = 2 if bidirectional else 1
    if len(params) != num_layers * directions * per_layer:
        raise TrtnetError(f"{op}: expected {num_layers * directions * per_layer} parameters for {num_layers} "
                          f"layer(s) x {directions} direction(s), got {len(params)}")
    for state in hx:
        check_same_dtype(state.dtype, input.dtype, f"{op} initial state")
    x = transpose(input, 0, 1) if batch_first else input
    single = x.static_shape[1] == 1
    if single:  # TensorRT-RTX 1.7 takes minutes to build a loop over a static batch of 1: run two equal rows
        x, hx = cat([x, x], 1), [cat([state, state], 1) for state in hx]
    finals: list[list[Tensor]] = [[] for _ in hx]
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            weights = list(params[index * per_layer:(index + 1) * per_layer])
            steps = linear(x, weights[0], weights[2] if has_biases else None)
            initial = [getitem(state, index) for state in hx]
            sequence, last = recurrent_loop(op, steps, initial, cell(weights), reverse=direction == 1)
            outputs.append(sequence)
            for final, value in zip(finals, last):
                final.append(value)
        x = outputs[0] if directions == 1 else cat(outputs, 2)
    states = [cat([unsqueeze(state, 0) for state in final], 0) for final in finals]
    if single:
        x, states = narrow(x, 1, 0, 1), [narrow(state, 1, 0, 1) for state in states]
    output = transpose(x, 0, 1) if batch_first else x
    return output, states
