"""Scores for generated text against references: exact match, chrF and BLEU on characters (chapter 7).

chrF (Popović, 2015) compares *character n-grams*: for every order ``n = 1 .. 6`` it counts the
n-grams of the hypothesis that also occur in the reference (each occurrence matched at most once),
giving an n-gram precision and recall; precision and recall are averaged over the orders, and combined
into an F-score that weighs recall ``beta = 2`` times as much as precision::

    chrF = (1 + beta^2) * P * R / (beta^2 * P + R)      (times 100)

Whitespace is removed before counting. Over a corpus the counts of all sentences are added up first.
An order that a sentence is too short to have (a 2-character reference has no 3-grams) does not count
for that sentence; the average runs over the orders that hypothesis and reference both have. These are
the choices of ``sacrebleu``'s default ``CHRF()`` (a test compares the two when sacrebleu is installed).

Character n-grams suit short outputs written without spaces, like Chinese numerals, where a
word-based metric has no words to count. BLEU (Papineni et al., 2002), the metric of the Transformer
paper, is therefore computed on characters for Chinese, as ``sacrebleu``'s ``zh`` tokenizer does
(:func:`bleu`): the geometric mean of the clipped n-gram precisions for ``n = 1 .. 4`` over the whole
corpus, times a brevity penalty for a corpus of outputs shorter than the references (a test compares it
with ``sacrebleu.corpus_bleu(..., tokenize="zh")``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

__all__ = [
    "exact_match",
    "char_ngrams",
    "chrf_statistics",
    "chrf",
    "sentence_chrf",
    "bleu_statistics",
    "bleu",
]


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise ValueError("hypotheses and references must be sequences of strings, not one string")
    if len(hypotheses) != len(references):
        raise ValueError(
            f"got {len(hypotheses)} hypotheses but {len(references)} references: they must pair up"
        )


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """The fraction (0 to 1) of hypotheses equal to their reference (after stripping outer spaces)."""
    _check_pairs(hypotheses, references)
    if not hypotheses:
        raise ValueError("exact_match of an empty list is undefined")
    return sum(h.strip() == r.strip() for h, r in zip(hypotheses, references)) / len(hypotheses)


def char_ngrams(text: str, n: int) -> Counter[str]:
    """The character n-grams of ``text`` with whitespace removed, with their counts."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    chars = "".join(text.split())
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


def chrf_statistics(hypothesis: str, reference: str, order: int = 6) -> list[tuple[int, int, int]]:
    """Per order ``n = 1 .. order``: ``(hypothesis n-grams, reference n-grams, matches)``.

    When the reference has no n-grams of an order, the hypothesis' n-grams of that order are not
    counted either (that order is undefined for this pair).
    """
    stats = []
    for n in range(1, order + 1):
        hyp, ref = char_ngrams(hypothesis, n), char_ngrams(reference, n)
        matches = sum(min(count, ref[g]) for g, count in hyp.items())
        n_ref = sum(ref.values())
        stats.append((sum(hyp.values()) if n_ref else 0, n_ref, matches))
    return stats


def _f_score(stats: Sequence[tuple[int, int, int]], beta: float) -> float:
    orders = [(m / h, m / r) for h, r, m in stats if h > 0 and r > 0]
    if not orders:
        return 0.0
    precision = sum(p for p, _ in orders) / len(orders)
    recall = sum(r for _, r in orders) / len(orders)
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def chrf(hypotheses: Sequence[str], references: Sequence[str], order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF (0 to 100) of ``hypotheses`` against one reference each: the n-gram counts of all
    pairs are added up, then turned into one score."""
    _check_pairs(hypotheses, references)
    if order < 1 or beta <= 0:
        raise ValueError(f"need order >= 1 and beta > 0, got order={order}, beta={beta}")
    total = [[0, 0, 0] for _ in range(order)]
    for h, r in zip(hypotheses, references):
        for acc, stat in zip(total, chrf_statistics(h, r, order)):
            for i in range(3):
                acc[i] += stat[i]
    return _f_score([tuple(t) for t in total], beta)


def sentence_chrf(hypothesis: str, reference: str, order: int = 6, beta: float = 2.0) -> float:
    """chrF (0 to 100) of one hypothesis against its reference."""
    return chrf([hypothesis], [reference], order, beta)


def bleu_statistics(hypothesis: str, reference: str, order: int = 4) -> tuple[int, int, list[int], list[int]]:
    """BLEU's counts for one pair, on characters (whitespace removed):
    ``(hypothesis length, reference length, matches per order, hypothesis n-grams per order)``.

    A match is a hypothesis n-gram that also occurs in the reference, each reference occurrence used at
    most once ("clipped" counts: 二二二二 against 二十二 matches the unigram 二 twice, not four times).
    """
    hyp_chars, ref_chars = "".join(hypothesis.split()), "".join(reference.split())
    matches, totals = [], []
    for n in range(1, order + 1):
        hyp, ref = char_ngrams(hyp_chars, n), char_ngrams(ref_chars, n)
        matches.append(sum(min(count, ref[g]) for g, count in hyp.items()))
        totals.append(sum(hyp.values()))
    return len(hyp_chars), len(ref_chars), matches, totals


def bleu(hypotheses: Sequence[str], references: Sequence[str], order: int = 4) -> float:
    """Corpus BLEU (0 to 100) on characters, with one reference per hypothesis.

    The counts of :func:`bleu_statistics` are added over the corpus; the score is
    ``BP * exp(mean_n log p_n)`` with ``p_n`` = matched / hypothesis n-grams of order ``n`` and the
    brevity penalty ``BP = exp(1 - ref_len / hyp_len)`` when the hypotheses are shorter in total (else 1).
    An order with no match gets sacrebleu's default ("exp") smoothing: its precision is
    ``1 / (2**k * total)`` for the ``k``-th such order, so one missing order does not zero the score.
    For Chinese text this equals ``sacrebleu.corpus_bleu(hypotheses, [references], tokenize="zh")``.
    """
    _check_pairs(hypotheses, references)
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    hyp_len = ref_len = 0
    matches, totals = [0] * order, [0] * order
    for h, r in zip(hypotheses, references):
        hl, rl, m, t = bleu_statistics(h, r, order)
        hyp_len, ref_len = hyp_len + hl, ref_len + rl
        matches = [a + b for a, b in zip(matches, m)]
        totals = [a + b for a, b in zip(totals, t)]
    if not any(matches):
        return 0.0
    log_precision, halvings = 0.0, 0
    for m, t in zip(matches, totals):
        if t == 0:  # no hypothesis n-grams of this order at all: BLEU is 0 (sacrebleu's convention)
            return 0.0
        if m == 0:
            halvings += 1
            log_precision += math.log(1 / (2**halvings * t))
        else:
            log_precision += math.log(m / t)
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision / order)
