"""A model given by a table of next-token probabilities, with the encoder-decoder interface (chapter 7).

Decoding algorithms only ever ask a model one question: the probabilities of the next token after a
prefix. :class:`NextTokenTable` answers it from a table written by hand, so that a chapter can build a
case where it knows every sequence's probability exactly, and run the package's decoders
(:func:`tfmcourse.decode.greedy_decode`, :func:`tfmcourse.decode.beam_search`) on it::

    table = {(): {3: 0.6, 4: 0.4},        # after <bos>: token 3 with probability 0.6, token 4 with 0.4
             (3,): {5: 0.5, 6: 0.5},      # after 3
             (4,): {5: 1.0}}              # after 4; any prefix not in the table is followed by <eos>
    model = NextTokenTable(table, vocab=8)

The source is ignored: every source gets the same distribution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

__all__ = ["NextTokenTable", "TableCache"]


class TableCache(list):
    """The "cache" of :class:`NextTokenTable`: one dict holding the tokens fed so far,
    ``{"tokens": (batch, t)}``.

    A list of per-layer dicts like the Transformer's cache, with ``reorder(rows)`` to follow the beams of a
    beam search.
    """

    def reorder(self, rows: Int[Tensor, " rows"]) -> None:
        """Keep the batch rows ``rows`` (in that order) of every cached tensor."""
        for layer in self:
            for name, t in layer.items():
                layer[name] = t[rows]


class NextTokenTable(nn.Module):
    """An encoder-decoder whose next-token distribution is looked up in ``table``.

    Args:
        table: maps a prefix (a tuple of generated token ids, ``<bos>`` excluded; ``()`` is the start) to a
            dict ``{token: probability}``. The probabilities of a prefix must be positive and add up to 1.
            A prefix not in the table is followed by ``<eos>`` with probability 1.
        vocab: the vocabulary size; ``bos_id``, ``eos_id``, ``pad_id``: the special ids.

    ``decode`` returns log-probabilities as logits (``-inf`` for impossible tokens), so a decoder's
    softmax gives back exactly the table's probabilities. :meth:`log_prob` scores a whole sequence.
    """

    def __init__(
        self,
        table: Mapping[tuple[int, ...], Mapping[int, float]],
        vocab: int,
        *,
        bos_id: int = 1,
        eos_id: int = 2,
        pad_id: int = 0,
    ):
        super().__init__()
        if not isinstance(vocab, int) or vocab < 3:
            raise ValueError(f"vocab must be an int >= 3, got {vocab!r}")
        self.vocab, self.bos_id, self.eos_id, self.pad_id = vocab, bos_id, eos_id, pad_id
        self.table: dict[tuple[int, ...], dict[int, float]] = {}
        for prefix, dist in table.items():
            probs = dict(dist)
            bad = [t for t in probs if not 0 <= t < vocab or t in (bos_id, pad_id)]
            if bad or not probs or any(p <= 0 for p in probs.values()) or abs(sum(probs.values()) - 1) > 1e-9:
                raise ValueError(
                    f"table[{prefix}] must map token ids in [0, {vocab}) other than <bos> and <pad> to "
                    f"positive probabilities that add up to 1, got {probs}"
                )
            self.table[tuple(prefix)] = probs
        self.anchor = nn.Parameter(torch.zeros(()))  # a parameter, so that the decoders find a device

    def distribution(self, prefix: tuple[int, ...]) -> dict[int, float]:
        """The next-token probabilities after ``prefix`` (``<eos>`` for certain when it is not in the
        table)."""
        return self.table.get(tuple(prefix), {self.eos_id: 1.0})

    def log_prob(self, tokens: list[int]) -> float:
        """The total log-probability of generating ``tokens`` (``<bos>`` excluded, ``<eos>`` included if
        given)."""
        total = 0.0
        for i, token in enumerate(tokens):
            p = self.distribution(tuple(tokens[:i])).get(token, 0.0)
            if p == 0.0:
                return -math.inf
            total += math.log(p)
        return total

    def encode(
        self, src: Int[Tensor, "batch seq_s"], src_mask: Bool[Tensor, "batch 1 1 seq_s"] | None = None
    ) -> Float[Tensor, "batch seq_s 1"]:
        """A placeholder memory ``(batch, seq_s, 1)``: the table does not read the source."""
        if not isinstance(src, Tensor) or src.ndim != 2:
            raise ValueError(f"src must be a (batch, seq_s) tensor, got {getattr(src, 'shape', type(src))}")
        return torch.zeros(*src.shape, 1, device=src.device)

    def new_cache(self) -> TableCache:
        """An empty cache (see :class:`TableCache`)."""
        return TableCache([{}])

    def _row(self, prefix: tuple[int, ...]) -> Tensor:
        row = torch.full((self.vocab,), -math.inf)
        for token, p in self.distribution(prefix).items():
            row[token] = math.log(p)
        return row

    def decode(
        self,
        tgt: Int[Tensor, "batch seq_t"],
        memory: Float[Tensor, "batch seq_s 1"],
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        cache: TableCache | None = None,
    ) -> Float[Tensor, "batch seq_t vocab"]:
        """Log-probabilities of the token after every position of ``tgt`` (``<bos>`` first).

        With a ``cache``, ``tgt`` holds only the new tokens; the earlier ones are in the cache. The masks
        are accepted for the interface and not needed: position ``i`` only ever reads tokens ``<= i``.
        """
        if not isinstance(tgt, Tensor) or tgt.ndim != 2 or tgt.shape[0] != memory.shape[0]:
            raise ValueError(
                f"tgt must be (batch, seq_t) with the memory's batch {memory.shape[0]}, got "
                f"{getattr(tgt, 'shape', type(tgt))}"
            )
        if cache is not None:
            past = cache[0].get("tokens")
            seen = tgt if past is None else torch.cat([past, tgt], dim=1)
            cache[0]["tokens"] = seen
        else:
            seen = tgt
        start = seen.shape[1] - tgt.shape[1]
        rows = []
        for b in range(tgt.shape[0]):
            ids = seen[b].tolist()
            rows.append(torch.stack([self._row(tuple(ids[1 : start + i + 1])) for i in range(tgt.shape[1])]))
        return torch.stack(rows).to(memory.device)
