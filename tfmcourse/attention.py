"""Attention: scores, masks, softmax, weighted sum of values (chapter 2).

Shapes use named axes: ``...`` is any number of leading batch axes (batch, heads, ...), ``seq_q`` the
queries, ``seq_k`` the keys (and values), ``d_k`` the query/key width and ``d_v`` the value width.

Masks are boolean and ``True`` means "may attend", the same sense as
:func:`torch.nn.functional.scaled_dot_product_attention`. A mask is 2-D ``(seq_q, seq_k)`` or has one
axis per axis of the scores, each of size 1 or the scores' size (:func:`tfmcourse.checks.check_mask`,
the rule of every module). A query row whose keys are all masked gets zero weights and a zero output,
never NaN.

:func:`fused_attention` computes the same with torch's fused kernel (chapter 8), and with
``is_causal=True`` lets torch pick its FlashAttention kernel, which needs no mask at all.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.checks import check_mask, check_positive, entry_point

__all__ = [
    "scaled_dot_product_attention",
    "fused_attention",
    "masked_softmax",
    "AdditiveAttention",
    "causal_mask",
    "padding_mask",
]

#: A boolean mask, ``True`` = may attend, that broadcasts to the scores ``(..., seq_q, seq_k)``.
Mask = Bool[Tensor, "*#batch #seq_q seq_k"]


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_qkv(q: object, k: object, v: object, mask: object = None, same_width: bool = True) -> None:
    """q, k and v go together: floating point, one dtype, ``(..., seq, d)`` with broadcastable leading
    axes, ``d_k`` shared by q and k (unless ``same_width=False``), ``seq_k`` shared by k and v."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise ValueError(
                f"{name} must be a floating-point tensor, got dtype {x.dtype} with shape {_shape(x)}"
            )
        if x.ndim < 2:
            raise ValueError(
                f"{name} must have shape (..., seq, d) with at least 2 axes, got shape {_shape(x)}"
            )
    if not (q.ndim == k.ndim == v.ndim):
        raise ValueError(
            f"q, k and v must have the same number of axes, got q {_shape(q)}, k {_shape(k)}, v {_shape(v)}"
        )
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise ValueError(f"q, k and v must share a dtype, got q {q.dtype}, k {k.dtype}, v {v.dtype}")
    if same_width and q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q has shape {_shape(q)} but k has d={k.shape[-1]} (shape {_shape(k)}); they must match"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k has shape {_shape(k)} but v has shape {_shape(v)}: they need the same number of keys (seq_k)"
        )
    try:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"the leading (batch) axes of q {_shape(q)}, k {_shape(k)} and v {_shape(v)} do not broadcast"
        ) from None
    if mask is not None:
        check_mask(mask, "mask", (*batch, q.shape[-2], k.shape[-2]))


def _check_sdpa(q, k, v, mask=None, scale=None, dropout_p=0.0) -> None:
    _check_qkv(q, k, v, mask)
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")


def _check_fused(q, k, v, mask=None, dropout_p=0.0, is_causal=False) -> None:
    _check_sdpa(q, k, v, mask, None, dropout_p)


def _check_softmax(scores: object, mask: object = None) -> None:
    if not isinstance(scores, Tensor) or not scores.is_floating_point() or scores.ndim < 2:
        what = (
            f"dtype {scores.dtype}, shape {_shape(scores)}"
            if isinstance(scores, Tensor)
            else type(scores).__name__
        )
        raise ValueError(f"scores must be a floating-point tensor (..., seq_q, seq_k), got {what}")
    if mask is not None:
        check_mask(mask, "mask", _shape(scores))


@entry_point(_check_softmax)
def masked_softmax(
    scores: Float[Tensor, "*batch seq_q seq_k"], mask: Mask | None = None
) -> Float[Tensor, "*batch seq_q seq_k"]:
    """Softmax over the keys (the last axis), with masked keys given zero weight.

    ``mask`` broadcasts to ``scores``; ``True`` means "may attend". A row whose keys are all masked gets
    zero weights everywhere (not NaN), and its gradient is zero too.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, float("-inf"))
    # A fully masked row would be softmax(-inf, ..., -inf) = NaN. Give it finite scores, then zero it.
    has_key = mask.any(dim=-1, keepdim=True)
    scores = scores.masked_fill(~has_key, 0.0)
    return torch.softmax(scores, dim=-1).masked_fill(~has_key, 0.0)


@entry_point(_check_sdpa)
def scaled_dot_product_attention(
    q: Float[Tensor, "*#batch seq_q d_k"],
    k: Float[Tensor, "*#batch seq_k d_k"],
    v: Float[Tensor, "*#batch seq_k d_v"],
    mask: Mask | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
) -> tuple[Float[Tensor, "*batch seq_q d_v"], Float[Tensor, "*batch seq_q seq_k"]]:
    """Scaled dot-product attention: ``softmax(q @ k^T * scale) @ v``.

    Args:
        q: queries, ``(..., seq_q, d_k)``.
        k: keys, ``(..., seq_k, d_k)``.
        v: values, ``(..., seq_k, d_v)``.
        mask: boolean, broadcastable to ``(..., seq_q, seq_k)``; ``True`` = may attend.
        scale: multiplies the scores; default ``1 / sqrt(d_k)``.
        dropout_p: dropout probability applied to the attention weights (training only; 0 = off).

    Returns:
        ``(out, weights)``: ``out`` is ``(..., seq_q, d_v)``, the weighted sum of the values;
        ``weights`` is ``(..., seq_q, seq_k)``, the weights that were used (each row sums to 1, or is
        all zeros where the row's keys are all masked; after dropout when ``dropout_p > 0``).
    """
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = torch.einsum("...qd,...kd->...qk", q, k) * scale
    weights = masked_softmax(scores, mask)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    out = torch.einsum("...qk,...kd->...qd", weights, v)
    return out, weights


@entry_point(_check_fused)
def fused_attention(
    q: Float[Tensor, "*#batch seq_q d_k"],
    k: Float[Tensor, "*#batch seq_k d_k"],
    v: Float[Tensor, "*#batch seq_k d_v"],
    mask: Mask | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
) -> Float[Tensor, "*batch seq_q d_v"]:
    """:func:`scaled_dot_product_attention`'s output, from torch's fused kernel
    (``torch.nn.functional.scaled_dot_product_attention``), which never stores the weights. A query row
    whose keys are all masked gives zeros, as in our own attention (torch's kernel alone would give NaN
    there).

    ``is_causal=True`` adds the causal mask (:func:`causal_mask`, aligned bottom-right). With no other mask
    and as many queries as keys it reaches torch as ``is_causal=True`` and no mask at all, which is what
    lets torch pick its FlashAttention kernel on a GPU (an explicit mask rules it out).
    """
    if is_causal and mask is None and q.shape[-2] == k.shape[-2]:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    if is_causal:  # torch's is_causal aligns top-left: with fewer queries than keys, give our mask
        causal = causal_mask(q.shape[-2], k.shape[-2], device=q.device)
        mask = causal if mask is None else mask & causal
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    has_key = mask.any(dim=-1, keepdim=True)  # (..., seq_q, 1)
    # Let an empty row attend everywhere (finite), then zero its output.
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~has_key, dropout_p=dropout_p)
    return out.masked_fill(~has_key, 0.0)


def _check_additive(self: AdditiveAttention, q: object, k: object, v: object, mask: object = None) -> None:
    _check_qkv(q, k, v, mask, same_width=False)
    if q.shape[-1] != self.d_q:
        raise ValueError(f"q has shape {_shape(q)} but this module expects d_q={self.d_q}")
    if k.shape[-1] != self.d_k:
        raise ValueError(f"k has shape {_shape(k)} but this module expects d_k={self.d_k}")
    if q.dtype != self.w.weight.dtype:
        raise ValueError(f"q has dtype {q.dtype} but the module's weights are {self.w.weight.dtype}")


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: ``score(q_i, k_j) = w^T tanh(W_q q_i + W_k k_j)``.

    Queries and keys may have different widths (``d_q``, ``d_k``); ``d_hidden`` is the width of the
    tanh layer. Called like :func:`scaled_dot_product_attention` and returns the same ``(out, weights)``.
    """

    def __init__(self, d_q: int, d_k: int, d_hidden: int):
        super().__init__()
        check_positive(d_q=d_q, d_k=d_k, d_hidden=d_hidden)
        self.d_q, self.d_k = d_q, d_k
        self.w_q = nn.Linear(d_q, d_hidden, bias=False)
        self.w_k = nn.Linear(d_k, d_hidden, bias=False)
        self.w = nn.Linear(d_hidden, 1, bias=False)

    def scores(
        self, q: Float[Tensor, "*#batch seq_q d_q"], k: Float[Tensor, "*#batch seq_k d_k"]
    ) -> Float[Tensor, "*batch seq_q seq_k"]:
        """The unnormalised scores ``(..., seq_q, seq_k)``."""
        hq = rearrange(self.w_q(q), "... q h -> ... q 1 h")
        hk = rearrange(self.w_k(k), "... k h -> ... 1 k h")
        return rearrange(self.w(torch.tanh(hq + hk)), "... q k 1 -> ... q k")

    @entry_point(_check_additive)
    def forward(
        self,
        q: Float[Tensor, "*#batch seq_q d_q"],
        k: Float[Tensor, "*#batch seq_k d_k"],
        v: Float[Tensor, "*#batch seq_k d_v"],
        mask: Mask | None = None,
    ) -> tuple[Float[Tensor, "*batch seq_q d_v"], Float[Tensor, "*batch seq_q seq_k"]]:
        """Returns ``(out (..., seq_q, d_v), weights (..., seq_q, seq_k))``."""
        weights = masked_softmax(self.scores(q, k), mask)
        return torch.einsum("...qk,...kd->...qd", weights, v), weights


def _check_causal(seq_q: object, seq_k: object = None, device: object = None) -> None:
    check_positive(seq_q=seq_q, **({} if seq_k is None else {"seq_k": seq_k}))


@entry_point(_check_causal)
def causal_mask(
    seq_q: int, seq_k: int | None = None, device: torch.device | str | None = None
) -> Bool[Tensor, "seq_q seq_k"]:
    """Boolean ``(seq_q, seq_k)`` mask, ``True`` where query ``i`` may attend to key ``j``.

    The queries are the *last* ``seq_q`` of the ``seq_k`` positions (aligned bottom-right), so query
    ``i`` sees keys ``j <= i + (seq_k - seq_q)``. With ``seq_k = seq_q`` (the default) this is the
    lower triangle; with one query and a cache of past keys it lets the new token see them all.
    """
    seq_k = seq_q if seq_k is None else seq_k
    i = torch.arange(seq_q, device=device)[:, None]
    j = torch.arange(seq_k, device=device)[None, :]
    return j <= i + (seq_k - seq_q)


def _check_padding(lengths: object, max_len: object = None) -> None:
    t = torch.as_tensor(lengths)
    if t.ndim != 1 or t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(
            f"lengths must be a 1-D integer tensor (batch,), got dtype {t.dtype} shape {_shape(t)}"
        )
    limit = max_len if max_len is not None else (int(t.max()) if len(t) else 0)
    if (t < 0).any() or (t > limit).any():
        raise ValueError(f"lengths must lie in [0, max_len={limit}], got {t.tolist()}")


@entry_point(_check_padding)
def padding_mask(
    lengths: Int[Tensor, " batch"] | list[int], max_len: int | None = None
) -> Bool[Tensor, "batch max_len"]:
    """Boolean ``(batch, max_len)`` mask, ``True`` at the real tokens, ``False`` at the padding.

    ``lengths[b]`` is the number of real tokens of sequence ``b`` (they come first). To mask the keys
    of attention scores ``(batch, seq_q, seq_k)``, use ``rearrange(m, "b k -> b 1 k")``.
    """
    lengths = torch.as_tensor(lengths)
    if max_len is None:
        max_len = int(lengths.max()) if len(lengths) else 0
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]
