"""CRNN text recognizer (conv features -> bidirectional 2-layer LSTM -> per-step characters) with a dynamic image
width, i.e. a dynamic LSTM sequence length, through TensorRT's loop layers.

Usage::

    python examples/crnn_lstm.py [--weights-dir DIR] [--seed N]

Makes seeded weights (torch's initialisation, BatchNorm statistics drawn, LSTM/fc scaled up), saves them to
``DIR/crnn_seeded.safetensors``, builds ONE engine for images ``[1..4, 1, 32, 32..256]`` (8..64 LSTM steps) and
checks it against the eager-PyTorch twin (``models/crnn_torch.py``) at the profile's min, opt and max
(``trtnet.check``): on the GPU where one can run engines, else on the CPU reference executor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

import trtnet  # noqa: E402
from models import crnn, crnn_torch  # noqa: E402
from trtnet.report import CheckReport, format_table  # noqa: E402
from trtnet.weights import save_safetensors  # noqa: E402


def seeded_weights(path: Path, seed: int = 0) -> Path:
    """Save a seeded CRNN state_dict to ``path``: torch's initialisation, BatchNorm statistics and affine drawn too,
    LSTM and ``fc`` weights x4 (at torch's scale the log-probabilities hardly depend on the image)."""
    torch.manual_seed(seed)
    model = crnn_torch.crnn()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        for parameter in [*model.rnn.parameters(), model.fc.weight]:
            parameter.mul_(4)
    save_safetensors(path, {key: value.detach().numpy() for key, value in model.state_dict().items()
                            if not key.endswith("num_batches_tracked")})
    return path


def run(weights_dir: Path, seed: int = 0) -> CheckReport:
    """Save seeded weights in ``weights_dir``, build once with a dynamic width, check at min/opt/max."""
    weights = seeded_weights(Path(weights_dir) / "crnn_seeded.safetensors", seed)
    return trtnet.check(crnn.crnn(), crnn_torch.crnn(), weights=weights, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights-dir", type=Path, help="where to save the seeded weights (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = run(args.weights_dir or Path(scratch), args.seed)
    print(format_table(report))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
