"""Tests of tfmcourse.positional: sinusoidal, learned and rotary positions, and the chapter-4 model."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tfmcourse import positional
from tfmcourse.attention import causal_mask, scaled_dot_product_attention
from tfmcourse.cache import KVCache
from tfmcourse.models.order import POSITION_KINDS, OrderModel
from tfmcourse.multihead import MultiHeadAttention
from tfmcourse.positional import (
    LearnedPositions,
    RotaryEmbedding,
    SinusoidalPositions,
    apply_rotary,
    rope_angles,
    sinusoidal_table,
)

# ---------------------------------------------------------------------------------------------------
# sinusoidal


@pytest.mark.parametrize("max_len,d_model,base", [(1, 2, 10000.0), (17, 8, 10000.0), (50, 12, 100.0)])
def test_sinusoidal_table_matches_the_formula(max_len, d_model, base):
    table = sinusoidal_table(max_len, d_model, base, dtype=torch.float64)
    assert table.shape == (max_len, d_model) and table.dtype == torch.float64
    for pos in range(max_len):
        for i in range(d_model // 2):
            angle = pos / base ** (2 * i / d_model)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-12)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-12)


def test_sinusoidal_table_default_dtype_and_first_row():
    table = sinusoidal_table(5, 6)
    assert table.dtype == torch.get_default_dtype()
    assert torch.equal(table[0], torch.tensor([0.0, 1.0] * 3))  # sin 0 = 0, cos 0 = 1


@pytest.mark.parametrize("shift", [1, 3, 10])
def test_sinusoidal_shift_is_a_rotation_of_each_pair(shift):
    """PE[pos + k] = R(k) PE[pos] with one 2x2 rotation per pair, the same for every pos."""
    d = 8
    table = sinusoidal_table(40, d, dtype=torch.float64)
    freqs = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    c, s = torch.cos(shift * freqs), torch.sin(shift * freqs)
    sin_, cos_ = table[:-shift, 0::2], table[:-shift, 1::2]
    # sin(a + b) = sin a cos b + cos a sin b; cos(a + b) = cos a cos b - sin a sin b
    torch.testing.assert_close(table[shift:, 0::2], sin_ * c + cos_ * s)
    torch.testing.assert_close(table[shift:, 1::2], cos_ * c - sin_ * s)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_len=4, d_model=5), "d_model must be even"),
        (dict(max_len=0, d_model=4), "max_len"),
        (dict(max_len=4, d_model=0), "d_model"),
        (dict(max_len=4, d_model=4, base=-1.0), "base"),
        (dict(max_len=2.5, d_model=4), "max_len"),
    ],
)
def test_sinusoidal_table_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sinusoidal_table(**kwargs)


def test_sinusoidal_positions_adds_the_table_with_offset():
    torch.manual_seed(0)
    pe = SinusoidalPositions(8, max_len=20)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(pe(x), x + sinusoidal_table(20, 8)[:5])
    torch.testing.assert_close(pe(x, offset=7), x + sinusoidal_table(20, 8)[7:12])
    torch.testing.assert_close(pe(x, offset=15), x + sinusoidal_table(20, 8)[15:20])  # exactly max_len


def test_positions_incremental_equals_full():
    """Adding positions token by token with offsets gives what the whole sequence gets at once."""
    torch.manual_seed(0)
    for pe in (SinusoidalPositions(6, max_len=10), LearnedPositions(6, max_len=10)):
        x = torch.randn(3, 7, 6)
        steps = torch.cat([pe(x[:, t : t + 1], offset=t) for t in range(7)], dim=1)
        torch.testing.assert_close(steps, pe(x))


def test_sinusoidal_buffer_is_not_persistent_and_follows_dtype():
    pe = SinusoidalPositions(4, max_len=6)
    assert "table" not in pe.state_dict() and len(pe.state_dict()) == 0
    assert pe.table.shape == (6, 4)
    pe.load_state_dict({})  # a clean state dict loads
    x = torch.randn(1, 3, 4, dtype=torch.float64)
    assert pe(x).dtype == torch.float64
    assert pe.double().table.dtype == torch.float64  # moves with .to(...)


@pytest.mark.parametrize("cls", [SinusoidalPositions, LearnedPositions])
def test_additive_positions_errors(cls):
    pe = cls(4, max_len=6)
    with pytest.raises(ValueError, match=r"seq=4.*offset=3.*max_len=6"):
        pe(torch.zeros(1, 4, 4), offset=3)
    with pytest.raises(ValueError, match=r"seq=7.*max_len=6"):
        pe(torch.zeros(2, 7, 4))
    with pytest.raises(
        ValueError, match=r"x must have shape \(batch, seq, d_model=4\), got shape \(2, 3, 5\)"
    ):
        pe(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"got shape \(3, 4\)"):
        pe(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="offset"):
        pe(torch.zeros(1, 2, 4), offset=-1)
    with pytest.raises(ValueError, match="floating-point"):
        pe(torch.zeros(1, 2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="dropout"):
        cls(4, max_len=6, dropout=1.0)


# ---------------------------------------------------------------------------------------------------
# learned


def test_learned_positions_shapes_offsets_and_training():
    torch.manual_seed(0)
    pe = LearnedPositions(8, max_len=12)
    assert isinstance(pe.table, torch.nn.Parameter) and pe.table.shape == (12, 8)
    assert set(pe.state_dict()) == {"table"}
    x = torch.randn(3, 4, 8)
    out = pe(x, offset=5)
    assert out.shape == (3, 4, 8)
    torch.testing.assert_close(out, x + pe.table[5:9])
    out.sum().backward()
    grad = pe.table.grad
    assert (grad[5:9] != 0).all() and (grad[:5] == 0).all() and (grad[9:] == 0).all()  # only rows used


def test_learned_positions_dropout_only_in_training():
    pe = LearnedPositions(16, max_len=4, dropout=0.5)
    x = torch.ones(2, 4, 16)
    pe.eval()
    torch.testing.assert_close(pe(x), x + pe.table)
    pe.train()
    torch.manual_seed(0)
    assert (pe(x) == 0).any()


# ---------------------------------------------------------------------------------------------------
# rotary


def _complex_rope(x: torch.Tensor, positions: torch.Tensor, base: float, interleaved: bool) -> torch.Tensor:
    """Independent oracle: RoPE as multiplication of complex numbers by exp(i * pos * freq)."""
    d = x.shape[-1]
    freqs = torch.tensor([base ** (-2 * i / d) for i in range(d // 2)], dtype=torch.float64)
    rot = torch.polar(
        torch.ones(len(positions), d // 2, dtype=torch.float64), positions[:, None].double() * freqs
    )
    if interleaved:
        z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
        return torch.view_as_real(z * rot).reshape(x.shape)
    z = torch.complex(x.double()[..., : d // 2], x.double()[..., d // 2 :])
    w = z * rot
    return torch.cat([w.real, w.imag], dim=-1)


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("offset", [0, 5])
def test_rope_matches_complex_multiplication(interleaved, offset):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64)
    rope = RotaryEmbedding(8, base=100.0, interleaved=interleaved)
    want = _complex_rope(x, torch.arange(offset, offset + 7), 100.0, interleaved)
    torch.testing.assert_close(rope(x, offset=offset), want)


def test_rope_pairings_differ_by_a_permutation_of_dimensions():
    torch.manual_seed(0)
    x = torch.randn(5, 6, dtype=torch.float64)
    perm = torch.tensor([0, 3, 1, 4, 2, 5])  # half-split order -> interleaved order
    half = RotaryEmbedding(6)(x)
    inter = RotaryEmbedding(6, interleaved=True)(x[:, perm])
    torch.testing.assert_close(inter, half[:, perm])


def test_rope_position_zero_is_identity_and_shapes_dtypes():
    x = torch.randn(2, 4, 1, 16)
    rope = RotaryEmbedding(16)
    torch.testing.assert_close(rope(x), x)  # seq = 1 at offset 0: angle 0
    y = torch.randn(3, 10, 16, dtype=torch.float64)
    assert rope(y, offset=4).shape == y.shape and rope(y).dtype == torch.float64
    assert rope(y.float()).dtype == torch.float32
    assert len(rope.state_dict()) == 0
    cos, sin = rope.cos_sin(10, offset=2)
    assert cos.shape == sin.shape == (10, 8)
    torch.testing.assert_close(cos[0, 0], torch.tensor(math.cos(2.0), dtype=torch.float64))


def test_rope_incremental_equals_full():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 8)
    rope = RotaryEmbedding(8)
    steps = torch.cat([rope(x[:, t : t + 1], offset=t) for t in range(9)], dim=1)
    torch.testing.assert_close(steps, rope(x))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    pos=st.integers(0, 5000),
    interleaved=st.booleans(),
    d_half=st.integers(1, 16),
)
def test_rope_preserves_norms(seed, pos, interleaved, d_half):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 1, 2 * d_half, generator=g, dtype=torch.float64)
    y = RotaryEmbedding(2 * d_half, interleaved=interleaved)(x, offset=pos)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    m=st.integers(0, 2000),
    n=st.integers(0, 2000),
    s=st.integers(-2000, 2000),
    interleaved=st.booleans(),
)
def test_rope_scores_depend_only_on_relative_position(seed, m, n, s, interleaved):
    """<R(m) q, R(n) k> == <R(m + s) q, R(n + s) k> for every shift s."""
    if m + s < 0 or n + s < 0:
        s = -min(m, n)
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, 16, generator=g, dtype=torch.float64)
    rope = RotaryEmbedding(16, interleaved=interleaved)
    before = (rope(q, offset=m) * rope(k, offset=n)).sum()
    after = (rope(q, offset=m + s) * rope(k, offset=n + s)).sum()
    torch.testing.assert_close(before, after, atol=1e-9, rtol=1e-9)
    # at equal positions the rotations cancel: the score is the unrotated q . k
    same = (rope(q, offset=m) * rope(k, offset=m)).sum()
    torch.testing.assert_close(same, (q * k).sum(), atol=1e-9, rtol=1e-9)


def test_rope_relative_offset_changes_scores():
    torch.manual_seed(0)
    q, k = torch.randn(2, 1, 16, dtype=torch.float64)
    rope = RotaryEmbedding(16)
    scores = [(rope(q, offset=3) * rope(k, offset=n)).sum().item() for n in range(8)]
    assert len({round(v, 6) for v in scores}) == 8


def test_rope_angles_values():
    theta = rope_angles(torch.tensor([0, 1, 3]), 4, base=100.0)
    want = torch.tensor([[0.0, 0.0], [1.0, 0.1], [3.0, 0.3]], dtype=torch.float64)
    torch.testing.assert_close(theta, want)


def test_rope_bad_input():
    with pytest.raises(ValueError, match="d_head must be even"):
        RotaryEmbedding(7)
    with pytest.raises(ValueError, match="base"):
        RotaryEmbedding(8, base=0.0)
    rope = RotaryEmbedding(8)
    with pytest.raises(ValueError, match=r"d_head=8.*\(2, 5, 6\)"):
        rope(torch.zeros(2, 5, 6))
    with pytest.raises(ValueError, match="offset"):
        rope(torch.zeros(2, 5, 8), offset=-2)
    with pytest.raises(ValueError, match="floating-point"):
        rope(torch.zeros(2, 5, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(4, 4\)"):
        apply_rotary(torch.zeros(5, 8), torch.zeros(4, 4), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="cos has shape"):
        apply_rotary(torch.zeros(5, 8), torch.zeros(5, 4), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="must be even"):
        apply_rotary(torch.zeros(5, 7), torch.zeros(5, 3), torch.zeros(5, 3))


# ---------------------------------------------------------------------------------------------------
# permutation equivariance and the chapter-4 model


def test_self_attention_without_positions_is_permutation_equivariant():
    """attention(P x) == P attention(x) for self-attention with projections and no position info."""
    g = torch.Generator().manual_seed(0)
    d = 8
    w_q, w_k, w_v = (torch.randn(d, d, generator=g, dtype=torch.float64) for _ in range(3))
    x = torch.randn(2, 6, d, generator=g, dtype=torch.float64)
    perm = torch.randperm(6, generator=g)

    def self_attention(x):
        return scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v)[0]

    torch.testing.assert_close(self_attention(x[:, perm]), self_attention(x)[:, perm])
    # with sinusoidal positions added, it no longer is
    pe = sinusoidal_table(6, d, dtype=torch.float64)
    assert not torch.allclose(self_attention(x[:, perm] + pe), self_attention(x + pe)[:, perm], atol=1e-3)


@pytest.mark.parametrize("position", POSITION_KINDS)
def test_order_model_equivariance_only_without_positions(position):
    torch.manual_seed(0)
    model = OrderModel(
        vocab_size=11, num_classes=3, position=position, d_model=16, num_heads=2, max_len=10
    ).double()
    tokens = torch.randint(0, 11, (4, 9))
    perm = torch.randperm(9)
    out = model(tokens)
    assert out.shape == (4, 9, 3)
    equivariant = torch.allclose(model(tokens[:, perm]), out[:, perm], atol=1e-9)
    assert equivariant == (position == "none")


def test_multihead_attention_with_rope_rotates_queries_and_keys():
    """MultiHeadAttention(rotary=...) is attention over RoPE-rotated queries and keys of every head."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2, rotary=RotaryEmbedding(8)).double()
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    rope = RotaryEmbedding(8)

    def heads(t):
        return t.unflatten(-1, (2, 8)).transpose(1, 2)  # (batch, heads, seq, d_head)

    q, k, v = heads(mha.q_proj(x)), heads(mha.k_proj(x)), heads(mha.v_proj(x))
    out, _ = scaled_dot_product_attention(rope(q), rope(k), v)
    want = mha.out_proj(out.transpose(1, 2).flatten(2))
    torch.testing.assert_close(mha(x, x, x)[0], want)
    # it sees the order: reversing the tokens is not the same as reversing the outputs
    assert not torch.allclose(mha(x.flip(1), x.flip(1), x.flip(1))[0], mha(x, x, x)[0].flip(1), atol=1e-6)


def test_multihead_attention_with_rope_and_a_cache_equals_one_pass():
    """With a cache, the new positions are rotated from where the cache ends (offset = cache.length)."""
    torch.manual_seed(1)
    mha = MultiHeadAttention(16, 2, rotary=RotaryEmbedding(8)).double().eval()
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    full, _ = mha(x, x, x, mask=causal_mask(6))
    cache = KVCache(1)
    steps = [mha(x[:, :4], x[:, :4], x[:, :4], cache=cache, mask=causal_mask(4))[0]]
    steps += [mha(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], cache=cache)[0] for t in (4, 5)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


def test_rope_shift_of_all_positions_leaves_the_scores_unchanged():
    torch.manual_seed(2)
    rope = RotaryEmbedding(8)
    q, k = torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 5, 8, dtype=torch.float64)
    scores = rope(q) @ rope(k).transpose(-1, -2)
    for offset in (7, 1000):
        torch.testing.assert_close(rope(q, offset) @ rope(k, offset).transpose(-1, -2), scores)


def test_order_model_is_still_importable_from_positional():
    assert positional.OrderModel is OrderModel and positional.POSITION_KINDS == POSITION_KINDS


def test_order_model_learned_cannot_go_beyond_max_len_but_rope_can():
    torch.manual_seed(0)
    tokens = torch.randint(0, 5, (2, 12))
    for position in ("sinusoidal", "learned"):
        with pytest.raises(ValueError, match="max_len=8"):
            OrderModel(5, 2, position, d_model=8, num_heads=2, max_len=8)(tokens)
    assert OrderModel(5, 2, "rope", d_model=8, num_heads=2, max_len=8)(tokens).shape == (2, 12, 2)


def test_order_model_bad_input():
    with pytest.raises(ValueError, match="position must be one of"):
        OrderModel(5, 2, "alibi")
    with pytest.raises(ValueError, match="divisible"):
        OrderModel(5, 2, "none", d_model=10, num_heads=4)
    with pytest.raises(ValueError, match=r"tokens must be an integer tensor \(batch, seq\)"):
        OrderModel(5, 2)(torch.zeros(2, 3))


# ---------------------------------------------------------------------------------------------------
# the order tasks (tfmcourse.data.order)

from tfmcourse.data.order import (  # noqa: E402
    IGNORE_INDEX,
    MARKER_A,
    MARKER_B,
    OrderBatch,
    bag_of_tokens_accuracy,
    lookback,
    which_first,
)


def test_lookback_is_deterministic_and_labels_are_right():
    a, b = lookback(8, 10, vocab_size=5, lag=2, seed=3), lookback(8, 10, vocab_size=5, lag=2, seed=3)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.tokens, lookback(8, 10, vocab_size=5, lag=2, seed=4).tokens)
    g = torch.Generator().manual_seed(3)
    assert torch.equal(lookback(8, 10, vocab_size=5, lag=2, generator=g).tokens, a.tokens)
    assert a.tokens.shape == a.targets.shape == (8, 10)
    assert a.tokens.min() >= 0 and a.tokens.max() < 5
    assert (a.targets[:, :2] == IGNORE_INDEX).all()
    for i in range(2, 10):
        assert torch.equal(a.targets[:, i], a.tokens[:, i - 2])


@pytest.mark.parametrize("paired", [False, True])
def test_which_first_markers_and_labels(paired):
    batch = which_first(40, 9, vocab_size=6, paired=paired, seed=1)
    assert torch.equal(batch.tokens, which_first(40, 9, vocab_size=6, paired=paired, seed=1).tokens)
    for tok, tgt in zip(batch.tokens, batch.targets):
        (pa,) = (tok == MARKER_A).nonzero()[:, 0].tolist()
        (pb,) = (tok == MARKER_B).nonzero()[:, 0].tolist()
        assert tgt[pa].item() == int(pb > pa)
        assert (tgt != IGNORE_INDEX).sum() == 1
    if paired:
        t = batch.tokens
        swapped = torch.where(
            t[1::2] == MARKER_A, MARKER_B, torch.where(t[1::2] == MARKER_B, MARKER_A, t[1::2])
        )
        assert torch.equal(swapped, t[0::2])  # the pair differs only by swapping A and B
        labels = batch.targets[batch.targets != IGNORE_INDEX]
        assert torch.equal(labels[0::2], 1 - labels[1::2])


def test_a_model_without_positions_scores_exactly_half_on_paired_which_first():
    """Permutation equivariance in action: swapping A and B is a permutation, so the order-blind model
    gives both sequences of a pair the same answer, and exactly one of them is right."""
    torch.manual_seed(0)
    model = OrderModel(6, 2, "none", d_model=16, num_heads=2).double()
    batch = which_first(64, 12, vocab_size=6, paired=True, seed=0)
    keep = batch.targets != IGNORE_INDEX
    pred = model(batch.tokens).argmax(-1)[keep]
    assert torch.equal(pred[0::2], pred[1::2])
    assert (pred == batch.targets[keep]).double().mean().item() == 0.5


def test_bag_of_tokens_accuracy_by_hand():
    tokens = torch.tensor([[2, 2, 1, 2, 0]])
    batch = OrderBatch(tokens=tokens, targets=torch.tensor([[IGNORE_INDEX, 2, 2, 1, 2]]))
    # guesses: position 1 -> most frequent of (2, 1, 2, 0) = 2 (right);
    # position 2 -> of (2, 2, 2, 0) = 2 (right);
    # position 3 -> of (2, 2, 1, 0) = 2 (wrong, target 1); position 4 -> of (2, 2, 1, 2) = 2 (right)
    assert bag_of_tokens_accuracy(batch, 3) == pytest.approx(0.75)
    # on random data it is well below 1 and above uniform chance
    acc = bag_of_tokens_accuracy(lookback(256, 24, vocab_size=16, seed=0), 16)
    assert 1 / 16 < acc < 0.3


def test_order_data_bad_input():
    with pytest.raises(ValueError, match="seq_len must be an int >= 4"):
        lookback(2, 3, lag=3)
    with pytest.raises(ValueError, match="lag"):
        lookback(2, 5, lag=0)
    with pytest.raises(ValueError, match="either seed or generator"):
        lookback(2, 5, seed=0, generator=torch.Generator())
    with pytest.raises(ValueError, match="vocab_size"):
        which_first(2, 5, vocab_size=2)
    with pytest.raises(ValueError, match="even"):
        which_first(3, 5, paired=True)
    with pytest.raises(ValueError, match="vocab_size-1 = 2"):
        bag_of_tokens_accuracy(lookback(2, 5, vocab_size=5), 3)


def test_causal_bag_of_tokens_accuracy_by_hand():
    tokens = torch.tensor([[1, 0, 0, 2, 0]])
    batch = OrderBatch(tokens=tokens, targets=torch.tensor([[IGNORE_INDEX, 1, 0, 0, 2]]))
    # causal: the most frequent token strictly before each position (ties: smallest id):
    # 1 -> of (1) = 1 right; 2 -> of (1, 0) = 0 right; 3 -> of (1, 0, 0) = 0 right; 4 -> of (1, 0, 0, 2) = 0
    # wrong
    assert bag_of_tokens_accuracy(batch, 3, causal=True) == pytest.approx(0.75)
    # all other positions: 1 -> of (1, 0, 2, 0) = 0 wrong; 2 -> of (1, 0, 2, 0) = 0 right;
    # 3 -> of (1, 0, 0, 0) = 0 right; 4 -> of (1, 0, 0, 2) = 0 wrong
    assert bag_of_tokens_accuracy(batch, 3) == pytest.approx(0.5)
    # on random sequences of 24 the causal guess is the better one (short prefixes)
    data = lookback(256, 24, vocab_size=16, seed=0)
    assert bag_of_tokens_accuracy(data, 16) < bag_of_tokens_accuracy(data, 16, causal=True) < 0.4


def test_order_model_takes_a_mask_that_broadcasts_over_the_batch():
    torch.manual_seed(0)
    model = OrderModel(5, 2, "rope", d_model=8, num_heads=2, max_len=8).eval()
    tokens = torch.randint(0, 5, (3, 6))
    causal = causal_mask(6)
    out = model(tokens, mask=causal[None])  # (1, seq, seq): the same mask for the whole batch
    torch.testing.assert_close(out, model(tokens, mask=causal.expand(3, 6, 6)))
    torch.testing.assert_close(out, model(tokens, mask=causal))
    with pytest.raises(ValueError, match=r"mask has shape \(2, 6, 6\)"):
        model(tokens, mask=causal.expand(2, 6, 6))
