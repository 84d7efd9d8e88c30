"""Checkers for chapter 0: a warm-up exercise that shows how every checker in the book behaves."""

from __future__ import annotations

from typing import Callable

import torch

from . import ExerciseError, expect_close, expect_shape, is_close, passed, run

__all__ = ["softmax"]


def softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(x) -> softmax of x over the last axis`` (any shape ``(..., n)``)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    want = torch.softmax(x, dim=-1)
    got = run(fn, x)
    expect_shape(got, tuple(want.shape), "softmax(x) for x of shape (3, 4, 5)")
    got = got.to(torch.float64)
    if is_close(got, torch.softmax(x, dim=0)) or is_close(got, torch.softmax(x, dim=1)):
        raise ExerciseError("The values are normalised along the wrong axis: each row along the LAST axis "
                            "(dim=-1) should sum to 1.")
    if is_close(got, x.exp()):
        raise ExerciseError("You exponentiated but did not divide by the sum: the outputs must sum to 1.")
    expect_close(got, want, "softmax(x)", hint="softmax(x)_i = exp(x_i) / sum_j exp(x_j) along the last axis.")
    # Large scores: exp(1000) overflows to inf and inf / inf is NaN, unless the maximum is subtracted first.
    big = torch.tensor([[1000.0, 999.0, 998.0]], dtype=torch.float64)
    got_big = run(fn, big)
    if not torch.isfinite(got_big).all():
        raise ExerciseError("softmax([1000, 999, 998]) gave inf or NaN: exp(1000) overflows. Subtract the "
                            "maximum of each row before exponentiating; it cancels in the ratio.")
    expect_close(got_big.to(torch.float64), torch.softmax(big, dim=-1), "softmax([1000, 999, 998])")
    passed("softmax", "right axis, sums to 1, stable for large inputs")
