"""Softmax (``ISoftMaxLayer``, its axis always set) and log-softmax (stable: ``x - max - log(sum(exp(x - max)))``)."""

from __future__ import annotations

from trtnet import dtypes, graph
from trtnet.functional._util import normalize_dim, out
from trtnet.functional.dims import reshape_to
from trtnet.functional.elementwise import sub
from trtnet.functional.pointwise import exp, log
from trtnet.functional.reduce import amax, sum
from trtnet.functional.unary import cast
from trtnet.tensor import Tensor


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    """PyTorch's implicit dim (deprecated there) when ``dim`` is None: 0 for ranks 0, 1 and 3, else 1.
    A 0-d tensor takes dims 0 and -1, as in PyTorch."""
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, max(x.ndim, 1))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.nn.functional.softmax`` over ``dim`` (``dtype`` casts the input first)."""
    if dtype is not None:
        input = cast(input, dtype)
    axis = _softmax_dim(input, dim)
    if input.ndim >= 2:
        return _softmax_layer(input, axis)
    n = input.static_shape[0] if input.ndim else 1  # TensorRT's softmax wants 2 dims: a 0-d or 1-D input is one row
    row = reshape_to("softmax", input, [1, n], [None, 0 if n == -1 else None])
    return reshape_to("softmax", _softmax_layer(row, 1), list(input.static_shape), [1 if n == -1 else None] * input.ndim)


def _softmax_layer(x: Tensor, axis: int) -> Tensor:
    layer = graph.current().network.add_softmax(x.itensor)
    layer.axes = 1 << axis
    return out(graph.current().add("softmax", layer))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: dtypes.DType | str | None = None) -> Tensor:
    """``torch.nn.functional.log_softmax``: ``shifted - log(sum(exp(shifted)))`` with ``shifted = x - max(x)``."""
    if dtype is not None:
        input = cast(input, dtype)
    d = _softmax_dim(input, dim)
    empty = input.ndim > 0 and input.static_shape[d] == 0  # no max to shift by; the result is empty too
    shifted = input if empty else sub(input, amax(input, d, keepdim=True))
    return sub(shifted, log(sum(exp(shifted), d, keepdim=True)))
