"""Write seeded random ResNet-50 weights (torchvision names) to a .safetensors file, for build benchmarks.

Usage: ``python benchmarks/make_resnet50_weights.py OUT.safetensors [--seed N]``. About 100 MB. BatchNorm
affine parameters and running statistics are randomised too (running_var positive), so folding them matters;
the last BatchNorm of each residual branch (``bn3``) gets gamma near 0.5, as in trained ResNets, which keeps
activations bounded (logits of a unit-normal input have std about 1.3 instead of about 125 with gamma near 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.resnet_torch import ResNet, resnet50  # noqa: E402


def randomize_batchnorm(model: ResNet, generator: torch.Generator) -> None:
    """Give every BatchNorm plausible trained-looking gamma, beta, running mean and (positive) variance."""
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            gamma = 0.5 if name.endswith("bn3") else 1.0
            module.weight.data = gamma * (1.0 + 0.1 * torch.randn(n, generator=generator))
            module.bias.data = 0.1 * torch.randn(n, generator=generator)
            module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            module.num_batches_tracked.fill_(1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output .safetensors path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = resnet50()
    randomize_batchnorm(model, torch.Generator().manual_seed(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out))
    print(f"wrote {args.out}: {len(model.state_dict())} tensors, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
