"""trtnet's main job: build the shipped digits CNN, check it against its PyTorch twin, compare accuracy.

1. ``trtnet build`` the trtnet port (models/digits.py) with the shipped weights -> out/digits.engine
2. ``trtnet check --layerwise`` against the eager-PyTorch twin (models/digits_torch.py), same weights
3. held-out accuracy of both on the 360 test images of the bundled UCI digits set; the trtnet side runs
   the engine on a GPU where one can, else trtnet's CPU executor of the very network that was built;
   and the accuracy of the model quantized to INT8 (calibrated on the training images, CPU executor).

Run from the repository root: ``python examples/main_job.py``. Exit code 0 when everything passed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import trtnet  # noqa: E402
from models.digits import digits  # noqa: E402
from models.digits_data import load_digits_data  # noqa: E402
from trtnet import cli  # noqa: E402

WEIGHTS = ROOT / "weights" / "digits.safetensors"
OUT = ROOT / "out"


def trtnet_predictions(images: np.ndarray) -> tuple[np.ndarray, str]:
    """Class predictions of the trtnet network for a batch, and which executor produced them."""
    model = digits()
    model.load_safetensors(WEIGHTS)
    inputs = [trtnet.Input("input", images.shape, trtnet.float32)]
    available, reason = trtnet.runtime.gpu_available()
    if available:
        logits = trtnet.Engine(trtnet.build(model, inputs)).run_numpy({"input": images})["output"]
        return logits.argmax(1), "TensorRT engine (GPU)"
    from trtnet import reference

    network = trtnet.trace(model, inputs)
    logits = reference.execute(network.network, {"input": images})["output"].numpy()
    return logits.argmax(1), f"CPU reference executor ({reason})"


def int8_accuracy(data: dict[str, np.ndarray]) -> float:
    """Held-out accuracy of the digits model quantized to INT8 (Q/DQ), calibrated on the training images."""
    from trtnet import reference

    model = digits()
    model.load_safetensors(WEIGHTS)
    train = data["x_train"]
    trtnet.quantize(model, [train[i:i + 128] for i in range(0, len(train), 128)], "int8", "max")
    network = trtnet.trace(model, [trtnet.Input("input", data["x_test"].shape, trtnet.float32)])
    logits = reference.execute(network.network, {"input": data["x_test"]})["output"].numpy()
    return float(np.mean(logits.argmax(1) == data["y_test"]))


def torch_predictions(images: np.ndarray) -> np.ndarray:
    import torch
    from safetensors.torch import load_file

    from models.digits_torch import digits as torch_digits

    model = torch_digits().eval()
    model.load_state_dict(load_file(WEIGHTS))
    with torch.inference_mode():
        return model(torch.from_numpy(images)).argmax(1).numpy()


def main() -> int:
    os.chdir(ROOT)
    OUT.mkdir(exist_ok=True)
    print("== 1. trtnet build", flush=True)
    code = cli.main(["build", "models/digits.py:digits", "--weights", str(WEIGHTS), "-o", str(OUT / "digits.engine")])
    if code:
        return code
    print("\n== 2. trtnet check --layerwise (against models/digits_torch.py)", flush=True)
    code = cli.main(["check", "models/digits.py:digits", "--weights", str(WEIGHTS), "--reference",
                     "models/digits_torch.py:digits", "--layerwise", "--json", str(OUT / "digits-check.json")])
    if code:
        return code
    print("\n== 3. held-out accuracy", flush=True)
    data = load_digits_data()
    images, labels = data["x_test"], data["y_test"]
    ours, executor = trtnet_predictions(images)
    theirs = torch_predictions(images)
    print(f"test images:       {len(labels)} (UCI handwritten digits, 8x8)")
    print(f"trtnet accuracy:   {np.mean(ours == labels):.2%}  [{executor}]")
    print(f"PyTorch accuracy:  {np.mean(theirs == labels):.2%}  [eager, CPU]")
    agree = int(np.sum(ours == theirs))
    print(f"predictions agree: {agree}/{len(labels)}")
    print(f"INT8 accuracy:     {int8_accuracy(data):.2%}  [trtnet.quantize, max calibration on the training "
          "images; CPU reference executor]")
    return 0 if agree == len(labels) else 1


if __name__ == "__main__":
    sys.exit(main())
