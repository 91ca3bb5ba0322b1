"""BatchNorm and InstanceNorm modules (inference): torch's parameters, running statistics and input checks."""

from __future__ import annotations

from typing import Any

from trtnet import dtypes
from trtnet import functional as F
from trtnet.errors import ShapeError, TrtnetError
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share (torch's ``_NormBase``): ``weight``/``bias`` when ``affine``, and
    ``running_mean``/``running_var`` plus the optional ``num_batches_tracked`` when ``track_running_stats``."""

    def __init__(self, num_features: int, eps: float, momentum: float | None, affine: bool,
                 track_running_stats: bool, device: Any, dtype: Any) -> None:
        super().__init__()
        kind = parameter_dtype(device, dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter((num_features,), dtype=kind) if affine else None
        self.bias = Parameter((num_features,), dtype=kind) if affine else None
        # buffers, as torch's: in the state_dict, not in parameters()
        self.register_buffer("running_mean", Parameter((num_features,), dtype=kind) if track_running_stats else None)
        self.register_buffer("running_var", Parameter((num_features,), dtype=kind) if track_running_stats else None)
        self.register_buffer("num_batches_tracked", Parameter((), dtype=dtypes.int64, optional=True)
                             if track_running_stats else None)

    def _check_input_dim(self, x: Tensor) -> None:
        ranks = self._ranks
        if x.ndim not in ranks:
            wanted = " or ".join(f"{r}D" for r in ranks)
            raise ShapeError(f"expected {wanted} input (got {x.ndim}D input)")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Inference BatchNorm with running statistics (``F.batch_norm``: one scale layer)."""

    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        if not track_running_stats:
            raise TrtnetError(f"{type(self).__name__}(track_running_stats=False) normalises with batch statistics; "
                              "trtnet builds inference networks and needs running statistics")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)


class BatchNorm1d(_BatchNorm):
    """On ``(N, C)`` or ``(N, C, L)``."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    _ranks = (5,)


class _InstanceNorm(_NormBase):
    """Statistics per sample and channel (``F.instance_norm``); with ``track_running_stats=True`` eval uses the
    running statistics, as torch's. An unbatched input (no N dim) is normalised as a batch of one."""

    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        unbatched = x.ndim == self._ranks[0]
        feature_dim = 0 if unbatched else 1
        size = x.static_shape[feature_dim]
        if size != self.num_features and (self.affine or self.track_running_stats):
            raise ShapeError(f"expected input's size at dim={feature_dim} to match num_features "
                             f"({self.num_features}), but got: {size}.")
        batch = F.unsqueeze(x, 0) if unbatched else x
        y = F.instance_norm(batch, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats=not self.track_running_stats, eps=self.eps)
        return F.squeeze(y, 0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """On ``(N, C, L)`` or unbatched ``(C, L)``."""

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    _ranks = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    _ranks = (4, 5)
