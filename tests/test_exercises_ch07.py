"""Tests of the chapter 7 exercise checkers: the references pass, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.attention import causal_mask
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch07 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


# ----------------------------------------------------------------------------- references


def ref_loss(logits, target, smoothing, pad_id):
    log_p = logits.log_softmax(dim=-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    loss = (1 - smoothing) * nll + smoothing * -log_p.mean(dim=-1)
    keep = target != pad_id
    return (loss * keep).sum() / keep.sum()


def ref_warmup(step, d_model, warmup):
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def ref_greedy(model, src, bos_id, eos_id, pad_id, max_len):
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        logits = model.decode(ys, memory, causal_mask(ys.shape[1]), src_mask)
        token = logits[:, -1].argmax(dim=-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def ref_greedy_cached_full_length(model, src, bos_id, eos_id, pad_id, max_len):
    """Another right answer: with the cache, always max_len steps (extra padding columns are fine)."""
    memory = model.encode(src, (src != pad_id)[:, None, None, :])
    cache = model.new_cache()
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = model.decode(ys[:, -1:], memory, cache=cache)[:, -1].argmax(-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
    return ys[:, 1:]


@pytest.mark.parametrize("checker, fn", [
    (check.label_smoothed_loss, ref_loss),
    (check.warmup_lr, ref_warmup),
    (check.greedy, ref_greedy),
    (check.greedy, ref_greedy_cached_full_length),
])
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    assert "✔" in capsys.readouterr().out


def test_package_functions_pass(capsys):
    from tfmcourse.decode import greedy_decode
    from tfmcourse.train import label_smoothed_cross_entropy, noam_lr

    check.label_smoothed_loss(lambda lg, t, s, p: label_smoothed_cross_entropy(lg, t, s, ignore_index=p))
    check.warmup_lr(noam_lr)
    check.greedy(lambda m, s, b, e, p, n: greedy_decode(m, s, bos_id=b, eos_id=e, pad_id=p, max_len=n))
    assert capsys.readouterr().out.count("✔") == 3


@pytest.mark.parametrize("checker", [check.label_smoothed_loss, check.warmup_lr, check.greedy])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ----------------------------------------------------------------------------- label smoothing mutants


def loss_no_smoothing(logits, target, smoothing, pad_id):
    return ref_loss(logits, target, 0.0, pad_id)


def loss_pad_counted(logits, target, smoothing, pad_id):
    log_p = logits.log_softmax(-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return ((1 - smoothing) * nll + smoothing * -log_p.mean(-1)).mean()


def loss_pad_denominator(logits, target, smoothing, pad_id):
    return ref_loss(logits, target, smoothing, pad_id) * (target != pad_id).sum() / target.numel()


def loss_v_minus_1(logits, target, smoothing, pad_id):
    log_p = logits.log_softmax(-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    others = (-log_p.sum(-1) - nll) / (logits.shape[-1] - 1)
    keep = target != pad_id
    return (((1 - smoothing) * nll + smoothing * others) * keep).sum() / keep.sum()


def loss_sum_vocab(logits, target, smoothing, pad_id):
    log_p = logits.log_softmax(-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    keep = target != pad_id
    return (((1 - smoothing) * nll + smoothing * -log_p.sum(-1)) * keep).sum() / keep.sum()


def loss_swapped(logits, target, smoothing, pad_id):
    return ref_loss(logits, target, 1 - smoothing, pad_id)


def loss_item(logits, target, smoothing, pad_id):
    return torch.tensor(ref_loss(logits, target, smoothing, pad_id).item(), dtype=torch.float64)


def loss_per_position(logits, target, smoothing, pad_id):
    log_p = logits.log_softmax(-1)
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return (1 - smoothing) * nll + smoothing * -log_p.mean(-1)


@pytest.mark.parametrize("mutant, hint", [
    (loss_no_smoothing, "plain cross entropy"),
    (loss_pad_counted, "Padding positions are counted"),
    (loss_pad_denominator, "number of non-padding"),
    (loss_v_minus_1, "vocab - 1"),
    (loss_sum_vocab, "should average"),
    (loss_swapped, "swapped"),
    (loss_item, "gradients"),
    (loss_per_position, "one number"),
])
def test_loss_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.label_smoothed_loss(mutant)


def test_loss_unknown_mistake_gets_generic_hint():
    with pytest.raises(ExerciseError, match="should be .*Per position"):
        check.label_smoothed_loss(lambda lg, t, s, p: ref_loss(lg, t, s, p) * 1.01)


# ----------------------------------------------------------------------------- warmup mutants


@pytest.mark.parametrize("mutant, hint", [
    (lambda s, d, w: min(s**-0.5, s * w**-1.5), "d_model \\*\\* -0.5"),
    (lambda s, d, w: d**-0.5 * max(s**-0.5, s * w**-1.5), "min"),
    (lambda s, d, w: d**-0.5 * min(s**-0.5, s * w**-0.5), "rising part"),
    (lambda s, d, w: d**-0.5 * min(s**-0.5, s / w), "rising part"),
    (lambda s, d, w: d**-0.5 * min(1 / s, s * w**-1.5), "decay"),
    (lambda s, d, w: d**-0.5 * min((s + 1) ** -0.5, (s + 1) * w**-1.5), "should be"),
    (lambda s, d, w: torch.tensor([1.0, 2.0]), "Return a number"),
])
def test_warmup_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.warmup_lr(mutant)


def test_warmup_accepts_a_one_element_tensor(capsys):
    check.warmup_lr(lambda s, d, w: torch.tensor(ref_warmup(s, d, w), dtype=torch.float64))
    assert "✔" in capsys.readouterr().out


def test_warmup_step_from_zero_crashes_with_a_hint():
    with pytest.raises(ExerciseError, match="ZeroDivisionError"):
        check.warmup_lr(lambda s, d, w: ref_warmup(s - 1, d, w))


# ----------------------------------------------------------------------------- greedy mutants


def greedy_with_bos(model, src, bos_id, eos_id, pad_id, max_len):
    out = ref_greedy(model, src, bos_id, eos_id, pad_id, max_len)
    return torch.cat([torch.full((src.shape[0], 1), bos_id), out], dim=1)


def greedy_no_padding_after_eos(model, src, bos_id, eos_id, pad_id, max_len):
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), bos_id)
    for _ in range(max_len):
        token = model.decode(ys, memory)[:, -1].argmax(-1)
        ys = torch.cat([ys, token[:, None]], dim=1)
        if (ys == eos_id).any(dim=1).all():
            break
    return ys[:, 1:]


def greedy_one_too_many(model, src, bos_id, eos_id, pad_id, max_len):
    return ref_greedy(model, src, bos_id, eos_id, pad_id, max_len + 1)


def greedy_stops_at_first_eos(model, src, bos_id, eos_id, pad_id, max_len):
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), bos_id)
    for _ in range(max_len):
        token = model.decode(ys, memory)[:, -1].argmax(-1)
        ys = torch.cat([ys, token[:, None]], dim=1)
        if (token == eos_id).any():
            break
    return ys[:, 1:]


def greedy_wrong_position(model, src, bos_id, eos_id, pad_id, max_len):
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = model.decode(ys, memory)[:, 0].argmax(-1).masked_fill(done, pad_id)  # first position, not last
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


@pytest.mark.parametrize("mutant, hint", [
    (greedy_with_bos, "starts with <bos>"),
    (greedy_no_padding_after_eos, "goes on after its <eos>"),
    (greedy_one_too_many, "longer than max_len"),
    (greedy_stops_at_first_eos, "stop only when all rows are done"),
    (greedy_wrong_position, "last"),
    (lambda m, s, b, e, p, n: [[3]], "Return a \\(batch, out\\) tensor"),
])
def test_greedy_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.greedy(mutant)


def test_reverse_model_is_what_the_checker_says():
    model = check._ReverseModel()
    out = ref_greedy(model, torch.tensor([[3, 4, 5], [6, 0, 0]]), 1, 2, 0, 10)
    assert out.tolist() == [[5, 4, 3, 2], [6, 2, 0, 0]]
    assert math.isfinite(model.decode(torch.tensor([[1]]), model.encode(torch.tensor([[3]]))).sum().item())
