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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float
from torch import Tensor, nn

from tfmcourse.attention import scaled_dot_product_attention

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


def split_heads(x: Float[Tensor, "batch seq d_model"], num_heads: int) -> Float[Tensor, "batch heads seq d_head"]:
    """``(batch, seq, d_model) -> (batch, heads, seq, d_head)``: head ``i`` gets features
    ``i * d_head`` to ``(i + 1) * d_head - 1``."""
    if x.ndim != 3 or x.shape[-1] % num_heads != 0:
        raise ValueError(
            f"x must have shape (batch, seq, d_model) with d_model divisible by num_heads={num_heads}, "
            f"got shape {_shape(x)}"
        )
    return rearrange(x, "b s (h d) -> b h s d", h=num_heads)


def merge_heads(x: Float[Tensor, "batch heads seq d_head"]) -> Float[Tensor, "batch seq d_model"]:
    """``(batch, heads, seq, d_head) -> (batch, seq, heads * d_head)``: the inverse of :func:`split_heads`."""
    if x.ndim != 4:
        raise ValueError(f"x must have shape (batch, heads, seq, d_head), got shape {_shape(x)}")
    return rearrange(x, "b h s d -> b s (h d)")


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
            softmax you can read) or ``"sdpa"`` (``torch.nn.functional.scaled_dot_product_attention``,
            the fused kernel used in chapter 8). Both give the same result; ``"sdpa"`` cannot return
            the weights, so ``need_weights=True`` uses the naive path for that call.

    Attributes: ``q_proj``, ``k_proj``, ``v_proj`` (``nn.Linear`` to ``d_model``) and ``out_proj``
    (``nn.Linear(d_model, d_model)``).

    ``forward(query, key, value, mask=None, need_weights=False, cache=None)`` returns
    ``(out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k) or None)``.
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
    ):
        super().__init__()
        kdim = d_model if kdim is None else kdim
        vdim = d_model if vdim is None else vdim
        for name, n in (("d_model", d_model), ("num_heads", num_heads), ("kdim", kdim), ("vdim", vdim)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name} must be a positive int, got {n!r}")
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}: every head gets "
                f"d_model // num_heads features"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.kdim, self.vdim = kdim, vdim
        self.dropout, self.impl = dropout, impl
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(kdim, d_model, bias=bias)
        self.v_proj = nn.Linear(vdim, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, d_head={self.d_head}, impl={self.impl!r}"

    # ----------------------------------------------------------------------------------------- checks
    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        widths = (("query", query, self.d_model, "d_model"), ("key", key, self.kdim, "kdim"),
                  ("value", value, self.vdim, "vdim"))
        dtype = self.q_proj.weight.dtype
        for name, x, width, wname in widths:
            if not isinstance(x, Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if x.ndim != 3:
                raise ValueError(
                    f"{name} must have shape (batch, seq, {wname}) (batch first), got shape {_shape(x)}"
                )
            if x.shape[-1] != width:
                raise ValueError(f"{name} has shape {_shape(x)} but its last axis must be {wname}={width}")
            if x.dtype != dtype and not _autocast_on(x.device.type):
                raise ValueError(f"{name} has dtype {x.dtype} but the module's weights are {dtype}")
        if not (query.shape[0] == key.shape[0] == value.shape[0]):
            raise ValueError(
                f"batch sizes differ: query {_shape(query)}, key {_shape(key)}, value {_shape(value)}"
            )
        if key.shape[1] != value.shape[1]:
            raise ValueError(
                f"key has shape {_shape(key)} but value has shape {_shape(value)}: they need the same seq_k"
            )

    @staticmethod
    def _check_mask(mask: Tensor, scores_shape: tuple[int, ...]) -> None:
        if not isinstance(mask, Tensor):
            raise ValueError(f"mask must be a boolean torch.Tensor, got {type(mask).__name__}")
        if mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be boolean (True = may attend), got dtype {mask.dtype} with shape {_shape(mask)}"
            )
        if mask.ndim == 3 or mask.ndim > 4:
            raise ValueError(
                f"mask has shape {_shape(mask)}: give a (seq_q, seq_k) or a 4-D (batch, heads, seq_q, seq_k) "
                f"mask (use size 1 to broadcast, e.g. (batch, 1, 1, seq_k) for padding); a 3-D mask is "
                f"ambiguous. The scores have shape {scores_shape}"
            )
        try:
            ok = torch.broadcast_shapes(mask.shape, scores_shape) == torch.Size(scores_shape)
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(
                f"mask has shape {_shape(mask)}, which does not broadcast to the scores' shape "
                f"{scores_shape} (batch, heads, seq_q, seq_k)"
            )

    def _with_cache(self, cache: dict, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """The cached keys/values followed by the new ones; ``cache`` is not modified here."""
        if not isinstance(cache, dict):
            raise ValueError(f"cache must be None or a dict, got {type(cache).__name__}")
        if "k" not in cache:
            return k, v
        old_k, old_v = cache["k"], cache["v"]
        if old_k.shape[:2] != k.shape[:2] or old_k.shape[-1] != k.shape[-1] or old_v.shape != old_k.shape:
            raise ValueError(
                f"cache['k'] has shape {_shape(old_k)} and cache['v'] {_shape(old_v)}, but the new keys "
                f"have shape {_shape(k)} (batch, heads, new, d_head): they cannot be concatenated"
            )
        return torch.cat([old_k, k], dim=-2), torch.cat([old_v, v], dim=-2)

    # ---------------------------------------------------------------------------------------- forward
    def forward(
        self,
        query: Float[Tensor, "batch seq_q d_model"],
        key: Float[Tensor, "batch seq_k kdim"],
        value: Float[Tensor, "batch seq_k vdim"],
        mask: Bool[Tensor, "#batch #heads #seq_q #seq_k"] | None = None,
        need_weights: bool = False,
        cache: dict | None = None,
    ) -> tuple[Float[Tensor, "batch seq_q d_model"], Float[Tensor, "batch heads seq_q seq_k"] | None]:
        """Attend from ``query`` to ``key``/``value`` in every head, then merge the heads.

        Args:
            query: ``(batch, seq_q, d_model)``.
            key: ``(batch, seq_k, kdim)``; for self-attention pass the same tensor three times.
            value: ``(batch, seq_k, vdim)``.
            mask: boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq_q, seq_k)``:
                ``(seq_q, seq_k)`` for a causal mask, ``(batch, 1, 1, seq_k)`` for padding. With a cache,
                ``seq_k`` is the total number of cached keys.
            need_weights: also return the per-head attention weights.
            cache: ``None`` or a dict (the KV cache of incremental decoding). The new keys and values,
                projected and split into heads ``(batch, heads, new, d_head)``, are appended after
                ``cache["k"]`` and ``cache["v"]`` (created on first use) and stored back; attention
                then runs over every cached key. The cache holds only the past, so feeding one
                position at a time needs no causal mask.

        Returns:
            ``(out, weights)``: ``out`` is ``(batch, seq_q, d_model)``; ``weights`` is
            ``(batch, heads, seq_q, seq_k)`` when ``need_weights`` (after dropout in training mode),
            else ``None``. A query whose keys are all masked gets zeros, never NaN.
        """
        self._check_inputs(query, key, value)
        q = rearrange(self.q_proj(query), "b s (h d) -> b h s d", h=self.num_heads)
        k = rearrange(self.k_proj(key), "b s (h d) -> b h s d", h=self.num_heads)
        v = rearrange(self.v_proj(value), "b s (h d) -> b h s d", h=self.num_heads)
        if cache is not None:
            k, v = self._with_cache(cache, k, v)
        scores_shape = (q.shape[0], self.num_heads, q.shape[2], k.shape[2])
        if mask is not None:
            self._check_mask(mask, scores_shape)
        if cache is not None:  # store only once the inputs are known to be good
            cache["k"], cache["v"] = k, v
        dropout_p = self.dropout if self.training else 0.0

        if self.impl == "sdpa" and not need_weights:
            heads, weights = self._sdpa(q, k, v, mask, dropout_p), None
        else:
            heads, weights = scaled_dot_product_attention(q, k, v, mask=mask, dropout_p=dropout_p)
        out = self.out_proj(rearrange(heads, "b h s d -> b s (h d)"))
        return out, (weights if need_weights else None)

    @staticmethod
    def _sdpa(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float) -> Tensor:
        """torch's fused attention, with fully masked query rows giving zeros instead of NaN."""
        if mask is None:
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        has_key = mask.any(dim=-1, keepdim=True)  # (..., seq_q, 1)
        # Let an empty row attend everywhere (finite), then zero its output.
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~has_key, dropout_p=dropout_p)
        return out.masked_fill(~has_key, 0.0)

    # ------------------------------------------------------------------------------ weight copy
    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention, impl: str = "naive") -> "MultiHeadAttention":
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
            raise ValueError("add_bias_kv=True and add_zero_attn=True are not supported by MultiHeadAttention")
        bias = m.in_proj_bias is not None
        ours = cls(m.embed_dim, m.num_heads, dropout=m.dropout, bias=bias, kdim=m.kdim, vdim=m.vdim, impl=impl)
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

