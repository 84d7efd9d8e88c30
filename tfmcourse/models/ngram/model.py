"""Chapter 9's n-gram baseline: :class:`KneserNeyLM` (interpolated modified Kneser-Ney, probabilities and
losses of token sequences) and :func:`ngram_search` (the best order on validation data). The counting is
in :mod:`tfmcourse.models.ngram.counts`."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from jaxtyping import Float, Int
from torch import Tensor

from tfmcourse.models.ngram.counts import _as_ids, _rows, _shape, _Tables, _windows

__all__ = ["KneserNeyLM", "ngram_search"]


class KneserNeyLM:
    """An interpolated modified Kneser-Ney n-gram language model, counted on ``tokens``.

    Args:
        tokens: the training text as a 1-D tensor of token ids (n-grams are counted across the whole
            stream; separate documents with an end-of-text token if they should not run together).
        vocab_size: number of token ids (the uniform distribution at the bottom of the recursion).
        order: ``n``, the longest n-gram: the model looks at the ``n - 1`` previous tokens
            (``order=1``: a smoothed unigram model, ``2``: bigram, ...).

    Attributes: ``order``, ``vocab_size``, ``num_ngrams`` (distinct n-grams of each order, from 1 to
    ``order``), ``discounts`` (``(D1, D2, D3+)`` of each order).

    Use :meth:`logprobs` for ``ln p`` of every token of a text, :meth:`loss` for the mean cross entropy
    (nats per token, the number :func:`tfmcourse.models.gpt.evaluate_lm` gives for a GPT, on the same
    windows), and :meth:`next_token_probs` for the whole distribution after one context.
    """

    def __init__(
        self, tokens: Int[Tensor, " n"], vocab_size: int, order: int, *, _tables: _Tables | None = None
    ):
        for name, value in (("vocab_size", vocab_size), ("order", order)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        t = _tables if _tables is not None else _Tables(tokens, vocab_size, order)
        if t.max_order < order or t.vocab_size != vocab_size:
            raise ValueError(
                f"the tables hold orders up to {t.max_order} (vocab {t.vocab_size}), "
                f"need {order} ({vocab_size})"
            )
        self.vocab_size, self.order, self._tables = vocab_size, order, t
        # Continuation counts below the highest order, raw counts at the highest order.
        self._levels = [t.level(k, raw=(k == order)) for k in range(1, order + 1)]
        self.discounts = [level.discounts for level in self._levels]
        self.num_ngrams = [len(t.keys[k]) for k in range(order)]

    def _probs(self, seq: Tensor) -> Tensor:
        """``p(seq[r, i] | seq[r, :i])`` for every row ``r`` and position ``i`` (context within the row)."""
        p = torch.full(seq.shape, 1.0 / self.vocab_size, dtype=torch.float64)
        for level, (ids, context) in zip(self._levels, self._tables.lookup(seq, self.order)):
            p = level.interpolate(ids, context, p)
        return p

    def logprobs(self, tokens: Int[Tensor, "*rows n"]) -> Float[Tensor, "*rows n_minus_1"]:
        """``ln p(tokens[..., i] | tokens[..., :i])`` for ``i = 1 .. n - 1``: the first token of each
        row has no context and is not scored. A 2-D tensor is a batch of independent rows (the
        context never crosses from one row into the next). float64."""
        seq = _rows(tokens, self.vocab_size)
        out = self._probs(seq)[:, 1:].log()
        return out if seq is tokens or tokens.ndim == 2 else out[0]

    def loss(self, tokens: Int[Tensor, "*rows n"], context: int | None = None) -> float:
        """Mean next-token cross entropy (nats per token) on ``tokens``, a 1-D id tensor (or a 2-D
        tensor of independent rows, each scored from its second token on).

        ``context=None`` scores ``tokens[1:]``, each with all the tokens before it. With ``context=C``
        the tokens are cut into the consecutive, non-overlapping windows of ``C + 1`` tokens of
        :func:`~tfmcourse.models.gpt.evaluate_lm` (the last partial window dropped), and each window
        predicts its last ``C`` tokens from the tokens before them *in the window*: exactly the
        predictions a GPT with ``C`` positions makes there, so the two numbers compare directly.
        """
        return -self.logprobs(_windows(tokens, self.vocab_size, context)).mean().item()

    def next_token_probs(self, context: Int[Tensor, " m"] | Iterable[int]) -> Float[Tensor, " vocab"]:
        """The distribution ``(vocab_size,)`` of the token after ``context`` (its last ``order - 1``
        tokens are used; an empty context gives the smoothed unigram distribution). Sums to 1."""
        context = _as_ids(
            context if isinstance(context, Tensor) else list(context), "context", self.vocab_size
        )
        if context.ndim != 1:
            raise ValueError(f"context must be a 1-D sequence of ids, got shape {_shape(context)}")
        h = context[max(0, context.numel() - (self.order - 1)) :]
        # Every candidate next token w: the sequence h + [w], scored at its last position.
        seq = torch.cat([h.expand(self.vocab_size, -1), torch.arange(self.vocab_size)[:, None]], dim=1)
        return self._probs(seq)[:, -1]

    def __repr__(self) -> str:
        return f"KneserNeyLM(order={self.order}, vocab_size={self.vocab_size}, ngrams={self.num_ngrams})"


def ngram_search(
    train: Int[Tensor, " n"],
    valid: Int[Tensor, "*rows m"],
    vocab_size: int,
    orders: Iterable[int] = range(1, 9),
    context: int | None = None,
) -> tuple[KneserNeyLM, dict[int, float]]:
    """Count a :class:`KneserNeyLM` of every order in ``orders`` on ``train`` and keep the one with the
    lowest loss on ``valid``, a 1-D stream (scored with ``context`` as in :meth:`KneserNeyLM.loss`) or
    a 2-D tensor of independent rows.

    Returns ``(best_model, {order: validation loss})``: the order is chosen on validation data, so the
    baseline is as strong as counting can make it; report it on a separate test text. The n-grams are
    counted once and the lower orders' probabilities shared, so trying every order costs little more
    than the highest one.
    """
    orders = sorted(set(orders)) if not isinstance(orders, (str, bytes)) else orders
    if not orders:
        raise ValueError("orders is empty: give at least one order")
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in orders):
        raise ValueError(f"orders must be positive ints, got {orders}")
    tables = _Tables(train, vocab_size, max(orders))  # counted once, shared by every order
    seq = _windows(valid, vocab_size, context)
    lookups = tables.lookup(seq, max(orders))
    losses: dict[int, float] = {}
    below = torch.full(seq.shape, 1.0 / vocab_size, dtype=torch.float64)  # the continuation chain up to k-1
    for k in range(1, max(orders) + 1):
        ids, ctx = lookups[k - 1]
        if k in orders:
            p = tables.level(k, raw=True).interpolate(ids, ctx, below)
            losses[k] = -p[:, 1:].log().mean().item()
        if k < max(orders):
            below = tables.level(k, raw=False).interpolate(ids, ctx, below)
    best = min(losses, key=losses.get)
    return KneserNeyLM(train, vocab_size, best, _tables=tables), losses
