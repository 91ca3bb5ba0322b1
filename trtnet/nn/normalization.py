"""Normalisation modules."""

from __future__ import annotations

from trtnet import dtypes
from trtnet import functional as F
from trtnet.errors import TrtnetError
from trtnet.nn.module import Module
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class BatchNorm2d(Module):
    """Inference BatchNorm with running statistics; state_dict keys as PyTorch's, incl. the optional
    ``num_batches_tracked``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        if not track_running_stats:
            raise TrtnetError("BatchNorm2d(track_running_stats=False) normalises with batch statistics; "
                              "trtnet builds inference networks and needs running statistics")
        self.num_features, self.eps = num_features, eps
        self.weight = Parameter((num_features,)) if affine else None
        self.bias = Parameter((num_features,)) if affine else None
        self.running_mean = Parameter((num_features,))
        self.running_var = Parameter((num_features,))
        self.num_batches_tracked = Parameter((), dtype=dtypes.int64, optional=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"
