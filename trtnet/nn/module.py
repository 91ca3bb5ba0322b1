"""``Module``: PyTorch's module tree, traced into TensorRT layers named by module path."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from trtnet import dtypes, graph, weights
from trtnet.errors import TrtnetError, did_you_mean, in_module_call
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

if TYPE_CHECKING:
    from trtnet.build import Input


class Module:
    """Base class of trtnet models and layers, mirroring ``torch.nn.Module``.

    Sub-modules and :class:`Parameter` s assigned as attributes are registered under PyTorch's names,
    so ``state_dict`` keys match the eager model's. Calling a module while a network is built runs
    ``forward`` inside its module-path scope: its layers are named ``features.0``, ``layer1.0/add_1``.
    A model may declare ``default_inputs`` (a list of :class:`trtnet.Input`) used when none are given.
    """

    default_inputs: "list[Input] | None" = None
    training = False  # TensorRT engines are inference-only: a trtnet module is always in eval mode

    def __init__(self) -> None:
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_pinned_dtype", None)

    # ---- registration -----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """Register as PyTorch does: a re-assigned name keeps its place in ``_modules``/``_parameters``, a
        registered name set to ``None`` stays registered as ``None``, a registered buffer takes a new array or
        tensor, and a plain attribute of the same name never shadows a module, parameter or buffer."""
        if "_modules" not in self.__dict__:
            raise TrtnetError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        modules, params = self._modules, self._parameters
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            modules.pop(name, None)
            self._forget_buffer(name)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TrtnetError(f"{type(self).__name__}: cannot assign '{_typename(value)}' as parameter "
                                  f"{name!r} (trtnet.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            self._forget_buffer(name)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TrtnetError(f"{type(self).__name__}: cannot assign '{_typename(value)}' as child module "
                                  f"{name!r} (trtnet.nn.Module or None expected)")
            modules[name] = None
        elif name in self._buffers:
            self._buffers[name] = _as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self._buffers:
            self._forget_buffer(name)
        else:
            object.__delattr__(self, name)

    def __getattr__(self, name: str) -> Any:
        for registry in ("_modules", "_parameters", "_buffers"):
            found = self.__dict__.get(registry, {})
            if name in found:
                return found[name]
        known = [*self.__dict__.get("_modules", {}), *self.__dict__.get("_parameters", {}),
                 *self.__dict__.get("_buffers", {})]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{did_you_mean(name, known)}")

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register ``module`` (or ``None``) under ``name``, as ``torch.nn.Module.add_module`` (same errors)."""
        if not isinstance(module, Module) and module is not None:
            raise TrtnetError(f"{_typename(module)} is not a Module subclass")
        _check_new_name(self, name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """``torch.nn.Module.register_parameter``: ``param`` (a :class:`Parameter` or ``None``) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise TrtnetError("cannot assign parameter before Module.__init__() call")
        _check_new_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TrtnetError(f"cannot assign '{_typename(param)}' object to parameter '{name}' (trtnet.Parameter or "
                              "None required)")
        self._parameters[name] = param

    def get_submodule(self, target: str) -> "Module":
        """The sub-module at the dotted path ``target`` (``""`` is this module), as torch's."""
        module = self
        for item in target.split(".") if target else []:
            child = module._modules.get(item)
            if child is None:
                raise TrtnetError(f"{type(module).__name__} has no attribute `{item}`"
                                  f"{did_you_mean(item, list(module._modules))}")
            module = child
        return module

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Accepted for torch's API and ignored (nothing is trained); returns ``self``."""
        return self

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """``torch.nn.Module.register_buffer``: a constant of the module (numpy array, torch tensor, a declared
        :class:`Parameter` to be loaded, or ``None``). Persistent buffers are ``state_dict`` entries (saved and
        loaded under ``path.name``); all float buffers follow :meth:`to`."""
        if "_buffers" not in self.__dict__:
            raise TrtnetError("cannot assign buffer before Module.__init__() call")
        _check_new_name(self, name, "buffer", self._buffers)
        self._buffers[name] = _as_buffer(tensor, name)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def _forget_buffer(self, name: str) -> None:
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Buffers (persistent or not) by dotted path, as ``torch.nn.Module.named_buffers``."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is None or id(buffer) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(buffer))
                yield (f"{path}.{name}" if path else name), buffer

    def buffers(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def state_dict_entries(self) -> Iterator[tuple[str, Parameter]]:
        """Every ``state_dict`` key with its :class:`Parameter`, in torch's order (each module's parameters, then
        its persistent buffers, then its children), a tied or shared one under each of its names."""
        for path, module in self.named_modules(remove_duplicate=False):
            entries = [*module._parameters.items(),
                       *((n, b) for n, b in module._buffers.items() if n not in module._non_persistent_buffers)]
            for name, entry in entries:
                if entry is not None:
                    yield (f"{path}.{name}" if path else name), entry

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every sub-module (children first) and then on this module; returns ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- mode -------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """``train(False)`` is a no-op returning ``self``; training mode is an error (engines are inference-only)."""
        if not isinstance(mode, bool):
            raise TrtnetError("training mode is expected to be boolean")
        if mode:
            raise TrtnetError(f"{type(self).__name__}.train(): TensorRT engines are inference-only, so trtnet modules "
                              "are always in eval mode (use .eval() or .train(False))")
        return self

    def eval(self) -> "Module":
        """A no-op returning ``self``: trtnet modules are always in eval mode."""
        return self.train(False)

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Every module depth first with its dotted path (the root has path ``prefix``); a module reachable
        under several paths is listed once unless ``remove_duplicate=False``; ``None`` entries are skipped."""
        memo = set() if memo is None else memo
        pending = [(prefix, self)]  # a stack, not recursion: each yield costs the same at any depth
        while pending:
            path, module = pending.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield path, module
            children = [(f"{path}.{name}" if path else name, child)
                        for name, child in module._modules.items() if child is not None]
            pending.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters by PyTorch key; a tied parameter is listed once, under its first name, unless
        ``remove_duplicate=False`` (then under every name, as ``state_dict`` keys it)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(param))
                yield (f"{path}.{name}" if path else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # ---- weights ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Values by PyTorch key (parameters and persistent buffers), in each entry's dtype, under every name torch
        uses (a tied parameter under each of its names); unset entries are left out."""
        return {k: p.numpy() for k, p in self.state_dict_entries() if p.is_set}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True, *,
                        source: str = "state_dict") -> weights.IncompatibleKeys:
        """Load numpy arrays or torch tensors by key; all problems are reported at once (see
        :func:`trtnet.weights.load_into`). Returns torch's ``(missing_keys, unexpected_keys)``."""
        return weights.load_into(self, state, strict, source)

    def load_safetensors(self, path: str | os.PathLike, strict: bool = True) -> weights.IncompatibleKeys:
        """Load a PyTorch state_dict saved with ``safetensors`` (errors name the file and keys)."""
        return self.load_state_dict(weights.read_safetensors(path), strict, source=os.fspath(path))

    def unset_parameters(self) -> list[str]:
        """Keys of the parameters and buffers still without values (optional ones excepted)."""
        return self.trace_tables()[2]

    def trace_tables(self) -> tuple[dict[int, str], dict[int, str], list[str]]:
        """What tracing needs from the module tree, in one walk: ``id(module) -> path``, ``id(parameter or
        buffer) -> key`` (a tied one under its first name) and the keys still without values (optional ones
        excepted), parameters before buffers as :meth:`named_parameters` and :meth:`named_buffers` list them."""
        paths: dict[int, str] = {}
        parameter_keys: dict[int, str] = {}
        buffer_keys: dict[int, str] = {}
        unset_parameters: list[str] = []
        unset_buffers: list[str] = []
        for path, module in self.named_modules():
            paths[id(module)] = path
            prefix = f"{path}." if path else ""
            for registry, keys, unset in ((module._parameters, parameter_keys, unset_parameters),
                                          (module._buffers, buffer_keys, unset_buffers)):
                for name, entry in registry.items():
                    if entry is not None and id(entry) not in keys:
                        keys[id(entry)] = key = prefix + name
                        if not entry.is_set and not entry.optional:
                            unset.append(key)
        return paths, {**parameter_keys, **buffer_keys}, unset_parameters + unset_buffers

    # ---- precision --------------------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False) -> "Module":
        """Convert float parameters and buffers to a dtype (fp32/fp16/bf16); modules kept in fp32 are skipped.
        Takes torch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, keywords; a
        device is checked and ignored (TensorRT places the engine).

        The network computes in the dtype of its tensors: inputs are declared in this dtype by default."""
        for arg in args:
            if _is_device(arg):
                device = arg
            else:  # a dtype, or a tensor whose dtype torch takes
                dtype = arg.dtype if _is_tensor(arg) else arg
        parameter_dtype(device)
        if dtype is None:
            return self
        dtype = dtypes.get(dtype)
        if not dtype.is_float:
            raise TrtnetError(f"Module.to takes a float dtype, got {dtype.name}")
        object.__setattr__(self, "dtype", dtype)
        self._cast_parameters(dtype)
        return self

    def half(self) -> "Module":
        return self.to(dtypes.float16)

    def bfloat16(self) -> "Module":
        return self.to(dtypes.bfloat16)

    def float(self) -> "Module":
        return self.to(dtypes.float32)

    def cpu(self) -> "Module":
        """A no-op returning ``self`` (as :meth:`cuda`): TensorRT places the engine."""
        return self

    def cuda(self, device: Any = None) -> "Module":
        return self

    def _cast_parameters(self, dtype: dtypes.DType) -> None:
        if self._pinned_dtype is not None:
            return
        for param in [*self._parameters.values(), *self._buffers.values()]:
            if param is not None and param.dtype.is_float:
                param.dtype = dtype
        for child in self.children():
            child._cast_parameters(dtype)

    def keep_in_fp32(self, *targets: str | type) -> "Module":
        """Keep sub-modules (by path, or every instance of a class) in float32 inside a half model;
        trtnet casts their inputs to float32 and their outputs back."""
        matched = 0
        for path, module in self.named_modules():
            if any(path == t if isinstance(t, str) else isinstance(module, t) for t in targets):
                object.__setattr__(module, "_pinned_dtype", None)
                module._cast_parameters(dtypes.float32)
                object.__setattr__(module, "_pinned_dtype", dtypes.float32)
                matched += 1
        if not matched:
            names = [p for p, _ in self.named_modules() if p]
            wanted = ", ".join(t if isinstance(t, str) else t.__name__ for t in targets)
            hint = did_you_mean(targets[0], names) if isinstance(targets[0], str) else ""
            raise TrtnetError(f"keep_in_fp32({wanted}): no module matches{hint}")
        return self

    @property
    def model_dtype(self) -> dtypes.DType:
        """The dtype set by ``to()`` (float32 if never called)."""
        return self.__dict__.get("dtype", dtypes.float32)

    # ---- tracing ----------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        g = graph.current()
        one_tensor = not kwargs and len(args) == 1 and type(args[0]) is Tensor
        call = g.begin_call(self, [args[0]] if one_tensor else _flatten_tensors([args, kwargs]))
        try:
            result = self.forward(*args, **kwargs) if self._pinned_dtype is None else self._forward_pinned(args, kwargs)
            g.end_call(call, [result] if type(result) is Tensor else _flatten_tensors(result))
        except Exception as exc:  # noqa: BLE001 - every tracing error names this call and the user's line
            error = in_module_call(exc, call.name, call.class_name)
            if error is exc:
                raise
            raise error from exc.__cause__ if isinstance(exc, TrtnetError) else exc
        finally:
            g.exit_scope()
        return result

    def _forward_pinned(self, args: tuple, kwargs: dict) -> Any:
        """``forward``, with inputs cast to float32 and outputs cast back for a module kept in fp32."""
        pinned = self._pinned_dtype
        caller_dtype = next((t.dtype for t in _flatten_tensors([args, kwargs]) if t.dtype.is_float), None)
        args, kwargs = _map_tensors((args, kwargs), lambda t: _cast_float(t, pinned))
        result = self.forward(*args, **kwargs)
        if caller_dtype is not None:
            result = _map_tensors(result, lambda t: _cast_float(t, caller_dtype))
        return result

    # ---- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {child!r}".replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n  " + "\n  ".join(lines) + "\n)"


def _check_new_name(module: Module, name: Any, kind: str, registry: dict) -> None:
    """torch's checks of a new module or buffer name, in torch's words."""
    if not isinstance(name, str):
        raise TrtnetError(f"{kind} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise TrtnetError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise TrtnetError(f'{kind} name can\'t be empty string ""')
    registries = (module._modules, module._parameters, module._buffers)
    exists = name in module.__dict__ or hasattr(type(module), name) or any(name in r for r in registries)
    if exists and name not in registry:
        raise TrtnetError(f"attribute '{name}' already exists")


def _as_buffer(value: Any, name: str) -> Parameter | None:
    """A buffer's storage: the values of a numpy array / torch tensor (float64 as float32), a declared Parameter."""
    if value is None or isinstance(value, Parameter):
        return value
    if _is_tensor(value):
        return Parameter(value)
    raise TrtnetError(f"cannot assign '{_typename(value)}' as buffer '{name}' (numpy array, torch.Tensor, "
                      "trtnet.Parameter or None expected)")


_DEVICE = re.compile(r"(cpu|cuda|meta)(:\d+)?")


def _is_device(value: Any) -> bool:
    """What torch takes as a device: a ``torch.device``, a CUDA index, a device string (cpu/cuda/meta)."""
    return (_is_index(value) or type(value).__name__ == "device"
            or (isinstance(value, str) and bool(_DEVICE.fullmatch(value))))


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_tensor(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (type(value).__module__.startswith("torch") and hasattr(value, "detach"))


def parameter_dtype(device: Any = None, dtype: Any = None) -> dtypes.DType | None:
    """The dtype of a layer's parameters from torch's factory kwargs ``device=``/``dtype=``.

    ``device`` is accepted and ignored (TensorRT places the engine); ``dtype`` None keeps the default float32."""
    if device is not None and not _is_index(device) and not _DEVICE.fullmatch(str(device)):
        raise TrtnetError(f"device={str(device)!r}: trtnet accepts 'cpu', 'cuda[:N]', 'meta' or None (and ignores "
                          "it: TensorRT places the engine)")
    if dtype is None:
        return None
    found = dtypes.get(dtype)
    if not found.is_float:
        raise TrtnetError(f"dtype={found.name}: layer parameters are floating point (float32, float16 or bfloat16)")
    return found


def _typename(value: Any) -> str:
    """``int``, ``numpy.ndarray``: the type name torch's assignment errors show."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _cast_float(value: Any, dtype: dtypes.DType) -> Any:
    if isinstance(value, Tensor) and value.dtype.is_float and value.dtype is not dtype:
        from trtnet.functional import cast

        return cast(value, dtype)
    return value


def _flatten_tensors(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _flatten_tensors(item)]
    if isinstance(result, dict):
        return [t for item in result.values() for t in _flatten_tensors(item)]
    return []


def _map_tensors(result: Any, fn: Any) -> Any:
    if isinstance(result, Tensor):
        return fn(result)
    if isinstance(result, (tuple, list)):
        return type(result)(_map_tensors(item, fn) for item in result)
    if isinstance(result, dict):
        return {k: _map_tensors(v, fn) for k, v in result.items()}
    return result
