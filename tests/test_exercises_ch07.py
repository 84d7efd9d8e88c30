"""Tests of the chapter 7 exercise checkers: the references pass, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
import torch.nn.functional as F

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
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    cache = model.new_cache()
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = (
            model.decode(ys[:, -1:], memory, memory_mask=src_mask, cache=cache)[:, -1]
            .argmax(-1)
            .masked_fill(done, pad_id)
        )
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
    return ys[:, 1:]


def ref_beam_step(prefixes, scores, log_probs, beam_size, eos_id):
    vocab = log_probs.shape[-1]
    total = (scores[:, None] + log_probs).flatten()  # every extension of every prefix: (k * vocab,)
    new_prefixes, new_scores, finished = [], [], []
    for rank, index in enumerate(total.argsort(descending=True).tolist()):
        origin, token = divmod(index, vocab)
        candidate = prefixes[origin] + [token]
        if token == eos_id:
            if rank < beam_size:
                finished.append((candidate, total[index].item()))
        else:
            new_prefixes.append(candidate)
            new_scores.append(total[index].item())
            if len(new_prefixes) == beam_size:
                break
    return new_prefixes, torch.tensor(new_scores), finished


def ref_beam_step_topk(prefixes, scores, log_probs, beam_size, eos_id):
    """Another right answer: topk of 2 * beam_size (at most beam_size of them end in <eos>), lists out."""
    vocab = log_probs.shape[-1]
    values, indices = (scores[:, None] + log_probs).flatten().topk(2 * beam_size)
    beams, finished = [], []
    for rank, (value, index) in enumerate(zip(values.tolist(), indices.tolist())):
        hyp = prefixes[index // vocab] + [index % vocab]
        if index % vocab == eos_id:
            if rank < beam_size:
                finished.append((hyp, value))
        elif len(beams) < beam_size:
            beams.append((hyp, value))
    return [b for b, _ in beams], [v for _, v in beams], finished


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.label_smoothed_loss, ref_loss),
        (check.warmup_lr, ref_warmup),
        (check.greedy, ref_greedy),
        (check.greedy, ref_greedy_cached_full_length),
        (check.beam_step, ref_beam_step),
        (check.beam_step, ref_beam_step_topk),
    ],
)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    assert "✔" in capsys.readouterr().out


def test_package_schedule_handed_in_as_itself_is_refused():
    from tfmcourse.train import noam_lr

    with pytest.raises(ExerciseError, match="you handed in tfmcourse.train.noam_lr itself"):
        check.warmup_lr(noam_lr)  # the shared rule of forbidden(): the package's answer is not the learner's


def _delegates(name):
    from tfmcourse import decode, train

    return {
        "F.cross_entropy": lambda lg, t, s, p: F.cross_entropy(
            lg.flatten(0, 1), t.flatten(), label_smoothing=s, ignore_index=p
        ),
        "nn.CrossEntropyLoss": lambda lg, t, s, p: torch.nn.CrossEntropyLoss(
            label_smoothing=s, ignore_index=p
        )(lg.flatten(0, 1), t.flatten()),
        "label_smoothed_cross_entropy": lambda lg, t, s, p: train.label_smoothed_cross_entropy(
            lg, t, s, ignore_index=p
        ),
        "noam_lr": lambda s, d, w: train.noam_lr(s, d, w),
        "greedy_decode": lambda m, s, b, e, p, n: decode.greedy_decode(
            m, s, bos_id=b, eos_id=e, pad_id=p, max_len=n
        ),
        "beam_search": lambda m, s, b, e, p, n: torch.tensor(
            [
                h[0].tokens
                for h in decode.beam_search(m, s[:1], bos_id=b, eos_id=e, pad_id=p, beam_size=1, max_len=n)
            ]
        ),
    }[name]


@pytest.mark.parametrize(
    "checker, name, hint",
    [
        (check.label_smoothed_loss, "F.cross_entropy", "without torch.nn.functional.cross_entropy"),
        (check.label_smoothed_loss, "nn.CrossEntropyLoss", "without torch.nn.functional.cross_entropy"),
        (
            check.label_smoothed_loss,
            "label_smoothed_cross_entropy",
            "without tfmcourse.*label_smoothed_cross_entropy",
        ),
        (check.warmup_lr, "noam_lr", "without tfmcourse.*noam_lr"),
        (check.greedy, "greedy_decode", "without tfmcourse.decode.greedy_decode"),
        (check.greedy, "beam_search", "without tfmcourse.decode.beam_search"),
    ],
)
def test_delegating_to_the_answer_is_refused(checker, name, hint):
    with pytest.raises(ExerciseError, match=hint):
        checker(_delegates(name))


@pytest.mark.parametrize(
    "checker", [check.label_smoothed_loss, check.warmup_lr, check.greedy, check.beam_step]
)
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


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (loss_no_smoothing, "plain cross entropy"),
        (loss_pad_counted, "Padding positions are counted"),
        (loss_pad_denominator, "number of non-padding"),
        (loss_v_minus_1, "vocab - 1"),
        (loss_sum_vocab, "should average"),
        (loss_swapped, "swapped"),
        (loss_item, "gradients"),
        (loss_per_position, "one number"),
    ],
)
def test_loss_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.label_smoothed_loss(mutant)


def test_loss_unknown_mistake_gets_generic_hint():
    with pytest.raises(ExerciseError, match="should be .*Per position"):
        check.label_smoothed_loss(lambda lg, t, s, p: ref_loss(lg, t, s, p) * 1.01)


# ----------------------------------------------------------------------------- warmup mutants


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (lambda s, d, w: min(s**-0.5, s * w**-1.5), "d_model \\*\\* -0.5"),
        (lambda s, d, w: d**-0.5 * max(s**-0.5, s * w**-1.5), "min"),
        (lambda s, d, w: d**-0.5 * min(s**-0.5, s * w**-0.5), "rising part"),
        (lambda s, d, w: d**-0.5 * min(s**-0.5, s / w), "rising part"),
        (lambda s, d, w: d**-0.5 * min(1 / s, s * w**-1.5), "decay"),
        (lambda s, d, w: d**-0.5 * min((s + 1) ** -0.5, (s + 1) * w**-1.5), "should be"),
        (lambda s, d, w: torch.tensor([1.0, 2.0]), "Return a number"),
    ],
)
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
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    for _ in range(max_len):
        token = model.decode(ys, memory, causal_mask(ys.shape[1]), src_mask)[:, -1].argmax(-1)
        ys = torch.cat([ys, token[:, None]], dim=1)
        if (ys == eos_id).any(dim=1).all():
            break
    return ys[:, 1:]


def greedy_one_too_many(model, src, bos_id, eos_id, pad_id, max_len):
    return ref_greedy(model, src, bos_id, eos_id, pad_id, max_len + 1)


def greedy_stops_at_first_eos(model, src, bos_id, eos_id, pad_id, max_len):
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    for _ in range(max_len):
        token = model.decode(ys, memory, causal_mask(ys.shape[1]), src_mask)[:, -1].argmax(-1)
        ys = torch.cat([ys, token[:, None]], dim=1)
        if (token == eos_id).any():
            break
    return ys[:, 1:]


def greedy_wrong_position(model, src, bos_id, eos_id, pad_id, max_len):
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = (
            model.decode(ys, memory, causal_mask(ys.shape[1]), src_mask)[:, 0]
            .argmax(-1)
            .masked_fill(done, pad_id)
        )  # first position, not last
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def greedy_stubs_the_model(model, src, bos_id, eos_id, pad_id, max_len):
    """Used to pass: it broke the model the checker then computed its reference with."""
    model.decode = lambda tgt, memory, *args, **kwargs: torch.zeros(tgt.shape[0], tgt.shape[1], model.vocab)
    return torch.full((src.shape[0], 1), eos_id)


def greedy_without_causal_mask(model, src, bos_id, eos_id, pad_id, max_len):  # used to pass
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = model.decode(ys, memory, None, src_mask)[:, -1].argmax(-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def greedy_without_memory_mask(model, src, bos_id, eos_id, pad_id, max_len):  # used to pass
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = (
            model.decode(ys, memory, causal_mask(ys.shape[1]), None)[:, -1]
            .argmax(-1)
            .masked_fill(done, pad_id)
        )
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def greedy_without_src_mask(model, src, bos_id, eos_id, pad_id, max_len):  # used to pass
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = (
            model.decode(ys, memory, causal_mask(ys.shape[1]), src_mask)[:, -1]
            .argmax(-1)
            .masked_fill(done, pad_id)
        )
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def greedy_without_any_mask(model, src, bos_id, eos_id, pad_id, max_len):
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = model.decode(ys, memory, causal_mask(ys.shape[1]))[:, -1].argmax(-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def greedy_with_target_padding_mask(model, src, bos_id, eos_id, pad_id, max_len):
    """Also right: a (batch, 1, t, t) causal + padding mask of the prefix."""
    src_mask = (src != pad_id)[:, None, None, :]
    memory = model.encode(src, src_mask)
    ys = torch.full((src.shape[0], 1), bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        t = ys.shape[1]
        mask = causal_mask(t)[None, None] & (ys != pad_id)[:, None, None, :]
        token = model.decode(ys, memory, mask, src_mask)[:, -1].argmax(-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == eos_id
        if done.all():
            break
    return ys[:, 1:]


def test_greedy_with_a_padding_aware_target_mask_passes(capsys):
    check.greedy(greedy_with_target_padding_mask)
    assert "✔" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (greedy_stubs_the_model, "should give"),
        (greedy_without_causal_mask, "without the causal mask"),
        (greedy_without_memory_mask, "cross-attention sees the source padding"),
        (greedy_without_src_mask, "encoder sees the source padding"),
        (greedy_without_any_mask, "cross-attention sees the source padding"),
        (greedy_with_bos, "starts with <bos>"),
        (greedy_no_padding_after_eos, "goes on after its <eos>"),
        (greedy_one_too_many, "longer than max_len"),
        (greedy_stops_at_first_eos, "stop only when all rows are done"),
        (greedy_wrong_position, "last"),
        (lambda m, s, b, e, p, n: [[3]], "Return a \\(batch, out\\) tensor"),
    ],
)
def test_greedy_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.greedy(mutant)


def test_reverse_model_is_what_the_checker_says():
    model = check._ReverseModel()
    out = ref_greedy(model, torch.tensor([[3, 4, 5], [6, 0, 0]]), 1, 2, 0, 10)
    assert out.tolist() == [[5, 4, 3, 2], [6, 2, 0, 0]]
    assert math.isfinite(model.decode(torch.tensor([[1]]), model.encode(torch.tensor([[3]]))).sum().item())
    # the cached and the full-prefix decoders agree (the package decodes with the cache)
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    full = ref_greedy(model, src, 1, 2, 0, 6)
    assert torch.equal(ref_greedy_cached_full_length(model, src, 1, 2, 0, 6)[:, : full.shape[1]], full)


def test_reverse_model_depends_on_every_mask():
    model = check._ReverseModel()
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    right = ref_greedy(model, src, 1, 2, 0, 8)
    for mutant in (
        greedy_without_causal_mask,
        greedy_without_memory_mask,
        greedy_without_src_mask,
        greedy_without_any_mask,
    ):
        assert not torch.equal(mutant(model, src, 1, 2, 0, 8), right), mutant.__name__


# ----------------------------------------------------------------------------- beam step mutants


def beam_variant(mistake):
    def fn(prefixes, scores, log_probs, beam_size, eos_id):
        beams, beam_scores, finished = check._beam_step_ref(
            prefixes, scores, log_probs, beam_size, eos_id, mistake
        )
        return beams, torch.tensor(beam_scores), finished

    return fn


def beam_greedy_per_prefix(prefixes, scores, log_probs, beam_size, eos_id):
    """Each prefix continues with its own best token: k greedy searches side by side."""
    total = scores[:, None] + log_probs
    best = total.argmax(-1)
    beams = [p + [int(t)] for p, t in zip(prefixes, best)]
    return beams, total.gather(1, best[:, None])[:, 0], []


def beam_forgets_the_prefix_score(prefixes, scores, log_probs, beam_size, eos_id):
    return ref_beam_step(prefixes, torch.zeros_like(scores), log_probs, beam_size, eos_id)


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (beam_variant("per_prefix"), "ranks ALL the extensions together"),
        (beam_variant("no_prefix_score"), "prefix's score plus"),
        (beam_variant("eos_live"), "NOT extended further"),
        (beam_variant("eos_dropped"), "must be returned in `finished`"),
        (beam_variant("all_eos"), "ranked lower is dropped"),
        (beam_variant("origin"), "index // vocab"),
        (beam_variant("ascending"), "best first"),
        (beam_variant("old_scores"), "not the old prefix"),
        (beam_greedy_per_prefix, "should give beams"),
        (beam_forgets_the_prefix_score, "should give beams"),
        (lambda p, s, lp, k, e: "beams", "Return \\(new_prefixes, new_scores, finished\\)"),
    ],
)
def test_beam_step_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.beam_step(mutant)


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.label_smoothed_loss, ref_loss),
        (check.greedy, ref_greedy),
        (check.beam_step, ref_beam_step),
        (check.greedy, greedy_stubs_the_model),
    ],
)
def test_checkers_leave_the_random_state_alone(checker, fn):
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    with contextlib.suppress(ExerciseError):
        checker(fn)
    assert torch.equal(torch.rand(2), expected)
