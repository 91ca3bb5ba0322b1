"""Insert a quickly-deployable TensorRT plugin (see :mod:`trtnet.plugins`)."""

from __future__ import annotations

from typing import Any

from trtnet import graph, plugins
from trtnet.errors import TrtnetError
from trtnet.functional._util import out
from trtnet.tensor import Tensor


def plugin(plugin_id: str, *inputs: Tensor, **attributes: Any) -> Tensor | tuple[Tensor, ...]:
    """Lower ``namespace::name`` (registered with ``tensorrt.plugin`` and ``trtnet.plugins.reference``)
    on ``inputs`` with ``attributes``; returns its output, or a tuple when it has several."""
    trtp = plugins.plugin_module(plugin_id)
    plugins.reference_for(plugin_id)
    namespace, name = plugins.split_plugin_id(plugin_id)
    try:
        op = getattr(getattr(trtp.op, namespace), name)
    except AttributeError:
        raise TrtnetError(f"plugin {plugin_id!r} is not registered with tensorrt.plugin: decorate its description "
                          f"with @tensorrt.plugin.register({plugin_id!r}) and its kernel with @tensorrt.plugin.impl") from None
    g = graph.current()
    layer = g.add(name, g.network.add_plugin(op(*(t.itensor for t in inputs), **attributes)))
    outputs = tuple(out(layer, i) for i in range(layer.num_outputs))
    return outputs[0] if len(outputs) == 1 else outputs
