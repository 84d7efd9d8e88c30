"""Checkers for chapter 0: a warm-up exercise that shows how every checker in the book behaves.

from tfmcourse.exercises import ch00 as check
check.softmax(softmax)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import ExerciseError, checker, expect_close, expect_shape, forbidden, is_close, passed, run

__all__ = ["softmax"]

#: The built-ins a softmax exercise must not call: it re-implements them.
FORBIDDEN = (
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.special.softmax",
    "torch.Tensor.softmax",
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.special.log_softmax",
    "torch.Tensor.log_softmax",
)

HINT_AXIS = (
    "The values are normalised along the wrong axis: each row along the LAST axis (dim=-1) should sum to 1."
)
HINT_NO_DIVIDE = "You exponentiated but did not divide by the sum: the outputs must sum to 1."
HINT_OVERFLOW = (
    "softmax([1000, 999, 998]) gave inf or NaN: exp(1000) overflows. Subtract the maximum of each "
    "row before exponentiating; it cancels in the ratio."
)
HINT_GLOBAL_MAX = (
    "You subtracted one maximum for the whole tensor, not one per row. A row far below the global maximum "
    "then underflows: every exp(x - max) is 0 and the row becomes 0/0 = NaN. Subtract each row's own "
    "maximum: x.max(dim=-1, keepdim=True).values."
)
HINT_FORMULA = "softmax(x)_i = exp(x_i) / sum_j exp(x_j) along the last axis."


def _global_max_softmax(x: torch.Tensor) -> torch.Tensor:
    """What a softmax that subtracts the maximum of the whole tensor gives (the mistake it names)."""
    e = torch.exp(x - x.max())
    return e / e.sum(dim=-1, keepdim=True)


def _call(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> object:
    """What the learner's ``fn(x)`` returned: anything at all (the checks that follow say what is wrong)."""
    with forbidden(fn, *FORBIDDEN):
        return run(fn, x)


@checker
def softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(x) -> softmax of x over the last axis`` (any shape ``(..., n)``), written by hand.

    Cases: a random ``(3, 4, 5)`` tensor (axis and normalisation), one row of large scores (overflow),
    and rows at very different scales in one tensor (a maximum per row, not one for the whole tensor).
    """
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    big = torch.tensor([[1000.0, 999.0, 998.0]], dtype=torch.float64)
    # rows at very different scales: row 0 sits 1000 below row 2, so a global maximum underflows row 0
    scales = torch.tensor(
        [[-1000.0, -1001.0, -1002.0, -1000.5], [0.5, -0.5, 1.0, 0.0], [1.0, 0.0, 2.0, 1.5]],
        dtype=torch.float64,
    )
    # references first, before the learner's code runs
    want, want_big, want_scales = (torch.softmax(t, dim=-1) for t in (x, big, scales))
    wrong_axes = [torch.softmax(x, dim=0), torch.softmax(x, dim=1)]

    got = _call(fn, x)
    expect_shape(got, tuple(want.shape), "softmax(x) for x of shape (3, 4, 5)")
    if any(is_close(got, w) for w in wrong_axes):
        raise ExerciseError(HINT_AXIS)
    if is_close(got, x.exp()):
        raise ExerciseError(HINT_NO_DIVIDE)
    expect_close(got, want, "softmax(x)", hint=HINT_FORMULA)

    # Large scores: exp(1000) overflows to inf and inf / inf is NaN, unless the maximum is subtracted first.
    got_big = _call(fn, big)
    expect_shape(got_big, tuple(want_big.shape), "softmax([[1000, 999, 998]])")
    if not torch.isfinite(got_big).all():
        raise ExerciseError(HINT_OVERFLOW)
    expect_close(got_big, want_big, "softmax([[1000, 999, 998]])", hint=HINT_FORMULA)

    # Rows at different scales: the maximum must be taken per row.
    got_scales = _call(fn, scales)
    expect_shape(got_scales, tuple(want_scales.shape), "softmax of 3 rows at different scales")
    mutant = _global_max_softmax(scales)
    if not torch.isfinite(got_scales).all() and torch.isnan(mutant).any():
        raise ExerciseError(HINT_GLOBAL_MAX)
    expect_close(
        got_scales,
        want_scales,
        "softmax of 3 rows at different scales (row 0 near -1000)",
        hint=HINT_GLOBAL_MAX if is_close(got_scales.nan_to_num(), mutant.nan_to_num()) else HINT_FORMULA,
    )
    passed("softmax", "right axis, sums to 1, stable for large inputs and for rows at different scales")
