"""Matrix multiply (every MatrixOperation on each operand, batch broadcasting) and einsum."""

from __future__ import annotations

import pytest
import torch

from _raw import RawNet, close, randn, single, trt

# op -> (shape of the stored operand given batch dims, the logical rows x cols or vector length)
CASES = [
    # op0, op1, a shape, b shape, expected from logical A, B
    ("NONE", "NONE", (2, 3, 4), (2, 4, 5), lambda a, b: a @ b),
    ("TRANSPOSE", "NONE", (2, 4, 3), (2, 4, 5), lambda a, b: a.transpose(-1, -2) @ b),
    ("NONE", "TRANSPOSE", (2, 3, 4), (2, 5, 4), lambda a, b: a @ b.transpose(-1, -2)),
    ("TRANSPOSE", "TRANSPOSE", (2, 4, 3), (2, 5, 4), lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2)),
    ("VECTOR", "NONE", (2, 4), (2, 4, 5), lambda a, b: torch.einsum("bk,bkn->bn", a, b)),
    ("VECTOR", "TRANSPOSE", (2, 4), (2, 5, 4), lambda a, b: torch.einsum("bk,bnk->bn", a, b)),
    ("NONE", "VECTOR", (2, 3, 4), (2, 4), lambda a, b: torch.einsum("bmk,bk->bm", a, b)),
    ("TRANSPOSE", "VECTOR", (2, 4, 3), (2, 4), lambda a, b: torch.einsum("bkm,bk->bm", a, b)),
    ("VECTOR", "VECTOR", (2, 4), (2, 4), lambda a, b: (a * b).sum(-1)),
    ("NONE", "NONE", (3, 1, 2, 4), (1, 5, 4, 6), lambda a, b: a @ b),  # batch dims broadcast
    ("NONE", "TRANSPOSE", (1, 7, 8), (1, 6, 8), lambda a, b: a @ b.transpose(-1, -2)),  # Linear: x @ W^T
]


@pytest.mark.parametrize("op0,op1,a_shape,b_shape,reference", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}x{c[3]}" for c in CASES])
def test_matrix_multiply(op0, op1, a_shape, b_shape, reference):
    a_val, b_val = randn(*a_shape, seed=1), randn(*b_shape, seed=2)
    net = RawNet()
    layer = net.network.add_matrix_multiply(
        net.input("a", a_shape), getattr(trt.MatrixOperation, op0), net.const(b_val), getattr(trt.MatrixOperation, op1)
    )
    got = single(net, layer.get_output(0), {"a": a_val})
    close(got, reference(torch.from_numpy(a_val).double(), torch.from_numpy(b_val).double()), atol=1e-5)


@pytest.mark.parametrize("equation,shapes", [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 4)]), ("ij,ij->i", [(3, 4), (3, 4)])])
def test_einsum(equation, shapes):
    values = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    net = RawNet()
    inputs = [net.input(f"x{i}", s) for i, s in enumerate(shapes)]
    layer = net.network.add_einsum(inputs, equation)
    got = single(net, layer.get_output(0), {f"x{i}": v for i, v in enumerate(values)})
    close(got, torch.einsum(equation, *[torch.from_numpy(v) for v in values]), atol=1e-5)
