"""Multi-head attention: several attentions side by side, as one reshape (chapter 3).

A multi-head layer projects the queries, keys and values once each (``q_proj``, ``k_proj``,
``v_proj``, all ``d_model`` wide), cuts the ``d_model`` features into ``num_heads`` groups of
``d_head = d_model // num_heads`` (a reshape, ``"b s (h d) -> b h s d"``), runs scaled dot-product
attention in every head at once, glues the heads back together (``"b h s d -> b s (h d)"``) and mixes
them with ``out_proj``. It has exactly the parameters of a single-head layer of the same ``d_model``.

Shapes are batch first: ``query (batch, seq_q, d_model)``, ``key (batch, seq_k, kdim)``,
``value (batch, seq_k, vdim)``; per head ``(batch, heads, seq, d_head)``. Masks are boolean and
``True`` means "may attend" (the opposite of ``torch.nn.MultiheadAttention``'s boolean masks, see
:meth:`MultiHeadAttention.from_torch`).

Two options a model switches on: ``is_causal=True`` in ``forward`` (a decoder's self-attention; with
``impl="sdpa"`` and no other mask, torch then gets no mask at all and may pick FlashAttention), and
``rotary=RotaryEmbedding(d_head)`` in the constructor (RoPE, chapter 4: the queries and keys of every
head are rotated by their positions before the scores are taken).
"""

from __future__ import annotations

import torch
from einops import rearrange
from jaxtyping import Bool, Float
from torch import Tensor, nn

from tfmcourse.attention import causal_mask, fused_attention, scaled_dot_product_attention
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import Dims, check_mask, check_positive, check_probability, entry_point
from tfmcourse.positional import RotaryEmbedding, apply_rotary

__all__ = ["MultiHeadAttention", "split_heads", "merge_heads", "IMPLS"]

IMPLS = ("naive", "sdpa")


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _autocast_on(device_type: str) -> bool:
    """Whether mixed precision (``torch.autocast``) is on: inputs may then differ from the weights' dtype."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def _check_split(x: object, num_heads: object) -> None:
    check_positive(num_heads=num_heads)
    Dims()(x, "x", "batch seq d_model")
    if x.shape[-1] % num_heads != 0:
        raise ValueError(
            f"x has shape {_shape(x)}: d_model={x.shape[-1]} is not divisible by num_heads={num_heads}"
        )


@entry_point(_check_split)
def split_heads(
    x: Float[Tensor, "batch seq d_model"], num_heads: int
) -> Float[Tensor, "batch heads seq d_head"]:
    """``(batch, seq, d_model) -> (batch, heads, seq, d_head)``: head ``i`` gets features
    ``i * d_head`` to ``(i + 1) * d_head - 1``."""
    return rearrange(x, "b s (h d) -> b h s d", h=num_heads)


@entry_point(lambda x: Dims()(x, "x", "batch heads seq d_head"))
def merge_heads(x: Float[Tensor, "batch heads seq d_head"]) -> Float[Tensor, "batch seq d_model"]:
    """``(batch, heads, seq, d_head) -> (batch, seq, heads * d_head)``: the inverse of :func:`split_heads`."""
    return rearrange(x, "b h s d -> b s (h d)")


def _check_forward(
    self: MultiHeadAttention,
    query,
    key,
    value,
    mask=None,
    need_weights=False,
    cache=None,
    layer=0,
    is_causal=False,
) -> None:
    dims = Dims(d_model=self.d_model, kdim=self.kdim, vdim=self.vdim)
    for name, x, axes in (
        ("query", query, "batch seq_q d_model"),
        ("key", key, "batch seq_k kdim"),
        ("value", value, "batch seq_k vdim"),
    ):
        dims(x, name, axes)
        if x.dtype != self.q_proj.weight.dtype and not _autocast_on(x.device.type):
            raise ValueError(
                f"{name} has dtype {x.dtype} but the module's weights are {self.q_proj.weight.dtype}"
            )
    cached = 0
    if cache is not None:
        check_cache(cache, len(cache), dims.sizes["batch"])
        if not 0 <= layer < len(cache):
            raise ValueError(f"layer={layer} but the cache has {len(cache)} layers")
        past = cache.keys[layer]
        if past is not None and (past.shape[1], past.shape[-1]) != (self.num_heads, self.d_head):
            raise ValueError(
                f"the cache holds keys of shape {_shape(past)} but this layer has "
                f"{self.num_heads} heads of d_head={self.d_head}"
            )
        cached = 0 if past is None else past.shape[-2]
    if mask is not None:
        scores = (dims.sizes["batch"], self.num_heads, dims.sizes["seq_q"], cached + dims.sizes["seq_k"])
        check_mask(mask, "mask", scores)


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first, for self- and cross-attention.

    Args:
        d_model: width of the queries and of the output; split into ``num_heads`` heads.
        num_heads: number of heads; must divide ``d_model``.
        dropout: dropout probability on the attention weights (only in training mode).
        bias: whether the four projections have a bias.
        kdim, vdim: widths of the key and value inputs (default ``d_model``), for cross-attention
            from a memory of another width.
        impl: ``"naive"`` (our :func:`tfmcourse.attention.scaled_dot_product_attention`, einsum and
            softmax you can read) or ``"sdpa"`` (:func:`tfmcourse.attention.fused_attention`, torch's
            fused kernel, chapter 8). Both give the same result; ``"sdpa"`` cannot return the weights,
            so ``need_weights=True`` uses the naive path for that call.
        rotary: a :class:`~tfmcourse.positional.RotaryEmbedding` of width ``d_head`` to rotate the
            queries and keys by their positions (RoPE), or ``None`` (no positions here).

    Attributes: ``q_proj``, ``k_proj``, ``v_proj`` (``nn.Linear`` to ``d_model``) and ``out_proj``
    (``nn.Linear(d_model, d_model)``).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        impl: str = "naive",
        rotary: RotaryEmbedding | None = None,
    ):
        super().__init__()
        kdim = d_model if kdim is None else kdim
        vdim = d_model if vdim is None else vdim
        check_positive(d_model=d_model, num_heads=num_heads, kdim=kdim, vdim=vdim)
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: every head gets "
                f"d_model // num_heads features"
            )
        check_probability(dropout=dropout)
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if rotary is not None and rotary.d_head != d_model // num_heads:
            raise ValueError(
                f"rotary has d_head={rotary.d_head} but the heads are {d_model // num_heads} wide"
            )
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.kdim, self.vdim = kdim, vdim
        self.dropout, self.impl, self.rotary = dropout, impl, rotary
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, d_head={self.d_head}, impl={self.impl!r}"

    @entry_point(_check_forward)
    def forward(
        self,
        query: Float[Tensor, "batch seq_q d_model"],
        key: Float[Tensor, "batch seq_k kdim"],
        value: Float[Tensor, "batch seq_k vdim"],
        mask: Bool[Tensor, "*#batch #seq_q seq_k_all"] | None = None,
        need_weights: bool = False,
        cache: KVCache | None = None,
        layer: int = 0,
        is_causal: bool = False,
    ) -> tuple[Float[Tensor, "batch seq_q d_model"], Float[Tensor, "batch heads seq_q seq_k_all"] | None]:
        """Attend from ``query`` to ``key``/``value`` in every head, then merge the heads.

        Args:
            query: ``(batch, seq_q, d_model)``.
            key: ``(batch, seq_k, kdim)``; for self-attention pass the same tensor three times.
            value: ``(batch, seq_k, vdim)``.
            mask: boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq_q, seq_k_all)``:
                ``(seq_q, seq_k_all)`` for a causal mask, ``(batch, 1, 1, seq_k_all)`` for padding, where
                ``seq_k_all`` counts the cached keys too.
            need_weights: also return the per-head attention weights.
            cache: ``None`` or a :class:`~tfmcourse.cache.KVCache`; the keys and values of this call,
                split into heads ``(batch, heads, new, d_head)``, are appended to its slot ``layer`` and
                attention runs over all of them. The cache holds only the past, so feeding one
                position at a time needs no causal mask.
            layer: this attention's slot in ``cache``.
            is_causal: add the causal mask (query ``i`` sees the keys up to its own position, aligned
                bottom-right when a cache holds earlier positions), combined with ``mask`` if given.

        Returns:
            ``(out, weights)``: ``out`` is ``(batch, seq_q, d_model)``; ``weights`` is
            ``(batch, heads, seq_q, seq_k_all)`` when ``need_weights`` (after dropout in training mode),
            else ``None``. A query whose keys are all masked gets zeros, never NaN.
        """
        q = rearrange(self.q_proj(query), "b s (h d) -> b h s d", h=self.num_heads)
        k = rearrange(self.k_proj(key), "b s (h d) -> b h s d", h=self.num_heads)
        v = rearrange(self.v_proj(value), "b s (h d) -> b h s d", h=self.num_heads)
        if self.rotary is not None:  # the same rotation for q and k: compute the angles once
            cos, sin = self.rotary.cos_sin(q.shape[2], 0 if cache is None else cache.length, device=q.device)
            q, k = (
                apply_rotary(q, cos, sin, self.rotary.interleaved),
                apply_rotary(k, cos, sin, self.rotary.interleaved),
            )
        if cache is not None:
            k, v = cache.update(layer, k, v)
        dropout_p = self.dropout if self.training else 0.0
        if self.impl == "sdpa" and not need_weights:
            heads, weights = fused_attention(q, k, v, mask, dropout_p, is_causal), None
        else:
            if is_causal:
                causal = causal_mask(q.shape[2], k.shape[2], device=q.device)
                mask = causal if mask is None else mask & causal
            heads, weights = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=dropout_p)
        out = self.out_proj(rearrange(heads, "b h s d -> b s (h d)"))
        return out, (weights if need_weights else None)

    # ------------------------------------------------------------------------------ weight copy
    @classmethod
    def from_torch(cls, m: nn.Module, impl: str = "naive") -> MultiHeadAttention:
        """A copy of ``torch.nn.MultiheadAttention`` ``m`` (same weights, dtype and device).

        Both of torch's layouts are handled: the packed ``in_proj_weight`` (``3 * d_model`` rows:
        queries, then keys, then values) when ``kdim == vdim == d_model``, and the separate
        ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` otherwise.

        Two differences to keep in mind when comparing with ``m``:

        - our module is always batch first. If ``m.batch_first`` is False, ``m`` takes
          ``(seq, batch, d_model)``: transpose with ``x.transpose(0, 1)``.
        - torch's boolean masks mean ``True`` = NOT allowed. Its ``key_padding_mask`` ``(batch, seq_k)``
          becomes our ``rearrange(~key_padding_mask, "b k -> b 1 1 k")``, and a boolean ``attn_mask``
          ``(seq_q, seq_k)`` becomes ``~attn_mask``; combine both with ``&``.

        ``m``'s averaged weights (``average_attn_weights=True``) equal our ``weights.mean(1)``.
        ``add_bias_kv`` and ``add_zero_attn`` are not supported (ValueError).
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise ValueError(f"m must be a torch.nn.MultiheadAttention, got {type(m).__name__}")
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError(
                "add_bias_kv=True and add_zero_attn=True are not supported by MultiHeadAttention"
            )
        bias = m.in_proj_bias is not None
        ours = cls(
            m.embed_dim, m.num_heads, dropout=m.dropout, bias=bias, kdim=m.kdim, vdim=m.vdim, impl=impl
        )
        ours = ours.to(device=m.out_proj.weight.device, dtype=m.out_proj.weight.dtype)
        with torch.no_grad():
            if m._qkv_same_embed_dim:
                w_q, w_k, w_v = m.in_proj_weight.chunk(3, dim=0)
            else:
                w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
            for proj, w in ((ours.q_proj, w_q), (ours.k_proj, w_k), (ours.v_proj, w_v)):
                proj.weight.copy_(w)
            ours.out_proj.weight.copy_(m.out_proj.weight)
            if bias:
                for proj, b in zip((ours.q_proj, ours.k_proj, ours.v_proj), m.in_proj_bias.chunk(3)):
                    proj.bias.copy_(b)
                ours.out_proj.bias.copy_(m.out_proj.bias)
        ours.train(m.training)
        return ours
