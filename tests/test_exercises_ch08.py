"""Tests of the chapter 8 exercise checkers: the reference passes; the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from tfmcourse import perf
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch08 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


# ----------------------------------------------------------------------------- references


def ref_flops_per_token(n_params, n_layer, d_model, seq_len):
    return 6 * n_params + 12 * n_layer * d_model * seq_len


def ref_mfu(flops_per_token, tokens_per_second, peak_flops):
    if peak_flops == "unknown":
        return "unknown"
    return flops_per_token * tokens_per_second / peak_flops


def ref_accumulated_step(model, optimizer, loss_fn, micro_batches):
    k = len(micro_batches)
    optimizer.zero_grad()
    total = 0.0
    for batch in micro_batches:
        loss = loss_fn(model, batch)
        (loss / k).backward()
        total += loss.item()
    optimizer.step()
    return total / k


def ref_train_loop(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    losses = []
    for step, batch in enumerate(batches, start=1):
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, step / warmup)
        optimizer.zero_grad()
        loss = loss_fn(model, batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_loop_with_a_scheduler(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    """Also right: LambdaLR scales the optimizer's lr (the checker creates it with lr) from step 1."""
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    losses = []
    for batch in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


CHECKERS = [
    (check.flops_per_token, ref_flops_per_token),
    (check.mfu, ref_mfu),
    (check.accumulated_step, ref_accumulated_step),
    (check.train_loop, ref_train_loop),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and fn.__name__.removeprefix("ref_") in out


def test_package_versions_handed_in_as_themselves_are_refused(capsys):
    # the shared rule of forbidden(): the package's answer handed in as is, is not the learner's
    with pytest.raises(ExerciseError, match="you handed in tfmcourse.perf.flops_per_token itself"):
        check.flops_per_token(perf.flops_per_token)
    with pytest.raises(ExerciseError, match="you handed in tfmcourse.perf.mfu itself"):
        check.mfu(perf.mfu)
    check.train_loop(train_loop_with_a_scheduler)  # a loop of one's own with a torch scheduler passes
    assert capsys.readouterr().out.count("✔") == 1


@pytest.mark.parametrize(
    "checker, fn, hint",
    [
        (
            check.flops_per_token,
            lambda n, layers, d, s: perf.flops_per_token(n, layers, d, s),
            "without tfmcourse.perf.flops_per_token",
        ),
        (check.mfu, lambda f, t, p: perf.mfu(f, t, p), "without tfmcourse.perf.mfu"),
    ],
)
def test_delegating_to_the_package_is_refused(checker, fn, hint):
    with pytest.raises(ExerciseError, match=hint):
        checker(fn)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_stub_fails_with_not_implemented(checker, fn):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ----------------------------------------------------------------------------- mutants

FLOPS_MUTANTS = {
    "forward only": (lambda n, layers, d, s: 2 * n + 4 * layers * d * s, "forward pass only"),
    "no attention": (lambda n, layers, d, s: 6 * n, "forgot the attention term"),
    "attention forward": (lambda n, layers, d, s: 6 * n + 4 * layers * d * s, "tripled like"),
    "seq squared": (lambda n, layers, d, s: 6 * n + 12 * layers * d * s * s, "seq squared"),
    "3N": (lambda n, layers, d, s: 3 * n + 12 * layers * d * s, "2 FLOPs"),
    "no layers": (lambda n, layers, d, s: 6 * n + 12 * d * s, "per layer"),
    "string": (lambda n, layers, d, s: "many", "number"),
}


@pytest.mark.parametrize("name", FLOPS_MUTANTS)
def test_flops_mutants(name):
    fn, hint = FLOPS_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.flops_per_token(fn)


MFU_MUTANTS = {
    "percent": (lambda f, t, p: "unknown" if p == "unknown" else 100 * f * t / p, "not a percentage"),
    "inverted": (lambda f, t, p: "unknown" if p == "unknown" else p / (f * t), "upside down"),
    "times 3": (lambda f, t, p: "unknown" if p == "unknown" else 3 * f * t / p, "do not multiply by 3"),
    "no tokens": (lambda f, t, p: "unknown" if p == "unknown" else f / p, "tokens_per_second"),
    "unknown crashes": (lambda f, t, p: f * t / p, "return 'unknown'"),
    "unknown is zero": (lambda f, t, p: 0.0 if p == "unknown" else f * t / p, "return 'unknown'"),
}


@pytest.mark.parametrize("name", MFU_MUTANTS)
def test_mfu_mutants(name):
    fn, hint = MFU_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.mfu(fn)


def _accum(mistake):
    def fn(model, optimizer, loss_fn, micro_batches):
        k = len(micro_batches)
        if mistake != "no_zero":
            optimizer.zero_grad()
        total = 0.0
        for batch in micro_batches:
            if mistake == "zero_inside":
                optimizer.zero_grad()
            loss = loss_fn(model, batch)
            (loss if mistake == "no_divide" else loss / k).backward()
            total += loss.item()
            if mistake == "step_inside":
                optimizer.step()
        if mistake not in ("step_inside", "no_step"):
            optimizer.step()
        if mistake == "sum_loss":
            return total
        return total / k

    return fn


ACCUM_MUTANTS = {
    "no_divide": "k times too large",
    "zero_inside": "Only the last micro-batch counts",
    "step_inside": "one optimizer step per micro-batch",
    "no_zero": "earlier step leaked in",
    "no_step": "did not change",
    "sum_loss": "mean of the micro-batch losses",
}


@pytest.mark.parametrize("mistake", ACCUM_MUTANTS)
def test_accumulation_mutants(mistake):
    with pytest.raises(ExerciseError, match=ACCUM_MUTANTS[mistake]):
        check.accumulated_step(_accum(mistake))


def accumulate_by_concatenating(model, optimizer, loss_fn, micro_batches):  # used to pass
    optimizer.zero_grad()
    x = torch.cat([m[0] for m in micro_batches])
    y = torch.cat([m[1] for m in micro_batches])
    loss = loss_fn(model, (x, y))
    loss.backward()
    optimizer.step()
    return loss.item()


def test_accumulation_on_the_concatenated_batch_is_refused():
    with pytest.raises(ExerciseError, match="once, on all the micro-batches concatenated"):
        check.accumulated_step(accumulate_by_concatenating)


def test_accumulation_crash_is_a_hint():
    def broken(model, optimizer, loss_fn, micro_batches):
        return loss_fn(model, micro_batches).item()  # passes the list as one batch

    with pytest.raises(ExerciseError, match="raised"):
        check.accumulated_step(broken)


# ----------------------------------------------------------------------------- training loop mutants


def loop_variant(mistake):
    def fn(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
        return check._loop_variant(model, optimizer, batches, lr, warmup, clip_norm, mistake, loss_fn)

    return fn


@pytest.mark.parametrize(
    "mistake, hint",
    [
        ("no_warmup", "there is no warmup"),
        ("step_from_0", "count the steps from 1"),
        ("off_by_one", "one step ahead"),
        ("no_cap", "must stop at lr"),
        ("no_clip", "reached the optimizer unclipped"),
        ("clip_before_backward", "clipping before backward"),
        ("per_tensor", "GLOBAL norm"),
        ("clip_value", "element by element"),
        ("no_zero", "leaked into later ones"),
    ],
)
def test_train_loop_mutants(mistake, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.train_loop(loop_variant(mistake))


def loop_lr_in_the_constructor_only(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    losses = []
    for _step, batch in enumerate(batches, start=1):
        optimizer.zero_grad()
        loss = loss_fn(model, batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def loop_returns_the_mean(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    return sum(ref_train_loop(model, optimizer, loss_fn, batches, lr, warmup, clip_norm)) / len(batches)


def loop_one_step_too_many(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    return ref_train_loop(model, optimizer, loss_fn, batches + batches[:1], lr, warmup, clip_norm)


def loop_with_the_trainer(model, optimizer, loss_fn, batches, lr, warmup, clip_norm):
    from tfmcourse.train import Trainer

    trainer = Trainer(
        model,
        loss_fn,
        lambda s: batches[s],
        lr=lr,
        schedule="constant",
        warmup=warmup,
        clip_norm=clip_norm,
        progress=False,
    )
    return trainer.train(len(batches))["loss"]


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (loop_lr_in_the_constructor_only, "there is no warmup"),
        (loop_returns_the_mean, "list of the losses"),
        (loop_one_step_too_many, "one optimizer.step\\(\\) per batch"),
        (loop_with_the_trainer, "without tfmcourse.train.Trainer"),
    ],
)
def test_train_loop_other_mistakes(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.train_loop(mutant)


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.accumulated_step, ref_accumulated_step),
        (check.train_loop, ref_train_loop),
        (check.accumulated_step, _accum("no_divide")),
    ],
)
def test_checkers_leave_the_random_state_alone(checker, fn):
    torch.manual_seed(9)
    expected = torch.rand(2)
    torch.manual_seed(9)
    with contextlib.suppress(ExerciseError):
        checker(fn)
    assert torch.equal(torch.rand(2), expected)
