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

from trtnet import interrupts as _interrupts

_interrupts.exit_quietly_while_starting()  # only for the trtnet command: Ctrl-C during the imports below

from trtnet import functional, nn  # noqa: E402
from trtnet.build import BuildConfig, Input, Network, build, save, trace  # noqa: E402
from trtnet.check import check  # noqa: E402
from trtnet.dtypes import bfloat16, bool_, float16, float32, int8, int32, int64  # noqa: E402
from trtnet.errors import (  # noqa: E402
    BuildError, NonFiniteWeightsWarning, ShapeError, TrtnetError, TrtnetWarning, WeightsError,
)
from trtnet.nn import Module, Parameter  # noqa: E402
from trtnet.quantize import Quantization, quantize  # noqa: E402
from trtnet.runtime import Engine  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BuildConfig", "BuildError", "Engine", "Input", "Module", "Network", "NonFiniteWeightsWarning", "Parameter",
    "ShapeError", "TrtnetError", "TrtnetWarning", "WeightsError", "bfloat16", "bool_", "build", "check", "float16",
    "float32", "functional", "int8", "int32", "int64", "nn", "save", "trace", "Quantization", "quantize",
]
