"""Two-position lookup: a task that needs attention to two different places at once (chapter 3).

Every sequence holds ``seq_len`` random *value* tokens followed by one *query* token. The query names
two different positions ``i`` and ``j`` (an ordered pair), and the answer is the pair of values found
there, ``(x[i], x[j])``, in that order::

    position:  0   1   2   3   4   5   6   7   8
    token:     3   9   0   4   4   1   7   2   Q(5, 2)      targets = (x[5], x[2]) = (1, 0)

The same value token means the same thing at every position; only the position tells them apart. So
an attention layer that reads the answer from the query position has to look up position ``i`` for the
first answer and position ``j`` for the second: two different places, with one query.

Token ids: values are ``0 .. num_values-1`` (so a target is the value token itself); the query for
the pair ``(i, j)`` is ``num_values + query_index(i, j, seq_len)``, one id per ordered pair ``i != j``.

:func:`point_lookup` is the same task with **continuous** values: every position holds a random point
of the square ``[-1, 1)^dim`` instead of a digit, and the answer is the pair of points found at the two
named positions. A model takes the points in through a linear layer, so one attention head returns one
weighted average of them: one point, from which two points cannot be recovered (chapter 3 counts the
unknowns). The query is given as its index ``query_index(i, j, seq_len)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

__all__ = ["LookupBatch", "PointBatch", "two_position_lookup", "point_lookup", "query_index", "vocab_size"]


@dataclass
class LookupBatch:
    """One batch of the two-position lookup task.

    Attributes:
        tokens: ``(n, seq_len + 1)`` long: ``seq_len`` values, then the query token.
        targets: ``(n, 2)`` long: the values at the two named positions, in order (``0 .. num_values-1``).
        positions: ``(n, 2)`` long: the two positions ``(i, j)`` the query names (``i != j``).
    """

    tokens: Int[Tensor, "n seq"]
    targets: Int[Tensor, "n 2"]
    positions: Int[Tensor, "n 2"]


@dataclass
class PointBatch:
    """One batch of the point lookup task.

    Attributes:
        points: ``(n, seq_len, dim)`` float, uniform in ``[-1, 1)``: the point at every position.
        query: ``(n,)`` long: ``query_index(i, j, seq_len)`` of the two named positions.
        targets: ``(n, 2, dim)`` float: the points at positions ``i`` and ``j``, in that order.
        positions: ``(n, 2)`` long: the two positions ``(i, j)`` (``i != j``).
    """

    points: Float[Tensor, "n seq dim"]
    query: Int[Tensor, " n"]
    targets: Float[Tensor, "n 2 dim"]
    positions: Int[Tensor, "n 2"]


def _positive_int(name: str, n: object, least: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < least:
        raise ValueError(f"{name} must be an int >= {least}, got {n!r}")
    return n


def query_index(i: Tensor | int, j: Tensor | int, seq_len: int) -> Tensor:
    """Index ``0 .. seq_len*(seq_len-1)-1`` of the ordered pair ``(i, j)``, ``i != j``, both in
    ``0 .. seq_len-1``."""
    i, j = torch.as_tensor(i), torch.as_tensor(j)
    if (i == j).any() or (i < 0).any() or (j < 0).any() or (i >= seq_len).any() or (j >= seq_len).any():
        raise ValueError(
            f"positions must be different and in 0 .. {seq_len - 1}, got i={i.tolist()}, j={j.tolist()}"
        )
    return i * (seq_len - 1) + j - (j > i).long()


def vocab_size(seq_len: int = 8, num_values: int = 10) -> int:
    """Number of token ids: the values plus one query token per ordered pair of positions."""
    return num_values + seq_len * (seq_len - 1)


def _pairs(num_samples: int, seq_len: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two different positions ``(i, j)`` per sample, the ordered pair uniform over all of them."""
    i = torch.randint(seq_len, (num_samples,), generator=generator)
    # j uniform over the other seq_len - 1 positions
    j = (i + 1 + torch.randint(seq_len - 1, (num_samples,), generator=generator)) % seq_len
    return i, j


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if seed is not None and generator is not None:
        raise ValueError("give seed or generator, not both")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return generator


def two_position_lookup(
    num_samples: int,
    seq_len: int = 8,
    num_values: int = 10,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> LookupBatch:
    """Sample ``num_samples`` sequences of the two-position lookup task.

    Args:
        num_samples: how many sequences, ``n``.
        seq_len: how many value tokens precede the query (at least 2).
        num_values: how many different values there are (at least 2); also the classes of each answer.
        seed: seeds a fresh generator; the same seed gives the same batch.
        generator: a ``torch.Generator`` to draw from instead (give ``seed`` or ``generator``, not both).

    Returns:
        a :class:`LookupBatch` with ``tokens (n, seq_len + 1)``, ``targets (n, 2)``, ``positions (n, 2)``.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("num_values", num_values, least=2)
    generator = _generator(seed, generator)
    values = torch.randint(num_values, (num_samples, seq_len), generator=generator)
    i, j = _pairs(num_samples, seq_len, generator)
    query = num_values + query_index(i, j, seq_len)
    tokens = torch.cat([values, query[:, None]], dim=1)
    rows = torch.arange(num_samples)
    targets = torch.stack([values[rows, i], values[rows, j]], dim=1)
    return LookupBatch(tokens=tokens, targets=targets, positions=torch.stack([i, j], dim=1))


def point_lookup(
    num_samples: int,
    seq_len: int = 8,
    dim: int = 2,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> PointBatch:
    """Sample ``num_samples`` sequences of the point lookup task: ``seq_len`` random points, a query
    naming two different positions ``(i, j)``, and the answer ``(points[i], points[j])``.

    Args:
        num_samples: how many sequences, ``n``.
        seq_len: how many points precede the query (at least 2).
        dim: the dimension of every point (at least 1); the points are uniform in ``[-1, 1)^dim``.
        seed: seeds a fresh generator; the same seed gives the same batch.
        generator: a ``torch.Generator`` to draw from instead (give ``seed`` or ``generator``, not both).

    Returns:
        a :class:`PointBatch` with ``points (n, seq_len, dim)``, ``query (n,)``, ``targets (n, 2, dim)``
        and ``positions (n, 2)``.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("seq_len", seq_len, least=2)
    _positive_int("dim", dim)
    generator = _generator(seed, generator)
    points = torch.rand(num_samples, seq_len, dim, generator=generator) * 2 - 1
    i, j = _pairs(num_samples, seq_len, generator)
    rows = torch.arange(num_samples)
    targets = torch.stack([points[rows, i], points[rows, j]], dim=1)
    return PointBatch(
        points=points, query=query_index(i, j, seq_len), targets=targets, positions=torch.stack([i, j], dim=1)
    )
