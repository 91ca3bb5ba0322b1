"""``LSTM`` and ``GRU``: torch's constructors, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...),
forward signatures and returns, lowered through TensorRT loops (:mod:`trtnet.functional.rnn`)."""

from __future__ import annotations

from typing import Any

from trtnet import dtypes
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional import rnn
from trtnet.functional.dims import squeeze, unsqueeze
from trtnet.nn.module import Module
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class RNNBase(Module):
    """What LSTM and GRU share: the per layer and direction parameters, in torch's order, and the input checks."""

    mode = ""
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: dtypes.DType | str | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise TrtnetError(f"{name}: {arg} must be a positive integer, got {value!r}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise TrtnetError("dropout should be a number in range [0, 1] representing the probability of an "
                              "element being zeroed")
        if proj_size < 0:
            raise TrtnetError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise TrtnetError("proj_size has to be smaller than hidden_size")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        directions = 2 if bidirectional else 1
        output_size = proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                features = input_size if layer == 0 else output_size * directions
                shapes = {"weight_ih": (self.gates * hidden_size, features),
                          "weight_hh": (self.gates * hidden_size, output_size)}
                if bias:
                    shapes.update(bias_ih=(self.gates * hidden_size,), bias_hh=(self.gates * hidden_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for key, shape in shapes.items():
                    setattr(self, key + suffix, Parameter(shape, dtype=dtype or dtypes.float32))
                    self._flat_weights_names.append(key + suffix)

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, key) for key in self._flat_weights_names]

    @property
    def _batch_dim(self) -> int:
        return 0 if self.batch_first else 1

    def _batched(self, input: Tensor) -> bool:
        """True for a 3-D input, False for an unbatched 2-D one; else torch's error."""
        if input.ndim not in (2, 3):
            raise ShapeError(f"{self.mode}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        if input.static_shape[-1] not in (-1, self.input_size):
            raise ShapeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {input.static_shape[-1]}")
        return input.ndim == 3

    def _state(self, input: Tensor, given: Tensor | None, size: int, batched: bool, which: str) -> Tensor:
        """The initial state ``[layers * directions, B, size]``: zeros, or ``given`` checked (and unsqueezed when
        unbatched) as torch checks it."""
        directions = 2 if self.bidirectional else 1
        if given is None:
            return rnn.zero_state(input, self._batch_dim, self.num_layers * directions, size)
        if given.ndim != (3 if batched else 2):
            raise ShapeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, {which} should also be "
                             f"{'3-D' if batched else '2-D'} but got {given.ndim}-D tensor")
        state = given if batched else unsqueeze(given, 1)
        batch = input.static_shape[self._batch_dim]
        expected = (self.num_layers * directions, batch, size)
        if any(e != g and -1 not in (e, g) for e, g in zip(expected, state.static_shape)):
            raise ShapeError(f"Expected {which} size {expected}, got {list(state.static_shape)}")
        return state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        for key, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                             ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text


class LSTM(RNNBase):
    """``torch.nn.LSTM``: ``output, (h_n, c_n) = lstm(input, (h_0, c_0))``; gates i, f, g, o."""

    mode = "LSTM"
    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        batched = self._batched(input)
        x = input if batched else unsqueeze(input, self._batch_dim)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TrtnetError("LSTM: hx must be a tuple (h_0, c_0)")
        h0 = self._state(x, hx[0] if hx else None, self.proj_size or self.hidden_size, batched, "hidden[0]")
        c0 = self._state(x, hx[1] if hx else None, self.hidden_size, batched, "hidden[1]")
        output, h_n, c_n = rnn.lstm(x, (h0, c0), self._flat_weights, self.bias, self.num_layers, self.dropout,
                                    False, self.bidirectional, self.batch_first)
        if not batched:
            return squeeze(output, self._batch_dim), (squeeze(h_n, 1), squeeze(c_n, 1))
        return output, (h_n, c_n)


class GRU(RNNBase):
    """``torch.nn.GRU``: ``output, h_n = gru(input, h_0)``; gates r, z, n."""

    mode = "GRU"
    gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: dtypes.DType | str | None = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        batched = self._batched(input)
        x = input if batched else unsqueeze(input, self._batch_dim)
        h0 = self._state(x, hx, self.hidden_size, batched, "hidden")
        output, h_n = rnn.gru(x, h0, self._flat_weights, self.bias, self.num_layers, self.dropout, False,
                              self.bidirectional, self.batch_first)
        if not batched:
            return squeeze(output, self._batch_dim), squeeze(h_n, 1)
        return output, h_n
