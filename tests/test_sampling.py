"""Tests of tfmcourse.sampling: temperature, top-k, top-p, seeds, and generation with and without the
KV cache."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.sampling import filter_logits, generate, sample_next


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_logits(batch: int = 64, vocab: int = 50, seed: int = 0, scale: float = 3.0) -> torch.Tensor:
    return torch.randn(batch, vocab, generator=gen(seed), dtype=torch.float64) * scale


def tiny_gpt(seed: int = 0, max_len: int = 24) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=37, max_len=max_len, d_model=32, num_layers=2, num_heads=4)).eval()


# --------------------------------------------------------------------------------- sample_next


def test_temperature_zero_is_argmax():
    logits = random_logits()
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))


def test_temperature_near_zero_equals_greedy():
    logits = random_logits(batch=500, seed=1)
    top2 = logits.topk(2, dim=-1).values
    logits = logits[top2[:, 0] - top2[:, 1] > 0.01]  # a near tie stays a coin toss at any temperature
    assert logits.shape[0] > 450
    for seed in range(3):
        assert torch.equal(sample_next(logits, temperature=1e-4, generator=gen(seed)), logits.argmax(-1))


def test_higher_temperature_spreads_the_samples():
    logits = random_logits(batch=1, vocab=20, seed=2).expand(4000, 20)
    distinct = [
        sample_next(logits, temperature=t, generator=gen(0)).unique().numel() for t in (0.3, 1.0, 3.0)
    ]
    assert distinct[0] < distinct[1] < distinct[2]


def test_samples_follow_the_softmax():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]], dtype=torch.float64)
    draws = sample_next(logits.expand(20000, 4), generator=gen(0))
    freq = torch.bincount(draws, minlength=4).double() / 20000
    assert (freq - torch.softmax(logits[0], -1)).abs().max() < 0.015


@pytest.mark.parametrize("k", [1, 3, 10])
def test_top_k_never_samples_outside_the_k_most_likely(k):
    logits = random_logits(batch=2000, vocab=30, seed=k)
    draws = sample_next(logits, temperature=1.5, top_k=k, generator=gen(k))
    allowed = logits.topk(k, dim=-1).indices
    assert (allowed == draws[:, None]).any(dim=-1).all()
    if k > 1:  # and it does sample among them, not just the top one
        assert (draws != logits.argmax(-1)).any()


def test_top_k_larger_than_the_vocabulary_keeps_everything():
    logits = random_logits(vocab=7)
    torch.testing.assert_close(filter_logits(logits, top_k=100), logits)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]], dtype=torch.float64)
    logits = probs.log()
    for p, kept in (
        (0.3, {1}),
        (0.5, {1}),
        (0.6, {1, 3}),
        (0.79, {1, 3}),
        (0.81, {1, 2, 3}),
        (0.96, {0, 1, 2, 3}),
    ):
        got = set(torch.isfinite(filter_logits(logits, top_p=p))[0].nonzero().flatten().tolist())
        assert got == kept, (p, got)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.floats(0.05, 0.99), vocab=st.integers(2, 40))
def test_top_p_property(seed, p, vocab):
    logits = random_logits(batch=1, vocab=vocab, seed=seed)
    probs = torch.softmax(logits, -1)[0]
    kept = torch.isfinite(filter_logits(logits, top_p=p))[0]
    mass = probs[kept].sum().item()
    assert mass >= p - 1e-12  # enough mass
    assert mass - probs[kept].min().item() < p  # and no smaller set would do
    assert probs[kept].min() >= probs[~kept].max() if (~kept).any() else True  # the most likely ones


def test_top_k_then_top_p_and_sampling_stays_inside():
    logits = random_logits(batch=3000, vocab=25, seed=5)
    draws = sample_next(logits, top_k=5, top_p=0.5, generator=gen(1))
    allowed = torch.isfinite(filter_logits(logits, top_k=5, top_p=0.5))
    assert allowed.gather(1, draws[:, None]).all()
    assert (allowed.sum(-1) <= 5).all()


def test_a_seeded_sampler_repeats_itself():
    logits = random_logits(batch=200)
    a = sample_next(logits, top_p=0.9, generator=gen(7))
    b = sample_next(logits, top_p=0.9, generator=gen(7))
    c = sample_next(logits, top_p=0.9, generator=gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(temperature=-0.5),
        dict(temperature="hot"),
        dict(temperature=float("nan")),
        dict(top_k=0),
        dict(top_k=2.5),
        dict(top_k=True),
        dict(top_p=0.0),
        dict(top_p=1.5),
        dict(generator=0),
    ],
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        sample_next(random_logits(), **kwargs)


def test_bad_logits_raise_value_error():
    for bad in (torch.zeros(5), torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, 0), [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="logits"):
            sample_next(bad)
    with pytest.raises(ValueError, match="temperature"):
        filter_logits(random_logits(), temperature=0)


# ------------------------------------------------------------------------------------- generate


@pytest.mark.parametrize("new", [5, 30])
def test_generation_with_the_cache_equals_generation_without_it(new):
    """Greedy: the same tokens, also when the sequence outgrows max_len (24) and the window slides."""
    m = tiny_gpt()
    prompt = torch.randint(0, 37, (3, 6), generator=gen(0))
    with_cache = generate(m, prompt, new, temperature=0, use_cache=True)
    without = generate(m, prompt, new, temperature=0, use_cache=False)
    assert with_cache.shape == (3, 6 + new)
    assert torch.equal(with_cache, without)
    assert torch.equal(with_cache[:, :6], prompt)


def test_sampled_generation_with_and_without_cache_agree_with_the_same_seed():
    m = tiny_gpt(seed=1)
    prompt = torch.randint(0, 37, (2, 4), generator=gen(1))
    a = generate(m, prompt, 15, temperature=1.0, top_k=10, use_cache=True, generator=gen(3))
    b = generate(m, prompt, 15, temperature=1.0, top_k=10, use_cache=False, generator=gen(3))
    assert torch.equal(a, b)


def test_seeded_generation_repeats_itself():
    m = tiny_gpt(seed=2)
    prompt = torch.zeros(2, 1, dtype=torch.long)
    runs = [generate(m, prompt, 20, temperature=1.2, generator=gen(s)) for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_generate_errors():
    m = tiny_gpt()
    prompt = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(m, prompt, -1)
    with pytest.raises(ValueError, match="idx"):
        generate(m, prompt.float(), 3)
    with pytest.raises(ValueError, match="idx"):
        generate(m, torch.zeros(1, 0, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="top_p"):
        generate(m, prompt, 3, top_p=2.0)
    assert torch.equal(generate(m, prompt, 0), prompt)


def test_entropy_of_the_filtered_distribution_falls_with_temperature():
    logits = random_logits(batch=1, vocab=30, seed=9)

    def entropy(t):
        p = torch.softmax(filter_logits(logits, temperature=t), -1)
        return -(p * p.clamp_min(1e-300).log()).sum().item()

    values = [entropy(t) for t in (0.25, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[-1] < math.log(30)


def test_generation_speed_reports_both_ways():
    from tfmcourse.sampling import generation_speed

    rows = generation_speed(tiny_gpt(), lengths=(8, 16), repeats=1)
    assert [r["length"] for r in rows] == [8, 16]
    assert all(
        r["cached"] > 0 and r["uncached"] > 0 and r["speedup"] == r["cached"] / r["uncached"] for r in rows
    )
    with pytest.raises(ValueError, match="lengths"):
        generation_speed(tiny_gpt(), lengths=(100,))
