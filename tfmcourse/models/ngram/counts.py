"""The counting under chapter 9's :class:`~tfmcourse.models.ngram.model.KneserNeyLM`: the token ids checked
(:func:`_as_ids`), cut into rows and windows, every n-gram of every order given an integer id order by
order (:func:`_extend`), and each order's smoothing statistics (``_Level``, ``_Tables``, the modified
Kneser-Ney discounts). Everything is vectorised and looked up with ``searchsorted``."""

from __future__ import annotations

import torch
from torch import Tensor


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
