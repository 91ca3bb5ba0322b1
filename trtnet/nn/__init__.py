"""PyTorch-named modules: write ``import trtnet.nn as nn`` and port a model line by line."""

from trtnet.nn.activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                                  LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softplus, Softshrink,
                                  Softsign, Tanh, Threshold)
from trtnet.nn.container import ModuleDict, ModuleList, Sequential
from trtnet.nn.conv import Conv2d
from trtnet.nn.linear import Linear
from trtnet.nn.misc import Dropout, Flatten, Identity
from trtnet.nn.module import Module
from trtnet.nn.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                                     InstanceNorm3d)
from trtnet.parameter import Parameter
from trtnet.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from trtnet.nn.attention import MultiheadAttention
from trtnet.nn.deconv import ConvTranspose2d
from trtnet.nn.embedding import Embedding
from trtnet.nn.layernorm import GroupNorm, LayerNorm, RMSNorm
from trtnet.nn.softmax import LogSoftmax, Softmax
from trtnet.nn.rnn import GRU, LSTM
from trtnet.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "Dropout", "ELU", "Flatten", "GELU", "Hardsigmoid",
    "Hardswish", "Hardtanh", "Identity", "LeakyReLU", "Linear", "MaxPool2d", "Module", "ModuleList", "Parameter",
    "ReLU", "ReLU6", "Sequential", "SiLU", "Sigmoid", "Tanh",
    # op breadth
    "ConvTranspose2d", "Embedding", "GroupNorm", "LayerNorm", "LogSoftmax", "MultiheadAttention", "Softmax", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d",
    # recurrent layers through TensorRT loops
    "GRU", "LSTM",
    # modules, activations, norms (issue 9)
    "BatchNorm1d", "BatchNorm3d", "CELU", "GLU", "Hardshrink", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LogSigmoid", "Mish", "ModuleDict", "PReLU", "RMSNorm", "SELU", "Softplus", "Softshrink", "Softsign", "Threshold",
]
