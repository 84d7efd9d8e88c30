"""The chapter-0 checker: the reference passes, the stub, the shortcuts and the wrong versions fail with a
hint."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch00 as check


def reference(x):
    z = x - x.max(dim=-1, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)


def stub(x):
    raise NotImplementedError("Exercise: write your solution here")


def test_reference_passes(capsys):
    check.softmax(reference)
    assert "✔ softmax: correct" in capsys.readouterr().out


def test_amax_and_logsumexp_versions_pass(capsys):
    check.softmax(
        lambda x: (
            (x - x.amax(-1, keepdim=True)).exp() / (x - x.amax(-1, keepdim=True)).exp().sum(-1, keepdim=True)
        )
    )
    check.softmax(lambda x: torch.exp(x - torch.logsumexp(x, dim=-1, keepdim=True)))
    assert capsys.readouterr().out.count("✔") == 2


def test_float32_answer_passes(capsys):
    check.softmax(lambda x: reference(x.float()))
    assert "✔" in capsys.readouterr().out


def test_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.softmax(stub)


def naive(x):
    e = torch.exp(x)
    return e / e.sum(dim=-1, keepdim=True)


def global_max(x):  # used to pass: the single-row cases cannot tell it from a per-row maximum
    e = torch.exp(x - x.max())
    return e / e.sum(dim=-1, keepdim=True)


def global_max_nan_to_zero(x):  # hides the NaN: the rows far below the maximum become all zeros
    return torch.nan_to_num(global_max(x), nan=0.0)


def wrong_axis(x):
    z = x - x.max(dim=0, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=0, keepdim=True)


def no_divide(x):
    return torch.exp(x)


def divide_by_max(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.max(dim=-1, keepdim=True).values


def log_softmax_only(x):
    z = x - x.max(dim=-1, keepdim=True).values
    return z - z.exp().sum(dim=-1, keepdim=True).log()


def returns_list(x):
    return reference(x).tolist()


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (naive, "exp\\(1000\\) overflows"),
        (global_max, "one maximum for the whole tensor"),
        (global_max_nan_to_zero, "one maximum for the whole tensor"),
        (wrong_axis, "wrong axis"),
        (no_divide, "did not divide by the sum"),
        (divide_by_max, "wrong values .*exp\\(x_i\\) / sum_j"),
        (log_softmax_only, "wrong values"),
        (returns_list, "should be a torch.Tensor"),
    ],
)
def test_mutants_fail_with_their_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.softmax(mutant)


@pytest.mark.parametrize(
    "shortcut",
    [
        lambda x: torch.softmax(x, dim=-1),
        lambda x: F.softmax(x, dim=-1),
        lambda x: x.softmax(-1),
        lambda x: torch.special.softmax(x, -1),
        lambda x: F.log_softmax(x, dim=-1).exp(),
        lambda x: x.log_softmax(-1).exp(),
    ],
    ids=[
        "torch.softmax",
        "F.softmax",
        "Tensor.softmax",
        "special.softmax",
        "F.log_softmax",
        "Tensor.log_softmax",
    ],
)
def test_delegating_to_the_builtin_fails(shortcut):
    with pytest.raises(ExerciseError, match="Write it yourself, without torch"):
        check.softmax(shortcut)
    x = torch.randn(2, 3)  # and the built-ins work again afterwards
    torch.testing.assert_close(x.softmax(-1), torch.softmax(x, -1))


def test_the_checker_leaves_the_random_state_alone():
    torch.manual_seed(5), random.seed(5)
    check.softmax(reference)
    after = (torch.rand(1).item(), random.random())
    torch.manual_seed(5), random.seed(5)
    assert after == (torch.rand(1).item(), random.random())
