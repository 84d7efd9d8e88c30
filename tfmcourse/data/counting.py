"""Token counting: a small task for the encoder experiments of chapter 5.

Every position must say how many times its own token occurs in the whole sequence (itself included)::

    token:   2  0  2  3  2  0  1  3
    target:  3  2  3  2  3  2  1  2

The answer at one position depends on every other position, so a model has to compare each token with
all the others: one attention layer can do it (attend to the positions holding the same token), a
model that looks at each position alone cannot. The task needs no notion of order, so a model needs no
positional encoding to solve it.

Tokens are uniform in ``0 .. vocab_size-1``; targets are counts in ``1 .. seq_len``, used directly as
class indices (a classifier needs ``seq_len + 1`` classes; class 0 never occurs).

:func:`context_free_loss` gives the cross-entropy of the best model that sees only its own token: it
knows nothing about the other positions, so it can only predict the distribution of counts. A
training curve that stays at this level has learnt nothing about the context.

:func:`label_table` turns the count into a harder target: a fixed random table gives every pair
(token, count) one of ``num_classes`` labels, and the target at a position is
``table[token, count]``. The labels follow no pattern in the count, so after attention has gathered the
count, the model must still apply an arbitrary function to it at every position (chapter 5 uses it to
measure what the feed-forward network adds)::

    token:   2  0  2  3  2  0  1  3
    count:   3  2  3  2  3  2  1  2
    target:  table[2, 3]  table[0, 2]  ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = ["CountBatch", "token_counts", "context_free_loss", "label_table"]


@dataclass
class CountBatch:
    """One batch of the token-counting task.

    Attributes:
        tokens: ``(n, seq_len)`` long, the input sequences, ids in ``0 .. vocab_size-1``.
        targets: ``(n, seq_len)`` long, at each position the number of times its token occurs in the
            sequence, in ``1 .. seq_len``.
    """

    tokens: Int[Tensor, "n seq_len"]
    targets: Int[Tensor, "n seq_len"]


def _positive_int(name: str, n: object, least: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < least:
        raise ValueError(f"{name} must be an int >= {least}, got {n!r}")
    return n


def token_counts(
    num_samples: int,
    seq_len: int = 8,
    vocab_size: int = 4,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> CountBatch:
    """Sample ``num_samples`` sequences of the counting task.

    Args:
        num_samples: how many sequences, ``n``.
        seq_len: length of every sequence, at least 2.
        vocab_size: tokens are ``0 .. vocab_size-1``, at least 2.
        seed: seeds a fresh generator (default 0); the same seed gives the same batch.
        generator: a ``torch.Generator`` to draw from instead (give ``seed`` or ``generator``, not both).

    Returns:
        a :class:`CountBatch` with ``tokens`` and ``targets`` of shape ``(num_samples, seq_len)``.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("vocab_size", vocab_size, least=2)
    if seed is not None and generator is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    tokens = torch.randint(0, vocab_size, (num_samples, seq_len), generator=generator)
    same = tokens[:, :, None] == tokens[:, None, :]  # (n, seq, seq): position j holds i's token
    return CountBatch(tokens=tokens, targets=same.sum(dim=-1))


def context_free_loss(seq_len: int = 8, vocab_size: int = 4) -> float:
    """Cross-entropy (nats) of the best prediction made from a position's own token alone.

    Each of the other ``seq_len - 1`` tokens equals this one with probability ``1 / vocab_size``,
    independently, so the count is ``1 + Binomial(seq_len - 1, 1 / vocab_size)`` whatever the token;
    the best such model predicts that distribution and its expected loss is the distribution's entropy.
    """
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("vocab_size", vocab_size, least=2)
    n, p = seq_len - 1, 1.0 / vocab_size
    probs = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    return -sum(q * math.log(q) for q in probs if q > 0)


def label_table(vocab_size: int = 4, seq_len: int = 8, num_classes: int = 5, seed: int = 0) -> Tensor:
    """A random table of labels, ``(vocab_size, seq_len + 1)`` long in ``0 .. num_classes-1``.

    Row ``t``, column ``c`` is the label of token ``t`` occurring ``c`` times (column 0 is never used).
    The target of the labelled counting task is ``table[batch.tokens, batch.targets]``. Every row
    holds at least two different labels among the likely counts ``1 .. 4``, so no row is constant: the
    label really depends on the count, not on the token alone.
    """
    _positive_int("vocab_size", vocab_size, least=2)
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("num_classes", num_classes, least=2)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    g = torch.Generator().manual_seed(seed)
    while True:
        table = torch.randint(0, num_classes, (vocab_size, seq_len + 1), generator=g)
        likely = table[:, 1 : min(seq_len, 4) + 1]
        if (likely != likely[:, :1]).any(dim=1).all():
            return table
