"""Attention from primitives: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``
(matmul, softmax, select/elementwise; no fused attention layer, so it builds and checks everywhere).

Masks follow PyTorch: for ``scaled_dot_product_attention`` a bool mask is True where attention is *allowed*; for
``MultiheadAttention`` bool ``attn_mask``/``key_padding_mask`` are True where it is *not* allowed. Float masks are
added to the scores. Rows whose every score is masked give zeros, as PyTorch's SDPA (``_safe_softmax``) does;
``MultiheadAttention`` with ``need_weights=True`` gives NaN there, as PyTorch's explicit path does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trtnet import dtypes, graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import parameter_values
from trtnet.functional.dims import unsqueeze
from trtnet.functional.elementwise import add, mul
from trtnet.functional.fill import linspace_fill
from trtnet.functional.creation import zeros
from trtnet.functional.indexing import chunk, expand, pad
from trtnet.functional.linear import linear, matmul
from trtnet.functional.pointwise import eq, gt, where
from trtnet.functional.reduce import amax, mean
from trtnet.functional.shape import cat, permute, reshape_sizes
from trtnet.functional.softmax import softmax
from trtnet.functional.unary import cast
from trtnet.parameter import Parameter
from trtnet.tensor import Tensor

Weight = Parameter | np.ndarray

_NEG_INF = float("-inf")


def _additive(mask: Tensor, dtype: dtypes.DType, allowed_when: bool, arg: str) -> Tensor:
    """A float mask to add to the scores: bool masks become 0 / -inf (``allowed_when`` says which value allows)."""
    if not isinstance(mask, Tensor):
        raise TrtnetError(f"{arg} must be a trtnet Tensor (bool or float), got {type(mask).__name__}")
    if mask.dtype is dtypes.bool_:
        return where(mask, 0.0, _NEG_INF, dtype=dtype) if allowed_when else where(mask, _NEG_INF, 0.0, dtype=dtype)
    if mask.dtype is not dtype:
        raise TrtnetError(f"{arg} is {mask.dtype.name} but the query is {dtype.name}; a float mask must match it")
    return mask


def attention(query: Tensor, key: Tensor, value: Tensor, *, allow: Tensor | None = None,
              additive: Tensor | None = None, scale: float, safe: bool) -> tuple[Tensor, Tensor]:
    """(``softmax(q @ k^T * scale  [masked]) @ v``, the attention weights). ``allow`` is a bool mask (True =
    attend), ``additive`` a float mask; ``safe`` zeroes rows that are masked everywhere (else they are NaN).

    As PyTorch's math kernel, q and k are each scaled by ``sqrt(|scale|)`` (q's factor carrying the sign) before
    the matmul. For fp16/bf16 inputs the scores and the softmax are computed in float32 and the weights rounded
    to the input dtype for ``weights @ v``, as PyTorch's fp16 kernels accumulate (fp16 scores of a few hundred
    have a step of 0.125, which the softmax turns into errors 40x eager fp16's)."""
    reduced = query.dtype in (dtypes.float16, dtypes.bfloat16)
    if reduced:
        query, key = cast(query, dtypes.float32), cast(key, dtypes.float32)
        additive = None if additive is None else cast(additive, dtypes.float32)
    root = math.sqrt(abs(scale))
    scores = matmul(mul(query, math.copysign(root, scale)), mul(key, root), transpose_b=True)
    if allow is not None:
        scores = where(allow, scores, _NEG_INF)
    if additive is not None:
        scores = add(scores, additive)
    weights = softmax(scores, -1)
    if safe and (allow is not None or additive is not None):
        dead = eq(amax(scores, -1, keepdim=True), _NEG_INF)
        weights = where(dead, 0.0, weights)
    weights = cast(weights, value.dtype)
    return matmul(weights, value), weights


def _causal(query: Tensor, key: Tensor) -> Tensor:
    """The top-left causal mask ``tril(ones(L, S))`` (True = attend), shaped ``(1, ..., 1, L, S)`` at the rank of
    the scores: a constant for static lengths, else ``i - j > -1`` over a runtime iota (one ``IFillLayer``)."""
    rank = max(query.ndim, key.ndim)
    length, source = query.static_shape[-2], key.static_shape[-2]
    if -1 not in (length, source):
        mask = np.tril(np.ones((length, source), dtype=np.bool_))
        return graph.current().constant(mask.reshape((1,) * (rank - 2) + mask.shape), dtypes.bool_)
    lengths = symbolic.shape_tensor([1] * (rank - 2) + [query.shape[-2], key.shape[-2]])
    row_minus_column = linspace_fill("causal_mask", lengths, 0, [0] * (rank - 2) + [1, -1])
    return gt(row_minus_column, -1)


def _repeat_heads(x: Tensor, repeats: int) -> Tensor:
    """``x.repeat_interleave(repeats, dim=-3)``."""
    if repeats == 1:
        return x
    shape = x.shape
    heads = shape[-3]
    grown = expand(unsqueeze(x, -3), [*shape[:-3], heads, repeats, *shape[-2:]])
    return reshape_sizes("repeat_interleave", grown, [*shape[:-3], heads * repeats, *shape[-2:]])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``torch.nn.functional.scaled_dot_product_attention`` on ``(..., L, E)`` queries and ``(..., S, E)`` keys.

    ``is_causal`` uses the top-left causal mask ``tril(ones(L, S))``; ``enable_gqa`` repeats key/value heads
    (dim -3). ``dropout_p`` must be 0 (inference)."""
    if dropout_p:
        raise TrtnetError(f"scaled_dot_product_attention: dropout_p={dropout_p}; inference networks need 0.0")
    if is_causal and attn_mask is not None:
        raise TrtnetError("scaled_dot_product_attention: explicit attn_mask should not be set when is_causal=True")
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TrtnetError(f"scaled_dot_product_attention: {name} must be a trtnet Tensor")
    if key.dtype is not query.dtype or value.dtype is not query.dtype:
        raise TrtnetError("scaled_dot_product_attention: query, key and value must have one dtype")
    if query.static_shape[-1] != key.static_shape[-1]:
        raise ShapeError(f"scaled_dot_product_attention: query {query.static_shape} and key {key.static_shape} differ in E")
    if query.static_shape[-1] == -1:
        raise ShapeError(f"scaled_dot_product_attention: the embedding dim E of query {query.static_shape} must be static")
    if enable_gqa and query.ndim >= 3:
        hq, hkv = query.static_shape[-3], key.static_shape[-3]
        if -1 in (hq, hkv, value.static_shape[-3]):
            raise ShapeError(f"enable_gqa: the head dims (-3) of query {query.static_shape}, key {key.static_shape} "
                             f"and value {value.static_shape} must be static")
        if hq % hkv or hq % value.static_shape[-3]:
            raise ShapeError(f"enable_gqa: {hq} query heads are not a multiple of the key/value heads {hkv}")
        key, value = _repeat_heads(key, hq // hkv), _repeat_heads(value, hq // value.static_shape[-3])
    factor = 1.0 / math.sqrt(query.static_shape[-1]) if scale is None else float(scale)
    allow = additive = None
    if is_causal:
        allow = _causal(query, key)
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TrtnetError("scaled_dot_product_attention: attn_mask must be a trtnet Tensor")
        if attn_mask.dtype is dtypes.bool_:
            allow = attn_mask
        else:
            additive = _additive(attn_mask, query.dtype, True, "attn_mask")
    return attention(query, key, value, allow=allow, additive=additive, scale=factor, safe=True)[0]


def _project(x: Tensor, weight: Any, bias: Any) -> Tensor:
    return linear(x, weight, bias)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Weight | None, in_proj_bias: Weight | None, bias_k: Weight | None,
                                 bias_v: Weight | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Weight,
                                 out_proj_bias: Weight | None, training: bool = True,
                                 key_padding_mask: Tensor | None = None, need_weights: bool = True,
                                 attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
                                 q_proj_weight: Weight | None = None, k_proj_weight: Weight | None = None,
                                 v_proj_weight: Weight | None = None, static_k: Tensor | None = None,
                                 static_v: Tensor | None = None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """``torch.nn.functional.multi_head_attention_forward``, torch's signature: ``(L, N, E)`` or unbatched ``(L, E)``
    inputs. Dropout runs only when ``training`` and ``dropout_p > 0`` (refused: an engine is inference-only);
    ``is_causal`` is a hint about ``attn_mask``, which must then be given."""
    if training and dropout_p > 0:
        raise TrtnetError(f"multi_head_attention_forward: dropout_p={dropout_p} with training=True; inference "
                          "networks need 0.0 (or training=False)")
    if static_k is not None or static_v is not None:
        raise TrtnetError("multi_head_attention_forward: static_k/static_v (precomputed key/value heads) are not "
                          "supported by trtnet; pass key and value")
    if (bias_k is None) != (bias_v is None):
        raise TrtnetError("multi_head_attention_forward: bias_k and bias_v must be given together")
    if is_causal and attn_mask is None:
        raise TrtnetError("multi_head_attention_forward: need attn_mask if specifying the is_causal hint")
    embed = query.static_shape[-1]
    if embed != embed_dim_to_check:
        raise ShapeError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed}")
    if use_separate_proj_weight:
        in_proj_weight = None
    elif in_proj_weight is None:
        raise TrtnetError("multi_head_attention_forward: in_proj_weight is None with use_separate_proj_weight=False")
    return multi_head_attention(
        query, key, value, num_heads, in_proj_weight=in_proj_weight, in_proj_bias=in_proj_bias,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight, v_proj_weight=v_proj_weight,
        out_proj=lambda t: linear(t, out_proj_weight, out_proj_bias), key_padding_mask=key_padding_mask,
        need_weights=need_weights, attn_mask=attn_mask, average_attn_weights=average_attn_weights,
        bias_k=bias_k, bias_v=bias_v, add_zero_attn=add_zero_attn)


def _bias_row(values: Weight, arg: str) -> np.ndarray:
    """bias_k/bias_v as (1, 1, E): torch repeats them by ``(1, N, 1)``, so (E,), (1, E) and (1, 1, E) all work."""
    row = parameter_values(values, arg)[0]
    if row.ndim > 3 or any(d != 1 for d in row.shape[:-1]):
        raise ShapeError(f"{arg} must be (1, 1, embed_dim) (or (embed_dim,)), got {tuple(row.shape)}")
    return row.reshape(1, 1, -1)


def _attend_appended(mask: Tensor, appended: int) -> Tensor:
    """An additive mask widened over the key positions appended after the given ones (0: attended), as torch pads."""
    return pad(mask, (0, appended), value=0.0) if appended else mask


def multi_head_attention(query: Tensor, key: Tensor, value: Tensor, num_heads: int, *,
                                 in_proj_weight: Weight | None, in_proj_bias: Weight | None,
                                 q_proj_weight: Weight | None = None, k_proj_weight: Weight | None = None,
                                 v_proj_weight: Weight | None = None, out_proj: Any,
                                 key_padding_mask: Tensor | None = None, need_weights: bool = True,
                                 attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                                 batch_first: bool = False, bias_k: Weight | None = None,
                                 bias_v: Weight | None = None,
                                 add_zero_attn: bool = False) -> tuple[Tensor, Tensor | None]:
    """PyTorch's ``MultiheadAttention`` computation on ``(L, N, E)`` (or batch-first ``(N, L, E)``, or unbatched
    ``(L, E)``) inputs; ``out_proj`` is a callable (the ``out_proj`` Linear module). Weights are Parameters or arrays
    in PyTorch's layout (packed ``in_proj_weight [3E, E]``, or separate ``q/k/v_proj_weight`` when kdim/vdim differ)."""
    same_qk, same_kv = query is key, key is value

    def shared(fn: Any) -> tuple[Tensor, Tensor, Tensor]:  # apply fn once per distinct input
        q = fn(query)
        k = q if same_qk else fn(key)
        return q, k, k if same_kv else fn(value)

    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = shared(lambda t: unsqueeze(t, 0 if batch_first else 1))
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(key_padding_mask, 0)
    if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
        raise ShapeError(f"MultiheadAttention expects 3-D (or 2-D unbatched) inputs, got {query.static_shape}, "
                         f"{key.static_shape}, {value.static_shape}")
    if not batch_first:  # work batch-first: (N, L, E)
        query, key, value = shared(lambda t: permute(t, (1, 0, 2)))
    embed = query.static_shape[-1]
    if embed == -1 or embed % num_heads:
        raise ShapeError(f"MultiheadAttention: embed_dim {embed} must be static and divisible by num_heads {num_heads}")
    head = embed // num_heads

    def rows(param: Any, start: int, stop: int | None = None) -> np.ndarray | None:
        return None if param is None else parameter_values(param, "in_proj")[0][start * embed:None if stop is None
                                                                                else stop * embed]

    biases = [rows(in_proj_bias, i, i + 1) for i in range(3)]
    if in_proj_weight is not None and same_qk and same_kv:  # self-attention: one packed projection, as PyTorch
        q, k, v = chunk(_project(query, in_proj_weight, in_proj_bias), 3, -1)
    elif in_proj_weight is not None:
        q = _project(query, rows(in_proj_weight, 0, 1), biases[0])
        if same_kv:
            k, v = chunk(_project(key, rows(in_proj_weight, 1), rows(in_proj_bias, 1)), 2, -1)
        else:
            k = _project(key, rows(in_proj_weight, 1, 2), biases[1])
            v = _project(value, rows(in_proj_weight, 2, 3), biases[2])
    else:
        q = _project(query, q_proj_weight, biases[0])
        k = _project(key, k_proj_weight, biases[1])
        v = _project(value, v_proj_weight, biases[2])

    appended = 0  # key positions appended after the given ones (bias_k/bias_v, add_zero_attn), attended by all
    if bias_k is not None:  # one learned key/value position: (1, 1, E) repeated over the batch
        k, v = (cat([t, expand(graph.current().constant(_bias_row(b, "bias_k"), t.dtype), [t.shape[0], 1, embed])], 1)
                for t, b in ((k, bias_k), (v, bias_v)))
        appended += 1

    def heads(t: Tensor) -> Tensor:  # (N, L, E) -> (N, H, L, head)
        n, length = t.shape[0], t.shape[1]
        return permute(reshape_sizes("split_heads", t, [n, length, num_heads, head]), (0, 2, 1, 3))

    q, k, v = heads(q), heads(k), heads(v)
    batch = query.shape[0]
    if add_zero_attn:  # one all-zero key/value position per head
        k, v = (cat([t, zeros(t.shape[0], num_heads, 1, head, dtype=t.dtype)], 2) for t in (k, v))
        appended += 1

    additive = None
    if attn_mask is not None:
        mask = _additive(attn_mask, q.dtype, False, "attn_mask")
        if mask.ndim == 3:  # (N * H, L, S) -> (N, H, L, S)
            rows = mask.static_shape[0]
            if isinstance(batch, int) and rows != batch * num_heads:
                raise ShapeError(f"attn_mask {mask.static_shape}: expected (N * num_heads = {batch * num_heads}, L, S)")
            mask = reshape_sizes("attn_mask", mask, [batch, num_heads, *mask.shape[1:]])
        elif mask.ndim != 2:
            raise ShapeError(f"attn_mask must be 2-D (L, S) or 3-D (N * num_heads, L, S), got {mask.static_shape}")
        additive = _attend_appended(mask, appended)
    if key_padding_mask is not None:
        if key_padding_mask.ndim != 2:
            raise ShapeError(f"key_padding_mask must be (N, S), got {key_padding_mask.static_shape}")
        padding = _attend_appended(_additive(key_padding_mask, q.dtype, False, "key_padding_mask"), appended)
        padding = reshape_sizes("key_padding_mask", padding, [padding.shape[0], 1, 1, padding.shape[1]])
        additive = padding if additive is None else add(additive, padding)

    attended, weights = attention(q, k, v, additive=additive, scale=1.0 / math.sqrt(head), safe=not need_weights)
    merged = permute(attended, (0, 2, 1, 3))  # (N, L, H, head)
    merged = reshape_sizes("merge_heads", merged, [*merged.shape[:2], embed])
    output = out_proj(merged)
    if not batch_first:
        output = permute(output, (1, 0, 2))
    if unbatched:
        from trtnet.functional.dims import squeeze

        output = squeeze(output, 0 if batch_first else 1)
    if not need_weights:
        return output, None
    if average_attn_weights:
        weights = mean(weights, 1)
    if unbatched:
        from trtnet.functional.dims import squeeze

        weights = squeeze(weights, 0)
    return output, weights
