"""Batches of a token stream for the language models of chapters 9 and 10: random windows
(``get_batch(step) -> (x, y)`` for :class:`tfmcourse.train.Trainer`) and repeated passages (in-context
copying)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = ["random_windows", "repeated_windows", "repeated_passages"]


def random_windows(
    tokens: Int[Tensor, " n"], context: int, batch_size: int, seed: int = 0
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """``get_batch(step) -> (x, y)``, both ``(batch_size, context)``: windows of ``tokens`` at random
    starts, ``y`` being ``x`` shifted left by one (the next tokens).

    The starts of step ``s`` come from a generator seeded with ``(seed, s)``, so a batch depends only
    on the step (what :class:`tfmcourse.train.Trainer` needs to resume exactly).
    """
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    for name, n in (("context", context), ("batch_size", batch_size)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if tokens.numel() < context + 1:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}: too short for context={context} + 1")
    offsets = torch.arange(context + 1)

    def get_batch(step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, tokens.numel() - context, (batch_size,), generator=gen)
        w = tokens[starts[:, None] + offsets]
        return w[:, :-1], w[:, 1:]

    return get_batch


def _check_period(period: object, repeats: object) -> None:
    for name, n in (("period", period), ("repeats", repeats)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if period * repeats < 2:
        raise ValueError(
            f"period * repeats must be at least 2 (one token and the next), got {period} * {repeats}"
        )


def repeated_passages(tokens: Int[Tensor, " n"], period: int, repeats: int) -> Int[Tensor, "rows width"]:
    """Consecutive passages of ``period`` tokens, each written ``repeats`` times in a row:
    ``(len(tokens) // period, period * repeats)``. Row ``r`` is ``tokens[r * period : (r + 1) * period]``
    repeated; the last partial passage is dropped. A text that refers back to itself, in the extreme:
    from the second copy on, every next token is in the row already, ``period`` positions back."""
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    _check_period(period, repeats)
    n = tokens.numel() // period
    if n < 1:
        raise ValueError(
            f"tokens has shape {tuple(tokens.shape)}: too short for one passage of period={period}"
        )
    return tokens[: n * period].reshape(n, period).repeat(1, repeats)


def repeated_windows(
    tokens: Int[Tensor, " n"], period: int, repeats: int, batch_size: int, seed: int = 0
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """Like :func:`random_windows`, for repeated passages: ``get_batch(step) -> (x, y)``, both
    ``(batch_size, period * repeats - 1)``. Each row is a passage of ``period`` tokens at a random start,
    written ``repeats`` times (see :func:`repeated_passages`); ``y`` is ``x`` shifted by one. The starts
    of step ``s`` depend only on ``(seed, s)``."""
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    _check_period(period, repeats)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if tokens.numel() < period:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}: too short for period={period}")
    offsets = torch.arange(period)

    def get_batch(step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, tokens.numel() - period + 1, (batch_size,), generator=gen)
        w = tokens[starts[:, None] + offsets].repeat(1, repeats)
        return w[:, :-1], w[:, 1:]

    return get_batch
