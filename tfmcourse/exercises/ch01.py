"""Checkers for the exercises of chapter 1, "Why Transformers".

    from tfmcourse.exercises import ch01 as check
    check.rnn_step(rnn_step)
    check.path_length(path_length)
"""

from __future__ import annotations

from typing import Callable

import torch

from tfmcourse.baselines import rnn_step as _rnn_step_reference
from tfmcourse.exercises import ExerciseError, expect_close, expect_shape, is_close, passed, run

__all__ = ["rnn_step", "path_length"]


def _rnn_cases() -> list[tuple[torch.Tensor, ...]]:
    """(x_t, h_prev, W_xh, W_hh, b) cases: one with d_in != d_hidden, one square, one with batch 1."""
    g = torch.Generator().manual_seed(1)
    cases = []
    for batch, d_in, d_hidden in ((3, 5, 4), (2, 4, 4), (1, 6, 3)):
        x = torch.randn(batch, d_in, generator=g, dtype=torch.float64)
        h = torch.randn(batch, d_hidden, generator=g, dtype=torch.float64)
        W_xh = torch.randn(d_in, d_hidden, generator=g, dtype=torch.float64) / d_in**0.5
        W_hh = torch.randn(d_hidden, d_hidden, generator=g, dtype=torch.float64) / d_hidden**0.5
        b = torch.randn(d_hidden, generator=g, dtype=torch.float64)
        cases.append((x, h, W_xh, W_hh, b))
    return cases


def _rnn_mistake(got: torch.Tensor, x, h, W_xh, W_hh, b) -> str:
    """Name the likely mistake in ``got`` by comparing it with common wrong versions."""
    pre = x @ W_xh + h @ W_hh + b
    wrong = [
        (pre, "You return the pre-activation: apply torch.tanh to x_t @ W_xh + h_prev @ W_hh + b."),
        (torch.sigmoid(pre), "Use tanh, not sigmoid, as the nonlinearity of the Elman RNN step."),
        (torch.relu(pre), "Use tanh, not ReLU, as the nonlinearity of this RNN step."),
        (torch.tanh(x @ W_xh + b), "h_prev is ignored: add h_prev @ W_hh, which carries the past into step t."),
        (torch.tanh(x @ W_xh + h @ W_hh), "The bias b is missing."),
        (torch.tanh(x @ W_xh.T + h @ W_hh.T + b) if W_xh.shape[0] == W_xh.shape[1] else None,
         "The weights are transposed: with W_xh of shape (d_in, d_hidden) compute x_t @ W_xh (no .T)."),
        (torch.tanh(x @ W_xh + h @ W_hh.T + b),
         "W_hh is transposed: compute h_prev @ W_hh, rows index the previous state's units."),
        (torch.tanh(x @ W_xh) + torch.tanh(h @ W_hh) + b,
         "Apply one tanh to the whole sum x_t @ W_xh + h_prev @ W_hh + b, not to each term."),
    ]
    for candidate, hint in wrong:
        if candidate is not None and is_close(got, candidate):
            return hint
    return "Compute h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b)."


def rnn_step(fn: Callable) -> None:
    """Check ``fn(x_t, h_prev, W_xh, W_hh, b) -> h_t (batch, d_hidden)`` against the Elman RNN step."""
    for x, h, W_xh, W_hh, b in _rnn_cases():
        want = _rnn_step_reference(x, h, W_xh, W_hh, b)
        got = run(fn, x, h, W_xh, W_hh, b)
        expect_shape(got, tuple(want.shape), f"rnn_step(x_t {tuple(x.shape)}, h_prev {tuple(h.shape)}, ...)")
        if not is_close(got, want, atol=1e-8):
            expect_close(got, want, "h_t", hint=_rnn_mistake(got, x, h, W_xh, W_hh, b), atol=1e-8)
    passed("rnn_step", "h_t = tanh(x_t W_xh + h_prev W_hh + b) on 3 cases")


def _path_length_reference(i: int, j: int, architecture: str) -> int:
    if architecture == "rnn":
        return j - i
    return 0 if i == j else 1


def path_length(fn: Callable) -> None:
    """Check ``fn(i, j, architecture) -> int`` for ``architecture`` in ``"rnn"``, ``"attention"``."""
    pairs = [(0, 0), (0, 1), (2, 7), (0, 127), (5, 5), (10, 11), (3, 40)]
    for architecture in ("rnn", "attention"):
        for i, j in pairs:
            want = _path_length_reference(i, j, architecture)
            got = run(fn, i, j, architecture)
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                raise ExerciseError(f"path_length({i}, {j}, {architecture!r}) should return an int, got {got!r}.")
            if got == want:
                continue
            where = f"path_length({i}, {j}, {architecture!r}) returned {got!r}, but it should be {want}."
            if architecture == "rnn" and got == j - i + 1:
                hint = "Count the recurrent steps between the positions: from i to j that is j - i, not j - i + 1."
            elif architecture == "rnn" and i != j and got == 1:
                hint = "An RNN has no direct link from i to j: the state is passed on one step at a time."
            elif architecture == "attention" and i != j and got == j - i:
                hint = "In self-attention position j looks at position i directly, in one step, however far."
            elif i == j and got != 0:
                hint = "When i == j the information is already there: zero steps."
            else:
                hint = "RNN: one step per position in between (j - i); self-attention: one step (0 when i == j)."
            raise ExerciseError(f"{where} {hint}")
    passed("path_length", "RNN: j - i steps; self-attention: 1 step")
