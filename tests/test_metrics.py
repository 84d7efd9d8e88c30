"""Tests of tfmcourse.metrics: exact match and chrF (by hand, properties, and against sacrebleu)."""

from __future__ import annotations

import math
import random

import pytest

from tfmcourse.data.translation import chinese, english
from tfmcourse.metrics import (
    bleu,
    bleu_statistics,
    char_ngrams,
    chrf,
    chrf_statistics,
    exact_match,
    sentence_chrf,
)


def test_exact_match():
    assert exact_match(["十二", "十三 ", "一"], ["十二", "十三", "二"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="pair up"):
        exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        exact_match([], [])
    with pytest.raises(ValueError, match="not one string"):
        exact_match("ab", "ab")


def test_char_ngrams_drop_whitespace():
    assert char_ngrams("a b a", 1) == {"a": 2, "b": 1}
    assert char_ngrams("ab ab", 2) == {"ab": 2, "ba": 1}
    assert char_ngrams("ab", 3) == {}


def test_chrf_by_hand():
    # hyp 一二三 vs ref 一二四: unigrams 2/3 match, bigrams 1/2, trigrams 0/1 (orders 4-6 absent)
    stats = chrf_statistics("一二三", "一二四")
    assert stats[:3] == [(3, 3, 2), (2, 2, 1), (1, 1, 0)] and stats[3:] == [(0, 0, 0)] * 3
    p = r = (2 / 3 + 1 / 2 + 0) / 3
    assert sentence_chrf("一二三", "一二四") == pytest.approx(100 * 5 * p * r / (4 * p + r))
    # recall counts twice as much as precision: a hypothesis missing characters loses more than one
    # with extra characters
    assert sentence_chrf("一二", "一二三四") < sentence_chrf("一二三四五六", "一二三四")


def test_chrf_extremes():
    assert sentence_chrf("四千零一十二", "四千零一十二") == pytest.approx(100)
    assert sentence_chrf("五", "四千") == 0
    assert sentence_chrf("", "四千") == 0
    assert chrf(["一", "二"], ["一", "二"]) == pytest.approx(100)


def test_corpus_chrf_adds_statistics_not_scores():
    hyps, refs = ["一二三四五六七", "八"], ["一二三四五六七", "九"]
    mean_of_sentences = (sentence_chrf(hyps[0], refs[0]) + sentence_chrf(hyps[1], refs[1])) / 2
    assert chrf(hyps, refs) != pytest.approx(mean_of_sentences)
    assert 0 < chrf(hyps, refs) < 100


def _random_pairs(seed: int, n: int = 200) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    hyps, refs = [], []
    for _ in range(n):
        a, b = rng.randrange(10**7), rng.randrange(10**7)
        ref = chinese(a) if rng.random() < 0.7 else english(a)
        if rng.random() < 0.3:
            hyp = ref
        elif rng.random() < 0.5:
            hyp = chinese(b) if ref == chinese(a) else english(b)
        else:
            hyp = ref[: rng.randrange(len(ref) + 1)] + ref[rng.randrange(len(ref) + 1) :]
        hyps.append(hyp)
        refs.append(ref)
    return hyps, refs


def test_chrf_equals_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    for seed in range(3):
        hyps, refs = _random_pairs(seed)
        assert chrf(hyps, refs) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
        for h, r in zip(hyps[:60], refs[:60]):
            assert sentence_chrf(h, r) == pytest.approx(sacrebleu.sentence_chrf(h, [r]).score, abs=1e-9)


def test_bleu_by_hand():
    # hyp 四千零一十二 vs ref 四千零一十三: 5 of 6 unigrams, 4 of 5 bigrams, 3 of 4 trigrams, 2 of 3 4-grams
    hyp_len, ref_len, matches, totals = bleu_statistics("四千零一十二", "四千零一十三")
    assert (hyp_len, ref_len, matches, totals) == (6, 6, [5, 4, 3, 2], [6, 5, 4, 3])
    want = 100 * math.exp((math.log(5 / 6) + math.log(4 / 5) + math.log(3 / 4) + math.log(2 / 3)) / 4)
    assert bleu(["四千零一十二"], ["四千零一十三"]) == pytest.approx(want)
    assert bleu(["四千零一十二", "五"], ["四千零一十二", "五"]) == pytest.approx(100)


def test_bleu_clips_repeated_ngrams_and_penalises_short_outputs():
    assert bleu_statistics("二二二二", "二十二")[2][0] == 2  # each reference 二 is matched once
    long_ref = ["一二三四五六七八"]
    assert bleu(["一二三四"], long_ref) == pytest.approx(100 * math.exp(1 - 8 / 4))  # all precisions 1
    assert bleu(["一二三四五六七八九十"], long_ref) < 100  # too long: no brevity bonus, lower precision


def test_bleu_smooths_an_order_without_matches():
    # 4-grams exist but none matches: precision 1 / (2 * 3) instead of 0
    got = bleu(["一二三四五六"], ["一二三五四六"])
    _, _, matches, totals = bleu_statistics("一二三四五六", "一二三五四六")
    assert matches[3] == 0 and totals[3] == 3
    p = [matches[0] / totals[0], matches[1] / totals[1], matches[2] / totals[2], 1 / (2 * 3)]
    assert got == pytest.approx(100 * math.exp(sum(math.log(x) for x in p) / 4))
    assert bleu(["五"], ["四千"]) == 0


def test_bleu_equals_sacrebleu_on_chinese():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(11)
    for _ in range(5):
        refs = [chinese(rng.randrange(10**7)) for _ in range(80)]
        hyps = [
            r
            if rng.random() < 0.3
            else chinese(rng.randrange(10**7))
            if rng.random() < 0.5
            else r[: rng.randrange(len(r) + 1)] + r[rng.randrange(len(r) + 1) :]
            for r in refs
        ]
        want = sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score
        assert bleu(hyps, refs) == pytest.approx(want, abs=1e-9)  # same counts, float rounding only


def test_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        chrf(["a"], ["a"], order=0)
    with pytest.raises(ValueError, match="n must be"):
        char_ngrams("a", 0)
    with pytest.raises(ValueError, match="order"):
        bleu(["a"], ["a"], order=0)
    with pytest.raises(ValueError, match="pair up"):
        bleu(["a"], ["a", "b"])
