"""A CPU executor of real TensorRT networks, to check their numerics where no GPU can run the engine.

``execute(network, feeds)`` walks the ``INetworkDefinition`` layer by layer in network order, reads every attribute
from the layer objects themselves (downcast to their concrete ``I*Layer`` classes) and computes each layer with
torch CPU ops, one registered function per ``LayerType``.

Dtypes (networks are strongly typed): every tensor is held in the dtype the network declares for it. A layer
reads fp16/bf16/fp8 inputs (and weights) widened to float32, computes in float32, and its outputs are rounded to the
output tensor's declared dtype (``ITensor.dtype``) — like TensorRT's reduced-precision kernels, which accumulate in
float32 but store fp16/bf16 between layers. int8/int32/int64/bool tensors stay integer/bool and are computed
exactly. Returned tensors have the network's dtypes.

After each layer the executor checks every output against the shape the network declares (dims other than -1),
so a misread attribute surfaces as a shape error naming the layer rather than as wrong numbers later.

Layers run in network order, except that a layer waits for the producers of its inputs (``set_input`` may name a
tensor made later). Nothing is cached across calls. A tensor is dropped after its last reader; ReLU and
elementwise SUM/SUB/PROD/MAX/MIN may compute in place into an input no later layer reads, never into feeds,
weights or memory another live tensor shares.

>>> from trtnet.reference import execute  # doctest: +SKIP
>>> outputs = execute(network, {"input": array})  # doctest: +SKIP

``execute_layers(network, layer_indices, values)`` runs a part of the network (one module call's layers) with
the tensors it reads given by name: the layerwise checker's isolated mode.
"""

from trtnet.reference.executor import execute, execute_layers
from trtnet.reference.registry import supported_layer_types

__all__ = ["execute", "execute_layers", "supported_layer_types"]
