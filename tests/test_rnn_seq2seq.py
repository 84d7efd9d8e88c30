"""The recurrent encoder-decoder of chapter 1: shapes, what the decoder can see, greedy = teacher forcing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.data.recall import copy_sequences
from tfmcourse.models.rnn_seq2seq import RNNSeq2Seq


def shifted(tgt, bos):
    return torch.cat([torch.full((tgt.shape[0], 1), bos), tgt[:, :-1]], dim=1)


@pytest.mark.parametrize("attention", [False, True])
def test_shapes_and_parameter_count(attention):
    model = RNNSeq2Seq(num_values=7, d_model=12, max_len=20, attention=attention, seed=0)
    src = copy_sequences(3, 9, num_values=7, seed=0)
    logits = model(src, shifted(src[:, :5], model.bos))
    assert logits.shape == (3, 5, 7)
    out, weights = model.greedy(src, return_weights=True)
    assert out.shape == (3, 9) and out.dtype == torch.long
    assert (weights is None) if not attention else weights.shape == (3, 9, 9)
    plain = RNNSeq2Seq(7, 12, 20, attention=False)
    extra = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == (12 * 7 if attention else 0)


def test_same_seed_same_model_and_global_state_untouched():
    torch.manual_seed(0)
    a = RNNSeq2Seq(5, 8, 10, attention=True, seed=3)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(1))
    b = RNNSeq2Seq(5, 8, 10, attention=True, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("attention", [False, True])
def test_what_the_decoder_can_see(attention):
    """Without attention the logits depend on the encoder only through its last state."""
    model = RNNSeq2Seq(6, 10, 16, attention=attention, seed=1).double()
    src = copy_sequences(4, 8, num_values=6, seed=1)
    tgt_in = shifted(src, model.bos)
    with torch.no_grad():
        want = model(src, tgt_in)
        states, last = model.encode(src)
        noisy = torch.randn_like(states)
        noisy[:, -1] = states[:, -1]
        model.encode = lambda s: (noisy, last)  # every state but the last replaced by noise
        got = model(src, tgt_in)
    if attention:
        assert not torch.allclose(got, want)
    else:
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_equals_teacher_forcing_on_its_own_outputs(attention):
    model = RNNSeq2Seq(6, 10, 16, attention=attention, seed=2).double()
    src = copy_sequences(5, 7, num_values=6, seed=2)
    out = model.greedy(src)
    with torch.no_grad():
        forced = model(src, shifted(out, model.bos)).argmax(-1)
    assert torch.equal(out, forced)


def test_attention_model_learns_to_copy_short_sequences():
    torch.manual_seed(0)
    model = RNNSeq2Seq(5, 16, 8, attention=True, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    g = torch.Generator().manual_seed(0)
    for _step in range(60):
        src = copy_sequences(32, 4, num_values=5, generator=g)
        loss = F.cross_entropy(model(src, shifted(src, model.bos)).flatten(0, 1), src.flatten())
        optimizer.zero_grad(), loss.backward(), optimizer.step()
    test = copy_sequences(200, 4, num_values=5, seed=99)
    assert (model.greedy(test) == test).float().mean() > 0.8  # 0.94-0.99 for seeds 0-2


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(src=torch.zeros(2, 3)), "src must be a long tensor"),
        (dict(src=torch.full((2, 3), 9)), "ids in \\[0, 6\\)"),
        (dict(src=torch.zeros(2, 20, dtype=torch.long)), "max_len=16"),
        (dict(tgt_in=torch.zeros(3, 3, dtype=torch.long)), "same batch size"),
        (dict(tgt_in=torch.full((2, 3), 7)), "ids in \\[0, 7\\)"),
    ],
)
def test_bad_input_is_named(bad, match):
    model = RNNSeq2Seq(6, 8, 16, attention=True)
    args = {"src": torch.zeros(2, 3, dtype=torch.long), "tgt_in": torch.zeros(2, 3, dtype=torch.long), **bad}
    with pytest.raises(ValueError, match=match):
        model(**args)
    with pytest.raises(ValueError, match="num_values"):
        RNNSeq2Seq(0, 8, 16, attention=False)
