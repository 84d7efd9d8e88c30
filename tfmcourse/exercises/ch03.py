"""Checkers for the exercises of chapter 3 (multi-head attention).

Each checker runs the learner's function on a few small cases (float64, seeded) and compares it with
the reference. When the answer is wrong, it also computes what each common mistake would have given
(features split in the wrong order, heads axis not moved, no output projection, scaled by d_model, ...)
and, if the learner's answer matches one, names that mistake in the hint::

    from tfmcourse.exercises import ch03 as check
    check.split_heads(split_heads)
    check.merge_heads(merge_heads)
    check.multi_head_attention(multi_head_attention)

The multi-head checker runs the learner's function with ``F.scaled_dot_product_attention``, chapter 2's
``scaled_dot_product_attention`` and ``masked_softmax`` and torch's ``multi_head_attention_forward``
replaced by functions that refuse: the exercise is to write the attention in every head oneself.
Every checker leaves the learner's random state as it found it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

import torch
from einops import rearrange
from torch import Tensor

from tfmcourse.attention import scaled_dot_product_attention as _ref_attention
from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

__all__ = ["split_heads", "merge_heads", "multi_head_attention"]

# ---------------------------------------------------------------------------------------- hints

HINT_SPLIT_DH = (
    "The features are split in the wrong order: you used (d h), which deals the features out to the "
    "heads like cards (feature 0 to head 0, feature 1 to head 1, ...). Head i must get one contiguous "
    "block, features i*d_head .. (i+1)*d_head - 1: rearrange(x, 'b s (h d) -> b h s d', h=num_heads)."
)
HINT_SPLIT_NO_T = (
    "You split the last axis into (heads, d_head) but did not move the heads axis: the result is "
    "(batch, seq, heads, d_head). Swap seq and heads (x.transpose(1, 2)), or use "
    "rearrange(x, 'b s (h d) -> b h s d', h=num_heads)."
)
HINT_SPLIT_DIRECT = (
    "You reshaped (batch, seq, d_model) straight to (batch, heads, seq, d_head): the shape is right but "
    "reshape keeps the memory order, so positions and heads get mixed up. Reshape to "
    "(batch, seq, heads, d_head) first, then transpose(1, 2) (or use rearrange, which does both)."
)
HINT_SPLIT_D_IS_H = (
    "You made heads of width num_heads: num_heads is the number of heads, each of width "
    "d_head = d_model // num_heads (rearrange(..., h=num_heads), not d=num_heads)."
)
HINT_MERGE_NO_T = (
    "You reshaped (batch, heads, seq, d_head) straight to (batch, seq, heads * d_head): the shape is "
    "right but the values of different positions are mixed. Move the heads axis next to d_head first "
    "(x.transpose(1, 2)), then reshape, or use rearrange(x, 'b h s d -> b s (h d)')."
)
HINT_MERGE_DH = (
    "The heads are merged in the wrong order: (d h) interleaves them. Head 0's d_head features come "
    "first, then head 1's, ...: rearrange(x, 'b h s d -> b s (h d)'), the inverse of split_heads."
)
HINT_MERGE_SEQ = (
    "You stacked the heads along the sequence axis: the output must keep seq and put the heads side by "
    "side in the features, (batch, seq, heads * d_head)."
)
HINT_MERGE_REDUCE = (
    "You averaged or summed the heads: they are concatenated, so the output is heads * d_head wide and "
    "keeps each head's features separately."
)
HINT_SCALE_D_MODEL = (
    "The scores are scaled by 1/sqrt(d_model); each head compares vectors of width d_head = d_model // "
    "num_heads, so the scale is 1/sqrt(d_head)."
)
HINT_NO_SCALE = "The scores are not scaled: divide each head's q @ k^T by sqrt(d_head)."
HINT_NO_OUT = (
    "You forgot the output projection: after merging the heads, multiply by w_o, which mixes the "
    "heads' outputs."
)
HINT_ONE_HEAD = (
    "Your answer is single-head attention with width d_model: split q, k and v into num_heads heads "
    "before the attention and merge them after."
)
HINT_MHA_SPLIT_DH = (
    "The heads get interleaved features: split with (h d), 'b s (h d) -> b h s d', so that head i uses "
    "the contiguous block i*d_head .. (i+1)*d_head - 1 of q, k and v."
)
HINT_MHA_MERGE = (
    "The attention in each head is right, but the heads are merged wrongly: use "
    "rearrange(o, 'b h s d -> b s (h d)') (or transpose(1, 2) then reshape) before w_o."
)
HINT_MASK_INVERTED = (
    "The mask sense is inverted: True means 'may attend'; fill the scores with -inf where it is False."
)
HINT_MASK_INVERTED_NAN = (
    "Your output has NaN rows because the mask sense is inverted: True means 'may attend', so fill the "
    "scores with -inf where the mask is False (scores.masked_fill(~mask, float('-inf'))). With the sense "
    "inverted, a query whose keys were all allowed has none left, and softmax over a row of -inf is "
    "0/0 = NaN."
)
HINT_NAN = (
    "Your output contains NaN where the reference has none. A softmax over a row whose scores are all "
    "-inf gives NaN: check which entries you fill with -inf (True in the mask means 'may attend')."
)
HINT_NO_MASK = "The mask is ignored: fill the scores with -inf where the mask is False before the softmax."
HINT_AXIS = "The softmax runs over the wrong axis: it runs over the keys, the last axis (dim=-1)."
HINT_TUPLE = "Return only the output tensor (batch, seq, d_model), not a tuple."


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


# What the multi-head exercise builds itself: the fused built-in, chapter 2's attention and masked
# softmax (also where the package's MultiHeadAttention looks them up), and torch's whole multi-head
# forward (what torch.nn.MultiheadAttention calls).
_FORBIDDEN_MHA = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "tfmcourse.attention.scaled_dot_product_attention",
    "tfmcourse.attention.masked_softmax",
    "tfmcourse.multihead.scaled_dot_product_attention",
)


def _existing(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The dotted names of ``paths`` that exist (a module may move; forbid what is there)."""
    found = []
    for path in paths:
        module_name, _, attr = path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            found.append(path)
    return tuple(found)


def _raw_mha(x: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, w_o: Tensor, h: int, mask: Tensor) -> Tensor:
    """Multi-head self-attention with a plain softmax: a row with no allowed key gives NaN, as a
    learner's own code does (used to recognise an inverted mask that produced NaN)."""
    q, k, v = (_split_variant(x @ w, h) for w in (w_q, w_k, w_v))
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return _merge_variant(weights @ v) @ w_o


# ------------------------------------------------------------------- references with mistakes


def _split_variant(x: Tensor, h: int, mistake: str = "") -> Tensor:
    b, s, d_model = x.shape
    if mistake == "dh":
        return rearrange(x, "b s (d h) -> b h s d", h=h)
    if mistake == "no_transpose":
        return x.reshape(b, s, h, d_model // h)
    if mistake == "direct":
        return x.reshape(b, h, s, d_model // h)
    if mistake == "d_is_h":
        return rearrange(x, "b s (h d) -> b h s d", d=h)
    return rearrange(x, "b s (h d) -> b h s d", h=h)


def _merge_variant(x: Tensor, mistake: str = "") -> Tensor:
    b, h, s, d = x.shape
    if mistake == "no_transpose":
        return x.reshape(b, s, h * d)
    if mistake == "dh":
        return rearrange(x, "b h s d -> b s (d h)")
    if mistake == "seq":
        return rearrange(x, "b h s d -> b (h s) d")
    if mistake == "mean":
        return x.mean(1)
    if mistake == "sum":
        return x.sum(1)
    return rearrange(x, "b h s d -> b s (h d)")


_SPLIT_MISTAKES = {
    "dh": HINT_SPLIT_DH,
    "no_transpose": HINT_SPLIT_NO_T,
    "direct": HINT_SPLIT_DIRECT,
    "d_is_h": HINT_SPLIT_D_IS_H,
}
_MERGE_MISTAKES = {
    "no_transpose": HINT_MERGE_NO_T,
    "dh": HINT_MERGE_DH,
    "seq": HINT_MERGE_SEQ,
    "mean": HINT_MERGE_REDUCE,
    "sum": HINT_MERGE_REDUCE,
}


def _mha_variant(
    x: Tensor,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    w_o: Tensor,
    h: int,
    mask: Tensor | None,
    mistake: str = "",
) -> Tensor:
    """Multi-head self-attention ``x @ w`` style, written with one plausible ``mistake``."""
    d_model = x.shape[-1]
    heads = 1 if mistake == "one_head" else h
    split = "dh" if mistake in ("split_dh", "both_dh") else ""
    merge = {"both_dh": "dh", "merge_no_t": "no_transpose"}.get(mistake, "")
    q, k, v = (_split_variant(x @ w, heads, split) for w in (w_q, w_k, w_v))
    scale = {"d_model": 1 / math.sqrt(d_model), "no_scale": 1.0}.get(mistake, 1 / math.sqrt(d_model // heads))
    if mistake == "mask_inverted" and mask is not None:
        mask = ~mask
    if mistake == "no_mask":
        mask = None
    if mistake == "axis":
        scores = (q @ k.transpose(-2, -1)) * scale
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        o = torch.nan_to_num(torch.softmax(scores, dim=-2)) @ v
    else:
        o, _ = _ref_attention(q, k, v, mask=mask, scale=scale)
    o = _merge_variant(o, merge)
    return o if mistake == "no_out" else o @ w_o


_MHA_MISTAKES = {
    "d_model": HINT_SCALE_D_MODEL,
    "no_scale": HINT_NO_SCALE,
    "no_out": HINT_NO_OUT,
    "one_head": HINT_ONE_HEAD,
    "split_dh": HINT_MHA_SPLIT_DH,
    "both_dh": HINT_MHA_SPLIT_DH,
    "merge_no_t": HINT_MHA_MERGE,
    "mask_inverted": HINT_MASK_INVERTED,
    "no_mask": HINT_NO_MASK,
    "axis": HINT_AXIS,
}


# -------------------------------------------------------------------------------- checkers


@checker
def split_heads(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(x, num_heads)``: ``(batch, seq, d_model) -> (batch, heads, seq, d_head)``, head ``i``
    holding features ``i*d_head .. (i+1)*d_head - 1``."""
    g = _gen(2031)
    cases = [(_randn(2, 5, 12, g=g), 3), (_randn(3, 4, 8, g=g), 4), (_randn(1, 6, 6, g=g), 1)]
    for x, h in cases:
        got = run(fn, x, h)
        want = _split_variant(x, h)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _SPLIT_MISTAKES, lambda m: _split_variant(x, h, m))
        _fail(
            got,
            want,
            f"split_heads(x of shape {tuple(x.shape)}, num_heads={h})",
            hint or "Use rearrange(x, 'b s (h d) -> b h s d', h=num_heads).",
        )
    passed("split_heads", f"{len(cases)} cases")


@checker
def merge_heads(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(x)``: ``(batch, heads, seq, d_head) -> (batch, seq, heads * d_head)``, the inverse of
    ``split_heads``."""
    g = _gen(2032)
    cases = [_randn(2, 3, 5, 4, g=g), _randn(3, 4, 2, 2, g=g), _randn(1, 2, 6, 3, g=g)]
    for x in cases:
        got = run(fn, x)
        want = _merge_variant(x)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _MERGE_MISTAKES, lambda m: _merge_variant(x, m))
        _fail(
            got,
            want,
            f"merge_heads(x of shape {tuple(x.shape)})",
            hint or "Use rearrange(x, 'b h s d -> b s (h d)').",
        )
    passed("merge_heads", f"{len(cases)} cases")


@checker
def multi_head_attention(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, w_q, w_k, w_v, w_o, num_heads, mask=None) -> (batch, seq, d_model)``: multi-head
    self-attention with ``q = x @ w_q`` (no biases), each head scaled by ``1/sqrt(d_head)``, heads merged
    and multiplied by ``w_o``; ``mask`` boolean, True = may attend, broadcastable to
    ``(batch, heads, seq, seq)``."""
    g = _gen(2033)
    cases = []
    for name, b, s, d, h, mask in [
        ("no mask", 2, 5, 12, 3, None),
        ("a causal mask (seq, seq)", 2, 6, 8, 2, torch.ones(6, 6, dtype=torch.bool).tril()),
        (
            "a padding mask (batch, 1, 1, seq)",
            2,
            5,
            8,
            4,
            torch.tensor([[True] * 5, [True, True, True, False, False]]).reshape(2, 1, 1, 5),
        ),
    ]:
        ws = [_randn(d, d, g=g, scale=1.5 / math.sqrt(d)) for _ in range(4)]
        cases.append((name, _randn(b, s, d, g=g), ws, h, mask))
    for name, x, (w_q, w_k, w_v, w_o), h, mask in cases:
        where = f"on the case with {name} (x {tuple(x.shape)}, num_heads={h})"
        args = (x, w_q, w_k, w_v, w_o, h)
        want = _mha_variant(x, w_q, w_k, w_v, w_o, h, mask)  # the reference first, before the learner's call
        with forbidden(fn, *_existing(_FORBIDDEN_MHA)):
            got = run(fn, *args) if mask is None else run(fn, *args, mask=mask)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"multi_head_attention returned a {type(got).__name__} {where}. {HINT_TUPLE}")
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        if (
            isinstance(got, Tensor)
            and got.shape == want.shape
            and got.is_floating_point()
            and got.isnan().any()
        ):
            inverted = mask is not None and torch.allclose(
                got.to(want.dtype),
                _raw_mha(x, w_q, w_k, w_v, w_o, h, ~mask),
                atol=1e-5,
                rtol=1e-4,
                equal_nan=True,
            )
            raise ExerciseError(
                f"multi_head_attention {where} contains NaN. "
                f"{HINT_MASK_INVERTED_NAN if inverted else HINT_NAN}"
            )
        hint = _diagnose(got, _MHA_MISTAKES, lambda m: _mha_variant(x, w_q, w_k, w_v, w_o, h, mask, m))
        _fail(
            got,
            want,
            f"multi_head_attention {where}",
            hint
            or "Project (x @ w_q, ...), split into heads, attend in each head with scale "
            "1/sqrt(d_head) and the mask, merge the heads, multiply by w_o.",
        )
    passed("multi_head_attention", f"{len(cases)} cases, causal and padding masks included")
