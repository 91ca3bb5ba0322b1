"""A Hugging Face-style BERT encoder (buffered ``position_ids``, extended attention mask, ``x[:, 0]`` pooler) with a
dynamic batch AND sequence length, checked against its eager-PyTorch twin at min, opt and max.

Usage::

    python examples/hf_bert.py [--weights-dir DIR] [--seed N]

Makes seeded weights (torch's initialisation, LayerNorm affine drawn) in HF's ``BertModel`` state_dict names, saves
them to ``DIR/bert_seeded.safetensors``, builds ONE engine for ``input_ids`` and ``attention_mask`` ``[1..8,
1..128]`` (opt 2x64) and checks ``last_hidden_state`` and ``pooler_output`` with ``trtnet.check`` against
``models/bert_torch.py`` at the profile's min, opt and max. At opt the token ids span the vocabulary and the mask
pads each row after its own length (HF's padding); min and max take seeded random ids and masks. Exits 1 on a mismatch.
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
from models import bert, bert_torch  # noqa: E402
from trtnet.report import CheckReport, format_table  # noqa: E402
from trtnet.weights import save_safetensors  # noqa: E402

OPT_SHAPE = (2, 64)


def seeded_weights(path: Path, seed: int = 0) -> Path:
    """Save a seeded small-BERT state_dict to ``path`` (LayerNorm weight and bias drawn, not ones and zeros)."""
    torch.manual_seed(seed)
    model = bert_torch.bert()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    save_safetensors(path, {key: value.detach().numpy() for key, value in model.state_dict().items()})
    return path


def padded_inputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Opt-shaped ``input_ids`` over the vocabulary and a padding ``attention_mask`` (row i attends its first n_i)."""
    rng = np.random.default_rng(seed)
    batch, sequence = OPT_SHAPE
    lengths = rng.integers(1, sequence + 1, batch)
    lengths[0] = sequence
    return {"input_ids": rng.integers(0, bert.BertConfig().vocab_size, OPT_SHAPE),
            "attention_mask": np.arange(sequence)[None, :] < lengths[:, None]}


def run(weights_dir: Path, seed: int = 0, model: bert.BertModel | None = None) -> CheckReport:
    """Save seeded weights in ``weights_dir``, build ``model`` (default the small BERT) once, check min/opt/max."""
    weights = seeded_weights(Path(weights_dir) / "bert_seeded.safetensors", seed)
    return trtnet.check(model or bert.bert(), bert_torch.bert(), weights=weights, seed=seed,
                        input_arrays=padded_inputs(seed))


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
