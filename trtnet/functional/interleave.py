"""``repeat_interleave`` with an int count: each entry repeated in place (unsqueeze, expand, flatten)."""

from __future__ import annotations

from trtnet.errors import TrtnetError
from trtnet.functional._util import normalize_dim
from trtnet.functional.dims import unsqueeze
from trtnet.functional.indexing import expand
from trtnet.functional.shape import flatten, reshape
from trtnet.tensor import Tensor


def repeat_interleave(input: Tensor, repeats: int, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
    """``torch.repeat_interleave`` with an int ``repeats`` (a tensor of counts would size the output by its values,
    which TensorRT can't shape); ``dim=None`` repeats the flattened input."""
    if isinstance(repeats, Tensor):
        raise TrtnetError("repeat_interleave: repeats must be an int; a tensor of counts sizes the output by its "
                          "values, which a TensorRT network can't shape")
    if not isinstance(repeats, int) or repeats < 0:
        raise TrtnetError(f"repeat_interleave: repeats must be a non-negative int, got {repeats!r}")
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    d = normalize_dim(dim, max(input.ndim, 1))
    if input.ndim == 0:
        input = reshape(input, (1,))
    if output_size is not None and input.static_shape[d] != -1 and output_size != input.static_shape[d] * repeats:
        raise TrtnetError(f"repeat_interleave: output_size={output_size} but the result has "
                          f"{input.static_shape[d] * repeats} entries along dim {d}")
    sizes = [-1] * (input.ndim + 1)
    sizes[d + 1] = repeats
    return flatten(expand(unsqueeze(input, d + 1), sizes), d, d + 1)
