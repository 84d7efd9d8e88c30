"""The helpers every checker uses: forbidden built-ins, and a random state left untouched."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.functional import softmax as imported_softmax

from tfmcourse.exercises import ExerciseError, checker, forbidden, run


def uses_module_attribute(x):
    return F.softmax(x, dim=-1)


def uses_imported_name(x):
    return imported_softmax(x, dim=-1)


def writes_it(x):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)


@pytest.mark.parametrize("fn", [uses_module_attribute, uses_imported_name])
def test_forbidden_catches_both_ways_of_calling(fn):
    x = torch.randn(2, 3)
    with (
        pytest.raises(ExerciseError, match="without torch.nn.functional.softmax"),
        forbidden(fn, "torch.nn.functional.softmax"),
    ):
        run(fn, x)
    # restored afterwards, in the module and in the caller's namespace
    assert F.softmax is imported_softmax
    assert globals()["imported_softmax"] is F.softmax
    torch.testing.assert_close(fn(x), torch.softmax(x, -1))


def test_forbidden_lets_an_own_implementation_pass():
    x = torch.randn(2, 3)
    with forbidden(writes_it, "torch.nn.functional.softmax"):
        got = run(writes_it, x)
    torch.testing.assert_close(got, torch.softmax(x, -1))


def test_checker_restores_every_random_state():
    @checker
    def noisy_check():
        torch.manual_seed(123)
        random.seed(123)
        np.random.seed(123)
        return torch.rand(1), random.random(), np.random.rand()

    torch.manual_seed(0), random.seed(0), np.random.seed(0)
    noisy_check()
    after = (torch.rand(1).item(), random.random(), np.random.rand())
    torch.manual_seed(0), random.seed(0), np.random.seed(0)
    assert after == (torch.rand(1).item(), random.random(), np.random.rand())


def test_checker_restores_state_when_the_check_fails():
    @checker
    def failing_check():
        torch.manual_seed(1)
        raise ExerciseError("wrong")

    torch.manual_seed(0)
    with pytest.raises(ExerciseError):
        failing_check()
    a = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(a, torch.rand(1))


def test_forbidden_imports_every_module_before_patching(monkeypatch):
    """A module imported by a later path must not capture an earlier path's stand-in."""
    import sys

    monkeypatch.delitem(sys.modules, "json.decoder", raising=False)
    monkeypatch.delitem(sys.modules, "json", raising=False)
    with forbidden(writes_it, "torch.nn.functional.softmax", "json.dumps"):
        pass
    import json

    assert json.dumps([1]) == "[1]"
    assert F.softmax is imported_softmax


# ------------------------------------------------- expect_close on odd tensors, forbidden methods


def test_expect_close_names_infinite_entries_instead_of_a_nan_error():
    from tfmcourse.exercises import expect_close

    want = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    got = want.clone()
    got[0, 2] = float("-inf")
    with pytest.raises(
        ExerciseError, match="contains -inf at 1 of 6 entries where the answer is finite"
    ) as e:
        expect_close(got, want, "w")
    assert "largest error" not in str(e.value)
    # the answer has -inf (top-k filtered logits, say) and the learner put it elsewhere: no "error nan"
    want_inf = torch.tensor([1.0, float("-inf"), 2.0])
    with pytest.raises(ExerciseError, match="contains -inf at 1 of 3"):
        expect_close(torch.tensor([float("-inf"), float("-inf"), 2.0]), want_inf, "logits")
    with pytest.raises(
        ExerciseError, match="1 of 3 entries that should be -inf but are not \\(e.g. -1e\\+09\\)"
    ):
        expect_close(torch.tensor([1.0, -1e9, 2.0]), want_inf, "logits")
    with pytest.raises(ExerciseError, match="largest error 0.5\\b"):  # measured on the finite entries only
        expect_close(torch.tensor([1.5, float("-inf"), 2.0]), want_inf, "logits")
    expect_close(torch.tensor([1.0, float("-inf"), 2.0]), want_inf, "logits")  # equal infinities are equal


def test_expect_close_and_is_close_refuse_complex_and_meta_tensors():
    from tfmcourse.exercises import expect_close, is_close

    want = torch.randn(2, 3, dtype=torch.float64)
    for got, message in (
        (want.to(torch.complex128), "is a complex tensor"),
        (torch.empty(2, 3, device="meta"), "'meta' device"),
    ):
        assert not is_close(got, want)
        with pytest.raises(ExerciseError, match=message):
            expect_close(got, want, "x")


def uses_tensor_method(x):
    return x.softmax(-1)


def test_forbidden_catches_a_tensor_method_and_the_function_itself():
    x = torch.randn(2, 3)
    with (
        pytest.raises(ExerciseError, match="without torch.Tensor.softmax"),
        forbidden(uses_tensor_method, "torch.Tensor.softmax"),
    ):
        run(uses_tensor_method, x)
    torch.testing.assert_close(x.softmax(-1), torch.softmax(x, -1))  # restored
    with (
        pytest.raises(ExerciseError, match="handed in torch.nn.functional.softmax itself"),
        forbidden(F.softmax, "torch.nn.functional.softmax"),
    ):
        run(F.softmax, x, dim=-1)
