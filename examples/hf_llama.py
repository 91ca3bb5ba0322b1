"""A Hugging Face-style Llama decoder (RMSNorm, RoPE from ``arange`` positions, GQA, ``is_causal`` SDPA, SwiGLU)
with a dynamic batch AND sequence length, checked against its eager-PyTorch twin at min, opt and max.

Usage::

    python examples/hf_llama.py [--weights-dir DIR] [--seed N]

Makes seeded weights (torch's initialisation, RMSNorm weights drawn in [0.5, 1.5]) in HF's ``LlamaForCausalLM``
state_dict names, saves them to ``DIR/llama_seeded.safetensors``, builds ONE engine for ``input_ids`` ``[1..8,
1..128]`` (opt 2x64) and checks it with ``trtnet.check`` against ``models/llama_torch.py`` at the profile's min, opt
and max (opt's token ids drawn over the whole vocabulary). Exits 1 on a mismatch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import trtnet  # noqa: E402
from models import llama, llama_torch  # noqa: E402
from trtnet.report import CheckReport, format_table  # noqa: E402
from trtnet.weights import save_safetensors  # noqa: E402

OPT_SHAPE = (2, 64)


def seeded_weights(path: Path, seed: int = 0) -> Path:
    """Save a seeded small-Llama state_dict to ``path`` (RMSNorm weights drawn, so a norm that drops them fails)."""
    torch.manual_seed(seed)
    model = llama_torch.llama()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, llama_torch.LlamaRMSNorm):
                module.weight.uniform_(0.5, 1.5)
    save_safetensors(path, {key: value.detach().numpy() for key, value in model.state_dict().items()})
    return path


def run(weights_dir: Path, seed: int = 0, model: llama.LlamaForCausalLM | None = None) -> CheckReport:
    """Save seeded weights in ``weights_dir``, build ``model`` (default the small Llama) once, check min/opt/max."""
    weights = seeded_weights(Path(weights_dir) / "llama_seeded.safetensors", seed)
    input_ids = np.random.default_rng(seed).integers(0, llama.LlamaConfig().vocab_size, OPT_SHAPE)
    return trtnet.check(model or llama.llama(), llama_torch.llama(), weights=weights, seed=seed,
                        input_arrays={"input_ids": input_ids})


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
