"""Tests of tfmcourse.models.ngram: Kneser-Ney n-gram models, against a plain-Python reference."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest
import torch

from tfmcourse.models.ngram import KneserNeyLM, ngram_search


def reference_kneser_ney(train: list[int], vocab_size: int, order: int):
    """Interpolated modified Kneser-Ney written with dictionaries, one n-gram at a time: the textbook
    definition that the vectorised model must reproduce. Returns ``prob(context, w)``."""
    counts = [Counter() for _ in range(order + 1)]  # counts[k][ngram tuple of length k]
    for k in range(1, order + 1):
        for i in range(len(train) - k + 1):
            counts[k][tuple(train[i : i + k])] += 1
    use = [None] * (order + 1)
    use[order] = counts[order]
    for k in range(1, order):  # continuation counts: distinct tokens that precede the k-gram
        cont = Counter()
        for gram in counts[k + 1]:
            cont[gram[1:]] += 1
        use[k] = Counter({g: cont.get(g, 0) for g in counts[k]})
    discounts = [None] * (order + 1)
    for k in range(1, order + 1):
        n = [sum(1 for c in use[k].values() if c == r) for r in range(1, 5)]
        y = n[0] / (n[0] + 2 * n[1]) if n[0] + n[1] > 0 else 0.5
        d = [0.0]
        for r in (1, 2, 3):
            value = r - (r + 1) * y * n[r] / n[r - 1] if n[r - 1] > 0 else 0.5 * r
            d.append(min(max(value, 0.05), float(r)))
        discounts[k] = d
    total, gamma = [None] * (order + 1), [None] * (order + 1)
    for k in range(1, order + 1):
        total[k], gamma[k] = defaultdict(float), defaultdict(float)
        for gram, c in use[k].items():
            total[k][gram[:-1]] += c
            gamma[k][gram[:-1]] += discounts[k][min(c, 3)] if c > 0 else 0.0

    def prob(context: tuple[int, ...], w: int) -> float:
        p = 1.0 / vocab_size
        for k in range(1, order + 1):
            if k - 1 > len(context):
                break
            h = tuple(context[len(context) - (k - 1) :]) if k > 1 else ()
            if total[k].get(h, 0.0) == 0:
                continue  # unseen context: keep the lower order's probability
            c = use[k].get(h + (w,), 0)
            d = discounts[k][min(c, 3)] if c > 0 else 0.0
            p = (max(c - d, 0.0) + gamma[k][h] * p) / total[k][h]
        return p

    return prob


@pytest.fixture(scope="module")
def small_text():
    g = torch.Generator().manual_seed(0)
    # a small "language": a Markov chain over 7 symbols with a few strong transitions, plus noise
    nxt = torch.tensor([1, 2, 3, 0, 5, 6, 4])
    ids = [0]
    for _ in range(600):
        ids.append(
            int(nxt[ids[-1]])
            if torch.rand(1, generator=g) < 0.7
            else int(torch.randint(0, 7, (1,), generator=g))
        )
    return torch.tensor(ids)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_the_dictionary_reference(small_text, order):
    train, valid = small_text[:450], small_text[450:]
    model = KneserNeyLM(train, 7, order)
    ref = reference_kneser_ney(train.tolist(), 7, order)
    got = model.logprobs(valid)
    want = torch.tensor(
        [math.log(ref(tuple(valid[:i].tolist()), int(valid[i]))) for i in range(1, len(valid))],
        dtype=torch.float64,
    )
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)  # same arithmetic, in another order


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_next_token_distribution_sums_to_one(small_text, order):
    model = KneserNeyLM(small_text, 9, order)  # ids 7 and 8 never occur: they still get probability > 0
    g = torch.Generator().manual_seed(1)
    for _ in range(10):
        context = torch.randint(0, 9, (int(torch.randint(0, 6, (1,), generator=g)),), generator=g)
        p = model.next_token_probs(context)
        assert p.shape == (9,) and (p > 0).all()
        assert abs(p.sum().item() - 1.0) < 1e-12
    assert abs(model.next_token_probs([]).sum().item() - 1.0) < 1e-12


def test_next_token_probs_agrees_with_logprobs(small_text):
    model = KneserNeyLM(small_text, 7, 3)
    seq = small_text[100:120]
    lp = model.logprobs(seq)
    for i in (1, 2, 10, 18):
        assert abs(model.next_token_probs(seq[:i])[seq[i]].log().item() - lp[i - 1].item()) < 1e-12


def test_longer_contexts_help_on_structured_text(small_text):
    train, valid = small_text[:450], small_text[450:]
    losses = [KneserNeyLM(train, 7, n).loss(valid) for n in (1, 2)]
    assert losses[1] < losses[0] - 0.3  # the chain's transitions are learned by the bigram
    periodic = torch.arange(5).repeat(40)
    assert KneserNeyLM(periodic, 5, 3).loss(periodic) < 0.1  # a deterministic text is nearly free


def test_window_loss_scores_exactly_the_evaluate_lm_windows(small_text):
    model = KneserNeyLM(small_text[:400], 7, 3)
    valid, context = small_text[400:], 16
    n = (len(valid) - 1) // context
    windows = torch.stack([valid[i * context : i * context + context + 1] for i in range(n)])
    want = -torch.stack([model.logprobs(w) for w in windows]).mean().item()
    assert abs(model.loss(valid, context=context) - want) < 1e-12
    # within a window the context starts at the window: the stream loss (all the past) differs
    assert model.loss(valid, context=context) != model.loss(valid)


def test_search_picks_the_best_order_and_agrees_with_single_models(small_text):
    train, valid = small_text[:450], small_text[450:]
    best, losses = ngram_search(train, valid, 7, orders=range(1, 6), context=32)
    assert sorted(losses) == [1, 2, 3, 4, 5] and best.order == min(losses, key=losses.get)
    for n, loss in losses.items():
        assert abs(KneserNeyLM(train, 7, n).loss(valid, context=32) - loss) < 1e-12
    assert abs(best.loss(valid, context=32) - losses[best.order]) < 1e-12


def test_bad_input_is_named(no_type_checks):  # a float tensor on purpose: the ValueError a learner sees
    tokens = torch.tensor([0, 1, 2, 1, 0])
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM(tokens, 3, 0)
    with pytest.raises(ValueError, match="vocab_size"):
        KneserNeyLM(tokens, 0, 2)
    with pytest.raises(ValueError, match=r"outside \[0, vocab_size=2\)"):
        KneserNeyLM(tokens, 2, 2)
    with pytest.raises(ValueError, match="integer tensor"):
        KneserNeyLM(tokens.float(), 3, 2)
    with pytest.raises(ValueError, match="at least order=9"):
        KneserNeyLM(tokens, 3, 9)
    model = KneserNeyLM(tokens, 3, 2)
    with pytest.raises(ValueError, match="context"):
        model.loss(tokens, context=0)
    with pytest.raises(ValueError, match="too short"):
        model.loss(tokens, context=10)
    with pytest.raises(ValueError, match="n >= 2"):
        model.logprobs(torch.tensor([1]))
    with pytest.raises(ValueError, match="orders"):
        ngram_search(tokens, tokens, 3, orders=[])


def test_rows_are_scored_independently(small_text):
    model = KneserNeyLM(small_text, 7, 3)
    rows = small_text[:60].reshape(3, 20)
    want = -torch.stack([model.logprobs(r) for r in rows]).mean().item()
    assert abs(model.loss(rows) - want) < 1e-12
    best, losses = ngram_search(small_text[:400], rows, 7, orders=[1, 2, 3])
    assert abs(losses[3] - KneserNeyLM(small_text[:400], 7, 3).loss(rows)) < 1e-12
