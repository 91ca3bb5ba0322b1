"""PyTorch-named modules: write ``import trtnet.nn as nn`` and port a model line by line."""

from trtnet.nn.activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                                  LeakyReLU, LogSigmoid, Mish, PReLU, ReLU, ReLU6, RReLU, Sigmoid, SiLU, Softplus,
                                  Softshrink, Softsign, Tanh, Tanhshrink, Threshold)
from trtnet.nn.container import ModuleDict, ModuleList, Sequential
from trtnet.nn.conv import Conv1d, Conv2d, Conv3d
from trtnet.nn.linear import Linear
from trtnet.nn.misc import Dropout, Flatten, Identity
from trtnet.nn.module import Module
from trtnet.nn.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                                     InstanceNorm3d)
from trtnet.parameter import Parameter
from trtnet.nn.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                               AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d)
from trtnet.nn.pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from trtnet.nn.attention import MultiheadAttention
from trtnet.nn.deconv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
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
    # conv/pool/resize in 1-3 spatial dims (issue 9)
    "AdaptiveAvgPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AvgPool1d",
    "AvgPool3d", "ChannelShuffle", "Conv1d", "Conv3d", "ConvTranspose1d", "ConvTranspose3d", "MaxPool1d", "MaxPool3d",
    "PixelShuffle", "PixelUnshuffle",
    # modules, activations, norms (issue 9)
    "BatchNorm1d", "BatchNorm3d", "CELU", "GLU", "Hardshrink", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LogSigmoid", "Mish", "ModuleDict", "PReLU", "RMSNorm", "RReLU", "SELU", "Softplus", "Softshrink", "Softsign",
    "Tanhshrink", "Threshold",
]
