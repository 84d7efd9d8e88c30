"""Tests of the chapter 8 exercise checkers: the reference passes; the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import pytest

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


CHECKERS = [
    (check.flops_per_token, ref_flops_per_token),
    (check.mfu, ref_mfu),
    (check.accumulated_step, ref_accumulated_step),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and fn.__name__.removeprefix("ref_") in out


def test_package_versions_pass(capsys):
    check.flops_per_token(perf.flops_per_token)
    check.mfu(perf.mfu)
    assert capsys.readouterr().out.count("✔") == 2


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_stub_fails_with_not_implemented(checker, fn):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ----------------------------------------------------------------------------- mutants

FLOPS_MUTANTS = {
    "forward only": (lambda n, l, d, s: 2 * n + 4 * l * d * s, "forward pass only"),
    "no attention": (lambda n, l, d, s: 6 * n, "forgot the attention term"),
    "attention forward": (lambda n, l, d, s: 6 * n + 4 * l * d * s, "tripled like"),
    "seq squared": (lambda n, l, d, s: 6 * n + 12 * l * d * s * s, "seq squared"),
    "3N": (lambda n, l, d, s: 3 * n + 12 * l * d * s, "2 FLOPs"),
    "no layers": (lambda n, l, d, s: 6 * n + 12 * d * s, "per layer"),
    "string": (lambda n, l, d, s: "many", "number"),
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


def test_accumulation_crash_is_a_hint():
    def broken(model, optimizer, loss_fn, micro_batches):
        return loss_fn(model, micro_batches).item()  # passes the list as one batch

    with pytest.raises(ExerciseError, match="raised"):
        check.accumulated_step(broken)
