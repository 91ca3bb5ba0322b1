"""MobileNetV2 (torchvision mobilenet_v2): build it with trtnet and check it against its eager-PyTorch twin.

Usage::

    python examples/zoo_mobilenet_v2.py                       # full size, random seeded weights, fp32 and fp16
    python examples/zoo_mobilenet_v2.py --reduced             # the small test configuration (seconds)
    python examples/zoo_mobilenet_v2.py --weights W.safetensors [--dtype fp16] [--engine out.engine]

Builds the dynamic-batch engine (batch 1..4) with TensorRT, then runs ``trtnet.check`` at batch 1, 2 and 4
on the CPU reference executor (or the GPU where one can run engines), printing errors and the tolerance met.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.zoo import example_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(example_main("mobilenet_v2"))
