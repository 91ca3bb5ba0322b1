"""Numeric unit tests of trtnet layers against eager PyTorch: :func:`assert_matches_torch`.

>>> import torch
>>> import trtnet.nn as nn
>>> from trtnet.testing import assert_matches_torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> report = assert_matches_torch(nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
...                               [torch.randn(1, 3, 16, 16)])
>>> report.passed, report.outputs[0].actual_shape
(True, (1, 8, 8, 8))

A wrong port fails with the statistics table:

>>> assert_matches_torch(nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(3, 8, 3, padding=2),
...                      [torch.randn(1, 3, 16, 16)])  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
AssertionError: trtnet Conv2d does not match torch Conv2d (float32):
...
output  1x8x16x16 vs 1x8x18x18 ...
RESULT: FAIL (0/1 outputs within tolerance)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from trtnet import dtypes
from trtnet.build import Input
from trtnet.check import check
from trtnet.nn.module import Module
from trtnet.report import CheckReport, format_table
from trtnet.verdict import CheckWarning


def assert_matches_torch(trtnet_module: Module, torch_module: Any, inputs: Sequence[Any], dtype: str = "fp32",
                         atol: float | None = None, rtol: float | None = None, *, seed: int = 0,
                         device: str = "auto", warnings_as_errors: bool = False) -> CheckReport:
    """Assert that ``trtnet_module`` computes what ``torch_module`` computes; returns the :class:`CheckReport`.

    - copies ``torch_module.state_dict()`` into ``trtnet_module`` by name (strict: every key must match);
    - ``inputs``: torch tensors / numpy arrays (the network's inputs, named after the module's
      ``default_inputs`` when it declares as many, else ``input`` or ``input_0``, ``input_1``...), or
      :class:`trtnet.Input` s filled with seeded random values (``seed``); dynamic ones are checked at their
      min, opt and max shapes from one build, and a failure names the failing points;
    - converts the trtnet module to ``dtype`` (fp32/fp16/bf16) and **builds the engine** with TensorRT, then
      runs it on the GPU if one can run engines, else on the CPU reference executor (``device`` forces one);
    - compares every output with the dtype's default tolerance (``atol``/``rtol`` override it) against the torch
      module in float32 on the same input values (rounded to ``dtype`` first), as :func:`trtnet.check` does.

    Raises ``AssertionError`` with the statistics table when an output fails (:mod:`trtnet.verdict`: NaN/Inf
    not matched position for position, nothing finite compared, out of tolerance; in fp16/bf16 an output
    within :data:`trtnet.verdict.PRECISION_FACTOR` of eager PyTorch's own error in that dtype passes). A check
    that proves little (a constant, all-zero or input-independent torch output...: ``report.warnings``) emits
    a :class:`trtnet.verdict.CheckWarning` per warning, or fails with ``warnings_as_errors=True``. The torch
    module is put in eval mode and float32.
    """
    __tracebackhide__ = True  # pytest: a failure shows the caller's line and the table, not this source
    trtnet_module.load_state_dict(torch_module.state_dict(), strict=True,
                                  source=f"{type(torch_module).__name__}.state_dict()")
    if all(isinstance(item, Input) for item in inputs):
        specs, arrays = list(inputs), None
    else:
        declared = trtnet_module.default_inputs or []
        names = ([spec.name for spec in declared] if len(declared) == len(inputs)
                 else ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
        arrays = {name: _as_numpy(value) for name, value in zip(names, inputs)}
        specs = [Input(name, array.shape, None if array.dtype.kind == "f" else dtypes.from_numpy(array.dtype))
                 for name, array in arrays.items()]
    report = check(trtnet_module, torch_module, inputs=specs, input_arrays=arrays, dtype=dtype, device=device,
                   atol=atol, rtol=rtol, seed=seed, warnings_as_errors=warnings_as_errors)
    if not report.passed:
        raise AssertionError(f"trtnet {type(trtnet_module).__name__} does not match torch "
                             f"{type(torch_module).__name__} ({report.dtype}):\n{format_table(report)}")
    for text in report.warnings:
        warnings.warn(text, CheckWarning, stacklevel=2)
    return report


def _as_numpy(value: Any) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu()
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    return np.asarray(value)


__all__ = ["CheckWarning", "assert_matches_torch"]
