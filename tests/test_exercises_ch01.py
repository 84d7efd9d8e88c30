"""The chapter-1 checkers: the reference passes, the stub and plausible wrong versions fail with a hint."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.baselines import rnn_step as reference_rnn_step
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch01 as check


def test_rnn_step_reference_passes(capsys):
    check.rnn_step(reference_rnn_step)
    assert "correct" in capsys.readouterr().out


def test_rnn_step_stub_fails():
    def stub(x_t, h_prev, W_xh, W_hh, b):
        raise NotImplementedError("Exercise: write your solution here")

    with pytest.raises(ExerciseError, match="not implemented"):
        check.rnn_step(stub)


RNN_MUTANTS = {
    "no tanh": (lambda x, h, Wx, Wh, b: x @ Wx + h @ Wh + b, "apply torch.tanh"),
    "sigmoid": (lambda x, h, Wx, Wh, b: torch.sigmoid(x @ Wx + h @ Wh + b), "not sigmoid"),
    "relu": (lambda x, h, Wx, Wh, b: torch.relu(x @ Wx + h @ Wh + b), "not ReLU"),
    "no recurrence": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + b), "h_prev is ignored"),
    "no bias": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh), "bias b is missing"),
    "W_hh transposed": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh.T + b), "W_hh is transposed"),
    "tanh per term": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx) + torch.tanh(h @ Wh) + b, "one tanh"),
    "weights swapped": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wh + h @ Wx + b), "raised"),
    "wrong axis sum": (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh + b).sum(0), "shape"),
}


@pytest.mark.parametrize("name", list(RNN_MUTANTS))
def test_rnn_step_mutants_fail_with_hint(name):
    fn, hint = RNN_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.rnn_step(fn)


def test_rnn_step_in_place_mutation_does_not_fool_checker():
    def in_place(x_t, h_prev, W_xh, W_hh, b):
        h_prev.zero_()  # corrupts its argument, then computes without the past
        return torch.tanh(x_t @ W_xh + h_prev @ W_hh + b)

    with pytest.raises(ExerciseError, match="h_prev is ignored"):
        check.rnn_step(in_place)


def reference_path_length(i, j, architecture):
    if architecture == "rnn":
        return j - i
    return 0 if i == j else 1


def test_path_length_reference_passes(capsys):
    check.path_length(reference_path_length)
    assert "correct" in capsys.readouterr().out


def test_path_length_stub_fails():
    def stub(i, j, architecture):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="not implemented"):
        check.path_length(stub)


PATH_MUTANTS = {
    "attention like rnn": (lambda i, j, a: j - i, "directly, in one step"),
    "rnn off by one": (lambda i, j, a: j - i + 1 if a == "rnn" else int(i != j), "not j - i \\+ 1"),
    "attention always 1": (lambda i, j, a: j - i if a == "rnn" else 1, "zero steps"),
    "rnn one step": (lambda i, j, a: 1 if i != j else 0, "no direct link"),
    "returns a string": (lambda i, j, a: str(reference_path_length(i, j, a)), "should return an int"),
    "backwards": (lambda i, j, a: i - j if a == "rnn" else int(i != j), "one step per position"),
}


@pytest.mark.parametrize("name", list(PATH_MUTANTS))
def test_path_length_mutants_fail_with_hint(name):
    fn, hint = PATH_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.path_length(fn)


def test_path_length_accepts_a_scalar_tensor(capsys):
    check.path_length(lambda i, j, a: torch.tensor(reference_path_length(i, j, a)))
    assert "correct" in capsys.readouterr().out
