"""``Parameter``: a declared weight (shape, dtype) whose values come from a state_dict or from the tensor
it was made of."""

from __future__ import annotations

from typing import Any

import numpy as np

from trtnet import dtypes
from trtnet.errors import TrtnetError
from trtnet.weights import to_numpy


class Parameter:
    """A named weight of a module, declared by its shape (``Parameter(2, 3)``, ``Parameter((2, 3))``) or made of
    a numpy array / torch tensor as ``torch.nn.Parameter(tensor)`` is (shape, dtype and values from it; float64
    becomes float32, which TensorRT has instead). Declared parameters are never initialised randomly: values
    come from ``load_state_dict``/``load_safetensors``, which also overwrite values given here, and building with
    unset parameters is an error. ``requires_grad`` is accepted for torch's signature and ignored.

    ``optional`` parameters (BatchNorm's ``num_batches_tracked``) are loaded when present and not
    required for building.

    >>> import numpy as np
    >>> p = Parameter((2, 3))
    >>> p.is_set, p.shape, p.dtype
    (False, (2, 3), trtnet.float32)
    >>> q = Parameter(np.ones((4, 1, 1), np.float32) * 0.5)
    >>> q.is_set, q.shape, float(q.numpy()[0, 0, 0])
    (True, (4, 1, 1), 0.5)
    """

    def __init__(self, *data: Any, dtype: dtypes.DType | str | None = None, optional: bool = False,
                 requires_grad: bool = True):
        values = _values_of(data)
        self.shape = tuple(values.shape) if values is not None else _shape_of(data)
        if dtype is None:
            dtype = dtypes.float32 if values is None or values.dtype == np.float64 else _dtype_of(data[0], values)
        self.dtype = dtypes.get(dtype)
        self.optional = optional
        self.source: np.ndarray | None = values  # values as given or loaded
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

    def __getitem__(self, key: Any) -> Any:
        """``self.position_ids[:, :seq_length]`` while tracing, as torch indexes a buffer or parameter: its
        constant (:func:`trtnet.functional.as_tensor`), indexed."""
        from trtnet.functional import as_tensor

        return as_tensor(self)[key]

    def __repr__(self) -> str:
        state = "set" if self.is_set else "unset"
        return f"Parameter(shape={self.shape}, dtype={self.dtype.name}, {state})"


def _is_tensor(value: Any) -> bool:
    """A numpy array or a torch tensor (recognised without importing torch)."""
    return isinstance(value, np.ndarray) or (type(value).__module__.startswith("torch") and hasattr(value, "detach"))


def _values_of(data: tuple) -> np.ndarray | None:
    """A copy of the values of ``Parameter(tensor)`` / ``Parameter(tensor, requires_grad)``; None for a shape."""
    if not data or not _is_tensor(data[0]):
        return None
    if len(data) > 2 or (len(data) == 2 and not isinstance(data[1], bool)):
        raise TrtnetError(f"Parameter(tensor, requires_grad): takes one tensor and a bool, got {len(data)} "
                          f"arguments ({', '.join(type(d).__qualname__ for d in data)})")
    values = np.array(to_numpy(data[0], "data", "Parameter"))
    if values.dtype.kind not in "fiub":
        raise TrtnetError(f"Parameter: values of dtype {values.dtype} have no trtnet equivalent")
    return values


def _dtype_of(data: Any, values: np.ndarray) -> dtypes.DType:
    if str(getattr(data, "dtype", "")) == "torch.bfloat16":
        return dtypes.bfloat16
    return dtypes.from_numpy(values.dtype)


def _shape_of(data: tuple) -> tuple[int, ...]:
    """The shape of ``Parameter(2, 3)`` or ``Parameter((2, 3))`` (``Parameter(())`` is a scalar)."""
    dims = data[0] if len(data) == 1 and isinstance(data[0], (tuple, list)) else data
    if not data or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in dims):
        shown = ", ".join(repr(d) if isinstance(d, (int, tuple, list)) else type(d).__qualname__ for d in data)
        hint = " (pass dtype= as a keyword)" if any(isinstance(d, (str, dtypes.DType)) for d in data[1:]) else ""
        raise TrtnetError(f"Parameter({shown}): expected a shape (Parameter(2, 3) or Parameter((2, 3))) of "
                          f"sizes >= 0, or a numpy array / torch tensor{hint}")
    return tuple(int(d) for d in dims)
