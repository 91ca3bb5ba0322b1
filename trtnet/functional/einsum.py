"""``torch.einsum`` on TensorRT's ``IEinsumLayer`` (lowered in :func:`einsum_layer`).

torch's equation syntax is translated to what TensorRT takes: spaces dropped, ``...`` expanded to one letter per
broadcast dim, upper- and lower-case labels renamed to lower-case letters, the implicit output (no ``->``) spelled
out (ellipsis dims first, then the labels used once, in torch's order: ``A-Z`` before ``a-z``). More than two
operands are contracted left to right, two at a time, keeping the labels still needed.
"""

from __future__ import annotations

import string
from typing import Any, Sequence

from trtnet import graph
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import out
from trtnet.functional.promotion import promoted, result_type
from trtnet.tensor import Tensor

_LABELS = string.ascii_uppercase + string.ascii_lowercase
_ELLIPSIS_LABELS = "αβγδεζηθικλμνξ"  # placeholders for ellipsis dims until renaming


def einsum_layer(equation: str, operands: Sequence[Tensor]) -> Tensor:
    """Lower one einsum: ``equation`` in TensorRT's form (lower-case labels, explicit output)."""
    layer = graph.current().network.add_einsum([t.itensor for t in operands], equation)
    return out(graph.current().add("einsum", layer))


def _terms(equation: str, operands: Sequence[Tensor]) -> tuple[list[str], str]:
    """Input terms and output term with every ellipsis expanded to placeholder labels."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise TrtnetError("einsum(): more operands were provided than specified in the equation"
                          if len(operands) > len(terms) else
                          "einsum(): fewer operands were provided than specified in the equation")
    ellipsis_rank = 0
    expanded = []
    for term, operand in zip(terms, operands):
        labels = term.replace("...", "")
        if any(c not in _LABELS for c in labels) or term.count("...") > 1:
            raise TrtnetError(f"einsum(): invalid subscript in {term!r}: subscripts must be letters in [a-zA-Z], "
                              "with at most one ellipsis per operand")
        if "..." in term:
            rank = operand.ndim - len(labels)
            if rank < 0:
                raise ShapeError(f"einsum(): the number of subscripts in the equation ({len(labels)}) is more than "
                                 f"the number of dimensions ({operand.ndim}) for operand {len(expanded)}")
            ellipsis_rank = max(ellipsis_rank, rank)
            term = term.replace("...", _ELLIPSIS_LABELS[len(_ELLIPSIS_LABELS) - rank:] if rank else "")
        elif len(labels) != operand.ndim:
            raise ShapeError(f"einsum(): the number of subscripts in the equation ({len(labels)}) does not match the "
                             f"number of dimensions ({operand.ndim}) for operand {len(expanded)} and no ellipsis "
                             "was given")
        expanded.append(term)
    ellipsis = _ELLIPSIS_LABELS[len(_ELLIPSIS_LABELS) - ellipsis_rank:]
    if arrow:
        if any(c not in _LABELS for c in rhs.replace("...", "")):
            raise TrtnetError(f"einsum(): invalid subscript in the output {rhs!r}")
        output = rhs.replace("...", ellipsis)
        used = set("".join(expanded))
        for c in output:
            if c not in used:
                raise TrtnetError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                  "operand")
    else:
        counts = "".join(expanded)
        output = ellipsis + "".join(c for c in _LABELS if counts.count(c) == 1)
    return expanded, output


def _check_sizes(terms: Sequence[str], operands: Sequence[Tensor]) -> None:
    sizes: dict[str, int] = {}
    for term, operand in zip(terms, operands):
        for label, size in zip(term, operand.static_shape):
            known = sizes.setdefault(label, size)
            if known != size and -1 not in (known, size):
                raise ShapeError(f"einsum(): subscript {label} has size {size} for an operand which does not "
                                 f"broadcast with previously seen size {known} (trtnet: sizes must be equal)")


def einsum(equation: str, *operands: Any) -> Tensor:
    """``torch.einsum(equation, *operands)`` (or a list of operands); float operands, promoted to one dtype."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TrtnetError("einsum(): operands must be trtnet Tensors")
    dtype = result_type(*operands, op="einsum")
    if not dtype.is_float:
        raise TrtnetError(f"einsum: TensorRT's einsum takes float tensors, got {dtype.name}; cast with .float()")
    tensors = [promoted(t, dtype) for t in operands]
    terms, output = _terms(equation, tensors)
    _check_sizes(terms, tensors)
    rename = {c: string.ascii_lowercase[i] for i, c in enumerate(dict.fromkeys("".join(terms) + output))}
    if len(rename) > 26:
        raise TrtnetError(f"einsum: {len(rename)} distinct subscripts; TensorRT's einsum takes at most 26")
    terms = ["".join(rename[c] for c in t) for t in terms]
    output = "".join(rename[c] for c in output)
    result, term = tensors[0], terms[0]
    for k in range(1, len(tensors) - 1):  # left to right: keep the labels a later operand or the output needs
        later = set("".join(terms[k + 1:]) + output)
        keep = "".join(dict.fromkeys(c for c in term + terms[k] if c in later))
        result, term = einsum_layer(f"{term},{terms[k]}->{keep}", [result, tensors[k]]), keep
    if len(tensors) == 1:
        return einsum_layer(f"{term}->{output}", [result])
    return einsum_layer(f"{term},{terms[-1]}->{output}", [result, tensors[-1]])
