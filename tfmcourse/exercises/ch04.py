"""Checkers for the exercises of chapter 4 (position).

Each checker runs the learner's function on a few cases and compares it with the package's reference
(:func:`tfmcourse.positional.sinusoidal_table`, :func:`tfmcourse.positional.apply_rotary`). When the
answer is wrong, it also computes what each common mistake would have given (sin and cos swapped,
exponent ``i/d`` instead of ``2i/d``, positions off by one, the wrong pairs rotated, rotation in the
wrong direction, ...) and, if the learner's answer matches one, names that mistake in the hint::

    from tfmcourse.exercises import ch04 as check
    check.sinusoidal_table(sinusoidal_table)
    check.apply_rope(apply_rope)
    check.alibi_bias(alibi_bias)

The checkers run the learner's function with the package's answers (``positional.sinusoidal_table``,
``positional.apply_rotary``, ``positional.rope_angles``) replaced by functions that refuse, and leave
the learner's random state as they found it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail
from tfmcourse.positional import apply_rotary as _ref_apply_rotary
from tfmcourse.positional import rope_angles as _ref_rope_angles
from tfmcourse.positional import sinusoidal_table as _ref_sinusoidal_table

__all__ = ["sinusoidal_table", "apply_rope", "alibi_bias"]

BASE = 10000.0

# ---------------------------------------------------------------------------------------- hints

HINT_SWAPPED = "sin and cos are swapped: sin goes to the even dimensions 2i, cos to the odd ones 2i + 1."
HINT_EXP_I = (
    "The frequencies fall too slowly: you used the exponent i / d_model with i the pair index. The "
    "exponent is 2i / d_model: pair i (dimensions 2i and 2i + 1) uses pos / 10000^(2i / d_model)."
)
HINT_EXP_J = (
    "The odd (cos) dimensions use the wrong frequency: you used 10000^(j / d_model) with j the dimension "
    "index, so dimension 2i + 1 got exponent (2i + 1) / d_model. Both dimensions of pair i share the "
    "exponent 2i / d_model (e.g. torch.arange(0, d_model, 2) / d_model)."
)
HINT_OFF_BY_ONE_TABLE = (
    "The positions are off by one: row 0 is position 0 (sin 0 = 0, cos 0 = 1), so use torch.arange(max_len)."
)
HINT_HALVES = (
    "You put all the sines in the first half and all the cosines in the second half. In Vaswani et al.'s "
    "table they are interleaved: sin at dimension 2i, cos at 2i + 1 (e.g. table[:, 0::2] = sin, "
    "table[:, 1::2] = cos)."
)
HINT_MULTIPLY = (
    "You multiplied the position by 10000^(2i / d_model); divide by it (the frequencies fall from 1 "
    "towards 1/10000)."
)
HINT_DEGREES = (
    "The angle is in radians: use torch.sin / torch.cos on pos / 10000^(2i / d_model) directly, with no "
    "conversion."
)

HINT_PAIRS = (
    "You rotated the wrong pairs: you paired dimensions (2i, 2i + 1), as in the RoFormer paper. This "
    "exercise uses the half-split pairing of GPT-NeoX and Llama: dimension i goes with dimension "
    "i + d / 2 (a = x[..., :d//2], b = x[..., d//2:])."
)
HINT_DIRECTION = (
    "The rotation goes the wrong way (clockwise): (a, b) turns into (a cos - b sin, a sin + b cos), a "
    "counter-clockwise turn by +theta. Check the signs of the sin terms."
)
HINT_OFF_BY_ONE_ROPE = (
    "The positions are off by one: use the positions you are given as they are (the first token of a "
    "sequence is at position 0)."
)
HINT_IGNORED = (
    "Your rotation does not use the `positions` argument: it gives the right answer only when the "
    "positions are 0, 1, 2, ... Compute the angles from `positions` (positions[:, None] * freqs)."
)
HINT_EXP_I_ROPE = (
    "The frequencies are wrong: pair i turns by 10000^(-2i / d) per position (the exponent is 2i / d "
    "with i = 0 .. d/2 - 1, the same frequencies as the sinusoidal table), not 10000^(-i / d)."
)
HINT_ONE_FREQ = "Every pair turns at the same speed: pair i must use its own frequency 10000^(-2i / d)."
HINT_NO_SIN = (
    "Only the cos part is there: a rotation mixes the two dimensions of a pair, (a cos - b sin, a sin + b "
    "cos)."
)
HINT_ALIBI_SIGN = (
    "The bias has the wrong sign: ALiBi *penalises* far keys, so bias[h, i, j] = -m_h * |i - j| (zero on "
    "the diagonal, more and more negative away from it)."
)
HINT_ALIBI_NO_ABS = (
    "You used i - j (or j - i) without the absolute value: keys on one side then get a bonus instead of "
    "a penalty. The bias depends on the distance, -m_h * |i - j|."
)
HINT_ALIBI_SLOPE_FROM_0 = (
    "The slopes start at the wrong head: head h (counting from 0) has m_h = 2^(-8 (h + 1) / num_heads), "
    "so the first head's slope is 2^(-8 / num_heads), not 1."
)
HINT_ALIBI_REVERSED = (
    "The slopes are in reverse order: the first head has the steepest slope, 2^(-8 / num_heads)."
)
HINT_ALIBI_ONE_SLOPE = (
    "Every head has the same slope: head h has its own m_h = 2^(-8 (h + 1) / num_heads), so that some "
    "heads look far and others near."
)
HINT_ALIBI_SHAPE = "Return one (seq_len, seq_len) bias per head: shape (num_heads, seq_len, seq_len)."
HINT_BATCH = (
    "Your function works on (seq, d) but not with leading axes such as (batch, heads, seq, d): index the "
    "last axis with x[..., :half] and let cos / sin of shape (seq, d/2) broadcast."
)


# ------------------------------------------------------------------------ cases and mistakes


def _table_variant(max_len: int, d_model: int, mistake: str = "") -> Tensor:
    """The sinusoidal table written with one plausible ``mistake`` ("" gives the right answer), float64."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    if mistake == "off_by_one":
        pos = pos + 1
    j = torch.arange(d_model, dtype=torch.float64)  # dimension index
    pair = torch.div(j, 2, rounding_mode="floor")  # pair index i of dimension j
    exponent = {"exp_i": pair / d_model, "exp_j": j / d_model}.get(mistake, 2 * pair / d_model)
    angle = pos * BASE**exponent if mistake == "multiply" else pos / BASE**exponent
    if mistake == "degrees":
        angle = torch.deg2rad(angle)
    even = j % 2 == 0
    if mistake == "swapped":
        even = ~even
    if mistake == "halves":  # sin of the pairs' angles, then cos of them
        half = pos / BASE ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
        return torch.cat([half.sin(), half.cos()], dim=-1)
    return torch.where(even, angle.sin(), angle.cos())


_TABLE_MISTAKES = {
    "swapped": HINT_SWAPPED,
    "exp_i": HINT_EXP_I,
    "exp_j": HINT_EXP_J,
    "off_by_one": HINT_OFF_BY_ONE_TABLE,
    "halves": HINT_HALVES,
    "multiply": HINT_MULTIPLY,
    "degrees": HINT_DEGREES,
}


def _rope_variant(x: Tensor, positions: Tensor, mistake: str = "") -> Tensor:
    """RoPE (half-split pairs) written with one plausible ``mistake`` ("" gives the right answer)."""
    d = x.shape[-1]
    if mistake == "off_by_one":
        positions = positions + 1
    if mistake == "ignored":
        positions = torch.arange(x.shape[-2])
    if mistake == "exp_i":
        theta = positions.double()[:, None] * BASE ** (-torch.arange(d // 2, dtype=torch.float64) / d)
    elif mistake == "one_freq":
        theta = positions.double()[:, None].expand(-1, d // 2)
    else:
        theta = _ref_rope_angles(positions, d, BASE)
    cos, sin = theta.cos(), theta.sin()
    if mistake == "direction":
        sin = -sin
    if mistake == "no_sin":
        sin = torch.zeros_like(sin)
    return _ref_apply_rotary(x, cos, sin, interleaved=mistake == "pairs")


def _alibi_variant(seq_len: int, num_heads: int, mistake: str = "") -> Tensor:
    """The ALiBi bias ``(num_heads, seq_len, seq_len)`` written with one plausible ``mistake``."""
    h = torch.arange(num_heads, dtype=torch.float64)
    exponent = {"slope_from_0": h, "reversed": num_heads - h, "one_slope": torch.ones_like(h)}.get(
        mistake, h + 1
    )
    slopes = 2.0 ** (-8.0 * exponent / num_heads)
    i = torch.arange(seq_len, dtype=torch.float64)
    offset = i[:, None] - i[None, :]
    dist = offset if mistake == "no_abs" else offset.abs()
    bias = -slopes[:, None, None] * dist
    return -bias if mistake == "sign" else bias


_ALIBI_MISTAKES = {
    "sign": HINT_ALIBI_SIGN,
    "no_abs": HINT_ALIBI_NO_ABS,
    "slope_from_0": HINT_ALIBI_SLOPE_FROM_0,
    "reversed": HINT_ALIBI_REVERSED,
    "one_slope": HINT_ALIBI_ONE_SLOPE,
}


_ROPE_MISTAKES = {
    "pairs": HINT_PAIRS,
    "direction": HINT_DIRECTION,
    "off_by_one": HINT_OFF_BY_ONE_ROPE,
    "ignored": HINT_IGNORED,
    "exp_i": HINT_EXP_I_ROPE,
    "one_freq": HINT_ONE_FREQ,
    "no_sin": HINT_NO_SIN,
}


def _not_the_package(fn: Callable[..., Any], package_fn: Callable[..., Any], path: str) -> None:
    """Refuse the package's own function passed as the answer (forbidden() catches calls inside fn)."""
    if fn is package_fn:
        raise ExerciseError(f"Write it yourself, without {path}: you passed the package's function itself.")


_PACKAGE_TABLE = "tfmcourse.positional.sinusoidal_table"
_PACKAGE_ROPE = ("tfmcourse.positional.apply_rotary", "tfmcourse.positional.rope_angles")


# -------------------------------------------------------------------------------- checkers


@checker
def sinusoidal_table(fn: Callable[[int, int], Tensor]) -> None:
    """Check ``fn(max_len, d_model) -> (max_len, d_model)``, the sinusoidal table of Vaswani et al.:
    ``PE[pos, 2i] = sin(pos / 10000^(2i/d_model))``, ``PE[pos, 2i+1] = cos(pos / 10000^(2i/d_model))``."""
    _not_the_package(fn, _ref_sinusoidal_table, _PACKAGE_TABLE)
    cases = [(6, 4), (50, 16), (3, 2)]
    for max_len, d_model in cases:
        want = _ref_sinusoidal_table(max_len, d_model, BASE, dtype=torch.float64)
        with forbidden(fn, _PACKAGE_TABLE):
            got = run(fn, max_len, d_model)
        if is_close(got, want):
            continue
        hint = _diagnose(got, _TABLE_MISTAKES, lambda m: _table_variant(max_len, d_model, m))
        _fail(
            got,
            want,
            f"sinusoidal_table({max_len}, {d_model})",
            hint or "Row pos, dimensions 2i and 2i + 1: sin and cos of pos / 10000^(2i / d_model).",
        )
    passed("sinusoidal_table", f"{len(cases)} cases")


@checker
def apply_rope(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(x, positions) -> x rotated``: ``x`` is ``(..., seq, d)``, ``positions`` ``(seq,)`` long;
    half-split pairs (dimension ``i`` with ``i + d/2``) turned counter-clockwise by
    ``positions * 10000^(-2i/d)``."""
    g = torch.Generator().manual_seed(2024)
    cases = [
        (
            "(seq, d) at positions 0 .. 4",
            torch.randn(5, 8, generator=g, dtype=torch.float64),
            torch.arange(5),
        ),
        (
            "(seq, d) at positions 7 .. 12",
            torch.randn(6, 4, generator=g, dtype=torch.float64),
            torch.arange(7, 13),
        ),
        (
            "(seq, d) at unordered positions",
            torch.randn(4, 6, generator=g, dtype=torch.float64),
            torch.tensor([3, 0, 11, 3]),
        ),
        (
            "(batch, heads, seq, d)",
            torch.randn(2, 3, 5, 8, generator=g, dtype=torch.float64),
            torch.arange(2, 7),
        ),
    ]
    for name, x, positions in cases:
        where = f"apply_rope on the case {name} (x {tuple(x.shape)}, positions {positions.tolist()})"
        want = _rope_variant(x, positions)
        try:
            with forbidden(fn, *_PACKAGE_ROPE):
                got = run(fn, x, positions)
        except ExerciseError as e:
            if x.ndim > 2 and "Write it yourself" not in e.english:
                raise ExerciseError(f"{HINT_BATCH}\n  ({e})") from None
            raise
        if is_close(got, want):
            continue
        hint = _diagnose(got, _ROPE_MISTAKES, lambda m: _rope_variant(x, positions, m))
        if not hint and x.ndim > 2 and isinstance(got, Tensor) and tuple(got.shape) != tuple(x.shape):
            hint = HINT_BATCH
        _fail(
            got,
            want,
            where,
            hint
            or "Split x into a = x[..., :d/2] and b = x[..., d/2:], compute theta = positions[:, None] * "
            "10000^(-2i/d), and return cat(a cos - b sin, a sin + b cos).",
        )
    # the property the chapter is about, as a last sanity check (it follows from the cases above)
    q, k = torch.randn(2, 1, 8, generator=g, dtype=torch.float64)
    with forbidden(fn, *_PACKAGE_ROPE):
        scores = [
            float((run(fn, q, torch.tensor([m])) * run(fn, k, torch.tensor([m - 3]))).sum())
            for m in (3, 10, 50)
        ]
    if not (abs(scores[0] - scores[1]) < 1e-6 and abs(scores[0] - scores[2]) < 1e-6):
        raise ExerciseError(
            "q . k after your rotation depends on the absolute positions, not only on their difference."
        )
    passed("apply_rope", f"{len(cases)} cases; q . k depends only on the relative position")


@checker
def alibi_bias(fn: Callable[[int, int], Tensor]) -> None:
    """Check ``fn(seq_len, num_heads) -> (num_heads, seq_len, seq_len)``, the ALiBi bias (symmetric form):
    ``bias[h, i, j] = -m_h * |i - j|`` with slopes ``m_h = 2^(-8 (h + 1) / num_heads)``,
    ``h = 0 .. num_heads-1``."""
    cases = [(5, 4), (7, 8), (3, 2), (6, 1)]
    for seq_len, num_heads in cases:
        want = _alibi_variant(seq_len, num_heads)
        got = run(fn, seq_len, num_heads)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _ALIBI_MISTAKES, lambda m: _alibi_variant(seq_len, num_heads, m))
        if (
            not hint
            and isinstance(got, Tensor)
            and got.numel() == want.numel()
            and tuple(got.shape) != tuple(want.shape)
        ):
            hint = HINT_ALIBI_SHAPE
        _fail(
            got,
            want,
            f"alibi_bias({seq_len}, {num_heads})",
            hint or "bias[h, i, j] = -m_h * |i - j| with m_h = 2^(-8 (h + 1) / num_heads).",
        )
    passed("alibi_bias", f"{len(cases)} cases")
