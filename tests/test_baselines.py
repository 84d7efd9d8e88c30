"""The chapter-1 baselines: shapes, seeds, equality with torch's RNN, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tfmcourse.baselines import (
    AttentionModel,
    LoopRNN,
    LSTMModel,
    RNNModel,
    SelfAttention,
    rnn_forward,
    rnn_step,
)

VOCAB, D, CLASSES, MAX_LEN = 11, 8, 5, 20


def make(name: str, seed: int | None = 0):
    if name == "attention":
        return AttentionModel(VOCAB, D, CLASSES, max_len=MAX_LEN, seed=seed)
    return {"rnn": RNNModel, "lstm": LSTMModel}[name](VOCAB, D, CLASSES, seed=seed)


MODELS = ["rnn", "lstm", "attention"]


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_embeddings_path(name):
    model = make(name)
    tokens = torch.randint(VOCAB, (3, 12), generator=torch.Generator().manual_seed(0))
    logits = model(tokens)
    assert logits.shape == (3, CLASSES) and logits.dtype == torch.float32
    x = model.embed(tokens)
    assert x.shape == (3, 12, D)
    torch.testing.assert_close(model.from_embeddings(x), logits)


@pytest.mark.parametrize("name", MODELS)
def test_seed_determines_parameters_and_leaves_global_rng_alone(name):
    state = torch.random.get_rng_state()
    a, b, c = make(name, seed=1), make(name, seed=1), make(name, seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    tokens = torch.randint(VOCAB, (2, 7), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a(tokens), b(tokens))
    assert not torch.allclose(a(tokens), c(tokens))


@pytest.mark.parametrize("name", MODELS)
def test_last_logits_depend_on_the_first_token(name):
    """Every model reads the whole sequence: changing the first token changes the prediction."""
    model = make(name).double()
    tokens = torch.randint(VOCAB, (1, 6), generator=torch.Generator().manual_seed(3))
    other = tokens.clone()
    other[0, 0] = (tokens[0, 0] + 1) % VOCAB
    assert not torch.allclose(model(tokens), model(other))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "tokens, word",
    [
        (torch.zeros(4, dtype=torch.long), "shape"),
        (torch.zeros(2, 0, dtype=torch.long), "shape"),
        (torch.zeros(2, 3), "dtype"),
        (torch.full((2, 3), VOCAB), "vocab_size"),
        (torch.full((2, 3), -1), "vocab_size"),
        ([[1, 2]], "torch.Tensor"),
    ],
)
def test_bad_tokens_raise(name, tokens, word):
    with pytest.raises(ValueError, match=word):
        make(name)(tokens)


def test_attention_model_rejects_sequences_longer_than_max_len():
    with pytest.raises(ValueError, match="max_len=20"):
        make("attention")(torch.zeros(1, MAX_LEN + 1, dtype=torch.long))


@pytest.mark.parametrize("kwargs", [dict(vocab_size=0), dict(d_model=-1), dict(num_classes=2.5)])
def test_bad_constructor_arguments_raise(kwargs, no_type_checks):
    args = dict(vocab_size=VOCAB, d_model=D, num_classes=CLASSES) | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RNNModel(**args)
    with pytest.raises(ValueError, match="max_len"):
        AttentionModel(VOCAB, D, CLASSES, max_len=0)


def test_rnn_step_is_the_elman_formula():
    g = torch.Generator().manual_seed(0)
    x, h = (
        torch.randn(2, 3, generator=g, dtype=torch.float64),
        torch.randn(2, 4, generator=g, dtype=torch.float64),
    )
    W_xh, W_hh = (
        torch.randn(3, 4, generator=g, dtype=torch.float64),
        torch.randn(4, 4, generator=g, dtype=torch.float64),
    )
    b = torch.randn(4, generator=g, dtype=torch.float64)
    want = torch.tanh(torch.einsum("bi,ih->bh", x, W_xh) + torch.einsum("bj,jh->bh", h, W_hh) + b)
    torch.testing.assert_close(rnn_step(x, h, W_xh, W_hh, b), want)


@pytest.mark.parametrize(
    "shapes, word",
    [
        (((2, 5), (2, 4), (3, 4), (4, 4), (4,)), "x_t"),
        (((2, 3), (2, 4), (3, 4), (4, 3), (4,)), "W_hh"),
        (((2, 3), (1, 4), (3, 4), (4, 4), (4,)), "h_prev"),
        (((2, 3), (2, 4), (3, 4), (4, 4), (3,)), "b"),
        (((2, 3), (2, 4), (3, 4), (4, 4), (1, 4)), "b"),
    ],
)
def test_rnn_step_bad_shapes_raise(shapes, word):
    args = [torch.zeros(s) for s in shapes]
    with pytest.raises(ValueError, match=word):
        rnn_step(*args)


def test_loop_rnn_equals_torch_rnn():
    torch.manual_seed(0)
    rnn = nn.RNN(5, 7, batch_first=True).double()
    x = torch.randn(3, 9, 5, dtype=torch.float64)
    want, h_n = rnn(x)
    ours = LoopRNN.from_torch(rnn)
    got = ours(x)
    assert got.shape == (3, 9, 7)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got[:, -1], h_n[0])
    h0 = torch.randn(3, 7, dtype=torch.float64)
    torch.testing.assert_close(rnn_forward(x, ours.W_xh, ours.W_hh, ours.b, h0), rnn(x, h0[None])[0])


def test_loop_rnn_from_torch_rejects_other_layers(no_type_checks):
    with pytest.raises(ValueError, match="torch.nn.RNN"):
        LoopRNN.from_torch(nn.LSTM(3, 3, batch_first=True))
    with pytest.raises(ValueError, match="num_layers=1"):
        LoopRNN.from_torch(nn.RNN(3, 3, num_layers=2, batch_first=True))
    with pytest.raises(ValueError, match="d_in=4"):
        LoopRNN(4, 3, seed=0)(torch.zeros(1, 2, 5))


def test_self_attention_weights_and_output():
    layer = SelfAttention(6, seed=0).double()
    x = torch.randn(2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out, weights = layer(x, need_weights=True)
    assert out.shape == (2, 5, 6) and weights.shape == (2, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5, dtype=torch.float64))
    scores = layer.q(x) @ layer.k(x).transpose(-1, -2) / 6**0.5
    torch.testing.assert_close(out, layer.out(torch.softmax(scores, -1) @ layer.v(x)))
    with pytest.raises(ValueError, match="d_model=6"):
        layer(torch.zeros(2, 5, 4, dtype=torch.float64))
