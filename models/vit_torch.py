"""Vision Transformer in plain PyTorch with torchvision's module structure and state_dict names.

Matches ``torchvision.models.vit_b_16`` (no ``conv_stem_configs``, no ``representation_size``), so its
checkpoints load unchanged. Names (hidden D, MLP width M, L layers)::

    conv_proj.weight [D, 3, p, p]  conv_proj.bias [D]          patchify: p x p conv, stride p
    class_token [1, 1, D]                                      raw parameter, prepended to the patch sequence
    encoder.pos_embedding [1, (image/p)^2 + 1, D]              raw parameter, added
    encoder.layers.encoder_layer_{i}.ln_1.{weight,bias}         LayerNorm(eps=1e-6)
    encoder.layers.encoder_layer_{i}.self_attention.in_proj_weight [3D, D]  .in_proj_bias [3D]
    encoder.layers.encoder_layer_{i}.self_attention.out_proj.{weight [D, D], bias [D]}   (batch_first)
    encoder.layers.encoder_layer_{i}.ln_2.{weight,bias}
    encoder.layers.encoder_layer_{i}.mlp.0 Linear(D, M), mlp.1 GELU, mlp.2 Dropout, mlp.3 Linear(M, D), mlp.4 Dropout
    encoder.ln.{weight,bias}
    heads.head Linear(D, num_classes)                           applied to the class token

vit_b_16 (image 224, patch 16, 12 layers, 12 heads, D 768, M 3072): 152 state_dict keys, 86,567,656 parameters.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn

LayerNorm = partial(nn.LayerNorm, eps=1e-6)


class MLPBlock(nn.Sequential):
    """torchvision's ``MLPBlock`` (an ``ops.MLP``): Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = LayerNorm(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = LayerNorm(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Adds the position embedding, runs the blocks, final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float = 0.0, attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)
        self.layers = nn.Sequential(layers)
        self.ln = LayerNorm(hidden_dim)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """Patchify conv, class token, encoder, linear head on the class token."""

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, num_classes: int = 1000) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError("Input shape indivisible by patch size!")
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim)
        self.seq_length = seq_length
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        p = self.patch_size
        if h != self.image_size or w != self.image_size:
            raise ValueError(f"Wrong image size! Expected {self.image_size} but got {h}x{w}!")
        x = self.conv_proj(x)  # (n, D, h/p, w/p)
        return x.reshape(n, self.hidden_dim, (h // p) * (w // p)).permute(0, 2, 1)  # (n, S, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._process_input(x)
        batch_class_token = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(torch.cat([batch_class_token, x], dim=1))
        return self.heads(x[:, 0])


def vit_b_16(num_classes: int = 1000, image_size: int = 224, patch_size: int = 16, num_layers: int = 12,
             num_heads: int = 12, hidden_dim: int = 768, mlp_dim: int = 3072) -> VisionTransformer:
    """torchvision's ``vit_b_16``; every size is a parameter so tests can shrink it."""
    return VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes)
