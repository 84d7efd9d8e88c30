"""Order-sensitive tasks for the position experiments of chapter 4.

Both tasks are made so that a model which sees the tokens but not their order (a "bag of tokens")
cannot solve them. Every position gets a target; positions without one hold :data:`IGNORE_INDEX`
(the default ``ignore_index`` of :func:`torch.nn.functional.cross_entropy`).

:func:`lookback`: "which token was ``lag`` positions back?" Tokens are uniform random in
``0 .. vocab_size-1``; the target at position ``i >= lag`` is ``tokens[i - lag]``::

    position:  0  1  2  3  4  5  6        (lag = 3)
    token:     5  0  7  2  2  9  4
    target:    -  -  -  5  0  7  2

A bag-of-tokens model knows, at position ``i``, only its own token and which tokens the sequence
holds. The best it can do is to guess the most frequent of the other tokens:
:func:`bag_of_tokens_accuracy` computes how often that guess is right.

:func:`which_first`: two marker tokens, ``A = 0`` and ``B = 1``, sit among filler tokens
``2 .. vocab_size-1``; the target at A's position is 1 if B comes after A, else 0. With
``paired=True`` the sequences come in pairs that differ only by swapping A and B, so the labels of a
pair are opposite while the bags are equal: a bag-of-tokens model scores exactly 50 %.

All generators take ``seed`` or a ``torch.Generator`` and return the same tensors for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = [
    "IGNORE_INDEX",
    "OrderBatch",
    "lookback",
    "which_first",
    "bag_of_tokens_accuracy",
    "MARKER_A",
    "MARKER_B",
]

IGNORE_INDEX = -100
MARKER_A, MARKER_B = 0, 1


@dataclass
class OrderBatch:
    """One batch of an order task.

    Attributes:
        tokens: ``(n, seq_len)`` long, the input sequences.
        targets: ``(n, seq_len)`` long, the class to predict at each position, or :data:`IGNORE_INDEX`
            where there is nothing to predict.
    """

    tokens: Int[Tensor, "n seq_len"]
    targets: Int[Tensor, "n seq_len"]


def _positive_int(name: str, n: object, least: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < least:
        raise ValueError(f"{name} must be an int >= {least}, got {n!r}")
    return n


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if seed is not None and generator is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return generator


def lookback(
    num_samples: int,
    seq_len: int,
    vocab_size: int = 16,
    lag: int = 3,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> OrderBatch:
    """Sample ``num_samples`` sequences of the look-back task: the target at ``i`` is ``tokens[i - lag]``.

    Args:
        num_samples: how many sequences, ``n``.
        seq_len: length of every sequence; must be more than ``lag``.
        vocab_size: tokens (= classes) are ``0 .. vocab_size-1``, at least 2.
        lag: how far back the answer is, at least 1.
        seed: seeds a fresh generator (default 0); the same seed gives the same batch.
        generator: a ``torch.Generator`` to draw from instead (give ``seed`` or ``generator``, not both).

    Returns:
        an :class:`OrderBatch`; ``targets[:, :lag]`` is :data:`IGNORE_INDEX`.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("vocab_size", vocab_size, least=2)
    _positive_int("lag", lag)
    _positive_int("seq_len", seq_len, least=lag + 1)
    g = _generator(seed, generator)
    tokens = torch.randint(0, vocab_size, (num_samples, seq_len), generator=g)
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[:, lag:] = tokens[:, :-lag]
    return OrderBatch(tokens=tokens, targets=targets)


def which_first(
    num_samples: int,
    seq_len: int,
    vocab_size: int = 16,
    paired: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> OrderBatch:
    """Sample sequences with markers A (token 0) and B (token 1) once each; target at A: is B after A?

    Args:
        num_samples: how many sequences (even when ``paired``).
        seq_len: length of every sequence, at least 2.
        vocab_size: at least 3: the two markers and fillers ``2 .. vocab_size-1``.
        paired: if True, sequence ``2j + 1`` is sequence ``2j`` with A and B swapped (opposite label).
        seed, generator: as in :func:`lookback`.

    Returns:
        an :class:`OrderBatch` whose targets are 0 or 1 at A's position and :data:`IGNORE_INDEX` elsewhere.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("vocab_size", vocab_size, least=3)
    if paired and num_samples % 2:
        raise ValueError(f"num_samples must be even when paired=True, got {num_samples}")
    g = _generator(seed, generator)
    n = num_samples // 2 if paired else num_samples
    tokens = torch.randint(2, vocab_size, (n, seq_len), generator=g)
    pos_a = torch.randint(0, seq_len, (n,), generator=g)
    pos_b = (pos_a + torch.randint(1, seq_len, (n,), generator=g)) % seq_len  # any other position
    if paired:
        tokens = tokens.repeat_interleave(2, dim=0)
        pos_a, pos_b = torch.stack([pos_a, pos_b], 1).flatten(), torch.stack([pos_b, pos_a], 1).flatten()
    rows = torch.arange(num_samples)
    tokens[rows, pos_a] = MARKER_A
    tokens[rows, pos_b] = MARKER_B
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[rows, pos_a] = (pos_b > pos_a).long()
    return OrderBatch(tokens=tokens, targets=targets)


def bag_of_tokens_accuracy(batch: OrderBatch, vocab_size: int, causal: bool = False) -> float:
    """Accuracy of the best order-blind guess on a :func:`lookback` batch.

    At each position with a target, guess the most frequent token among the *other* positions of the
    sequence (ties: the smallest id). A model that knows only its own token and the multiset of tokens
    in the sequence sees every other position as equally likely to be the answer, so this guess is the
    best it can do, up to the small edge effect of the first ``lag`` positions.

    With ``causal=True`` the guess at position ``i`` uses only the positions *before* it: this is the
    best a model can do that sees, at ``i``, its own token and the multiset of the tokens ``0 .. i`` (one
    causal self-attention layer without positions). Its short prefixes make it better than the full
    bag: at ``i = lag`` the answer is one of only ``lag`` earlier tokens.
    """
    tokens, targets = batch.tokens, batch.targets
    if tokens.shape != targets.shape or tokens.ndim != 2:
        raise ValueError(
            f"tokens {tuple(tokens.shape)} and targets {tuple(targets.shape)} must both be (n, seq_len)"
        )
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"tokens must lie in 0 .. vocab_size-1 = {vocab_size - 1}")
    one_hot = torch.nn.functional.one_hot(tokens, vocab_size)  # (n, seq, vocab)
    if causal:
        others = one_hot.cumsum(dim=1) - one_hot  # counts of the tokens strictly before each position
    else:
        others = one_hot.sum(dim=1, keepdim=True) - one_hot  # counts of the tokens at the other positions
    guess = others.argmax(dim=-1)  # argmax returns the first maximum: the smallest id
    keep = targets != IGNORE_INDEX
    return (guess[keep] == targets[keep]).float().mean().item()
