"""PyTorch-named functional ops. Each op is lowered to TensorRT in exactly one function of this package.

>>> import trtnet, trtnet.functional as F
>>> class Double(trtnet.Module):
...     def forward(self, x):
...         return F.relu(x) * 2
>>> net = trtnet.trace(Double(), [trtnet.Input("x", (1, 4))])
>>> [net.network.get_layer(i).name for i in range(net.network.num_layers)]
['relu_1', 'constant_1', 'mul_1']
"""

from trtnet.functional.activation import (elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu, relu, relu6,
                                          sigmoid, silu, tanh)
from trtnet.functional.conv import conv2d
from trtnet.functional.elementwise import add, div, maximum, minimum, mul, pow, sub
from trtnet.functional.linear import linear, matmul
from trtnet.functional.norm import batch_norm
from trtnet.functional.plugin import plugin
from trtnet.functional.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from trtnet.functional.reduce import amax, amin, mean, sum
from trtnet.functional.shape import cat, flatten, permute, reshape, transpose
from trtnet.functional.unary import cast, neg

__all__ = [
    "adaptive_avg_pool2d", "add", "amax", "amin", "avg_pool2d", "batch_norm", "cast", "cat", "conv2d", "div", "elu",
    "flatten", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "linear", "matmul", "max_pool2d",
    "maximum", "mean", "minimum", "mul", "neg", "permute", "plugin", "pow", "relu", "relu6", "reshape", "sigmoid", "silu", "sub",
    "sum", "tanh", "transpose",
]
