"""``MultiheadAttention`` with PyTorch's packed parameters (``in_proj_weight``, ``in_proj_bias``,
``out_proj.weight``, ``out_proj.bias``; ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``)."""

from __future__ import annotations

from trtnet.errors import TrtnetError
from trtnet.functional.attention import multi_head_attention
from trtnet.nn.linear import Linear
from trtnet.nn.module import Module, parameter_dtype
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor


class MultiheadAttention(Module):
    """``torch.nn.MultiheadAttention`` (inference: ``dropout`` is ignored). ``add_bias_kv`` and ``add_zero_attn``
    are not supported."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: object = None,
                 dtype: object = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise TrtnetError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if add_bias_kv or add_zero_attn:
            raise TrtnetError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported")
        self.embed_dim, self.num_heads, self.batch_first, self.dropout = embed_dim, num_heads, batch_first, dropout
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.head_dim = embed_dim // num_heads
        kind = parameter_dtype(device, dtype)
        if self.kdim == embed_dim and self.vdim == embed_dim:
            self.in_proj_weight = Parameter((3 * embed_dim, embed_dim), dtype=kind)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter((embed_dim, embed_dim), dtype=kind)
            self.k_proj_weight = Parameter((embed_dim, self.kdim), dtype=kind)
            self.v_proj_weight = Parameter((embed_dim, self.vdim), dtype=kind)
        self.in_proj_bias = Parameter((3 * embed_dim,), dtype=kind) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(attention output, attention weights averaged over heads (or per head), or None when
        ``need_weights=False``). ``is_causal`` is a hint about ``attn_mask``, which must be given (as in PyTorch)."""
        if is_causal and attn_mask is None:
            raise TrtnetError("MultiheadAttention: need attn_mask if specifying the is_causal hint")
        return multi_head_attention(
            query, key, value, self.num_heads, in_proj_weight=self.in_proj_weight, in_proj_bias=self.in_proj_bias,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            out_proj=self.out_proj, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, average_attn_weights=average_attn_weights, batch_first=self.batch_first)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
