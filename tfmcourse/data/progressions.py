"""Arithmetic progressions modulo the vocabulary: a synthetic language-model task for the data-parallel
training of chapter 8 (:mod:`tfmcourse.ddp`). Every sequence counts up by its own step, so a model can
learn to continue it and its loss goes down within a few steps; the batches depend only on the seed and
the step, so every process of a data-parallel run computes the same global batch.
"""

from __future__ import annotations

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = ["counting_batch"]


def counting_batch(
    step: int, global_batch: int, seq: int, vocab: int, seed: int = 0
) -> tuple[Int[Tensor, "global_batch seq"], Int[Tensor, "global_batch seq"]]:
    """The global batch of training step ``step``: ``(x, y)``, each ``(global_batch, seq)``.

    Sequence ``b`` is ``start_b, start_b + inc_b, start_b + 2 inc_b, ...`` modulo ``vocab`` with a
    random start and increment (``inc_b`` in ``1 .. 4``); ``y`` is ``x`` shifted by one. The numbers
    depend only on ``(seed, step)``: every process computes the same global batch.
    """
    if global_batch < 1 or seq < 1 or vocab < 5:
        raise ValueError(f"need global_batch >= 1, seq >= 1, vocab >= 5, got {global_batch}, {seq}, {vocab}")
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    start = torch.randint(0, vocab, (global_batch, 1), generator=g)
    inc = torch.randint(1, 5, (global_batch, 1), generator=g)
    ids = (start + inc * torch.arange(seq + 1)[None, :]) % vocab
    return ids[:, :-1], ids[:, 1:]
