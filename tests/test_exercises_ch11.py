"""Tests of the chapter 11 exercise checkers: the references pass; the stub, the shortcuts and the
mutants fail, each with the hint that names its mistake."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch11 as check

# ----------------------------------------------------------------------------- references


def ref_masked_self_attention(x, ids, pad_id, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.transpose(-2, -1) / math.sqrt(x.shape[-1])
    real = (ids != pad_id)[:, None, :]
    return torch.softmax(scores.masked_fill(~real, float("-inf")), dim=-1) @ v


def ref_bert_masking(ids, vocab_size, generator):
    picked = (torch.rand(ids.shape, generator=generator) < 0.15) & (ids >= 5)
    how = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(5, vocab_size, ids.shape, generator=generator)
    inputs = torch.where(picked & (how < 0.8), torch.full_like(ids, 4), ids)
    inputs = torch.where(picked & (how >= 0.8) & (how < 0.9), random_ids, inputs)
    return inputs, torch.where(picked, ids, torch.full_like(ids, -100))


def ref_cls_classifier(bert, ids, attention_mask, pooler, classifier):
    return classifier(torch.tanh(pooler(bert(ids, attention_mask)[:, 0])))


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.masked_self_attention, ref_masked_self_attention),
    (check.bert_masking, ref_bert_masking),
    (check.cls_classifier, ref_cls_classifier),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and fn.__name__.removeprefix("ref_") in out


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_checker_keeps_the_random_state(checker, fn):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    checker(fn)
    assert torch.equal(torch.get_rng_state(), before)


# -------------------------------------------------------------- 1. attention with a padding mask


def _attn(
    x, ids, pad_id, w_q, w_k, w_v, *, keys="real", fill=float("-inf"), scale=True, after=False, axis=-1
):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.transpose(-2, -1) / (math.sqrt(x.shape[-1]) if scale else 1.0)
    real = ids != pad_id
    mask = {
        "real": real[:, None, :],
        "inverted": ~real[:, None, :],
        "queries": real[:, :, None],
        "none": torch.ones_like(real)[:, None, :],
    }[keys]
    if after:
        return torch.softmax(scores, dim=-1) * mask @ v
    return torch.softmax(scores.masked_fill(~mask, fill), dim=axis) @ v


ATTENTION_MUTANTS = [
    (lambda *a: _attn(*a, keys="none"), "padding is not masked"),
    (lambda *a: _attn(*a, keys="inverted"), "inverted"),
    (lambda *a: _attn(*a, keys="queries"), "queries"),
    (lambda *a: _attn(*a, fill=0.0), "instead of -inf"),
    (lambda *a: _attn(*a, after=True), "after the softmax"),
    (lambda *a: _attn(*a, scale=False), "not scaled"),
    (lambda *a: _attn(*a, axis=-2), "wrong axis"),
]


@pytest.mark.parametrize("mutant, hint", ATTENTION_MUTANTS)
def test_masked_self_attention_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.masked_self_attention(mutant)


def test_masked_self_attention_refuses_the_builtin():
    def via_sdpa(x, ids, pad_id, w_q, w_k, w_v):
        mask = (ids != pad_id)[:, None, :]
        return F.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, attn_mask=mask)

    def via_package(x, ids, pad_id, w_q, w_k, w_v):
        from tfmcourse.attention import scaled_dot_product_attention

        return scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, mask=(ids != pad_id)[:, None, :])[0]

    for shortcut in (via_sdpa, via_package):
        with pytest.raises(ExerciseError, match="Write it yourself"):
            check.masked_self_attention(shortcut)


# ------------------------------------------------------------------------ 2. 80/10/10 masking


def _masking(
    ids, vocab_size, generator, *, p=0.15, split=(0.8, 0.9), specials=True, labels="orig", low=5, use_gen=True
):
    gen = generator if use_gen else None
    ok = ids >= 5 if specials else torch.ones_like(ids, dtype=torch.bool)
    picked = (torch.rand(ids.shape, generator=gen) < p) & ok
    how = torch.rand(ids.shape, generator=gen)
    random_ids = torch.randint(low, vocab_size, ids.shape, generator=gen)
    inputs = torch.where(picked & (how < split[0]), torch.full_like(ids, 4), ids)
    inputs = torch.where(picked & (how >= split[0]) & (how < split[1]), random_ids, inputs)
    if labels == "orig":
        lab = torch.where(picked, ids, torch.full_like(ids, -100))
    elif labels == "everywhere":
        lab = ids.clone()
    else:
        lab = torch.where(picked, inputs, torch.full_like(ids, -100))
    return inputs, lab


MASKING_MUTANTS = [
    (lambda i, v, g: _masking(i, v, g, split=(1.0, 1.0)), "80% of them with \\[MASK\\]"),
    (lambda i, v, g: _masking(i, v, g, split=(0.1, 0.9)), "80/10/10 split is off"),
    (lambda i, v, g: _masking(i, v, g, split=(0.8, 1.0)), "80/10/10 split is off"),
    (lambda i, v, g: _masking(i, v, g, specials=False), "Special tokens were picked"),
    (lambda i, v, g: _masking(i, v, g, labels="everywhere"), "-100"),
    (lambda i, v, g: _masking(i, v, g, labels="inputs"), "original"),
    (lambda i, v, g: _masking(i, v, g, p=0.3), "15%"),
    (lambda i, v, g: _masking(i, v, g, low=0), "random replacements are special"),
    (lambda i, v, g: _masking(i, v, g, use_gen=False), "generator"),
    (lambda i, v, g: _masking(i, v, g)[0], "pair of tensors"),
]


@pytest.mark.parametrize("mutant, hint", MASKING_MUTANTS)
def test_bert_masking_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.bert_masking(mutant)


def test_bert_masking_refuses_the_package():
    def shortcut(ids, vocab_size, generator):
        from tfmcourse.data.mlm import mask_tokens

        return mask_tokens(ids, vocab_size, generator=generator)

    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.bert_masking(shortcut)


def test_another_correct_masking_passes(capsys):
    def per_token_choice(ids, vocab_size, generator):  # a different but correct way to draw
        u = torch.rand(ids.shape, generator=generator)
        ordinary = ids >= 5
        picked = (u < 0.15) & ordinary
        choice = torch.multinomial(
            torch.tensor([0.8, 0.1, 0.1]), ids.numel(), replacement=True, generator=generator
        ).reshape(ids.shape)
        rnd = torch.randint(5, vocab_size, ids.shape, generator=generator)
        inputs = ids.clone()
        inputs[picked & (choice == 0)] = 4
        inputs[picked & (choice == 1)] = rnd[picked & (choice == 1)]
        return inputs, torch.where(picked, ids, -100)

    check.bert_masking(per_token_choice)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------- 3. [CLS] classifier

CLS_MUTANTS = [
    (lambda b, i, m, p, c: c(torch.tanh(p(b(i, m).mean(1)))), "averaged"),
    (lambda b, i, m, p, c: c(torch.tanh(p(b(i, m)[:, -1]))), "last position"),
    (lambda b, i, m, p, c: c(p(b(i, m)[:, 0])), "tanh is missing"),
    (lambda b, i, m, p, c: c(torch.relu(p(b(i, m)[:, 0]))), "not ReLU"),
    (lambda b, i, m, p, c: c(torch.tanh(p(b(i)[:, 0]))), "attention_mask is not passed"),
    (lambda b, i, m, p, c: torch.softmax(c(torch.tanh(p(b(i, m)[:, 0]))), -1), "probabilities"),
    (lambda b, i, m, p, c: c(b(i, m)[:, 0]), "pooler is skipped"),
]


@pytest.mark.parametrize("mutant, hint", CLS_MUTANTS)
def test_cls_classifier_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.cls_classifier(mutant)


def test_cls_classifier_refuses_the_package():
    def shortcut(bert, ids, attention_mask, pooler, classifier):
        from tfmcourse.models.bert import BertClassifier

        model = BertClassifier(bert.config, classifier.out_features, bert=bert).double().eval()
        model.pooler, model.classifier = pooler, classifier
        return model(ids, attention_mask)

    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.cls_classifier(shortcut)
