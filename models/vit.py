"""Vision Transformer (ViT-B/16) in trtnet, module for module torchvision's ``vit_b_16``.

The twin of :mod:`models.vit_torch`: same module tree, state_dict names and shapes (152 keys at full size),
including the raw parameters ``class_token`` [1, 1, D] and ``encoder.pos_embedding`` [1, S+1, D] and the
packed ``in_proj_weight``/``in_proj_bias`` of each ``nn.MultiheadAttention``. Build::

    trtnet build models/vit.py:vit_b_16 --weights vit_b_16.safetensors -o vit_b_16.engine

Default input ``input`` [N, 3, 224, 224] with a dynamic batch N (profile min 1, opt 2, max 4); output
``output`` [N, num_classes].

Half precision: ``model.to("fp16")`` and ``model.keep_in_fp32(nn.LayerNorm)`` (the LayerNorm statistics are
the part of a transformer that float16 loses first); see :func:`half`.
"""

from __future__ import annotations

from collections import OrderedDict

import trtnet
import trtnet.functional as F
import trtnet.nn as nn
from models.mobilenetv2 import batch_input
from trtnet.tensor import Tensor


def LayerNorm(hidden_dim: int) -> nn.Module:  # noqa: N802 - torchvision's partial(nn.LayerNorm, eps=1e-6)
    return nn.LayerNorm(hidden_dim, eps=1e-6)


class MLPBlock(nn.Sequential):
    """torchvision's ``MLPBlock``: Linear (mlp.0), GELU, Dropout, Linear (mlp.3), Dropout."""

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

    def forward(self, input: Tensor) -> Tensor:
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Adds the position embedding (a raw parameter), runs the blocks, final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float = 0.0, attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.pos_embedding = trtnet.Parameter((1, seq_length, hidden_dim))
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)
        self.layers = nn.Sequential(layers)
        self.ln = LayerNorm(hidden_dim)

    def forward(self, input: Tensor) -> Tensor:
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """Patchify conv, class token, encoder, linear head on the class token."""

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, num_classes: int = 1000) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError("Input shape indivisible by patch size!")
        self.default_inputs = [batch_input(3, image_size, image_size)]
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = trtnet.Parameter((1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim)
        self.seq_length = seq_length
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))

    def _process_input(self, x: Tensor) -> Tensor:
        h, w = x.shape[2], x.shape[3]
        if h != self.image_size or w != self.image_size:
            raise ValueError(f"Wrong image size! Expected {self.image_size} but got {h}x{w}!")
        x = self.conv_proj(x)  # (n, D, h/p, w/p)
        return F.flatten(x, 2).permute(0, 2, 1)  # (n, S, D); flatten keeps a dynamic batch

    def forward(self, x: Tensor) -> Tensor:
        x = self._process_input(x)  # (n, S, D)
        # torch: class_token.expand(n, -1, -1); expand_as reads the dynamic batch n at run time
        batch_class_token = F.as_tensor(self.class_token).expand_as(x[:, :1, :])
        x = self.encoder(F.cat([batch_class_token, x], dim=1))
        return self.heads(x[:, 0])  # the class token's row


def vit_b_16(num_classes: int = 1000, image_size: int = 224, patch_size: int = 16, num_layers: int = 12,
             num_heads: int = 12, hidden_dim: int = 768, mlp_dim: int = 3072) -> VisionTransformer:
    """torchvision's ``vit_b_16``; every size is a parameter so tests can shrink it."""
    return VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes)


def half(model: VisionTransformer) -> VisionTransformer:
    """``model`` in float16 with its LayerNorms kept in float32."""
    return model.to("fp16").keep_in_fp32(nn.LayerNorm)
