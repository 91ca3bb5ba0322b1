"""``Embedding``: a gather on the ``weight`` constant."""

from __future__ import annotations

from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class Embedding(Module):
    """``torch.nn.Embedding``: ``weight [num_embeddings, embedding_dim]``; int32/int64 indices of any shape.
    ``max_norm``: looked-up rows longer than it (in the ``norm_type``-norm) are scaled down, as torch's eval-mode
    lookup returns them (see :func:`trtnet.functional.embedding`)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: object = None, _freeze: bool = False, device: object = None,
                 dtype: object = None) -> None:
        super().__init__()
        if max_norm is not None and not max_norm > 0:
            raise TrtnetError(f"Embedding: max_norm must be positive, got {max_norm!r}")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise TrtnetError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings {num_embeddings}")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.weight = Parameter((num_embeddings, embedding_dim), dtype=parameter_dtype(device, dtype))

    def forward(self, indices: Tensor) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "") + (
            f", max_norm={self.max_norm}" if self.max_norm is not None else "")
