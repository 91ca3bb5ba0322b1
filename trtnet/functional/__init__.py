"""PyTorch-named functional ops. Each op is lowered to TensorRT in exactly one function of this package.

>>> import trtnet, trtnet.functional as F
>>> class Double(trtnet.Module):
...     def forward(self, x):
...         return F.relu(x) * 2
>>> net = trtnet.trace(Double(), [trtnet.Input("x", (1, 4))])
>>> [net.network.get_layer(i).name for i in range(net.network.num_layers)]
['relu_1', 'constant_1', 'mul_1']
"""

from trtnet.functional._util import as_tensor
from trtnet.functional.activation import (celu, elu, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh,
                                          leaky_relu, logsigmoid, mish, prelu, relu, relu6, rrelu, selu, sigmoid,
                                          silu, softplus, softshrink, softsign, tanh, tanhshrink, threshold)
from trtnet.functional.conv import conv1d, conv2d, conv3d
from trtnet.functional.elementwise import add, div, maximum, minimum, mul, pow, sub
from trtnet.functional.linear import linear, matmul
from trtnet.functional.norm import batch_norm
from trtnet.functional.plugin import plugin
from trtnet.functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
                                      adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d,
                                      max_pool1d, max_pool2d, max_pool3d)
from trtnet.functional.reduce import amax, amin, mean, sum
from trtnet.functional.shape import cat, flatten, permute, reshape, transpose, unflatten
from trtnet.functional.creation import (arange, empty, empty_like, full, full_like, ones, ones_like, zeros,
                                       zeros_like)
from trtnet.functional.unary import cast, neg
from trtnet.functional.attention import multi_head_attention_forward, scaled_dot_product_attention
from trtnet.functional.deconv import conv_transpose1d, conv_transpose2d, conv_transpose3d
from trtnet.functional.pixelshuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from trtnet.functional.dims import squeeze, stack, unsqueeze
from trtnet.functional.gathering import embedding, gather, index_select
from trtnet.functional.indexing import (chunk, expand, expand_as, flip, getitem, narrow, pad, repeat, roll, split,
                                        unbind)
from trtnet.functional.normalization import group_norm, instance_norm, layer_norm, rms_norm
from trtnet.functional.pointwise import (abs, ceil, clamp, clip, cos, eq, erf, exp, floor, ge, gt, le, log, logical_and,
                                         logical_not, logical_or, logical_xor, lt, masked_fill, ne, reciprocal, rsqrt,
                                         sin, sqrt, where)
from trtnet.functional.resize import interpolate, upsample, upsample_bilinear, upsample_nearest
from trtnet.functional.softmax import log_softmax, softmax
from trtnet.functional.cumulative import cumsum
from trtnet.functional.distance import cdist
from trtnet.functional.scan import cummax, cummin, cumprod
from trtnet.functional.search import bucketize, searchsorted, take_along_dim
from trtnet.functional.selection import kthvalue, median
from trtnet.functional.topk import topk
from trtnet.functional.rnn import gru, lstm
from trtnet.functional.quantize import dequantize, fake_quantize, quantize
# tensor-op vocabulary (issue 9)
from trtnet.functional.einsum import einsum
from trtnet.functional.elementwise import divide, floor_divide, fmod, remainder, true_divide
from trtnet.functional.extrema import argmax, argmin, max, min
from trtnet.functional.pointwise import bitwise_and, bitwise_not, bitwise_or, bitwise_xor, sign, trunc
from trtnet.functional.reduce import logsumexp, prod
from trtnet.functional.scatter import index_add, index_put, scatter, scatter_add
from trtnet.functional.sorting import argsort, sort
from trtnet.functional.statistics import norm, std, var, vector_norm
from trtnet.functional.triangle import tril, triu
from trtnet.functional.interleave import repeat_interleave

__all__ = [
    "as_tensor",
    "adaptive_avg_pool2d", "add", "amax", "amin", "avg_pool2d", "batch_norm", "cast", "cat", "conv2d", "div", "elu",
    "flatten", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "linear", "matmul", "max_pool2d",
    "maximum", "mean", "minimum", "mul", "neg", "permute", "plugin", "pow", "relu", "relu6", "reshape", "sigmoid", "silu", "sub",
    "sum", "tanh", "transpose",
    # op breadth
    "abs", "ceil", "chunk", "clamp", "clip", "conv_transpose2d", "cos", "embedding", "eq", "erf", "exp", "expand", "expand_as",
    "floor", "gather", "ge", "getitem", "group_norm", "gt", "index_select", "interpolate", "layer_norm", "le", "log",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor", "lt", "masked_fill",
    "multi_head_attention_forward", "narrow", "ne", "pad", "reciprocal", "repeat", "rsqrt", "scaled_dot_product_attention",
    "sin", "softmax", "split", "sqrt", "squeeze", "stack", "unbind", "unsqueeze", "upsample", "where",
    # ops torch.onnx.export can't export (docs/onnx-cannot-export.md)
    "bucketize", "cdist", "cummax", "cummin", "cumprod", "cumsum", "kthvalue", "median", "searchsorted", "take_along_dim",
    "topk",
    # recurrent layers through TensorRT loops (torch.lstm / torch.gru)
    "gru", "lstm",
    # explicit quantization
    "dequantize", "fake_quantize", "quantize",
    # sizes and creation (trtnet.symbolic; issue 9)
    "arange", "empty", "empty_like", "full", "full_like", "ones", "ones_like", "unflatten", "zeros", "zeros_like",
    # tensor-op vocabulary (issue 9)
    "argmax", "argmin", "argsort", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "divide", "einsum",
    "floor_divide", "fmod", "index_add", "index_put", "logsumexp", "max", "min", "norm", "prod", "remainder",
    "scatter", "scatter_add", "sign", "sort", "std", "tril", "triu", "true_divide", "trunc", "var", "vector_norm",
    "repeat_interleave",
    # indexing (issue 9)
    "flip", "roll",
    # conv/pool/resize in 1-3 spatial dims (issue 9)
    "adaptive_avg_pool1d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "avg_pool1d", "avg_pool3d", "channel_shuffle", "conv1d", "conv3d", "conv_transpose1d", "conv_transpose3d",
    "max_pool1d", "max_pool3d", "pixel_shuffle", "pixel_unshuffle", "upsample_bilinear", "upsample_nearest",
    # activations (issue 9)
    "celu", "glu", "hardshrink", "logsigmoid", "mish", "prelu", "rrelu", "selu", "softplus", "softshrink", "softsign",
    "tanhshrink", "threshold",
    # normalization (issue 9)
    "instance_norm", "rms_norm",
]
