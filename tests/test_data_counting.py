"""The token-counting task: deterministic for a seed, targets correct, baseline loss right, bad
arguments rejected."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.data.counting import context_free_loss, token_counts


def test_same_seed_same_batch_other_seed_other_batch():
    a, b, c = token_counts(40, 8, 4, seed=3), token_counts(40, 8, 4, seed=3), token_counts(40, 8, 4, seed=4)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.tokens, c.tokens)


def test_generator_continues_and_seed_matches_fresh_generator():
    g = torch.Generator().manual_seed(5)
    first, second = token_counts(10, generator=g), token_counts(10, generator=g)
    assert not torch.equal(first.tokens, second.tokens)
    assert torch.equal(first.tokens, token_counts(10, seed=5).tokens)


@pytest.mark.parametrize("seed", [0, 1])
def test_targets_are_the_counts(seed):
    batch = token_counts(100, seq_len=9, vocab_size=3, seed=seed)
    assert batch.tokens.shape == batch.targets.shape == (100, 9)
    assert batch.tokens.dtype == batch.targets.dtype == torch.long
    assert int(batch.tokens.min()) >= 0 and int(batch.tokens.max()) < 3
    for row, target in zip(batch.tokens.tolist(), batch.targets.tolist()):
        assert target == [row.count(t) for t in row]


def test_example_from_the_docstring():
    tokens = torch.tensor([[2, 0, 2, 3, 2, 0, 1, 3]])
    same = tokens[:, :, None] == tokens[:, None, :]
    assert same.sum(-1).tolist() == [[3, 2, 3, 2, 3, 2, 1, 2]]


def test_context_free_loss_is_the_entropy_of_the_counts():
    # seq_len=2, vocab=2: the other token matches with probability 1/2 -> entropy ln 2.
    assert context_free_loss(2, 2) == pytest.approx(math.log(2))
    # Monte Carlo: the empirical entropy of the counts of a large batch agrees.
    batch = token_counts(20000, seq_len=8, vocab_size=4, seed=0)
    p = torch.bincount(batch.targets.flatten(), minlength=9).double()
    p = p[p > 0] / p.sum()
    assert float(-(p * p.log()).sum()) == pytest.approx(context_free_loss(8, 4), abs=0.01)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(num_samples=0), "num_samples"),
        (dict(num_samples=2, seq_len=1), "seq_len"),
        (dict(num_samples=2, vocab_size=1), "vocab_size"),
        (dict(num_samples=2.0), "num_samples"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        token_counts(**kwargs)


def test_seed_and_generator_together_raise():
    with pytest.raises(ValueError, match="either seed or generator"):
        token_counts(4, seed=1, generator=torch.Generator())
    with pytest.raises(ValueError, match="seq_len"):
        context_free_loss(1, 4)


def test_label_table_is_seeded_and_no_row_is_constant():
    from tfmcourse.data.counting import label_table

    a, b = label_table(4, 8, 5, seed=1), label_table(4, 8, 5, seed=1)
    assert torch.equal(a, b) and a.shape == (4, 9) and a.min() >= 0 and a.max() < 5
    for seed in range(20):
        likely = label_table(seed=seed)[:, 1:5]
        assert (likely != likely[:, :1]).any(dim=1).all()  # the label depends on the count in every row
    with pytest.raises(ValueError, match="num_classes"):
        label_table(num_classes=1)
    with pytest.raises(ValueError, match="seed"):
        label_table(seed=1.5)
