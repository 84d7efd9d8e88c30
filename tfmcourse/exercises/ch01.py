"""Checkers for the exercises of chapter 1, "Why Transformers".

from tfmcourse.exercises import ch01 as check
check.rnn_step(rnn_step)
check.rnn_forward(rnn_forward)
check.lstm_step(lstm_step)
check.path_length(path_length)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tfmcourse.baselines import rnn_step as _rnn_step_reference
from tfmcourse.exercises import (
    ExerciseError,
    checker,
    diagnose,
    expect_close,
    expect_shape,
    fail,
    forbidden,
    is_close,
    passed,
    run,
)

__all__ = ["rnn_step", "rnn_forward", "lstm_step", "path_length"]

#: What the RNN exercises re-implement: torch's recurrent layers and cells, and the package's answers.
FORBIDDEN_RNN = (
    "torch.nn.RNN",
    "torch.nn.RNNCell",
    "torch.rnn_tanh",
    "torch.rnn_tanh_cell",
    "torch._VF.rnn_tanh",
    "torch._VF.rnn_tanh_cell",
    "tfmcourse.baselines.rnn_step",
    "tfmcourse.baselines.rnn_forward",
    "tfmcourse.baselines.LoopRNN",
)
#: What the LSTM exercise re-implements.
FORBIDDEN_LSTM = (
    "torch.nn.LSTM",
    "torch.nn.LSTMCell",
    "torch.lstm",
    "torch.lstm_cell",
    "torch._VF.lstm",
    "torch._VF.lstm_cell",
)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


# ---------------------------------------------------------------------------------------- rnn_step


def _rnn_cases() -> list[tuple[Tensor, ...]]:
    """(x_t, h_prev, W_xh, W_hh, b) cases: one with d_in != d_hidden, one square, one with batch 1."""
    g = torch.Generator().manual_seed(1)
    cases = []
    for batch, d_in, d_hidden in ((3, 5, 4), (2, 4, 4), (1, 6, 3)):
        x = _randn(batch, d_in, g=g)
        h = _randn(batch, d_hidden, g=g)
        W_xh = _randn(d_in, d_hidden, g=g, scale=d_in**-0.5)
        W_hh = _randn(d_hidden, d_hidden, g=g, scale=d_hidden**-0.5)
        b = _randn(d_hidden, g=g)
        cases.append((x, h, W_xh, W_hh, b))
    return cases


def _rnn_mistake(got: Tensor, x, h, W_xh, W_hh, b) -> str:
    """Name the likely mistake in ``got`` by comparing it with common wrong versions."""
    pre = x @ W_xh + h @ W_hh + b
    wrong = [
        (pre, "You return the pre-activation: apply torch.tanh to x_t @ W_xh + h_prev @ W_hh + b."),
        (torch.sigmoid(pre), "Use tanh, not sigmoid, as the nonlinearity of the Elman RNN step."),
        (torch.relu(pre), "Use tanh, not ReLU, as the nonlinearity of this RNN step."),
        (
            torch.tanh(x @ W_xh + b),
            "h_prev is ignored: add h_prev @ W_hh, which carries the past into step t.",
        ),
        (torch.tanh(x @ W_xh + h @ W_hh), "The bias b is missing."),
        (
            torch.tanh(x @ W_xh.T + h @ W_hh.T + b) if W_xh.shape[0] == W_xh.shape[1] else None,
            "The weights are transposed: with W_xh of shape (d_in, d_hidden) compute x_t @ W_xh (no .T).",
        ),
        (
            torch.tanh(x @ W_xh + h @ W_hh.T + b),
            "W_hh is transposed: compute h_prev @ W_hh, rows index the previous state's units.",
        ),
        (
            torch.tanh(x @ W_xh) + torch.tanh(h @ W_hh) + b,
            "Apply one tanh to the whole sum x_t @ W_xh + h_prev @ W_hh + b, not to each term.",
        ),
    ]
    for candidate, hint in wrong:
        if candidate is not None and is_close(got, candidate):
            return hint
    return "Compute h_t = tanh(x_t @ W_xh + h_prev @ W_hh + b)."


@checker
def rnn_step(fn: Callable) -> None:
    """Check ``fn(x_t, h_prev, W_xh, W_hh, b) -> h_t (batch, d_hidden)`` against the Elman RNN step."""
    cases = _rnn_cases()
    wants = [_rnn_step_reference(*case) for case in cases]  # references first
    for (x, h, W_xh, W_hh, b), want in zip(cases, wants):
        with forbidden(fn, *FORBIDDEN_RNN):
            got = run(fn, x, h, W_xh, W_hh, b)
        expect_shape(got, tuple(want.shape), f"rnn_step(x_t {tuple(x.shape)}, h_prev {tuple(h.shape)}, ...)")
        if not is_close(got, want, atol=1e-8):
            expect_close(got, want, "h_t", hint=_rnn_mistake(got, x, h, W_xh, W_hh, b), atol=1e-8)
    passed("rnn_step", "h_t = tanh(x_t W_xh + h_prev W_hh + b) on 3 cases")


# ------------------------------------------------------------------------------------- rnn_forward

HINT_LAST_ONLY = (
    "You returned only the last hidden state: return every state, stacked along time, shape "
    "(batch, seq, d_hidden) (torch.stack(states, dim=1))."
)
HINT_TIME_FIRST = (
    "The states are stacked along the wrong axis: (seq, batch, d_hidden) instead of (batch, seq, "
    "d_hidden). Stack along dim=1."
)
HINT_NO_CARRY = (
    "Every step starts again from h0: carry the state along, h = rnn_step(x[:, t], h, ...), so that "
    "step t uses the state of step t-1."
)
HINT_WITH_H0 = (
    "The first state you return is h0 itself: return the states after each of the seq steps (not h0)."
)
HINT_REVERSED = "The sequence is read backwards: step through t = 0, 1, ..., seq-1 in order."
HINT_H0_IGNORED = "h0 is ignored: start the loop from the given h0 (zeros only when h0 is None)."
HINT_FORWARD = (
    "Loop over time: h = tanh(x[:, t] @ W_xh + h @ W_hh + b), keep every h, stack them along dim 1."
)


def _rnn_forward_variant(
    x: Tensor, W_xh: Tensor, W_hh: Tensor, b: Tensor, h0: Tensor | None, mistake: str = ""
) -> Tensor:
    """The whole RNN forward, written with one plausible ``mistake`` ("" gives the right answer)."""
    start = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None or mistake == "h0_ignored" else h0
    steps = range(x.shape[1] - 1, -1, -1) if mistake == "reversed" else range(x.shape[1])
    h, states = start, [start] if mistake == "with_h0" else []
    for t in steps:
        h = torch.tanh(x[:, t] @ W_xh + (start if mistake == "no_carry" else h) @ W_hh + b)
        states.append(h)
    if mistake == "with_h0":
        states = states[:-1]
    if mistake == "reversed":
        states = states[::-1]
    if mistake == "last_only":
        return h
    return torch.stack(states, dim=0 if mistake == "time_first" else 1)


_FORWARD_MISTAKES = {
    "last_only": HINT_LAST_ONLY,
    "time_first": HINT_TIME_FIRST,
    "no_carry": HINT_NO_CARRY,
    "with_h0": HINT_WITH_H0,
    "reversed": HINT_REVERSED,
    "h0_ignored": HINT_H0_IGNORED,
}


@checker
def rnn_forward(fn: Callable) -> None:
    """Check ``fn(x, W_xh, W_hh, b, h0=None) -> states (batch, seq, d_hidden)``: the RNN run through time."""
    g = torch.Generator().manual_seed(11)
    cases = []
    for batch, seq, d_in, d_hidden, with_h0 in ((2, 5, 3, 4, False), (3, 4, 4, 4, True), (1, 7, 2, 3, True)):
        x = _randn(batch, seq, d_in, g=g)
        W_xh = _randn(d_in, d_hidden, g=g, scale=d_in**-0.5)
        W_hh = _randn(d_hidden, d_hidden, g=g, scale=1.5 * d_hidden**-0.5)
        b = _randn(d_hidden, g=g, scale=0.5)
        h0 = _randn(batch, d_hidden, g=g) if with_h0 else None
        cases.append((x, W_xh, W_hh, b, h0))
    wants = [_rnn_forward_variant(*case) for case in cases]  # references first
    for (x, W_xh, W_hh, b, h0), want in zip(cases, wants):
        where = f"rnn_forward(x {tuple(x.shape)}, ...{', h0' if h0 is not None else ''})"
        with forbidden(fn, *FORBIDDEN_RNN):
            got = run(fn, x, W_xh, W_hh, b) if h0 is None else run(fn, x, W_xh, W_hh, b, h0)
        if is_close(got, want, atol=1e-8):
            continue
        hint = diagnose(got, _FORWARD_MISTAKES, lambda m: _rnn_forward_variant(x, W_xh, W_hh, b, h0, m))
        fail(got, want, where, hint or HINT_FORWARD)
    passed("rnn_forward", "every hidden state, in order, carried from step to step, with and without h0")


# --------------------------------------------------------------------------------------- lstm_step

HINT_GATE_ORDER = (
    "The gates are taken in the wrong order. The 4 * d_hidden columns hold, in torch's order, "
    "the input gate i, the forget gate f, the candidate g and the output gate o: "
    "i, f, g, o = z.chunk(4, dim=-1)."
)
HINT_G_SIGMOID = "The candidate g uses tanh (it can be negative), not sigmoid; only i, f and o are sigmoids."
HINT_ALL_TANH = "The gates i, f and o are sigmoids (numbers between 0 and 1), not tanh; only g is a tanh."
HINT_H_NO_TANH = "h_t = o * tanh(c_t): you forgot the tanh of the cell."
HINT_NO_INPUT_GATE = (
    "The candidate enters the cell through the input gate: c_t = f * c_prev + i * g (you left out i)."
)
HINT_NO_FORGET = "The old cell passes through the forget gate: c_t = f * c_prev + i * g (you left out f)."
HINT_OLD_CELL = "h_t reads the NEW cell: h_t = o * tanh(c_t), with c_t computed first (you used c_prev)."
HINT_SWAP_HC = "You returned (c_t, h_t); return (h_t, c_t)."
HINT_NOT_PAIR = "Return the pair (h_t, c_t)."
HINT_NO_H = "h_prev is ignored: the gates read x_t @ W_x + h_prev @ W_h + b."
HINT_NO_BIAS = "The bias b is missing from the gates' pre-activation."
HINT_LSTM = (
    "z = x_t @ W_x + h_prev @ W_h + b; i, f, g, o = z.chunk(4, -1); i, f, o = sigmoid; g = tanh; "
    "c_t = f * c_prev + i * g; h_t = o * tanh(c_t)."
)

_ORDERS = {
    "ifog": (0, 1, 3, 2),
    "figo": (1, 0, 2, 3),
    "igfo": (0, 2, 1, 3),
    "oifg": (1, 2, 3, 0),
    "gifo": (1, 2, 0, 3),
}


def _lstm_variant(
    x: Tensor, h: Tensor, c: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor, mistake: str = ""
) -> tuple[Tensor, Tensor]:
    """The LSTM step written with one plausible ``mistake`` ("" gives the right answer)."""
    z = x @ W_x + (0 if mistake == "no_h" else h @ W_h) + (0 if mistake == "no_bias" else b)
    chunks = z.chunk(4, dim=-1)
    if mistake in _ORDERS:  # the learner read chunk k as gate "ifgo"[k] in another order
        order = _ORDERS[mistake]
        chunks = tuple(chunks[order.index(k)] for k in range(4))
    zi, zf, zg, zo = chunks
    gate = torch.tanh if mistake == "all_tanh" else torch.sigmoid
    i, f, o = gate(zi), gate(zf), gate(zo)
    g = torch.sigmoid(zg) if mistake == "g_sigmoid" else torch.tanh(zg)
    c_new = (f * c + (g if mistake == "no_input_gate" else i * g)) if mistake != "no_forget" else c + i * g
    h_new = o * (c_new if mistake == "h_no_tanh" else torch.tanh(c if mistake == "old_cell" else c_new))
    return h_new, c_new


_LSTM_MISTAKES = {
    **{k: HINT_GATE_ORDER for k in _ORDERS},
    "g_sigmoid": HINT_G_SIGMOID,
    "all_tanh": HINT_ALL_TANH,
    "h_no_tanh": HINT_H_NO_TANH,
    "no_input_gate": HINT_NO_INPUT_GATE,
    "no_forget": HINT_NO_FORGET,
    "old_cell": HINT_OLD_CELL,
    "no_h": HINT_NO_H,
    "no_bias": HINT_NO_BIAS,
}


def _lstm_cases() -> list[tuple[Tensor, ...]]:
    """(x_t, h_prev, c_prev, W_x, W_h, b): d_in != d_hidden, a square one, batch 1."""
    g = torch.Generator().manual_seed(7)
    cases = []
    for batch, d_in, d_hidden in ((3, 5, 4), (2, 3, 3), (1, 4, 6)):
        cases.append(
            (
                _randn(batch, d_in, g=g),
                _randn(batch, d_hidden, g=g, scale=0.8),
                _randn(batch, d_hidden, g=g, scale=1.5),
                _randn(d_in, 4 * d_hidden, g=g, scale=d_in**-0.5),
                _randn(d_hidden, 4 * d_hidden, g=g, scale=d_hidden**-0.5),
                _randn(4 * d_hidden, g=g),
            )
        )
    return cases


@checker
def lstm_step(fn: Callable) -> None:
    """Check ``fn(x_t, h_prev, c_prev, W_x, W_h, b) -> (h_t, c_t)``, one LSTM step with gates in torch's
    order (input, forget, candidate, output); ``W_x (d_in, 4 d_hidden)``, ``W_h (d_hidden, 4 d_hidden)``,
    ``b (4 d_hidden,)``, states ``(batch, d_hidden)``."""
    cases = _lstm_cases()
    wants = [_lstm_variant(*case) for case in cases]  # references first
    for case, (want_h, want_c) in zip(cases, wants):
        x, h, c = case[:3]
        where = f"lstm_step(x_t {tuple(x.shape)}, h_prev {tuple(h.shape)}, c_prev {tuple(c.shape)}, ...)"
        with forbidden(fn, *FORBIDDEN_LSTM):
            got = run(fn, *case)
        if isinstance(got, Tensor):
            raise ExerciseError(f"{where} returned one tensor. {HINT_NOT_PAIR}")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError(f"{where} returned a {type(got).__name__}. {HINT_NOT_PAIR}")
        got_h, got_c = got
        if is_close(got_h, want_c) and is_close(got_c, want_h):
            raise ExerciseError(f"{where}: {HINT_SWAP_HC}")
        if is_close(got_h, want_h) and is_close(got_c, want_c):
            continue
        for name, value, index in (("c_t", got_c, 1), ("h_t", got_h, 0)):
            want = (want_h, want_c)[index]
            if not is_close(value, want):
                hint = diagnose(value, _LSTM_MISTAKES, lambda m: _lstm_variant(*case, mistake=m)[index])
                fail(value, want, f"{name} of {where}", hint or HINT_LSTM)
    passed("lstm_step", "gates i, f, g, o; c_t = f c + i g; h_t = o tanh(c_t), on 3 cases")


# ------------------------------------------------------------------------------------- path_length


def _path_length_reference(i: int, j: int, architecture: str) -> int:
    if architecture == "rnn":
        return j - i
    return 0 if i == j else 1


def _as_number(got: Any) -> Any:
    """A plain Python number from an int, a NumPy scalar or a one-element tensor/array (else ``got``)."""
    if isinstance(got, Tensor) and got.numel() == 1 or isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, np.generic):
        got = got.item()
    return got


@checker
def path_length(fn: Callable) -> None:
    """Check ``fn(i, j, architecture) -> int`` for ``architecture`` in ``"rnn"``, ``"attention"``."""
    pairs = [(0, 0), (0, 1), (2, 7), (0, 127), (5, 5), (10, 11), (3, 40)]
    for architecture in ("rnn", "attention"):
        for i, j in pairs:
            want = _path_length_reference(i, j, architecture)
            got = _as_number(run(fn, i, j, architecture))
            if not isinstance(got, numbers.Real) or isinstance(got, bool):
                raise ExerciseError(
                    f"path_length({i}, {j}, {architecture!r}) should return an int, got {got!r}."
                )
            if got == want:
                continue
            where = f"path_length({i}, {j}, {architecture!r}) returned {got!r}, but it should be {want}."
            if architecture == "rnn" and got == j - i + 1:
                hint = (
                    "Count the recurrent steps between the positions: from i to j that is j - i, "
                    "not j - i + 1."
                )
            elif architecture == "rnn" and i != j and got == 1:
                hint = "An RNN has no direct link from i to j: the state is passed on one step at a time."
            elif architecture == "attention" and i != j and got == j - i:
                hint = "In self-attention position j looks at position i directly, in one step, however far."
            elif i == j and got != 0:
                hint = "When i == j the information is already there: zero steps."
            else:
                hint = (
                    "RNN: one step per position in between (j - i); self-attention: one step (0 when i == j)."
                )
            raise ExerciseError(f"{where} {hint}")
    passed("path_length", "RNN: j - i steps; self-attention: 1 step")
