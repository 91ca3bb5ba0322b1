"""Containers: ``Sequential`` and ``ModuleList``, keyed ``0``, ``1``, ... as in PyTorch, and ``ModuleDict``.

Indexing, assignment, deletion, slicing, ``insert``/``extend``/``pop`` behave as torch's: a ``Sequential``
slice keeps its modules' keys, a ``ModuleList`` slice is numbered from ``0``, and deleting renumbers both.
"""

from __future__ import annotations

import itertools
import operator
from collections import OrderedDict
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from trtnet.errors import TrtnetError
from trtnet.nn.module import Module


class _Container(Module):
    """What Sequential and ModuleList share: integer and slice indexing over the registered sub-modules."""

    def _key(self, index: int) -> str:
        """The key of the module at ``index`` (negative counts from the end); IndexError as a list's."""
        return next(itertools.islice(self._modules, self._position(index), None))

    def _position(self, index: int) -> int:
        """``index`` as a position from the start, IndexError as a list's."""
        index = operator.index(index)
        size = len(self._modules)
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of range")
        return index % size

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._slice(index)  # each container's own slice type
        return self._modules[self._key(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self._key(index), module)

    def __delitem__(self, index: int | slice) -> None:
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]
        for key in keys:
            delattr(self, key)
        self._renumber(list(self._modules.values()))

    def _renumber(self, modules: list[Module | None]) -> None:
        self._modules.clear()
        self._modules.update((str(i), module) for i, module in enumerate(modules))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "_Container":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "_Container":
        if not isinstance(modules, Iterable):
            raise TrtnetError(f"{type(self).__name__}.extend should be called with an iterable, "
                              f"but got {type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> "_Container":
        """Insert ``module`` before ``index`` (negative counts from the end), as torch's ``Sequential.insert``."""
        if not isinstance(module, Module):
            raise TrtnetError(f"{type(self).__name__}.insert: module should be a trtnet.nn.Module, "
                              f"got {type(module).__qualname__}")
        size = len(self._modules)
        index = operator.index(index)
        if not -size <= index <= size:
            raise IndexError(f"Index out of range: {index}")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, key: int | slice) -> Any:
        value = self[key]
        del self[key]
        return value


class Sequential(_Container):
    def __init__(self, *modules: Module | "OrderedDict[str, Module]") -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def _slice(self, index: slice) -> "Sequential":
        return type(self)(OrderedDict(list(self._modules.items())[index]))

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_Container):
    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _key(self, index: int) -> str:
        """O(1), as torch's: a ModuleList's keys are always its positions ``0``, ``1``, ..."""
        return str(self._position(index))

    def _slice(self, index: slice) -> "ModuleList":
        return type(self)(list(self._modules.values())[index])

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)


class ModuleDict(Module):
    """``torch.nn.ModuleDict``: modules by string key, in insertion order; ``state_dict`` keys ``key.weight``."""

    def __init__(self, modules: "Mapping[str, Module] | Iterable[tuple[str, Module]] | None" = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        value = self[key]
        del self[key]
        return value

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def items(self) -> ItemsView[str, Module]:
        return self._modules.items()

    def values(self) -> ValuesView[Module]:
        return self._modules.values()

    def update(self, modules: "Mapping[str, Module] | Iterable[tuple[str, Module]]") -> None:
        """Add or replace modules from a mapping or from (key, module) pairs, as torch's."""
        if not isinstance(modules, Iterable):
            raise TrtnetError("ModuleDict.update should be called with an iterable of key/value pairs, but got "
                              f"{type(modules).__name__}")
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        else:
            pairs = []
            for index, pair in enumerate(modules):
                if not isinstance(pair, Iterable) or isinstance(pair, (str, Module)):
                    raise TrtnetError(f"ModuleDict update sequence element #{index} should be Iterable; is "
                                      f"{type(pair).__name__}")
                pair = tuple(pair)
                if len(pair) != 2:
                    raise TrtnetError(f"ModuleDict update sequence element #{index} has length {len(pair)}; 2 is "
                                      "required")
                pairs.append(pair)
        for key, module in pairs:
            self[key] = module
