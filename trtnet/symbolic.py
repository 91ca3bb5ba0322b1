"""Symbolic sizes: ``x.shape[i]`` of a dynamic dimension is a :class:`SymInt`, backed lazily by TensorRT shape tensors.

A ``SymInt`` is an integer polynomial over *atoms*: the runtime size of one tensor dimension, or an opaque
``//`` / ``%`` of other sizes. Arithmetic with ints and other SymInts stays symbolic and folds exactly (a result
without atoms is a plain ``int``), so a fully static model never creates a shape layer. Each size carries the
range it can take (a network input's dims from its profile's min/max, others ``[0, inf]``), so comparisons are
decided at build time when the expression or the range decides them, and raise otherwise.

A dimension's size is traced back through the layers that keep it (pointwise, broadcasting, matmul, shuffles,
concatenation, reductions, gathers, and every reshape/slice/fill fed a shape tensor made here) to the size it
equals, usually a network input's dim: ``y.size(0) == x.size(0)`` is then decided, and both materialize as the
same layers. A size is materialized (``IShapeLayer`` + gather + int64 elementwise, a 1-element 1-D tensor) only when
it is used in a shape argument (:func:`shape_tensor`), once per graph.
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from trtnet import dtypes, graph
from trtnet.errors import ShapeError, TrtnetError

if TYPE_CHECKING:
    from trtnet.tensor import Tensor

INF = math.inf
_SIZE_TYPES = (int, np.integer)


def _imul(a: float, b: float) -> float:
    return 0 if a == 0 or b == 0 else a * b


def _range_mul(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    products = [_imul(a, b) for a in x for b in y]
    return min(products), max(products)


class _Atom:
    """An indivisible size: a tensor dimension (``kind="dim"``) or ``a // b`` / ``a % b`` of sizes."""

    __slots__ = ("key", "lo", "hi", "kind", "args", "label")

    def __init__(self, key: tuple, lo: float, hi: float, kind: str, args: tuple, label: str) -> None:
        self.key, self.lo, self.hi, self.kind, self.args, self.label = key, lo, hi, kind, args, label

    def tensor(self, g: graph.Graph) -> "Tensor":
        from trtnet.functional.dims import shape_of
        from trtnet.functional.elementwise import elementwise
        from trtnet.functional.gathering import gather_layer

        def build() -> "Tensor":
            if self.kind == "dim":
                source, dim = self.args
                shape = _cached(g, ("shape_of", self.key[:-1]), lambda: shape_of(source))
                index = g.constant(np.array([dim], dtype=np.int64), dtypes.int64)
                return gather_layer("size", shape, index, 0)
            a, b = (_materialize(g, v) for v in self.args)
            quotient = elementwise("floor_divide", a, b)
            if self.kind == "floordiv":
                return quotient
            return elementwise("sub", a, elementwise("mul", quotient, b))

        return _cached(g, ("atom", self.key), build)


Monomial = tuple  # atoms sorted by key, repeated for powers


def _mono_key(mono: Monomial) -> tuple:
    return tuple(atom.key for atom in mono)


class SymInt:
    """The size of a dynamic dimension (or an integer expression of sizes), known only at run time.

    Supports ``+ - * // %`` with ints and SymInts, unary minus, and comparisons that are decided at build time
    (same expression, or the profile range decides) — an undecided comparison raises :class:`ShapeError`.
    Use it wherever PyTorch takes a size (``x.view(b, s, heads, -1)``, ``arange(s)``, ``x.new_zeros(b, 4)``)."""

    __slots__ = ("terms", "const", "_key")

    def __init__(self, terms: dict[tuple, tuple[Monomial, int]], const: int) -> None:
        self.terms = {k: v for k, v in terms.items() if v[1] != 0}
        self.const = int(const)
        self._key: tuple | None = None

    # ---- construction -----------------------------------------------------------------------
    @staticmethod
    def of_atom(atom: _Atom) -> "SymInt":
        return SymInt({(atom.key,): ((atom,), 1)}, 0)

    @property
    def key(self) -> tuple:
        if self._key is None:
            self._key = (tuple(sorted((k, c) for k, (_, c) in self.terms.items())), self.const)
        return self._key

    @property
    def range(self) -> tuple[float, float]:
        """The (lo, hi) interval this size can take (``inf`` when unbounded)."""
        lo = hi = self.const  # ints where finite: folds by range stay exact
        for mono, coeff in self.terms.values():
            interval = (1, 1)
            for atom in mono:
                interval = _range_mul(interval, (atom.lo, atom.hi))
            part = _range_mul(interval, (coeff, coeff))
            lo, hi = lo + part[0], hi + part[1]
        return lo, hi

    # ---- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        if other is NotImplemented:
            return NotImplemented
        terms = dict(self.terms)
        for k, (mono, coeff) in other.terms.items():
            terms[k] = (mono, terms[k][1] + coeff) if k in terms else (mono, coeff)
        return _folded(SymInt(terms, self.const + other.const))

    __radd__ = __add__

    def __neg__(self) -> "SymInt":
        return SymInt({k: (m, -c) for k, (m, c) in self.terms.items()}, -self.const)

    def __pos__(self) -> "SymInt":
        return self

    def __sub__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else self + (-other)

    def __rsub__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else other + (-self)

    def __mul__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        if other is NotImplemented:
            return NotImplemented
        terms: dict[tuple, tuple[Monomial, int]] = {}

        def put(mono: Monomial, coeff: int) -> None:
            k = _mono_key(mono)
            terms[k] = (mono, terms[k][1] + coeff) if k in terms else (mono, coeff)

        for mono, coeff in self.terms.values():
            put(mono, coeff * other.const)
            for mono2, coeff2 in other.terms.values():
                put(tuple(sorted(mono + mono2, key=lambda atom: atom.key)), coeff * coeff2)
        for mono2, coeff2 in other.terms.values():
            put(mono2, coeff2 * self.const)
        return _folded(SymInt(terms, self.const * other.const))

    __rmul__ = __mul__

    def __floordiv__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else _divide(self, other, "floordiv")

    def __rfloordiv__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else _divide(other, self, "floordiv")

    def __mod__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else _divide(self, other, "mod")

    def __rmod__(self, other: Any) -> "SymInt | int":
        other = _as_sym(other)
        return NotImplemented if other is NotImplemented else _divide(other, self, "mod")

    def __truediv__(self, other: Any) -> Any:
        raise ShapeError(f"{self} / {other}: a dynamic size has no float value while building; use // for sizes")

    __rtruediv__ = __truediv__

    # ---- comparisons (decided at build time or refused) -------------------------------------
    def _compare(self, other: Any, op: str) -> bool:
        other_sym = _as_sym(other)
        if other_sym is NotImplemented:
            return NotImplemented
        difference = self - other_sym
        lo, hi = (difference, difference) if isinstance(difference, int) else difference.range
        nonzero = lo > 0 or hi < 0 or (not isinstance(difference, int) and difference.const % math.gcd(
            *(c for _, c in difference.terms.values())) != 0)  # sizes are ints: 8*b - 25 is never 0
        decided = {"==": (lo == hi == 0, nonzero), "!=": (nonzero, lo == hi == 0),
                   "<": (hi < 0, lo >= 0), "<=": (hi <= 0, lo > 0), ">": (lo > 0, hi <= 0), ">=": (lo >= 0, hi < 0)}
        true, false = decided[op]
        if true or false:
            return bool(true)
        raise ShapeError(f"{self} {op} {other} depends on the runtime size ({_describe(self, other_sym)}); "
                         "it can't decide Python control flow while the network is built")

    def __eq__(self, other: Any) -> bool:  # type: ignore[override]
        return self._compare(other, "==")

    def __ne__(self, other: Any) -> bool:  # type: ignore[override]
        return self._compare(other, "!=")

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, "<")

    def __le__(self, other: Any) -> bool:
        return self._compare(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, ">=")

    def __hash__(self) -> int:
        return hash(self.key)

    def same(self, other: Any) -> bool:
        """Whether ``other`` is provably this size (no error when it isn't decided)."""
        other = _as_sym(other)
        return other is not NotImplemented and other.key == self.key

    def __bool__(self) -> bool:
        return self._compare(0, "!=")

    def as_tensor(self) -> "Tensor":
        """This size at run time: a 1-element 1-D int64 tensor (made once per graph)."""
        return _materialize(graph.current(), self)

    # ---- no value while building ------------------------------------------------------------
    def _no_value(self, what: str) -> Any:
        lo, hi = self.range
        raise ShapeError(f"{what}({self}): the size is dynamic (in [{_bound(lo)}, {_bound(hi)}]) and has no value while "
                         "the network is built; pass it as a shape argument (reshape/view, expand, new_zeros, arange...)")

    def __int__(self) -> int:
        return self._no_value("int")

    def __index__(self) -> int:
        return self._no_value("index")

    def __float__(self) -> float:
        return self._no_value("float")

    def __repr__(self) -> str:
        parts = []
        for mono, coeff in sorted(self.terms.values(), key=lambda item: _mono_key(item[0])):
            text = "*".join(atom.label for atom in mono)
            parts.append(text if coeff == 1 else f"-{text}" if coeff == -1 else f"{coeff}*{text}")
        if self.const:
            parts.append(str(self.const))
        return " + ".join(parts).replace("+ -", "- ") or "0"


def _bound(value: float) -> str:
    return "inf" if value == INF else "-inf" if value == -INF else str(int(value))


def _describe(*values: "SymInt") -> str:
    """Each size an expression is made of, with its range (the dims inside ``//`` and ``%`` too)."""
    atoms: dict[tuple, _Atom] = {}
    pending = list(values)
    while pending:
        value = pending.pop()
        for mono, _ in value.terms.values():
            for atom in mono:
                atoms[atom.key] = atom
                pending += [v for v in atom.args if isinstance(v, SymInt)] if atom.kind != "dim" else []
    return ", ".join(f"{atom.label} in [{_bound(atom.lo)}, {_bound(atom.hi)}]" for atom in atoms.values())


def _as_sym(value: Any) -> "SymInt":
    if isinstance(value, SymInt):
        return value
    if isinstance(value, _SIZE_TYPES) and not isinstance(value, bool):
        return SymInt({}, int(value))
    return NotImplemented


def _folded(value: SymInt) -> "SymInt | int":
    return value.const if not value.terms else value


def _single_monomial(value: SymInt) -> tuple[Monomial, int] | None:
    if value.const == 0 and len(value.terms) == 1:
        return next(iter(value.terms.values()))
    return None


def _divide(a: SymInt, b: SymInt, kind: str) -> "SymInt | int":
    """``a // b`` or ``a % b``, folded when exact (every term divisible by a single-monomial divisor)."""
    if not b.terms and b.const == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    if not a.terms and not b.terms:
        return a.const // b.const if kind == "floordiv" else a.const % b.const
    divisor = ((), b.const) if not b.terms else _single_monomial(b)
    if divisor is not None:
        quotient = _exact_quotient(a, *divisor)
        if quotient is not None:
            return _folded(quotient) if kind == "floordiv" else 0
    if not b.terms and kind == "mod" and all(c % b.const == 0 for _, c in a.terms.values()):
        return a.const % b.const
    lo_a, hi_a = a.range
    lo_b, hi_b = b.range
    if kind == "mod" and lo_a >= 0 and hi_a < lo_b:  # s % 32 with s <= 16 is s
        return _folded(a)
    if kind == "mod":
        lo, hi = (0, hi_b - 1) if lo_b > 0 else (-INF, INF)
    elif lo_b > 0 and hi_b != INF:  # floor(a / b) is monotonic in a and b for b > 0: its corners bound it
        corners = [x if x in (INF, -INF) else x // y for x in (lo_a, hi_a) for y in (lo_b, hi_b)]
        lo, hi = min(corners), max(corners)
    elif lo_b > 0 and lo_a >= 0:
        lo, hi = 0, hi_a // lo_b if hi_a != INF else INF
    else:
        lo, hi = -INF, INF
    if lo == hi:  # the range decides the value
        return int(lo)
    sign = "//" if kind == "floordiv" else "%"
    left, right = (f"({v})" if len(v.terms) > 1 or (v.terms and v.const) else str(v) for v in (a, b))
    atom = _Atom((kind, a.key, b.key), lo, hi, kind, (a, b), f"({left} {sign} {right})")
    return SymInt.of_atom(atom)


def _exact_quotient(a: SymInt, mono: Monomial, coeff: int) -> SymInt | None:
    """``a / (coeff * mono)`` when every term and the constant divide exactly, else None."""
    if a.const and (mono or a.const % coeff):
        return None
    terms: dict[tuple, tuple[Monomial, int]] = {}
    for term, c in a.terms.values():
        rest = list(term)
        for atom in mono:
            keys = [x.key for x in rest]
            if atom.key not in keys:
                return None
            del rest[keys.index(atom.key)]
        if c % coeff:
            return None
        terms[_mono_key(tuple(rest))] = (tuple(rest), c // coeff)
    const = a.const // coeff if not mono else 0
    empty = terms.pop((), None)  # a term whose monomial divided away completely is a constant
    return SymInt(terms, const + (empty[1] if empty else 0))


def dims_of(itensor: Any) -> tuple[int, ...]:
    """An ``ITensor``'s shape as a tuple (indexing the Dims: iterating them costs ~3x more)."""
    dims = itensor.shape
    return tuple(dims[i] for i in range(len(dims)))


# ---- per-graph state -----------------------------------------------------------------------------
def dim_size(key: tuple, low: float, high: float, tensor: "Tensor", dim: int, label: str) -> SymInt:
    """The size of dim ``dim`` of ``tensor`` as a SymInt atom identified by ``key``, in ``[low, high]``."""
    return SymInt.of_atom(_Atom(key, low, high, "dim", (tensor, dim), label))


_STATE: "weakref.WeakKeyDictionary[graph.Graph, dict[str, dict]]" = weakref.WeakKeyDictionary()


_LAST: list[Any] = [lambda: None, None]  # (weak reference to the last graph asked for, its state): the usual case


def graph_state(g: graph.Graph) -> dict[str, dict]:
    """What symbolic sizes keep per graph: materialized tensors, recorded shape tensors, traced dims, ranges."""
    if _LAST[0]() is g:
        return _LAST[1]
    state = _STATE.get(g)
    if state is None:
        state = _STATE[g] = {"tensors": {}, "shapes": {}, "origins": {}, "values": {}, "dims": {}, "producers": {}, "ranges": {},
                             "depth": 0}
    _LAST[:] = [weakref.ref(g), state]
    return state


def _cached(g: graph.Graph, key: tuple, build: Any) -> "Tensor":
    tensors = graph_state(g)["tensors"]
    if key not in tensors:
        tensors[key] = build()
    return tensors[key]


def declare_input(g: graph.Graph, name: str, low: Sequence[int], high: Sequence[int]) -> None:
    """Record a network input's profile range per dim (what decides comparisons of its sizes)."""
    graph_state(g)["ranges"][name] = (tuple(low), tuple(high))


def _materialize(g: graph.Graph, value: "SymInt | int") -> "Tensor":
    """A 1-element 1-D int64 tensor holding ``value`` at run time (cached per graph)."""
    from trtnet.functional.elementwise import elementwise

    if isinstance(value, SymInt):
        value = _folded(value)  # a constant operand of // or % (x.size(0) // 2) is a SymInt without terms
    if isinstance(value, _SIZE_TYPES):
        return g.constant(np.array([int(value)], dtype=np.int64), dtypes.int64)

    def build() -> "Tensor":
        total = None
        for mono, coeff in sorted(value.terms.values(), key=lambda item: _mono_key(item[0])):
            term = _cached(g, ("mono", _mono_key(mono)), lambda mono=mono: _product(g, mono))
            if coeff != 1:
                term = elementwise("mul", term, _materialize(g, coeff))
            total = term if total is None else elementwise("add", total, term)
        if value.const:
            total = elementwise("add", total, _materialize(g, value.const))
        return total

    return _cached(g, ("sym", value.key), build)


def _product(g: graph.Graph, mono: Monomial) -> "Tensor":
    from trtnet.functional.elementwise import elementwise

    result = mono[0].tensor(g)
    for atom in mono[1:]:
        result = elementwise("mul", result, atom.tensor(g))
    return result


# ---- sizes of tensors ----------------------------------------------------------------------------
class Size(tuple):
    """``torch.Size``: a tuple of ints (static dims) and :class:`SymInt` s (dynamic dims); slices are Sizes."""

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> "Size":
        return Size(tuple(self) + tuple(other))

    def numel(self) -> "SymInt | int":
        return math.prod(self)

    def __repr__(self) -> str:
        return f"trtnet.Size([{', '.join(map(repr, self))}])"


def size_of(x: "Tensor") -> Size:
    """``x.shape``: static dims as ints, each dynamic dim as the SymInt it is traced back to."""
    static = x.static_shape
    if -1 not in static:
        return Size(static)
    from trtnet import sizetrace

    g = graph.current()
    return Size(d if d != -1 else sizetrace.origin(g, x.itensor, i) for i, d in enumerate(static))


# ---- sizes as arguments --------------------------------------------------------------------------
def is_size(value: Any) -> bool:
    """An int (not a bool) or a SymInt."""
    return isinstance(value, SymInt) or (isinstance(value, _SIZE_TYPES) and not isinstance(value, bool))


def sizes_arg(args: Iterable[Any], op: str, arg: str = "size") -> list["SymInt | int"]:
    """``f(2, 3)``, ``f((2, 3))``, ``f(x.shape)``, ``f(*x.shape[:-1], -1)`` -> a list of ints and SymInts."""
    args = list(args)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = list(args[0])
    for value in args:
        if not is_size(value):
            raise TrtnetError(f"{op}(): argument '{arg}' must be a sequence of ints or sizes, but got "
                              f"{type(value).__name__} ({value!r})")
    return [v if isinstance(v, SymInt) else int(v) for v in args]


def shape_tensor(sizes: Sequence["SymInt | int"]) -> "Tensor | None":
    """An int64 1-D shape tensor holding ``sizes`` (ints and SymInts) at run time; None when all are ints.

    Static runs become one constant; the tensor is cached per graph and remembered, so layers it shapes
    (slice size, shuffle, fill) keep the symbolic sizes of their output."""
    sizes = list(sizes)
    if not any(isinstance(s, SymInt) for s in sizes):
        return None
    g = graph.current()
    key = ("shape", tuple(s.key if isinstance(s, SymInt) else int(s) for s in sizes))

    def build() -> "Tensor":
        from trtnet.functional.shape import cat

        pieces, run = [], []
        for s in sizes:
            if isinstance(s, SymInt):
                if run:
                    pieces.append(g.constant(np.array(run, dtype=np.int64), dtypes.int64))
                    run = []
                pieces.append(_materialize(g, s))
            else:
                run.append(int(s))
        if run:
            pieces.append(g.constant(np.array(run, dtype=np.int64), dtypes.int64))
        return pieces[0] if len(pieces) == 1 else cat(pieces, 0)

    tensor = _cached(g, key, build)
    graph_state(g)["shapes"].setdefault(tensor.name, tuple(sizes))
    return tensor


def scalar_tensor(value: "SymInt | int") -> "Tensor":
    """``value`` as a 1-element 1-D int64 tensor (a constant for an int)."""
    return _materialize(graph.current(), value)
