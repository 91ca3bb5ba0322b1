"""Matrix products (``IMatrixMultiplyLayer``): ``matmul`` with broadcasting and ``linear``."""

from __future__ import annotations

import numpy as np

from trtnet import graph
from trtnet.errors import ShapeError
from trtnet.functional._util import as_tensor, check_same_dtype, parameter_values, prepend_ones
from trtnet.functional.elementwise import add
from trtnet.functional.quantize import quantized_matmul_operands
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


def matmul(a: Tensor, b: Tensor, *, transpose_b: bool = False) -> Tensor:
    """``torch.matmul``: 1-D operands are vectors, batch dims broadcast (ranks aligned by trtnet)."""
    a, b = as_tensor(a, like=b if isinstance(b, Tensor) else None), as_tensor(b, like=None)
    check_same_dtype(b.dtype, a.dtype, "matmul operand b")
    g = graph.current()
    operations = g.backend.trt.MatrixOperation
    a_vector, b_vector = a.ndim == 1, b.ndim == 1
    op_a = operations.VECTOR if a_vector else operations.NONE
    op_b = operations.VECTOR if b_vector else (operations.TRANSPOSE if transpose_b else operations.NONE)
    # TensorRT wants equal ranks, a vector operand counting one dim less than the matrix: [K] @ [B, K, N] -> [1, K]
    if a_vector and b.ndim > 2:
        a = prepend_ones(a, b.ndim - 2)
    elif b_vector and a.ndim > 2:
        b = prepend_ones(b, a.ndim - 2)
    elif not a_vector and not b_vector and a.ndim != b.ndim:
        rank = max(a.ndim, b.ndim)
        a, b = prepend_ones(a, rank - a.ndim), prepend_ones(b, rank - b.ndim)
    k_a = a.static_shape[-1]
    k_b = b.static_shape[-1 if b_vector or transpose_b else -2]
    if -1 not in (k_a, k_b) and k_a != k_b:
        raise ShapeError(f"matmul: shapes {a.static_shape} and {b.static_shape}{' (b transposed)' if transpose_b else ''} don't match")
    batch_a = a.static_shape[:-1] if a_vector else a.static_shape[:-2]
    batch_b = b.static_shape[:-1] if b_vector else b.static_shape[:-2]
    for da, db in zip(batch_a, batch_b):
        if da != db and 1 not in (da, db) and -1 not in (da, db):
            raise ShapeError(f"matmul: batch dims of {a.static_shape} and {b.static_shape} don't broadcast")
    if g.quantization is not None:
        a, b = quantized_matmul_operands(a, b, transpose_b)
    layer = g.network.add_matrix_multiply(a.itensor, op_a, b.itensor, op_b)
    shape = None  # known up front for two static matrices (saves TensorRT a shape query)
    if not a_vector and not b_vector and -1 not in a.static_shape and -1 not in b.static_shape:
        batch = batch_a if batch_a == batch_b else tuple(db if da == 1 else da for da, db in zip(batch_a, batch_b))
        shape = (*batch, a.static_shape[-2], b.static_shape[-2 if transpose_b else -1])
    return g.output("matmul", layer, shape, a.dtype)


def linear(input: Tensor, weight: Parameter | np.ndarray, bias: Parameter | np.ndarray | None = None) -> Tensor:
    """``x @ weight.T + bias`` over any number of leading dims; weight stored ``[out, in]`` as in PyTorch."""
    values, weight_dtype = parameter_values(weight, "weight")
    check_same_dtype(weight_dtype, input.dtype, "weight")
    if input.static_shape[-1] not in (-1, values.shape[1]):
        raise ShapeError(f"linear: input features {input.static_shape[-1]} but weight is {values.shape} ([out, in])")
    result = matmul(input, as_tensor(weight, like=input), transpose_b=True)
    return result if bias is None else add(result, as_tensor(bias, like=result))
