"""trtnet: write neural networks layer by layer directly in TensorRT.

>>> import trtnet, trtnet.nn as nn
>>> model = nn.Sequential(nn.Linear(4, 2), nn.ReLU())
>>> model.load_state_dict({"0.weight": __import__("numpy").ones((2, 4), "float32"),
...                        "0.bias": __import__("numpy").zeros(2, "float32")})
<All keys matched successfully>
>>> engine = trtnet.build(model, [trtnet.Input("input", (1, 4))])
>>> len(engine) > 0
True
"""

from trtnet import functional, nn
from trtnet.build import BuildConfig, Input, Network, build, save, trace
from trtnet.check import check
from trtnet.dtypes import bfloat16, bool_, float16, float32, int8, int32, int64
from trtnet.errors import BuildError, ShapeError, TrtnetError, WeightsError
from trtnet.nn import Module, Parameter
from trtnet.runtime import Engine

__version__ = "0.1.0"

__all__ = [
    "BuildConfig", "BuildError", "Engine", "Input", "Module", "Network", "Parameter", "ShapeError", "TrtnetError",
    "WeightsError", "bfloat16", "bool_", "build", "check", "float16", "float32", "functional", "int8", "int32", "int64",
    "nn", "save", "trace",
]
