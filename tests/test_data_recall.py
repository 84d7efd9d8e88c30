"""The distance-recall task: deterministic for a seed, labels correct, bad arguments rejected."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.data.recall import distance_recall, query_token, vocab_size


def test_same_seed_same_batch_other_seed_other_batch():
    a = distance_recall(50, [3, 9, 20], seq_len=24, seed=7)
    b = distance_recall(50, [3, 9, 20], seq_len=24, seed=7)
    c = distance_recall(50, [3, 9, 20], seq_len=24, seed=8)
    for x, y in ((a.tokens, b.tokens), (a.labels, b.labels), (a.distances, b.distances)):
        assert torch.equal(x, y)
    assert not torch.equal(a.tokens, c.tokens)


def test_generator_continues_and_seed_matches_fresh_generator():
    g = torch.Generator().manual_seed(3)
    first = distance_recall(10, 5, seq_len=8, generator=g)
    second = distance_recall(10, 5, seq_len=8, generator=g)
    assert not torch.equal(first.tokens, second.tokens)  # the generator moved on
    assert torch.equal(first.tokens, distance_recall(10, 5, seq_len=8, seed=3).tokens)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_are_recomputed_independently(seed):
    num_values, seq_len = 5, 30
    batch = distance_recall(200, [1, 4, 29], seq_len=seq_len, num_values=num_values, seed=seed)
    assert batch.tokens.shape == (200, seq_len) and batch.tokens.dtype == torch.long
    assert batch.labels.shape == (200,) and batch.distances.shape == (200,)
    assert int(batch.tokens.min()) >= 0 and int(batch.tokens.max()) < vocab_size(seq_len, num_values)
    for row, label, d in zip(batch.tokens.tolist(), batch.labels.tolist(), batch.distances.tolist()):
        *values, query = row
        assert all(0 <= v < num_values for v in values)  # everything before the query is a value
        asked = query - num_values + 1  # decode the distance from the query token
        assert asked == d == (seq_len - 1) - (seq_len - 1 - d)
        assert label == values[len(values) - asked]
    assert set(batch.distances.tolist()) == {1, 4, 29}
    assert set(batch.labels.tolist()) == set(range(num_values))


def test_query_token_and_vocab_size():
    assert query_token(1, num_values=8) == 8
    assert query_token(127, num_values=8) == vocab_size(128, num_values=8) - 1
    batch = distance_recall(3, 7, seq_len=10, num_values=4, seed=0)
    assert (batch.tokens[:, -1] == query_token(7, num_values=4)).all()
    with pytest.raises(ValueError, match="distance"):
        query_token(0)


def test_fixed_distance():
    batch = distance_recall(20, 6, seq_len=10, seed=0)
    assert (batch.distances == 6).all()
    assert torch.equal(batch.tokens[:, 10 - 1 - 6], batch.labels)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(num_samples=0, distance=2, seq_len=5), "num_samples"),
        (dict(num_samples=4, distance=5, seq_len=5), "distance"),
        (dict(num_samples=4, distance=0, seq_len=5), "distance"),
        (dict(num_samples=4, distance=[2, 9], seq_len=5), "distance"),
        (dict(num_samples=4, distance=[], seq_len=5), "distance"),
        (dict(num_samples=4, distance=2.0, seq_len=5), "distance"),
        (dict(num_samples=4, distance=1, seq_len=1), "seq_len"),
        (dict(num_samples=4, distance=2, seq_len=5, num_values=1), "num_values"),
        (dict(num_samples=4, distance=(d for d in [2]), seq_len=5), "distance"),
        (
            dict(num_samples=4, distance=2, seq_len=5, seed=1, generator=torch.Generator()),
            "seed or generator",
        ),
    ],
)
def test_bad_arguments_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        distance_recall(**kwargs)


def test_marked_differs_only_in_the_asked_token():
    from tfmcourse.data.recall import marked_token

    seq_len, num_values = 20, 6
    plain = distance_recall(100, [1, 5, 19], seq_len, num_values, seed=4)
    marked = distance_recall(100, [1, 5, 19], seq_len, num_values, seed=4, marked=True)
    assert torch.equal(plain.labels, marked.labels) and torch.equal(plain.distances, marked.distances)
    changed = plain.tokens != marked.tokens
    assert (changed.sum(dim=1) == 1).all()  # exactly one token per sequence differs
    for row, label, d, flags in zip(
        marked.tokens.tolist(), marked.labels.tolist(), marked.distances.tolist(), changed.tolist()
    ):
        asked = seq_len - 1 - d
        assert flags.index(True) == asked and row[asked] == marked_token(label, seq_len, num_values)
        assert all(t < num_values for i, t in enumerate(row[:-1]) if i != asked)  # the others stay plain
    assert int(marked.tokens.max()) < vocab_size(seq_len, num_values, marked=True)
    assert vocab_size(seq_len, num_values, marked=True) == vocab_size(seq_len, num_values) + num_values


def test_copy_sequences_seeded_and_checked():
    from tfmcourse.data.recall import copy_sequences

    a = copy_sequences(30, 7, num_values=5, seed=1)
    assert a.shape == (30, 7) and a.dtype == torch.long and int(a.min()) >= 0 and int(a.max()) < 5
    assert torch.equal(a, copy_sequences(30, 7, num_values=5, seed=1))
    assert not torch.equal(a, copy_sequences(30, 7, num_values=5, seed=2))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(copy_sequences(30, 7, num_values=5, generator=g), a)
    for bad in (dict(length=0), dict(num_values=1), dict(num_samples=-1), dict(seed=1, generator=g)):
        kwargs = {"num_samples": 3, "length": 4, **bad}
        with pytest.raises(ValueError):
            copy_sequences(**kwargs)
