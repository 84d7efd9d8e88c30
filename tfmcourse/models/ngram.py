"""N-gram language models, counted and smoothed: the baselines a Transformer language model must beat (chapter 9).

An n-gram model predicts the next token from the ``n - 1`` tokens before it and nothing else, with
probabilities counted on the training text. Counting alone gives probability zero to every n-gram the
training text does not contain, and with a long context most are missing, so the counts are
**smoothed**. :class:`KneserNeyLM` is interpolated modified Kneser-Ney smoothing
(Kneser and Ney, 1995; Chen and Goodman, 1999), the standard strong n-gram baseline:

- **Discounting.** A fixed amount ``D`` is taken off every count (``D1``, ``D2`` or ``D3`` for n-grams
  seen once, twice, or three times and more, estimated from how many n-grams have each count), and the
  probability mass freed this way goes to the next shorter context:
  ``p(w | h) = max(c(h w) - D, 0) / c(h) + gamma(h) / c(h) * p(w | h')``, with ``h'`` = ``h`` without
  its first token and ``gamma(h)`` the sum of the discounts taken in context ``h``. A context never
  seen falls back to ``p(w | h')`` entirely.
- **Continuation counts.** The shorter contexts are only consulted when the long one did not settle
  the question, so their counts are *how many different tokens precede* the n-gram, not how often it
  occurs: "Francisco" is frequent but nearly always after "San", so as a guess after an unseen context
  it deserves little weight.
- The recursion ends at the uniform distribution ``1 / vocab_size``, so every token has a positive
  probability and the probabilities of each context sum to 1 (a test checks it).

All counting is vectorised: the n-grams of each order get integer ids, built order by order (the id of
an n-gram is found from the id of its first ``n - 1`` tokens and its last token), and looked up with
``searchsorted``. Counting a few hundred thousand tokens up to order 10 takes seconds on one CPU core.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from jaxtyping import Float, Int
from torch import Tensor

__all__ = ["KneserNeyLM", "ngram_search"]


def _shape(x: object) -> tuple[int, ...] | str:
    return tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__


def _as_ids(tokens: object, name: str, vocab_size: int) -> Tensor:
    """``tokens`` as an int64 tensor, checked to lie in ``[0, vocab_size)``."""
    if isinstance(tokens, (list, tuple)):
        tokens = torch.tensor(tokens, dtype=torch.long)
    if (
        not isinstance(tokens, Tensor)
        or tokens.is_floating_point()
        or tokens.is_complex()
        or tokens.dtype == torch.bool
    ):
        what = (
            f"dtype {tokens.dtype}, shape {_shape(tokens)}"
            if isinstance(tokens, Tensor)
            else type(tokens).__name__
        )
        raise ValueError(f"{name} must be an integer tensor of token ids, got {what}")
    tokens = tokens.long()
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(
            f"{name} has shape {_shape(tokens)} with ids in [{int(tokens.min())}, {int(tokens.max())}], "
            f"outside [0, vocab_size={vocab_size})"
        )
    return tokens


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
                f"the tables hold orders up to {t.max_order} (vocab {t.vocab_size}), need {order} ({vocab_size})"
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


def _rows(tokens: object, vocab_size: int) -> Tensor:
    """``tokens`` checked, as a 2-D tensor of rows (a 1-D tensor becomes one row)."""
    tokens = _as_ids(tokens, "tokens", vocab_size)
    if tokens.ndim not in (1, 2) or tokens.shape[-1] < 2:
        raise ValueError(f"tokens must be (n,) or (rows, n) with n >= 2, got shape {_shape(tokens)}")
    return tokens if tokens.ndim == 2 else tokens[None]


def _windows(tokens: object, vocab_size: int, context: int | None) -> Tensor:
    """The rows :meth:`KneserNeyLM.loss` scores: the whole stream, rows given as a 2-D tensor, or
    evaluate_lm's windows of a stream."""
    tokens = _as_ids(tokens, "tokens", vocab_size)
    if tokens.ndim == 2 and context is None:
        return _rows(tokens, vocab_size)
    if tokens.ndim != 1:
        raise ValueError(
            f"tokens must be a 1-D tensor of ids (or 2-D rows without context), got shape {_shape(tokens)}"
        )
    if context is None:
        return _rows(tokens, vocab_size)
    if not isinstance(context, int) or isinstance(context, bool) or context < 1:
        raise ValueError(f"context must be None or a positive int, got {context!r}")
    n = (tokens.numel() - 1) // context
    if n < 1:
        raise ValueError(
            f"tokens has shape {_shape(tokens)}: too short for one window of context={context} + 1"
        )
    return tokens[torch.arange(n)[:, None] * context + torch.arange(context + 1)[None, :]]


def _extend(prev: Tensor, seq: Tensor, vocab_size: int) -> Tensor:
    """Keys of the k-grams ending at each position of ``seq`` (rows independent), from the ids
    ``prev`` of the (k-1)-grams ending one position earlier; -1 where there is none."""
    key = torch.full_like(seq, -1)
    before = prev[:, :-1]
    key[:, 1:] = torch.where(before >= 0, before * vocab_size + seq[:, 1:], -1)
    return key


class _Level:
    """One order's smoothing statistics: the counts ``c`` of its k-grams (raw or continuation), the
    discounts, and per context the total count and the discounted mass ``gamma``."""

    def __init__(self, counts: Tensor, context: Tensor, num_contexts: int):
        self.count = counts
        d = _modified_discounts(counts)
        self.discounts = tuple(float(x) for x in d[1:])
        self._d = d
        taken = d[counts.clamp(max=3).long()]
        self.total = torch.bincount(context, weights=counts, minlength=num_contexts)
        self.gamma = torch.bincount(context, weights=taken, minlength=num_contexts)

    def interpolate(self, ids: Tensor, context: Tensor, lower: Tensor) -> Tensor:
        """``p_k`` from the k-gram ids and their context ids (-1: unseen) and the order k-1 probabilities."""
        c = torch.where(ids >= 0, self.count[ids.clamp(min=0)], 0.0)
        known = context >= 0
        total = torch.where(known, self.total[context.clamp(min=0)], 0.0)
        gamma = torch.where(known, self.gamma[context.clamp(min=0)], 0.0)
        discount = self._d[c.clamp(max=3).long()]
        seen = total > 0
        return torch.where(
            seen, ((c - discount).clamp(min=0) + gamma * lower) / torch.where(seen, total, 1.0), lower
        )


class _Tables:
    """The counted n-grams of orders 1 to ``max_order`` of a token stream, shared by the models of
    every order (counting is the expensive part; a model of order k uses the first k tables).

    ``keys[k-1]``: sorted keys of the distinct k-grams (key = id of the first k-1 tokens * V + last
    token; a k-gram's id is its index here); ``context[k-1]``: the id of each k-gram's first k-1 tokens;
    ``raw[k-1]``: how often each occurs; ``continuation[k-1]``: how many distinct tokens precede it.
    """

    def __init__(self, tokens: object, vocab_size: int, max_order: int):
        for name, value in (("vocab_size", vocab_size), ("order", max_order)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        tokens = _as_ids(tokens, "tokens", vocab_size)
        if tokens.ndim != 1 or tokens.numel() < max_order:
            raise ValueError(
                f"tokens must be a 1-D tensor of at least order={max_order} ids, got shape {_shape(tokens)}"
            )
        self.vocab_size, self.max_order = vocab_size, max_order
        self.keys: list[Tensor] = []
        self.context: list[Tensor] = []
        self.raw: list[Tensor] = []
        self.continuation: list[Tensor] = []
        prev = None  # the id of the (k-1)-gram ending at each position of tokens (-1: none)
        for k in range(1, max_order + 1):
            key = _extend(prev[None], tokens[None], vocab_size)[0] if k > 1 else tokens
            where = torch.nonzero(key >= 0).squeeze(1)
            uniq, inverse, count = torch.unique(key[where], return_inverse=True, return_counts=True)
            if k > 1:
                # Continuation counts of order k-1: each distinct k-gram adds one to the count of its
                # last k-1 tokens, the (k-1)-gram ending at the same position (found at its first occurrence).
                first = torch.full((len(uniq),), len(where), dtype=torch.long)
                first.scatter_reduce_(0, inverse, torch.arange(len(where)), reduce="amin")
                suffix = prev[where[first]]
                self.continuation.append(torch.bincount(suffix, minlength=len(self.keys[-1])).double())
            ids = torch.full_like(key, -1)
            ids[where] = inverse
            self.keys.append(uniq)
            self.context.append(uniq // vocab_size if k > 1 else torch.zeros_like(uniq))
            self.raw.append(count.double())
            prev = ids
        self._levels: dict[tuple[int, bool], _Level] = {}

    def level(self, k: int, raw: bool) -> _Level:
        """The statistics of order ``k`` with raw (``True``) or continuation counts (built once)."""
        if (k, raw) not in self._levels:
            if not raw and k == self.max_order:
                raise ValueError(f"continuation counts of order {k} need the tables of order {k + 1}")
            counts = self.raw[k - 1] if raw else self.continuation[k - 1]
            contexts = len(self.keys[k - 2]) if k > 1 else 1
            self._levels[k, raw] = _Level(counts, self.context[k - 1], contexts)
        return self._levels[k, raw]

    def lookup(self, seq: Tensor, order: int) -> list[tuple[Tensor, Tensor]]:
        """For k = 1 .. order: the ids of the k-grams ending at each position of ``seq`` (rows
        independent) and the ids of their contexts, -1 where unseen in training."""
        out, prev = [], None
        for k in range(1, order + 1):
            if k == 1:
                key, context = seq, torch.zeros_like(seq)
            else:
                key = _extend(prev, seq, self.vocab_size)
                context = torch.full_like(seq, -1)
                context[:, 1:] = prev[:, :-1]
            table = self.keys[k - 1]
            pos = torch.searchsorted(table, key.clamp(min=0)).clamp(max=len(table) - 1)
            ids = torch.where((table[pos] == key) & (key >= 0), pos, -1)
            out.append((ids, context))
            prev = ids
        return out


def _modified_discounts(counts: Tensor) -> Tensor:
    """``(0, D1, D2, D3+)`` of modified Kneser-Ney from the count-of-counts ``n_r`` (Chen and Goodman):
    ``Y = n1 / (n1 + 2 n2)``, ``D_r = r - (r + 1) Y n_{r+1} / n_r``, each kept in ``[0.05, r]``
    (the formula is undefined or leaves nothing for tiny texts without n-grams seen 1 to 4 times)."""
    n = [float((counts == r).sum()) for r in range(1, 5)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + n[1] > 0 else 0.5
    d = []
    for r in (1, 2, 3):
        value = r - (r + 1) * y * n[r] / n[r - 1] if n[r - 1] > 0 else 0.5 * r
        d.append(min(max(value, 0.05), float(r)))
    return torch.tensor([0.0, *d], dtype=torch.float64)


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
