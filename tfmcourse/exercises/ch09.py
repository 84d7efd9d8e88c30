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
from collections.abc import Callable
from typing import Any

import torch
from einops import rearrange
from torch import Tensor

from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

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
HINT_SCALE_D_MODEL = (
    "The scores are scaled by 1/sqrt(d_model); each head uses 1/sqrt(d_head), d_head = d_model // num_heads."
)
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
HINT_ONE_HEAD = (
    "Your answer is single-head attention: split q, k and v into num_heads heads and merge them afterwards."
)
HINT_MERGE_NO_TRANSPOSE = (
    "The heads are merged without moving the head axis back: the output of the heads is "
    "(batch, heads, seq, d_head), and reshaping it straight to (batch, seq, d_model) mixes positions and "
    "heads. Transpose to (batch, seq, heads, d_head) first, or use rearrange(o, 'b h s d -> b s (h d)')."
)
HINT_SPLIT_NO_TRANSPOSE = (
    "The heads are split without a transpose: reshaping (batch, seq, d_model) straight to "
    "(batch, heads, seq, d_head) mixes positions and heads. Reshape to (batch, seq, heads, d_head) and "
    "then swap the two middle axes, or use rearrange(t, 'b s (h d) -> b h s d', h=num_heads)."
)

HINT_TOPK_SMALLEST = (
    "You kept the k *smallest* logits: top-k keeps the k largest (torch.topk(..., largest=True))."
)
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
HINT_TOPK_AXIS = (
    "The top k are taken over the wrong axis: each row (one batch element) keeps its own k largest, dim=-1."
)
HINT_TOPK_PROBS = (
    "You returned probabilities: return the logits, unchanged for the k kept tokens and -inf elsewhere."
)
HINT_TOPK_BIG_NEGATIVE = (
    "The removed tokens are set to a large negative number instead of float('-inf'). The softmax of "
    "it is 0 here, but it is still a finite logit: code downstream that asks which tokens are left "
    "(torch.isfinite, top-p after top-k) counts it as kept, and in float16 it is not even representable. "
    "Set them to float('-inf')."
)
HINT_TOPK_INTEGER = (
    "Your function returns an integer or boolean tensor ({dtype}): return the logits themselves, a "
    "floating-point tensor like the input, unchanged for the k kept tokens and float('-inf') elsewhere "
    "(an integer tensor cannot hold -inf; to build the answer, use logits.masked_fill(...) or torch.where)."
)
HINT_TOPK_NOTHING_REMOVED = "Nothing was removed: set the logits outside the top k to float('-inf')."

HINT_STEP_NOT_STORED = (
    "The cache is not updated: after the step, cache['k'] and cache['v'] must hold the keys and values "
    "of *every* position so far, the new one appended at the end (cache['k'] = torch.cat([old, k_new], "
    "dim=1))."
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
HINT_STEP_SWAPPED = (
    "cache['v'] holds the keys (or cache['k'] the values): store k in cache['k'] and v in cache['v']."
)
HINT_STEP_NO_SCALE = "The scores are not scaled: divide q @ k^T by sqrt(d)."
HINT_STEP_FIRST_ONLY = (
    "The new token attends only to the first position: a (1, t+1) causal mask is aligned bottom-right "
    "(the new token is the *last* position and sees everything). With a cache no mask is needed."
)
HINT_STEP_EXCLUDES_NEW = (
    "The new token does not attend to itself: its query sees only the keys and values of the earlier "
    "positions. Append the new key and value to the cache first, then attend over all of them (position "
    "t sees the keys 0..t, itself included)."
)
HINT_STEP_SELF_ONLY = (
    "The new token attends only to itself: attend over all the cached keys and values plus the new ones."
)


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def _existing(*paths: str) -> list[str]:
    """The dotted names among ``paths`` that resolve, plus the defining module's name of each function
    (so that a function the package moved, and re-exports at its old path, is forbidden in both places)."""
    import importlib

    found: list[str] = []
    for path in paths:
        module_name, _, attr = path.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            continue
        found.append(path)
        home = getattr(obj, "__module__", None)
        if isinstance(home, str) and home != module_name and f"{home}.{attr}" not in found:
            try:
                if getattr(importlib.import_module(home), attr, None) is obj:
                    found.append(f"{home}.{attr}")
            except ImportError:
                pass
    return list(dict.fromkeys(found))


#: What the causal-attention exercise builds by hand: the built-in and the package's own versions.
_ATTENTION_BUILTINS = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "tfmcourse.attention.scaled_dot_product_attention",
    "tfmcourse.attention.masked_softmax",
)
#: What the top-k exercise builds by hand: the package's sampler filter.
_TOPK_BUILTINS = ("tfmcourse.sampling.filter_logits",)


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
    d_head = d // heads
    if mistake == "split_no_transpose":  # (b, s, d) reshaped straight to (b, h, s, d_head)
        q, k, v = (t.reshape(b, heads, s, d_head) for t in (q, k, v))
    else:
        pattern = "b s (d h) -> b h s d" if mistake == "heads_dh" else "b s (h d) -> b h s d"
        q, k, v = (rearrange(t, pattern, h=heads) for t in (q, k, v))
    scale = {"d_model": 1 / math.sqrt(d), "no_scale": 1.0}.get(mistake, 1 / math.sqrt(d_head))
    scores = q @ k.transpose(-2, -1) * scale
    ones = torch.ones(s, s, dtype=torch.bool)
    mask = {
        "no_mask": ones,
        "inverted": ~ones.tril(),
        "no_diagonal": ones.tril(-1),
        "inverted_diag": ones.triu(),
    }.get(mistake, ones.tril())
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=-2 if mistake == "axis" else -1))
    if mistake == "merge_no_transpose":  # (b, h, s, d_head) reshaped straight to (b, s, d)
        o = (weights @ v).reshape(b, s, d)
    else:
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
    "merge_no_transpose": HINT_MERGE_NO_TRANSPOSE,
    "split_no_transpose": HINT_SPLIT_NO_TRANSPOSE,
}


@checker
def causal_self_attention(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, w_qkv, w_o, num_heads) -> (batch, seq, d_model)``: GPT's causal multi-head
    self-attention, ``q, k, v`` = the three ``d_model``-wide column blocks of ``x @ w_qkv``, heads of
    width ``d_head``, scores scaled by ``1/sqrt(d_head)``, position ``i`` attending to ``j <= i``,
    heads merged and multiplied by ``w_o`` (no biases)."""
    g = _gen(2091)
    cases = []
    for b, s, d, h in [(2, 5, 12, 3), (1, 7, 8, 2), (3, 4, 8, 1)]:
        cases.append(
            (
                _randn(b, s, d, g=g),
                _randn(d, 3 * d, g=g, scale=1.5 / math.sqrt(d)),
                _randn(d, d, g=g, scale=1 / math.sqrt(d)),
                h,
            )
        )
    for x, w_qkv, w_o, h in cases:
        where = f"causal_self_attention(x {tuple(x.shape)}, w_qkv {tuple(w_qkv.shape)}, w_o, num_heads={h})"
        want = _causal_variant(x, w_qkv, w_o, h)  # the reference first, then the learner's function
        with forbidden(fn, *_existing(*_ATTENTION_BUILTINS)):
            got = run(fn, x, w_qkv, w_o, h)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return only the output tensor.")
        if isinstance(got, Tensor) and torch.isnan(got).any():
            raise ExerciseError(
                f"{where} contains NaN: a query row whose keys are all masked gives softmax(-inf, ..., "
                "-inf). "
                f"{HINT_NO_DIAGONAL if torch.isnan(got[:, 0]).any() else HINT_MASK_INVERTED}"
            )
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _CAUSAL_MISTAKES, lambda m: _causal_variant(x, w_qkv, w_o, h, m))
        _fail(
            got,
            want,
            where,
            hint
            or "Split x @ w_qkv into q | k | v, split heads, scale by 1/sqrt(d_head), "
            "mask the future, softmax over the keys, merge heads, multiply by w_o.",
        )
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
    return bool(
        torch.equal(torch.isfinite(got), kept)
        and (got[~kept] < 0).all()
        and torch.allclose(got[kept].to(want.dtype), want[kept])
    )


@checker
def top_k_logits(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(logits, k)``: ``(batch, vocab) -> (batch, vocab)``, each row's ``k`` largest logits
    unchanged and every other entry ``-inf``. Calling the package's ``filter_logits`` does not count."""
    g = _gen(2092)
    cases = [
        (_randn(4, 10, g=g, scale=2.0), 3),
        (_randn(3, 7, g=g, scale=2.0) - 5.0, 2),
        (_randn(2, 6, g=g), 1),
        (_randn(2, 5, g=g), 5),
    ]
    for logits, k in cases:
        where = f"top_k_logits(logits {tuple(logits.shape)}, k={k})"
        want = _top_k_variant(logits, k)  # the reference first, then the learner's function
        with forbidden(fn, *_existing(*_TOPK_BUILTINS)):
            got = run(fn, logits, k)
        if _same_filtered(got, want):
            continue
        hint = ""
        if isinstance(got, Tensor) and not (got.is_floating_point() or got.is_complex()):
            hint = HINT_TOPK_INTEGER.format(dtype=got.dtype)
        elif isinstance(got, Tensor):
            for mistake, h in _TOPK_MISTAKES.items():
                mutant = _top_k_variant(logits, k, mistake)
                if _same_filtered(got, mutant) if mistake not in ("zero", "probs") else is_close(got, mutant):
                    hint = h
                    break
            removed = ~torch.isfinite(want)
            if not hint and got.shape == want.shape and removed.any() and torch.isfinite(got).all():
                kept_same = torch.allclose(got[~removed].to(want.dtype), want[~removed])
                if kept_same and (got[removed] <= -1e4).all():
                    hint = HINT_TOPK_BIG_NEGATIVE
                elif kept_same and (got[removed] == 0).all():
                    hint = HINT_TOPK_ZERO
                elif torch.allclose(got.to(want.dtype), logits):
                    hint = HINT_TOPK_NOTHING_REMOVED
        hint = hint or (
            "Find the k-th largest value of each row (torch.topk(logits, k, dim=-1)) and set the "
            "logits below it to -inf."
        )
        if isinstance(got, Tensor) and tuple(got.shape) == tuple(want.shape):
            kept = torch.isfinite(got).sum(-1).tolist() if got.is_floating_point() else "?"
            raise ExerciseError(
                f"{where} is wrong: each row should keep {k} finite logits, yours keep {kept}. {hint}"
            )
        _fail(got, want, where, hint)
    passed("top_k_logits", f"{len(cases)} cases")


# ------------------------------------------------------------------------------ 3. KV cache


def _step_variant(
    x_new: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor, cache: dict, mistake: str = ""
) -> Tensor | None:
    """One single-head attention step with a (correctly updated) cache, the attention written with
    one ``mistake``; ``None`` where the mistake gives no output to compare (no earlier key at t = 0)."""
    q, k, v = x_new @ w_q, x_new @ w_k, x_new @ w_v
    past_k, past_v = cache.get("k"), cache.get("v")
    if past_k is not None:
        k, v = torch.cat([past_k, k], dim=1), torch.cat([past_v, v], dim=1)
    cache["k"], cache["v"] = k, v
    if mistake == "excludes_new":  # attends over the earlier positions only
        if past_k is None:
            return None
        k, v = past_k, past_v
    if mistake == "self_only":
        k, v = k[:, -1:], v[:, -1:]
    scale = 1.0 if mistake == "no_scale" else 1 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(1, 2) * scale
    if mistake == "first_only":  # a (1, t) causal mask aligned top-left: only key 0 is allowed
        scores[..., 1:] = float("-inf")
    return torch.softmax(scores, dim=-1) @ v


#: The attention mistakes, in the order their hints are preferred when several explain the outputs.
_STEP_MISTAKES = {
    "self_only": HINT_STEP_SELF_ONLY,
    "excludes_new": HINT_STEP_EXCLUDES_NEW,
    "first_only": HINT_STEP_FIRST_ONLY,
    "no_scale": HINT_STEP_NO_SCALE,
}


@checker
def attention_step(fn: Callable[[Tensor, Tensor, Tensor, Tensor, dict], Tensor]) -> None:
    """Check ``fn(x_new, w_q, w_k, w_v, cache) -> (batch, 1, d)``: one step of single-head causal
    self-attention with a KV cache. ``cache`` is a dict, empty before the first step; after each step
    ``cache["k"]`` and ``cache["v"]`` must be ``(batch, t, d)``, the keys ``x @ w_k`` and values
    ``x @ w_v`` of the ``t`` positions fed so far, in order. Fed one position at a time, the outputs
    must equal full causal attention over the sequence.

    The cache is checked at every step (a wrong cache fails at once). A wrong output does not stop the
    sequence: the outputs of all steps are compared with every known mistake, and the hint names the
    mistake that explains all of them (at one step, "attends only to the first key" and "does not
    attend to itself" give the same output; over a sequence they differ)."""
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
        shadows: dict[str, dict] = {m: {} for m in _STEP_MISTAKES}  # the caches of the mistaken variants
        wrong: list[tuple[str, Any, Tensor]] = []  # (where, got, want) of every wrong output
        explains = {m: True for m in _STEP_MISTAKES}  # the mistakes that explain every output so far
        for t in range(s):
            where = f"attention_step at position {t} (batch {b}, d {d})"
            before = {k: v.clone() for k, v in cache.items() if isinstance(v, Tensor)}
            mutants = {
                m: _step_variant(x[:, t : t + 1], w_q, w_k, w_v, shadows[m], m) for m in _STEP_MISTAKES
            }
            try:
                got = run(fn, x[:, t : t + 1], w_q, w_k, w_v, cache)
            except ExerciseError as e:
                ck = cache.get("k")
                if isinstance(ck, Tensor) and ck.ndim == 3 and (ck.shape[0] != b or ck.shape[-1] != d):
                    raise ExerciseError(f"{where}: {HINT_STEP_AXIS}\n  ({e})") from None
                raise
            want = full[:, t : t + 1]
            ck, cv = cache.get("k"), cache.get("v")
            if not isinstance(ck, Tensor) or not isinstance(cv, Tensor):
                raise ExerciseError(
                    f"{where}: cache has no tensors 'k' and 'v' after the step. {HINT_STEP_NOT_STORED}"
                )
            if ck.ndim != 3 or ck.shape[0] != b or ck.shape[-1] != d:
                raise ExerciseError(
                    f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}. "
                    f"{HINT_STEP_AXIS}"
                )
            if "k" in before and tuple(ck.shape) == tuple(before["k"].shape) and torch.equal(ck, before["k"]):
                raise ExerciseError(f"{where}: {HINT_STEP_NOT_STORED}")
            if tuple(ck.shape) == (b, 1, d) and t > 0:
                raise ExerciseError(
                    f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}. "
                    f"{HINT_STEP_ONLY_NEW}"
                )
            if tuple(ck.shape) != (b, t + 1, d):
                raise ExerciseError(
                    f"{where}: cache['k'] has shape {tuple(ck.shape)}, expected {(b, t + 1, d)}."
                )
            if not is_close(ck, keys[:, : t + 1]):
                if is_close(ck, keys[:, : t + 1].flip(1)):
                    raise ExerciseError(f"{where}: {HINT_STEP_PREPEND}")
                if is_close(ck, values[:, : t + 1]):
                    raise ExerciseError(f"{where}: {HINT_STEP_SWAPPED}")
                raise ExerciseError(f"{where}: cache['k'] should hold x @ w_k of positions 0..{t}, in order.")
            if not (tuple(cv.shape) == (b, t + 1, d) and is_close(cv, values[:, : t + 1])):
                hint = (
                    HINT_STEP_SWAPPED
                    if tuple(cv.shape) == (b, t + 1, d) and is_close(cv, keys[:, : t + 1])
                    else ""
                )
                raise ExerciseError(
                    f"{where}: cache['v'] should hold x @ w_v of positions 0..{t}, in order. {hint}".strip()
                )
            right = isinstance(got, Tensor) and is_close(got, want)
            for m, mutant in mutants.items():
                if mutant is not None:
                    explains[m] = explains[m] and isinstance(got, Tensor) and is_close(got, mutant)
            if not right:
                wrong.append((where, got, want))
        if wrong:
            # The cache was right at every step, so only the attention itself can be wrong.
            where, got, want = wrong[0]
            hint = next((_STEP_MISTAKES[m] for m in _STEP_MISTAKES if explains[m]), "")
            _fail(
                got,
                want,
                f"the output of {where}",
                hint
                or "q = x_new @ w_q attends over all the cached keys "
                "and values (new ones included) with scores scaled by 1/sqrt(d).",
            )
    passed("attention_step", "two sequences fed one position at a time, cache checked at every step")
