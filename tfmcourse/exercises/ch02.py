"""Checkers for the exercises of chapter 2 (attention and self-attention).

Each checker runs the learner's function on a few small cases (float64, seeded) and compares it with
the package's reference. When the answer is wrong, it also computes what each common mistake would
have produced (no scale, softmax over the wrong axis, mask sense inverted, NaN on a fully masked row,
...) and, if the learner's answer matches one of them, names that mistake in the hint::

    from tfmcourse.exercises import ch02 as check
    check.attention_scores(attention_scores)
    check.masked_softmax(masked_softmax)
    check.attention(attention)
    check.additive_attention(additive_attention)

Every checker computes its references first, on its own tensors, and then runs the learner's function
with the functions it re-implements forbidden (PyTorch's ``scaled_dot_product_attention`` and the
package's own ``masked_softmax`` / ``scaled_dot_product_attention`` / ``AdditiveAttention``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from tfmcourse.attention import masked_softmax as _ref_masked_softmax
from tfmcourse.attention import scaled_dot_product_attention as _ref_attention
from tfmcourse.exercises import (
    ExerciseError,
    _unusable,
    checker,
    expect_close,
    forbidden,
    is_close,
    passed,
    run,
)

__all__ = ["attention_scores", "masked_softmax", "attention", "additive_attention"]

#: Functions that already compute what the exercises build: calling them inside an exercise fails.
FORBIDDEN_SOFTMAX = ("tfmcourse.attention.masked_softmax",)
FORBIDDEN_ATTENTION = (
    "torch.nn.functional.scaled_dot_product_attention",
    "tfmcourse.attention.scaled_dot_product_attention",
    "tfmcourse.attention.masked_softmax",
    "tfmcourse.attention.AdditiveAttention",
)

_INF = float("-inf")

# ---------------------------------------------------------------------------------------- hints

HINT_NO_SCALE = "The scores are not scaled: divide q @ k^T by sqrt(d_k), where d_k = q.shape[-1]."
HINT_BY_D = "You divided by d_k; the scale is 1 / sqrt(d_k): divide by math.sqrt(d_k)."
HINT_TIMES = "You multiplied by sqrt(d_k); divide by it instead."
HINT_SEQ = (
    "You divided by the square root of a sequence length: d_k is the width of the vectors, the last "
    "axis of q (q.shape[-1]), not the number of tokens."
)
HINT_SCORES_T = (
    "Your scores are transposed: rows are queries and columns keys, i.e. q @ k^T with shape "
    "(..., seq_q, seq_k), not k @ q^T."
)
HINT_Q_TWICE = "You compared q with itself (q @ q^T): the scores compare each query with each key, q @ k^T."
HINT_BATCH = (
    "Your function works on 2-D inputs but not with leading batch axes such as (batch, heads, seq, d). "
    "Transpose only the last two axes, k.transpose(-2, -1) (k.T reverses all of them), or use "
    "torch.einsum('...qd,...kd->...qk', q, k)."
)
HINT_AXIS = (
    "The softmax runs over the wrong axis: it must run over the keys, the last axis (dim=-1), so that "
    "each query's row of weights sums to 1."
)
HINT_INVERTED = (
    "The mask sense is inverted: True means 'may attend', so the scores to fill with -inf are where the "
    "mask is False (masked_fill(~mask, ...))."
)
HINT_FILL_ZERO = (
    "Masked keys still get weight: filling their scores with 0 does not remove them (exp(0) = 1). Fill "
    "them with float('-inf') before the softmax."
)
HINT_AFTER = (
    "Masked keys have weight 0, but the rows no longer sum to 1: you zeroed the weights after the "
    "softmax without renormalising. Fill the masked scores with -inf before the softmax instead."
)
HINT_NAN = (
    "A row whose keys are all masked gives NaN: softmax over a row of -inf is 0/0. Such a row must get "
    "zero weights: e.g. replace them afterwards (torch.nan_to_num, or masked_fill where "
    "mask.any(dim=-1, keepdim=True) is False)."
)
HINT_UNIFORM = (
    "A row whose keys are all masked gets uniform weights 1/seq_k (what a large negative fill value such "
    "as -1e9 gives). Such a query may look at no key: its weights must all be 0."
)
HINT_BROADCAST = (
    "Your function fails when the mask only broadcasts to the scores (e.g. a padding mask of shape "
    "(batch, 1, seq_k) for scores (batch, seq_q, seq_k)). Use operations that broadcast, such as "
    "scores.masked_fill(~mask, ...), and keepdim=True when you reduce over the keys."
)
HINT_NOT_PAIR = "Return a pair (out, weights), in that order."
HINT_SWAPPED = "You returned (weights, out); return (out, weights)."
HINT_OUT_T = "out is transposed: it is weights @ v, of shape (..., seq_q, d_v)."
HINT_OUT = "The weights are right but out is not: out is the weighted sum of the values, weights @ v."

# ------------------------------------------------------------------------ cases and mistakes


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _mixed_mask(*shape: int, g: torch.Generator) -> Tensor:
    """A random boolean mask where every row (last axis) has at least one True and one False."""
    mask = torch.rand(*shape, generator=g) < 0.5
    n = shape[-1]
    first = torch.randint(0, n, shape[:-1], generator=g)
    second = (first + torch.randint(1, n, shape[:-1], generator=g)) % n
    mask.scatter_(-1, first.unsqueeze(-1), True)
    mask.scatter_(-1, second.unsqueeze(-1), False)
    return mask


def _softmax_variant(scores: Tensor, mask: Tensor | None, mistake: str = "") -> Tensor:
    """Masked softmax as written with one plausible ``mistake`` ("" gives the right answer)."""
    dim = -2 if mistake == "axis" else -1
    if mask is None:
        return torch.softmax(scores, dim=dim)
    keep = ~mask if mistake.startswith("inverted") else mask
    if mistake == "fill_zero":
        return torch.softmax(scores.masked_fill(~keep, 0.0), dim=dim)
    if mistake == "after":
        return torch.softmax(scores, dim=dim) * keep
    if mistake == "uniform":
        return torch.softmax(scores.masked_fill(~keep, -1e9), dim=dim)
    weights = torch.softmax(scores.masked_fill(~keep, _INF), dim=dim)
    if mistake in ("nan", "inverted_nan"):
        return weights
    return torch.nan_to_num(weights, nan=0.0)


def _scores_variant(q: Tensor, k: Tensor, mistake: str = "") -> Tensor:
    """Scaled scores with one plausible ``mistake`` ("" gives the right answer)."""
    d_k = q.shape[-1]
    kt = k.transpose(-2, -1)
    if mistake == "no_scale":
        return q @ kt
    if mistake == "by_d":
        return q @ kt / d_k
    if mistake == "times":
        return q @ kt * math.sqrt(d_k)
    if mistake == "seq_k":
        return q @ kt / math.sqrt(k.shape[-2])
    if mistake == "seq_q":
        return q @ kt / math.sqrt(q.shape[-2])
    if mistake == "transposed":
        return k @ q.transpose(-2, -1) / math.sqrt(d_k)
    if mistake == "q_twice":
        return q @ q.transpose(-2, -1) / math.sqrt(d_k)
    return q @ kt / math.sqrt(d_k)


def _attention_variant(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, mistake: str = ""
) -> tuple[Tensor, Tensor]:
    scores = _scores_variant(q, k, mistake if mistake in _SCORE_MISTAKES else "")
    weights = _softmax_variant(scores, mask, mistake if mistake in _SOFTMAX_MISTAKES else "")
    return weights @ v, weights


_SCORE_MISTAKES = {
    "no_scale": HINT_NO_SCALE,
    "by_d": HINT_BY_D,
    "times": HINT_TIMES,
    "seq_k": HINT_SEQ,
    "seq_q": HINT_SEQ,
    "transposed": HINT_SCORES_T,
    "q_twice": HINT_Q_TWICE,
}
_SOFTMAX_MISTAKES = {
    "axis": HINT_AXIS,
    "inverted": HINT_INVERTED,
    "inverted_nan": HINT_INVERTED,
    "fill_zero": HINT_FILL_ZERO,
    "after": HINT_AFTER,
    "nan": HINT_NAN,
    "uniform": HINT_UNIFORM,
}


def _same(got: Any, want: Tensor) -> bool:
    """``is_close``, but NaN in ``want`` matches NaN in ``got`` (some mistakes produce NaN).

    A tensor without values (meta device) or a complex one never matches a real answer.
    """
    if _unusable(got, want):
        return False
    if torch.isnan(want).any():
        return tuple(got.shape) == tuple(want.shape) and bool(
            torch.allclose(got.to(want.dtype), want, atol=1e-5, rtol=1e-4, equal_nan=True)
        )
    return is_close(got, want)


def _diagnose(got: Any, candidates: dict[str, str], variant: Callable[[str], Tensor]) -> str:
    """The hint of the first mistake whose output equals ``got``, or "" when none does."""
    for mistake, hint in candidates.items():
        try:
            mutant = variant(mistake)
        except RuntimeError:  # this mistake cannot even run on this case (e.g. shapes no longer fit)
            continue
        if _same(got, mutant):
            return hint
    return ""


def _fail(got: Any, want: Tensor, what: str, hint: str) -> None:
    """Raise with ``hint`` (``expect_close`` adds shape / value details)."""
    problem = _unusable(got, want)
    if problem:
        raise ExerciseError(f"{what} {problem}. {hint}".strip())
    if tuple(got.shape) != tuple(want.shape):
        raise ExerciseError(
            f"{what} should have shape {tuple(want.shape)}, "
            f"but it has shape {tuple(got.shape)}. {hint}".strip()
        )
    expect_close(got, want, what, hint)
    raise ExerciseError(f"{what} is wrong. {hint}".strip())  # not reached: expect_close raised


# -------------------------------------------------------------------------------- checkers


@checker
def attention_scores(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(q, k) -> q @ k^T / sqrt(d_k)``, shapes ``(..., seq_q, d_k), (..., seq_k, d_k) -> (...,
    seq_q, seq_k)``."""
    g = _gen(2021)
    cases = [
        ("2-D", _randn(3, 4, g=g), _randn(5, 4, g=g)),
        ("square", _randn(4, 9, g=g), _randn(4, 9, g=g)),
        ("batched (batch, heads, seq, d)", _randn(2, 3, 3, 8, g=g), _randn(2, 3, 6, 8, g=g)),
    ]
    wants = [_scores_variant(q, k) for _, q, k in cases]  # references first
    for i, ((name, q, k), want) in enumerate(zip(cases, wants)):
        try:
            got = run(fn, q, k)
        except ExerciseError as e:
            if i > 0 and q.ndim > 2:
                raise ExerciseError(f"{HINT_BATCH}\n  ({e})") from None
            raise
        if _same(got, want):
            continue
        hint = _diagnose(got, _SCORE_MISTAKES, lambda m: _scores_variant(q, k, m))
        if not hint and q.ndim > 2:
            hint = HINT_BATCH
        _fail(
            got,
            want,
            f"attention_scores on the {name} case (q {tuple(q.shape)}, k {tuple(k.shape)})",
            hint or "Compute q @ k^T (each query dotted with each key), then divide by sqrt(d_k).",
        )
    passed("attention_scores", f"{len(cases)} cases, batched included")


@checker
def masked_softmax(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(scores, mask) -> weights``: softmax over the keys, ``mask`` True = may attend,
    fully masked rows all zeros (no NaN), ``mask`` broadcastable to ``scores``."""
    g = _gen(2022)
    full = _mixed_mask(4, 6, g=g)
    full[1] = False  # query 1 may attend to nothing
    full[3] = True  # query 3 may attend to everything
    cases = [
        ("no key masked", _randn(3, 5, g=g) * 2, torch.ones(3, 5, dtype=torch.bool)),
        ("some keys masked", _randn(3, 5, g=g) * 2, _mixed_mask(3, 5, g=g)),
        ("batched", _randn(2, 4, 5, g=g) * 2, _mixed_mask(2, 4, 5, g=g)),
        ("a fully masked row (query 1)", _randn(4, 6, g=g) * 2, full),
        (
            "a broadcast padding mask (batch, 1, seq_k)",
            _randn(2, 3, 5, g=g) * 2,
            torch.tensor([[True] * 5, [True, True, True, False, False]]).reshape(2, 1, 5),
        ),
    ]
    wants = [_ref_masked_softmax(scores, mask) for _, scores, mask in cases]  # references first
    for (name, scores, mask), want in zip(cases, wants):
        try:
            with forbidden(fn, *FORBIDDEN_SOFTMAX):
                got = run(fn, scores, mask)
        except ExerciseError as e:
            if mask.shape != scores.shape:
                raise ExerciseError(f"{HINT_BROADCAST}\n  ({e})") from None
            raise
        if _same(got, want):
            continue
        hint = _diagnose(got, _SOFTMAX_MISTAKES, lambda m: _softmax_variant(scores, mask, m))
        _fail(
            got,
            want,
            f"masked_softmax on the case with {name} (scores {tuple(scores.shape)})",
            hint
            or "Fill the scores where mask is False with -inf, softmax over the last axis, and "
            "give rows with no allowed key zero weights.",
        )
    passed("masked_softmax", f"{len(cases)} cases, fully masked row and broadcast mask included")


@checker
def attention(fn: Callable[..., tuple[Tensor, Tensor]]) -> None:
    """Check ``fn(q, k, v, mask=None) -> (out, weights)`` against
    :func:`tfmcourse.attention.scaled_dot_product_attention`."""
    g = _gen(2023)
    full = _mixed_mask(2, 3, 5, g=g)
    full[0, 2] = False  # batch 0, query 2 may attend to nothing
    cases = [
        ("2-D, no mask", _randn(3, 4, g=g), _randn(5, 4, g=g), _randn(5, 2, g=g), None),
        (
            "batched, with a mask",
            _randn(2, 3, 4, g=g),
            _randn(2, 5, 4, g=g),
            _randn(2, 5, 6, g=g),
            _mixed_mask(2, 3, 5, g=g),
        ),
        ("a fully masked row", _randn(2, 3, 4, g=g), _randn(2, 5, 4, g=g), _randn(2, 5, 6, g=g), full),
    ]
    mistakes = {**_SCORE_MISTAKES, **_SOFTMAX_MISTAKES}
    wants = [_ref_attention(q, k, v, mask) for _, q, k, v, mask in cases]  # references first
    for (name, q, k, v, mask), (want_out, want_w) in zip(cases, wants):
        where = f"on the case {name} (q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)})"
        with forbidden(fn, *FORBIDDEN_ATTENTION):
            got = run(fn, q, k, v) if mask is None else run(fn, q, k, v, mask=mask)
        if isinstance(got, Tensor):
            which = "out" if _same(got, want_out) else "the weights" if _same(got, want_w) else "one tensor"
            raise ExerciseError(f"attention returned only {which} {where}. {HINT_NOT_PAIR}")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError(f"attention returned a {type(got).__name__} {where}. {HINT_NOT_PAIR}")
        out, weights = got
        if _same(out, want_w) and _same(weights, want_out):
            raise ExerciseError(f"attention {where}: {HINT_SWAPPED}")
        if not _same(weights, want_w):
            hint = _diagnose(weights, mistakes, lambda m: _attention_variant(q, k, v, mask, m)[1])
            _fail(
                weights,
                want_w,
                f"The weights tensor returned by attention {where}",
                hint
                or "The weights are softmax(q k^T / sqrt(d_k)) over the keys, masked before the softmax.",
            )
        if not _same(out, want_out):
            if _same(out, want_out.transpose(-2, -1)):
                raise ExerciseError(f"out {where} has shape {tuple(out.shape)}: {HINT_OUT_T}")
            _fail(out, want_out, f"out {where}", HINT_OUT)
    passed("attention", f"{len(cases)} cases, masks and a fully masked row included")


# ------------------------------------------------------------------------------ additive attention

HINT_ADD_NO_TANH = (
    "Without the tanh the score is linear, w.(W_q q) + w.(W_k k): the query's part is the same for every key "
    "and cancels in the softmax, so every query gets the same weights. Apply tanh to the sum before w."
)
HINT_ADD_TANH_EACH = (
    "Apply ONE tanh to the sum q W_q + k W_k (a hidden layer over the pair), not a tanh to each part: "
    "tanh(q W_q) + tanh(k W_k) splits into a query part, which cancels in the softmax, and a key part."
)
HINT_ADD_NO_W = "Project the tanh layer with w (score = tanh(...) @ w), instead of summing its units."
HINT_ADD_SCALED = (
    "The additive score is not scaled: do not divide it by sqrt(d) (only the dot product needs that)."
)
HINT_ADD_PAIRS = (
    "Every query must be combined with every key: broadcast q W_q to (..., seq_q, 1, h) and k W_k to "
    "(..., 1, seq_k, h) before adding them (einops: rearrange(qh, '... q h -> ... q 1 h'))."
)
HINT_ADD = (
    "score[i, j] = tanh(q_i W_q + k_j W_k) @ w for every query i and key j; then the masked softmax "
    "over the keys and the weighted sum of the values."
)


def _additive_variant(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    W_q: Tensor,
    W_k: Tensor,
    w: Tensor,
    mask: Tensor | None,
    mistake: str = "",
) -> tuple[Tensor, Tensor]:
    """Additive attention written with one plausible ``mistake`` ("" gives the right answer)."""
    hq = (q @ W_q).unsqueeze(-2)  # (..., seq_q, 1, h)
    hk = (k @ W_k).unsqueeze(-3)  # (..., 1, seq_k, h)
    if mistake == "no_tanh":
        hidden = hq + hk
    elif mistake == "tanh_each":
        hidden = torch.tanh(hq) + torch.tanh(hk)
    else:
        hidden = torch.tanh(hq + hk)
    scores = hidden.sum(-1) if mistake == "no_w" else hidden @ w
    if mistake == "scaled":
        scores = scores / math.sqrt(q.shape[-1])
    weights = _softmax_variant(scores, mask, mistake if mistake in _SOFTMAX_MISTAKES else "")
    return weights @ v, weights


_ADDITIVE_MISTAKES = {
    "no_tanh": HINT_ADD_NO_TANH,
    "tanh_each": HINT_ADD_TANH_EACH,
    "no_w": HINT_ADD_NO_W,
    "scaled": HINT_ADD_SCALED,
    **_SOFTMAX_MISTAKES,
}


@checker
def additive_attention(fn: Callable[..., tuple[Tensor, Tensor]]) -> None:
    """Check ``fn(q, k, v, W_q, W_k, w, mask=None) -> (out, weights)``: additive (Bahdanau) attention with
    ``score[i, j] = tanh(q_i W_q + k_j W_k) @ w``; ``q (..., seq_q, d_q)``, ``k (..., seq_k, d_k)``,
    ``v (..., seq_k, d_v)``, ``W_q (d_q, h)``, ``W_k (d_k, h)``, ``w (h,)``."""
    g = _gen(2024)
    full = _mixed_mask(2, 3, 5, g=g)
    full[1, 0] = False  # batch 1, query 0 may attend to nothing
    cases = []
    for name, batch, seq_q, seq_k, d_q, d_k, d_v, h, mask in [
        ("2-D, d_q != d_k, no mask", (), 3, 5, 4, 6, 2, 8, None),
        ("batched, with a mask", (2,), 3, 5, 3, 3, 4, 6, _mixed_mask(2, 3, 5, g=g)),
        ("a fully masked row", (2,), 3, 5, 5, 2, 3, 4, full),
    ]:
        q, k, v = (
            _randn(*batch, seq_q, d_q, g=g),
            _randn(*batch, seq_k, d_k, g=g),
            _randn(*batch, seq_k, d_v, g=g),
        )
        W_q, W_k, w = _randn(d_q, h, g=g), _randn(d_k, h, g=g), _randn(h, g=g)
        cases.append((name, (q, k, v, W_q, W_k, w), mask))
    wants = [_additive_variant(*args, mask) for _, args, mask in cases]  # references first
    for (name, args, mask), (want_out, want_w) in zip(cases, wants):
        q, k, v = args[:3]
        where = f"on the case {name} (q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)})"
        with forbidden(fn, *FORBIDDEN_ATTENTION):
            got = run(fn, *args) if mask is None else run(fn, *args, mask=mask)
        if isinstance(got, Tensor) or not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError(
                f"additive_attention returned a {type(got).__name__} {where}. {HINT_NOT_PAIR}"
            )
        out, weights = got
        if _same(out, want_w) and _same(weights, want_out):
            raise ExerciseError(f"additive_attention {where}: {HINT_SWAPPED}")
        if not _same(weights, want_w):
            hint = _diagnose(weights, _ADDITIVE_MISTAKES, lambda m: _additive_variant(*args, mask, m)[1])
            if not hint and isinstance(weights, Tensor) and tuple(weights.shape) != tuple(want_w.shape):
                hint = HINT_ADD_PAIRS
            _fail(weights, want_w, f"The weights returned by additive_attention {where}", hint or HINT_ADD)
        if not _same(out, want_out):
            _fail(out, want_out, f"out {where}", HINT_OUT)
    passed("additive_attention", f"{len(cases)} cases: d_q != d_k, batches, masks and a fully masked row")
