"""The chapter-1 checkers: the reference passes, the stub and plausible wrong versions fail with a hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfmcourse.baselines import rnn_step as package_rnn_step
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch01 as check


def reference_rnn_step(x_t, h_prev, W_xh, W_hh, b):
    return torch.tanh(x_t @ W_xh + h_prev @ W_hh + b)


def test_rnn_step_reference_passes(capsys):
    check.rnn_step(reference_rnn_step)
    assert "correct" in capsys.readouterr().out


def test_rnn_step_package_function_handed_in_is_refused():
    with pytest.raises(ExerciseError, match="handed in tfmcourse.baselines.rnn_step itself"):
        check.rnn_step(package_rnn_step)


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


def test_path_length_accepts_numpy_integers(capsys):
    # used to fail with "should return an int": np.int64 is not a Python int, but it is a valid answer
    check.path_length(lambda i, j, a: np.int64(reference_path_length(i, j, a)))
    check.path_length(lambda i, j, a: np.array(reference_path_length(i, j, a)))
    assert capsys.readouterr().out.count("✔") == 2


def test_path_length_rejects_a_bool():
    with pytest.raises(ExerciseError, match="should return an int"):
        check.path_length(lambda i, j, a: i != j)


# ------------------------------------------------------------------------ delegation shortcuts


def rnn_step_with_rnncell(x_t, h_prev, W_xh, W_hh, b):
    cell = torch.nn.RNNCell(W_xh.shape[0], W_xh.shape[1]).to(x_t.dtype)
    with torch.no_grad():
        (
            cell.weight_ih.copy_(W_xh.T),
            cell.weight_hh.copy_(W_hh.T),
            cell.bias_ih.copy_(b),
            cell.bias_hh.zero_(),
        )
    return cell(x_t, h_prev)


def rnn_step_with_package(x_t, h_prev, W_xh, W_hh, b):
    import tfmcourse.baselines

    return tfmcourse.baselines.rnn_step(x_t, h_prev, W_xh, W_hh, b)


def rnn_step_with_vf(x_t, h_prev, W_xh, W_hh, b):
    return torch.rnn_tanh_cell(x_t, h_prev, W_xh.T, W_hh.T, b, None)


@pytest.mark.parametrize(
    "shortcut, name",
    [
        (rnn_step_with_rnncell, "torch.nn.RNNCell"),
        (rnn_step_with_package, "tfmcourse.baselines.rnn_step"),
        (rnn_step_with_vf, "torch.rnn_tanh_cell"),
    ],
)
def test_rnn_step_delegation_fails(shortcut, name):
    with pytest.raises(ExerciseError, match=f"Write it yourself, without {name}"):
        check.rnn_step(shortcut)


# ---------------------------------------------------------------------------------- rnn_forward


def reference_rnn_forward(x, W_xh, W_hh, b, h0=None):
    h = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_xh + h @ W_hh + b)
        states.append(h)
    return torch.stack(states, dim=1)


def test_rnn_forward_reference_passes(capsys):
    check.rnn_forward(reference_rnn_forward)
    assert "✔ rnn_forward: correct" in capsys.readouterr().out


def test_rnn_forward_stub_fails():
    def stub(x, W_xh, W_hh, b, h0=None):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="not implemented"):
        check.rnn_forward(stub)


def forward_last_only(x, W_xh, W_hh, b, h0=None):
    return reference_rnn_forward(x, W_xh, W_hh, b, h0)[:, -1]


def forward_time_first(x, W_xh, W_hh, b, h0=None):
    return reference_rnn_forward(x, W_xh, W_hh, b, h0).transpose(0, 1)


def forward_no_carry(x, W_xh, W_hh, b, h0=None):
    h0 = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    return torch.stack([torch.tanh(x[:, t] @ W_xh + h0 @ W_hh + b) for t in range(x.shape[1])], dim=1)


def forward_with_h0(x, W_xh, W_hh, b, h0=None):
    h = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    states = [h]
    for t in range(x.shape[1] - 1):
        h = torch.tanh(x[:, t] @ W_xh + h @ W_hh + b)
        states.append(h)
    return torch.stack(states, dim=1)


def forward_reversed(x, W_xh, W_hh, b, h0=None):
    return reference_rnn_forward(x.flip(1), W_xh, W_hh, b, h0).flip(1)


def forward_h0_ignored(x, W_xh, W_hh, b, h0=None):
    return reference_rnn_forward(x, W_xh, W_hh, b)


def forward_no_h0_argument(x, W_xh, W_hh, b):
    return reference_rnn_forward(x, W_xh, W_hh, b)


def forward_with_torch_rnn(x, W_xh, W_hh, b, h0=None):
    rnn = torch.nn.RNN(W_xh.shape[0], W_xh.shape[1], batch_first=True).to(x.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh.T), rnn.weight_hh_l0.copy_(W_hh.T), rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()
        return rnn(x, None if h0 is None else h0[None])[0]


def forward_with_package(x, W_xh, W_hh, b, h0=None):
    from tfmcourse.baselines import rnn_forward

    return rnn_forward(x, W_xh, W_hh, b, h0)


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (forward_last_only, "only the last hidden state"),
        (forward_time_first, "wrong axis"),
        (forward_no_carry, "starts again from h0"),
        (forward_with_h0, "is h0 itself"),
        (forward_reversed, "read backwards"),
        (forward_h0_ignored, "h0 is ignored"),
        (forward_no_h0_argument, "takes 4 positional arguments but 5 were given"),
        (forward_with_torch_rnn, "Write it yourself, without torch.nn.RNN"),
        (forward_with_package, "Write it yourself, without tfmcourse.baselines.rnn_forward"),
    ],
)
def test_rnn_forward_mutants_fail_with_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.rnn_forward(mutant)


# ------------------------------------------------------------------------------------ lstm_step


def reference_lstm_step(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = (x_t @ W_x + h_prev @ W_h + b).chunk(4, dim=-1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def test_lstm_reference_passes_and_equals_torch(capsys):
    check.lstm_step(reference_lstm_step)
    assert "✔ lstm_step: correct" in capsys.readouterr().out
    cell = torch.nn.LSTMCell(5, 3).double()
    x, h, c = torch.randn(2, 5).double(), torch.randn(2, 3).double(), torch.randn(2, 3).double()
    with torch.no_grad():
        want = cell(x, (h, c))
        got = reference_lstm_step(x, h, c, cell.weight_ih.T, cell.weight_hh.T, cell.bias_ih + cell.bias_hh)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_lstm_stub_fails():
    def stub(x_t, h_prev, c_prev, W_x, W_h, b):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="not implemented"):
        check.lstm_step(stub)


def _gates(x_t, h_prev, W_x, W_h, b):
    return (x_t @ W_x + h_prev @ W_h + b).chunk(4, dim=-1)


def lstm_order_ifog(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, o, g = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def lstm_g_sigmoid(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.sigmoid(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def lstm_h_no_tanh(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * c_t, c_t


def lstm_no_forget(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def lstm_no_input_gate(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = torch.sigmoid(f) * c_prev + torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def lstm_old_cell(x_t, h_prev, c_prev, W_x, W_h, b):
    i, f, g, o = _gates(x_t, h_prev, W_x, W_h, b)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_prev), c_t


def lstm_swapped(x_t, h_prev, c_prev, W_x, W_h, b):
    h, c = reference_lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)
    return c, h


def lstm_h_only(x_t, h_prev, c_prev, W_x, W_h, b):
    return reference_lstm_step(x_t, h_prev, c_prev, W_x, W_h, b)[0]


def lstm_with_cell(x_t, h_prev, c_prev, W_x, W_h, b):
    cell = torch.nn.LSTMCell(W_x.shape[0], W_h.shape[0]).to(x_t.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(W_x.T), cell.weight_hh.copy_(W_h.T), cell.bias_ih.copy_(b), cell.bias_hh.zero_()
        return cell(x_t, (h_prev, c_prev))


def lstm_with_vf(x_t, h_prev, c_prev, W_x, W_h, b):
    return torch.lstm_cell(x_t, (h_prev, c_prev), W_x.T, W_h.T, b, None)


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (lstm_order_ifog, "wrong order"),
        (lstm_g_sigmoid, "candidate g uses tanh"),
        (lstm_h_no_tanh, "forgot the tanh of the cell"),
        (lstm_no_forget, "left out f"),
        (lstm_no_input_gate, "left out i"),
        (lstm_old_cell, "reads the NEW cell"),
        (lstm_swapped, "returned \\(c_t, h_t\\)"),
        (lstm_h_only, "returned one tensor"),
        (lstm_with_cell, "Write it yourself, without torch.nn.LSTMCell"),
        (lstm_with_vf, "Write it yourself, without torch.lstm_cell"),
    ],
)
def test_lstm_mutants_fail_with_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.lstm_step(mutant)


def test_checkers_leave_the_random_state_alone():
    torch.manual_seed(3)
    check.lstm_step(reference_lstm_step)
    check.rnn_forward(reference_rnn_forward)
    a = torch.rand(1)
    torch.manual_seed(3)
    assert torch.equal(a, torch.rand(1))
