"""Distance recall: a long-range task whose difficulty is one number, the distance ``d`` (chapter 1).

Every sequence has ``seq_len`` tokens. The first ``seq_len - 1`` are random *values* (noise, except for
the one that matters); the last is a *query* that asks "which value did you see ``d`` positions ago?".
The label is the value at position ``seq_len - 1 - d``, so the evidence has to survive ``d`` steps::

    position:  0   1   2  ...  seq_len-1-d  ...  seq_len-2   seq_len-1
    token:     v   v   v  ...      v*       ...      v         Q_d          label = v*

Token ids: values are ``0 .. num_values-1`` (so the label is the value token itself); the query for
distance ``d`` is ``num_values + d - 1``, for ``d`` in ``1 .. seq_len-1``. A model that reads left to
right does not know which ``d`` will be asked until the very last token, so it has to keep every
recent value in mind; a model that can look back at any position only has to find the right one.

``marked=True`` gives the control task: the same sequences, except that the asked value is written
with its *marked* token (``marked_token(v)``, one more id per value), so a left-to-right reader knows
when it arrives that this is the one to keep. The distance is the same; the memory load is one value.

:func:`copy_sequences` is the task of the sequence-to-sequence experiment: reproduce a whole random
sequence, which an encoder-decoder must pass from the encoder to the decoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = ["RecallBatch", "distance_recall", "vocab_size", "query_token", "marked_token", "copy_sequences"]


@dataclass
class RecallBatch:
    """One batch of the distance-recall task.

    Attributes:
        tokens: ``(n, seq_len)`` long, the input sequences (values, then the query).
        labels: ``(n,)`` long, the value each sequence must recall (in ``0 .. num_values-1``).
        distances: ``(n,)`` long, how many positions before the query the asked value sits.
    """

    tokens: Int[Tensor, "n seq_len"]
    labels: Int[Tensor, " n"]
    distances: Int[Tensor, " n"]


def _positive_int(name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def vocab_size(seq_len: int, num_values: int = 8, marked: bool = False) -> int:
    """Number of token ids the task uses: ``num_values`` values plus one query per distance ``1 .. seq_len-1``
    (plus ``num_values`` marked values when ``marked``)."""
    plain = _positive_int("num_values", num_values) + _positive_int("seq_len", seq_len) - 1
    return plain + num_values if marked else plain


def marked_token(value: int | Tensor, seq_len: int, num_values: int = 8) -> int | Tensor:
    """The id of the *marked* copy of ``value`` (an int or a tensor of values), used when ``marked=True``."""
    return vocab_size(seq_len, num_values) + value


def query_token(distance: int, num_values: int = 8) -> int:
    """The id of the query that asks for the value ``distance`` positions back."""
    return _positive_int("num_values", num_values) + _positive_int("distance", distance) - 1


def distance_recall(
    num_samples: int,
    distance: int | Sequence[int],
    seq_len: int,
    num_values: int = 8,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    marked: bool = False,
) -> RecallBatch:
    """Sample ``num_samples`` sequences of the distance-recall task.

    Args:
        num_samples: how many sequences, ``n``.
        distance: the distance ``d`` between the asked value and the query, an int in ``1 .. seq_len-1``,
            or a list of such ints from which each sequence draws its own ``d`` uniformly.
        seq_len: length of every sequence (the query is at position ``seq_len - 1``).
        num_values: how many different values (= classes) there are, at least 2.
        seed: seeds a fresh generator; the same seed gives the same batch (default 0).
        generator: a ``torch.Generator`` to draw from instead (give ``seed`` or ``generator``, not both).
        marked: write the asked value with its marked token (:func:`marked_token`): the control task in
            which the reader knows at once which value to keep. Everything else, random draws included,
            is the same as without it.

    Returns:
        a :class:`RecallBatch` with ``tokens (n, seq_len)``, ``labels (n,)`` and ``distances (n,)``.
    """
    _positive_int("num_samples", num_samples)
    _positive_int("seq_len", seq_len)
    if _positive_int("num_values", num_values) < 2:
        raise ValueError(f"num_values must be at least 2, got {num_values}")
    if seq_len < 2:
        raise ValueError(f"seq_len must be at least 2 (a value and the query), got {seq_len}")
    if isinstance(distance, int):
        choices = [distance]
    elif isinstance(distance, (list, tuple, range)):
        choices = list(distance)
    else:
        raise ValueError(f"distance must be an int or a list of ints, got {type(distance).__name__}")
    if not choices:
        raise ValueError("distance must be an int or a non-empty list of ints, got an empty list")
    for d in choices:
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= seq_len - 1:
            raise ValueError(
                f"distance must lie in [1, seq_len-1] = [1, {seq_len - 1}] for seq_len={seq_len}, got {d!r}"
            )
    if seed is not None and generator is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)

    tokens = torch.randint(num_values, (num_samples, seq_len), generator=generator)
    pick = torch.randint(len(choices), (num_samples,), generator=generator)
    distances = torch.tensor(choices, dtype=torch.long)[pick]
    tokens[:, -1] = num_values + distances - 1  # the query token names the distance
    rows, asked = torch.arange(num_samples), seq_len - 1 - distances
    labels = tokens[rows, asked]
    if marked:
        tokens[rows, asked] = marked_token(labels, seq_len, num_values)
    return RecallBatch(tokens=tokens, labels=labels, distances=distances)


def copy_sequences(
    num_samples: int,
    length: int,
    num_values: int = 10,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Int[Tensor, "n length"]:
    """``num_samples`` random sequences of ``length`` values in ``0 .. num_values-1``, shape ``(n, length)``.

    The copy task of chapter 1: an encoder-decoder reads one of them and must write it out again (the
    target is the sequence itself). Seeded like :func:`distance_recall` (``seed`` or ``generator``).
    """
    _positive_int("num_samples", num_samples)
    _positive_int("length", length)
    if _positive_int("num_values", num_values) < 2:
        raise ValueError(f"num_values must be at least 2, got {num_values}")
    if seed is not None and generator is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return torch.randint(num_values, (num_samples, length), generator=generator)
