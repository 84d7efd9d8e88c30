"""Checkers for the exercises of chapter 9 (a GPT: causal self-attention, top-k sampling, the KV cache).

Each checker runs the learner's function on a few small seeded cases (float64) and compares it with
the reference. When the answer is wrong it also computes what each common mistake would have given
(no causal mask, mask inverted, the diagonal masked, k+1 tokens kept, zeros instead of -inf, cache
not stored, ...) and, if the learner's answer matches one, names that mistake in the hint::

    from tfmcourse.exercises import ch09 as check
    check.causal_self_attention(causal_self_attention)
    check.top_k_logits(top_k_logits)
    check.attention_step(attention_step)
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from einops import rearrange
from torch import Tensor

from tfmcourse.exercises import ExerciseError, expect_close, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose, fail as _fail

__all__ = ["causal_self_attention", "top_k_logits", "attention_step"]

# ---------------------------------------------------------------------------------------- hints

HINT_NO_MASK = (
    "There is no causal mask: every position also looks at the positions after it (the future). Set "
    "the scores of keys j > i to -inf before the softmax (e.g. with torch.ones(seq, seq).tril())."
)
HINT_MASK_INVERTED = (
    "The causal mask is inverted: position i must see the keys j <= i (the lower triangle, tril), "
    "and the keys j > i get -inf."
)
HINT_NO_DIAGONAL = (
    "The diagonal is masked too (tril(diagonal=-1)): position i may attend to itself, so keep the "
    "keys j <= i, not only j < i."
)
HINT_SCALE_D_MODEL = "The scores are scaled by 1/sqrt(d_model); each head uses 1/sqrt(d_head), d_head = d_model // num_heads."
HINT_NO_SCALE = "The scores are not scaled: divide q @ k^T by sqrt(d_head)."
HINT_AXIS = "The softmax runs over the wrong axis: it normalises over the keys, the last axis (dim=-1)."
HINT_NO_OUT = "The output projection is missing: after merging the heads, multiply by w_o."
HINT_QKV_ORDER = (
    "q, k and v are cut out of x @ w_qkv in the wrong way: the columns are [q | k | v], each d_model "
    "wide (GPT-2's c_attn): q, k, v = (x @ w_qkv).split(d_model, dim=-1)."
)
HINT_HEADS_DH = (
    "The heads get interleaved features: split with rearrange(t, 'b s (h d) -> b h s d', h=num_heads), "
    "so that head i uses features i*d_head .. (i+1)*d_head - 1."
)
HINT_ONE_HEAD = "Your answer is single-head attention: split q, k and v into num_heads heads and merge them afterwards."

HINT_TOPK_SMALLEST = "You kept the k *smallest* logits: top-k keeps the k largest (torch.topk(..., largest=True))."
HINT_TOPK_PLUS_ONE = (
    "You kept k + 1 tokens: the k-th largest value itself must be kept, everything strictly below it "
    "removed (keep logits >= the k-th largest, not > the (k+1)-th)."
)
HINT_TOPK_MINUS_ONE = (
    "You kept only k - 1 tokens: the k-th largest value must be kept too (compare with >=, not >)."
)
HINT_TOPK_ZERO = (
    "The removed tokens are set to 0: a logit of 0 still has probability exp(0) / Z > 0 (and it is even "
    "larger than negative logits). Set them to float('-inf') so that softmax gives them exactly 0."
)
HINT_TOPK_AXIS = "The top k are taken over the wrong axis: each row (one batch element) keeps its own k largest, dim=-1."
HINT_TOPK_PROBS = "You returned probabilities: return the logits, unchanged for the k kept tokens and -inf elsewhere."

HINT_STEP_NOT_STORED = (
    "The cache is not updated: after the step, cache['k'] and cache['v'] must hold the keys and values "
    "of *every* position so far, the new one appended at the end (cache['k'] = torch.cat([old, k_new], dim=1))."
)
HINT_STEP_ONLY_NEW = (
    "The cache holds only the newest key and value: store the concatenation of the old ones and the new "
    "one, so that the next step still sees the whole past."
)
HINT_STEP_PREPEND = (
    "The new key and value are put *before* the old ones: append them at the end, "
    "torch.cat([cache['k'], k_new], dim=1), so that cache['k'][:, t] is position t."
)
HINT_STEP_AXIS = (
    "The keys are concatenated along the wrong axis: the cache is (batch, positions, d); append along "
    "the positions axis, dim=1 (not the batch axis 0 or the feature axis -1)."
)
HINT_STEP_SWAPPED = "cache['v'] holds the keys (or cache['k'] the values): store k in cache['k'] and v in cache['v']."
HINT_STEP_NO_SCALE = "The scores are not scaled: divide q @ k^T by sqrt(d)."
HINT_STEP_FIRST_ONLY = (
    "The new token attends only to the first position: a (1, t+1) causal mask is aligned bottom-right "
    "(the new token is the *last* position and sees everything). With a cache no mask is needed."
)
HINT_STEP_SELF_ONLY = (
    "The new token attends only to itself: attend over all the cached keys and values plus the new ones."
)


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale






# ------------------------------------------------------------------ 1. causal self-attention


def _causal_variant(x: Tensor, w_qkv: Tensor, w_o: Tensor, h: int, mistake: str = "") -> Tensor:
    """Causal multi-head self-attention (GPT-2's packed q|k|v layout), written with one ``mistake``."""
    b, s, d = x.shape
    qkv = x @ w_qkv
    if mistake == "qkv_interleaved":
        q, k, v = rearrange(qkv, "b s (d three) -> three b s d", three=3)
    elif mistake == "qkv_kqv":
        k, q, v = qkv.split(d, dim=-1)
    else:
        q, k, v = qkv.split(d, dim=-1)
    heads = 1 if mistake == "one_head" else h
    pattern = "b s (d h) -> b h s d" if mistake == "heads_dh" else "b s (h d) -> b h s d"
    q, k, v = (rearrange(t, pattern, h=heads) for t in (q, k, v))
    d_head = d // heads
    scale = {"d_model": 1 / math.sqrt(d), "no_scale": 1.0}.get(mistake, 1 / math.sqrt(d_head))
    scores = q @ k.transpose(-2, -1) * scale
    ones = torch.ones(s, s, dtype=torch.bool)
    mask = {"no_mask": ones, "inverted": ~ones.tril(), "no_diagonal": ones.tril(-1),
            "inverted_diag": ones.triu()}.get(mistake, ones.tril())
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=-2 if mistake == "axis" else -1))
    pattern = "b h s d -> b s (d h)" if mistake == "heads_dh" else "b h s d -> b s (h d)"
    o = rearrange(weights @ v, pattern)
    return o if mistake == "no_out" else o @ w_o


_CAUSAL_MISTAKES = {
    "no_mask": HINT_NO_MASK,
    "inverted": HINT_MASK_INVERTED,
    "inverted_diag": HINT_MASK_INVERTED,
    "no_diagonal": HINT_NO_DIAGONAL,
    "d_model": HINT_SCALE_D_MODEL,
    "no_scale": HINT_NO_SCALE,
    "axis": HINT_AXIS,
    "no_out": HINT_NO_OUT,
    "qkv_interleaved": HINT_QKV_ORDER,
    "qkv_kqv": HINT_QKV_ORDER,
    "heads_dh": HINT_HEADS_DH,
    "one_head": HINT_ONE_HEAD,
}


def causal_self_attention(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, w_qkv, w_o, num_heads) -> (batch, seq, d_model)``: GPT's causal multi-head
    self-attention, ``q, k, v`` = the three ``d_model``-wide column blocks of ``x @ w_qkv``, heads of
    width ``d_head``, scores scaled by ``1/sqrt(d_head)``, position ``i`` attending to ``j <= i``,
    heads merged and multiplied by ``w_o`` (no biases)."""
    g = _gen(2091)
    cases = []
    for b, s, d, h in [(2, 5, 12, 3), (1, 7, 8, 2), (3, 4, 8, 1)]:
        cases.append((_randn(b, s, d, g=g), _randn(d, 3 * d, g=g, scale=1.5 / math.sqrt(d)),
                      _randn(d, d, g=g, scale=1 / math.sqrt(d)), h))
    for x, w_qkv, w_o, h in cases:
        where = f"causal_self_attention(x {tuple(x.shape)}, w_qkv {tuple(w_qkv.shape)}, w_o, num_heads={h})"
        got = run(fn, x, w_qkv, w_o, h)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return only the output tensor.")
        want = _causal_variant(x, w_qkv, w_o, h)
        if isinstance(got, Tensor) and torch.isnan(got).any():
            raise ExerciseError(
                f"{where} contains NaN: a query row whose keys are all masked gives softmax(-inf, ..., -inf). "
                f"{HINT_NO_DIAGONAL if torch.isnan(got[:, 0]).any() else HINT_MASK_INVERTED}"
            )
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _CAUSAL_MISTAKES, lambda m: _causal_variant(x, w_qkv, w_o, h, m))
        _fail(got, want, where, hint or "Split x @ w_qkv into q | k | v, split heads, scale by 1/sqrt(d_head), "
                                       "mask the future, softmax over the keys, merge heads, multiply by w_o.")
    passed("causal_self_attention", f"{len(cases)} cases")


# ----------------------------------------------------------------------------- 2. top-k


def _top_k_variant(logits: Tensor, k: int, mistake: str = "") -> Tensor:
    if mistake == "axis":
        kk = min(k, logits.shape[0])
        kth = logits.topk(kk, dim=0).values[-1:, :]
        return logits.masked_fill(logits < kth, float("-inf"))
    if mistake == "smallest":
        kth = logits.topk(k, dim=-1, largest=False).values[..., -1:]
        return logits.masked_fill(logits > kth, float("-inf"))
    kk = {"plus_one": k + 1, "minus_one": k - 1}.get(mistake, k)
    if kk < 1:
        return torch.full_like(logits, float("-inf"))
    kk = min(kk, logits.shape[-1])
    kth = logits.topk(kk, dim=-1).values[..., -1:]
    fill = 0.0 if mistake == "zero" else float("-inf")
    out = logits.masked_fill(logits < kth, fill)
    return torch.softmax(out, dim=-1) if mistake == "probs" else out


_TOPK_MISTAKES = {
    "smallest": HINT_TOPK_SMALLEST,
    "plus_one": HINT_TOPK_PLUS_ONE,
    "minus_one": HINT_TOPK_MINUS_ONE,
    "zero": HINT_TOPK_ZERO,
    "axis": HINT_TOPK_AXIS,
    "probs": HINT_TOPK_PROBS,
}


def _same_filtered(got: Tensor, want: Tensor) -> bool:
    """Same -inf pattern and the same finite values."""
    if not isinstance(got, Tensor) or tuple(got.shape) != tuple(want.shape) or not got.is_floating_point():
        return False
    kept = torch.isfinite(want)
    return bool(torch.equal(torch.isfinite(got), kept) and (got[~kept] < 0).all()
                and torch.allclose(got[kept].to(want.dtype), want[kept]))


def top_k_logits(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(logits, k)``: ``(batch, vocab) -> (batch, vocab)``, each row's ``k`` largest logits
    unchanged and every other entry ``-inf``."""
    g = _gen(2092)
    cases = [(_randn(4, 10, g=g, scale=2.0), 3), (_randn(3, 7, g=g, scale=2.0) - 5.0, 2),
             (_randn(2, 6, g=g), 1), (_randn(2, 5, g=g), 5)]
    for logits, k in cases:
        where = f"top_k_logits(logits {tuple(logits.shape)}, k={k})"
        got = run(fn, logits, k)
        want = _top_k_variant(logits, k)
        if _same_filtered(got, want):
            continue
        hint = ""
        if isinstance(got, Tensor):
            for mistake, h in _TOPK_MISTAKES.items():
                mutant = _top_k_variant(logits, k, mistake)
                if (_same_filtered(got, mutant) if mistake not in ("zero", "probs") else is_close(got, mutant)):
                    hint = h
                    break
            if not hint and isinstance(got, Tensor) and got.shape == want.shape and torch.isfinite(got).all() and k < logits.shape[-1]:
                hint = HINT_TOPK_ZERO if (got == 0).any() else "Nothing was removed: set the logits outside the top k to -inf."
        _fail(got, want, where, hint or "Find the k-th largest value of each row (torch.topk(logits, k, dim=-1)) "
                                       "and set the logits below it to -inf.")
    passed("top_k_logits", f"{len(cases)} cases")


# ------------------------------------------------------------------------------ 3. KV cache


def _step_variant(x_new: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, cache: dict, mistake: str = "") -> Tensor:
    """One single-head attention step with a (correctly updated) cache, the attention written with
    one ``mistake`` ("no_scale" or "first_only")."""
    q, k, v = x_new @ w_q, x_new @ w_k, x_new @ w_v
    if "k" in cache:
        k, v = torch.cat([cache["k"], k], dim=1), torch.cat([cache["v"], v], dim=1)
    cache["k"], cache["v"] = k, v
    scale = 1.0 if mistake == "no_scale" else 1 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(1, 2) * scale
    if mistake == "first_only":  # a (1, t) causal mask aligned top-left: only key 0 is allowed
        scores[..., 1:] = float("-inf")
    return torch.softmax(scores, dim=-1) @ v


_STEP_MISTAKES = {"no_scale": HINT_STEP_NO_SCALE, "first_only": HINT_STEP_FIRST_ONLY}


def attention_step(fn: Callable[[Tensor, Tensor, Tensor, Tensor, dict], Tensor]) -> None:
    """Check ``fn(x_new, w_q, w_k, w_v, cache) -> (batch, 1, d)``: one step of single-head causal
    self-attention with a KV cache. ``cache`` is a dict, empty before the first step; after each step
    ``cache["k"]`` and ``cache["v"]`` must be ``(batch, t, d)``, the keys ``x @ w_k`` and values
    ``x @ w_v`` of the ``t`` positions fed so far, in order. Fed one position at a time, the outputs
    must equal full causal attention over the sequence."""
    g = _gen(2093)
    for b, s, d in [(2, 6, 8), (1, 5, 4)]:
        x = _randn(b, s, d, g=g)
        w_q, w_k, w_v = (_randn(d, d, g=g, scale=1.5 / math.sqrt(d)) for _ in range(3))
        keys, values = x @ w_k, x @ w_v
        # The reference: full causal attention, all positions at once.
        scores = (x @ w_q) @ keys.transpose(1, 2) / math.sqrt(d)
        scores = scores.masked_fill(~torch.ones(s, s, dtype=torch.bool).tril(), float("-inf"))
        full = torch.softmax(scores, dim=-1) @ values
        cache: dict = {}
        shadows = {m: {} for m in _STEP_MISTAKES}  # the caches of the mistaken variants
        for t in range(s):
            where = f"attention_step at position {t} (batch {b}, d {d})"
            before = {k: v.clone() for k, v in cache.items()}
            try:
                got = run(fn, x[:, t : t + 1], w_q, w_k, w_v, cache)
            except ExerciseError as e:
                ck = cache.get("k")
                if isinstance(ck, Tensor) and ck.ndim == 3 and (ck.shape[0] != b or ck.shape[-1] != d):
                    raise ExerciseError(f"{where}: {HINT_STEP_AXIS}\n  ({e})") from None
                raise
            want = full[:, t : t + 1]
            mutants = {m: _step_variant(x[:, t : t + 1], w_q, w_k, w_v, shadows[m], m) for m in _STEP_MISTAKES}
            ck, cv = cache.get("k"), cache.get("v")
            if not isinstance(ck, Tensor) or not isinstance(cv, Tensor):
                raise ExerciseError(f"{where}: cache has no tensors 'k' and 'v' after the step. {HINT_STEP_NOT_STORED}")
            if ck.ndim != 3 or ck.shape[0] != b or ck.shape[-1] != d:
                raise ExerciseError(f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}. {HINT_STEP_AXIS}")
            if "k" in before and tuple(ck.shape) == tuple(before["k"].shape) and torch.equal(ck, before["k"]):
                raise ExerciseError(f"{where}: {HINT_STEP_NOT_STORED}")
            if tuple(ck.shape) == (b, 1, d) and t > 0:
                raise ExerciseError(f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}. {HINT_STEP_ONLY_NEW}")
            if tuple(ck.shape) != (b, t + 1, d):
                raise ExerciseError(f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}.")
            if not is_close(ck, keys[:, : t + 1]):
                if is_close(ck, keys[:, : t + 1].flip(1)):
                    raise ExerciseError(f"{where}: {HINT_STEP_PREPEND}")
                if is_close(ck, values[:, : t + 1]):
                    raise ExerciseError(f"{where}: {HINT_STEP_SWAPPED}")
                raise ExerciseError(f"{where}: cache['k'] should hold x @ w_k of positions 0..{t}, in order.")
            if not (tuple(cv.shape) == (b, t + 1, d) and is_close(cv, values[:, : t + 1])):
                hint = HINT_STEP_SWAPPED if tuple(cv.shape) == (b, t + 1, d) and is_close(cv, keys[:, : t + 1]) else ""
                raise ExerciseError(f"{where}: cache['v'] should hold x @ w_v of positions 0..{t}, in order. {hint}".strip())
            if isinstance(got, Tensor) and is_close(got, want):
                continue
            # The cache is right by now, so only the attention itself can be wrong.
            hint = ""
            if isinstance(got, Tensor) and t > 0 and is_close(got, values[:, t : t + 1]):
                hint = HINT_STEP_SELF_ONLY
            for m, h in _STEP_MISTAKES.items():
                if not hint and isinstance(got, Tensor) and is_close(got, mutants[m]):
                    hint = h
            _fail(got, want, f"the output of {where}", hint or "q = x_new @ w_q attends over all the cached keys "
                  "and values (new ones included) with scores scaled by 1/sqrt(d).")
    passed("attention_step", "two sequences fed one position at a time, cache checked at every step")
