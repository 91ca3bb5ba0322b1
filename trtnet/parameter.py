"""``Parameter``: a declared weight (shape, dtype) whose values come only from a state_dict."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trtnet import dtypes


class Parameter:
    """A named weight of a module. It is never initialised randomly: values come from
    ``load_state_dict``/``load_safetensors`` and building with unset parameters is an error.

    ``optional`` parameters (BatchNorm's ``num_batches_tracked``) are loaded when present and not
    required for building.

    >>> import numpy as np
    >>> p = Parameter((2, 3))
    >>> p.is_set, p.shape, p.dtype
    (False, (2, 3), trtnet.float32)
    """

    def __init__(self, shape: Sequence[int], dtype: dtypes.DType | str = dtypes.float32, *, optional: bool = False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtypes.get(dtype)
        self.optional = optional
        self.source: np.ndarray | None = None  # values as loaded
        self._converted: tuple[dtypes.DType, np.ndarray] | None = None

    @property
    def is_set(self) -> bool:
        return self.source is not None

    def numpy(self) -> np.ndarray:
        """The values converted to this parameter's dtype (carrier float32 for bfloat16).

        Conversion happens from the loaded values each time the dtype changes, so ``to(float16)``
        followed by ``keep_in_fp32`` loses nothing."""
        if self.source is None:
            raise ValueError("parameter has no value; load a state_dict first")
        if self._converted is None or self._converted[0] is not self.dtype:
            self._converted = (self.dtype, dtypes.convert(self.source, self.dtype).reshape(self.shape))
        return self._converted[1]

    def assign(self, values: np.ndarray) -> None:
        """Set values already checked for shape and dtype kind (see ``Module.load_state_dict``)."""
        self.source = values
        self._converted = None

    def __repr__(self) -> str:
        state = "set" if self.is_set else "unset"
        return f"Parameter(shape={self.shape}, dtype={self.dtype.name}, {state})"
