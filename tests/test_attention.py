"""Tests of tfmcourse.attention: oracle equality with torch, mask properties, gradients, errors."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from tfmcourse.attention import (
    AdditiveAttention,
    causal_mask,
    masked_softmax,
    padding_mask,
    scaled_dot_product_attention,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: with several intra-op threads on a busy CPU, each softmax can wait
    milliseconds on a thread barrier. One thread keeps the file fast; the setting is restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


FAST = settings(max_examples=30, deadline=None)
TOL = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}


def rand(
    gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64, grad: bool = False
) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=dtype).requires_grad_(grad)


def rand_mask(gen: torch.Generator, *shape: int, p: float = 0.6) -> torch.Tensor:
    return torch.rand(*shape, generator=gen) < p


def torch_sdpa(q, k, v, mask=None, scale=None):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)


# --------------------------------------------------------------------------- oracle: torch SDPA


SHAPES = [
    # (q shape, k shape, v shape)
    ((2, 5, 8), (2, 5, 8), (2, 5, 8)),
    ((2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8)),
    ((2, 3, 4, 8), (2, 3, 7, 8), (2, 3, 7, 8)),  # seq_q != seq_k
    ((2, 3, 4, 8), (2, 3, 7, 8), (2, 3, 7, 5)),  # d_v != d_k
    ((5, 8), (6, 8), (6, 3)),  # no batch axis at all
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "shapes", SHAPES, ids=lambda s: "x".join(map(str, s[0])) + "-" + "x".join(map(str, s[2]))
)
def test_matches_torch_sdpa_without_mask(shapes, dtype):
    gen = torch.Generator().manual_seed(0)
    q, k, v = (rand(gen, *s, dtype=dtype) for s in shapes)
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, torch_sdpa(q, k, v), **TOL[dtype])
    assert out.shape == (*q.shape[:-1], v.shape[-1])
    assert weights.shape == (*q.shape[:-1], k.shape[-2])
    assert out.dtype == dtype and weights.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mask_shape", [(4, 7), (2, 1, 1, 7), (2, 3, 4, 7), (1, 3, 1, 7), (1, 7)])
def test_matches_torch_sdpa_with_broadcast_mask(mask_shape, dtype):
    gen = torch.Generator().manual_seed(1)
    q, k, v = (
        rand(gen, 2, 3, 4, 8, dtype=dtype),
        rand(gen, 2, 3, 7, 8, dtype=dtype),
        rand(gen, 2, 3, 7, 5, dtype=dtype),
    )
    mask = rand_mask(gen, *mask_shape)
    mask[..., 0] = True  # no fully masked rows: torch's answer there is not part of the contract
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    # torch wants at least 2 mask axes; hand it the expanded mask
    torch.testing.assert_close(out, torch_sdpa(q, k, v, mask.expand(2, 3, 4, 7)), **TOL[dtype])
    # masked keys get exactly zero weight
    assert (weights.masked_select(~mask.expand_as(weights)) == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torch_sdpa_with_random_mask_excluding_fully_masked_rows(dtype):
    gen = torch.Generator().manual_seed(2)
    q, k, v = (
        rand(gen, 3, 2, 6, 4, dtype=dtype),
        rand(gen, 3, 2, 5, 4, dtype=dtype),
        rand(gen, 3, 2, 5, 4, dtype=dtype),
    )
    mask = rand_mask(gen, 3, 2, 6, 5, p=0.3)
    mask[0, 0, 1] = False  # make sure there is at least one fully masked row
    live = mask.any(-1)
    assert (~live).any() and live.any()
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    ref = torch_sdpa(q, k, v, mask)
    torch.testing.assert_close(out[live], ref[live], **TOL[dtype])
    assert (out[~live] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [0.1, 1.0, 2.5])
def test_custom_scale_matches_torch(scale, dtype):
    gen = torch.Generator().manual_seed(3)
    q, k, v = (
        rand(gen, 2, 3, 4, 8, dtype=dtype),
        rand(gen, 2, 3, 6, 8, dtype=dtype),
        rand(gen, 2, 3, 6, 8, dtype=dtype),
    )
    mask = causal_mask(4, 6)
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)
    torch.testing.assert_close(out, torch_sdpa(q, k, v, mask, scale=scale), **TOL[dtype])


def test_default_scale_is_inverse_sqrt_dk():
    gen = torch.Generator().manual_seed(4)
    q, k, v = rand(gen, 2, 4, 9), rand(gen, 2, 6, 9), rand(gen, 2, 6, 3)
    out_default, w_default = scaled_dot_product_attention(q, k, v)
    out_explicit, w_explicit = scaled_dot_product_attention(q, k, v, scale=1 / 3)
    torch.testing.assert_close(out_default, out_explicit, atol=0, rtol=0)
    expected = torch.softmax(q @ k.transpose(-1, -2) / 3, dim=-1)
    torch.testing.assert_close(w_default, expected, atol=1e-12, rtol=0)


def test_broadcast_batch_axes_match_expanded_inputs():
    gen = torch.Generator().manual_seed(5)
    q, k, v = rand(gen, 2, 3, 4, 8), rand(gen, 1, 3, 6, 8), rand(gen, 2, 1, 6, 5)
    out, weights = scaled_dot_product_attention(q, k, v)
    out_ref, weights_ref = scaled_dot_product_attention(q, k.expand(2, 3, 6, 8), v.expand(2, 3, 6, 5))
    assert out.shape == (2, 3, 4, 5) and weights.shape == (2, 3, 4, 6)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(weights, weights_ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("with_mask", [False, True])
def test_weights_rows_sum_to_one_and_out_is_weights_at_v(with_mask):
    gen = torch.Generator().manual_seed(6)
    q, k, v = rand(gen, 2, 3, 5, 8), rand(gen, 2, 3, 7, 8), rand(gen, 2, 3, 7, 4)
    mask = rand_mask(gen, 2, 3, 5, 7) if with_mask else None
    if mask is not None:
        mask[..., 3] = True
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(out, weights @ v, atol=1e-12, rtol=0)


# --------------------------------------------------------------------------- properties (hypothesis)


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 3),
    seq_q=st.integers(1, 6),
    extra_k=st.integers(0, 3),
    d=st.integers(1, 5),
    data=st.data(),
)
def test_causal_mask_output_at_i_ignores_positions_after_i(seed, batch, seq_q, extra_k, d, data):
    # queries are the last seq_q of seq_k positions (a cache of extra_k past keys in front)
    seq_k = seq_q + extra_k
    i = data.draw(st.integers(0, seq_q - 1), label="i")
    gen = torch.Generator().manual_seed(seed)
    q, k, v = rand(gen, batch, seq_q, d), rand(gen, batch, seq_k, d), rand(gen, batch, seq_k, d)
    mask = causal_mask(seq_q, seq_k)
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    # perturb every query after i and every key/value after i's own position (extra_k + i)
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    q2[:, i + 1 :] += 10 * rand(gen, batch, seq_q - i - 1, d)
    k2[:, extra_k + i + 1 :] += 10 * rand(gen, batch, seq_q - i - 1, d)
    v2[:, extra_k + i + 1 :] += 10 * rand(gen, batch, seq_q - i - 1, d)
    out2, weights2 = scaled_dot_product_attention(q2, k2, v2, mask=mask)
    torch.testing.assert_close(out2[:, : i + 1], out[:, : i + 1], atol=1e-12, rtol=0)
    torch.testing.assert_close(weights2[:, : i + 1], weights[:, : i + 1], atol=1e-12, rtol=0)
    # ... and the perturbation is visible where it should be (the test can fail)
    if i + 1 < seq_q:
        assert not torch.allclose(out2[:, i + 1 :], out[:, i + 1 :])


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    n_pad=st.integers(1, 4),
    seq_q=st.integers(1, 4),
    additive=st.booleans(),
)
def test_padded_keys_do_not_change_real_outputs(seed, lengths, n_pad, seq_q, additive):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    d_k, d_v = 4, 3
    attend = AdditiveAttention(d_k, d_k, 6).double() if additive else scaled_dot_product_attention
    max_len = max(lengths) + n_pad
    q = rand(gen, len(lengths), seq_q, d_k)
    k = 100 * rand(gen, len(lengths), max_len, d_k)  # huge garbage in the padding
    v = 100 * rand(gen, len(lengths), max_len, d_v)
    real_k = [rand(gen, n, d_k) for n in lengths]
    real_v = [rand(gen, n, d_v) for n in lengths]
    for b, n in enumerate(lengths):  # noqa: B007 -- b is used, n documents the loop
        k[b, :n], v[b, :n] = real_k[b], real_v[b]
    key_mask = padding_mask(lengths, max_len)[:, None, :]  # (batch, 1, seq_k)
    out, weights = attend(q, k, v, key_mask)
    assert (weights[~key_mask.expand_as(weights)] == 0).all()
    for b, n in enumerate(lengths):  # noqa: B007 -- b is used, n documents the loop
        alone, _ = attend(q[b], real_k[b], real_v[b])
        torch.testing.assert_close(out[b], alone, atol=1e-10, rtol=0)


def _fully_masked_case(seed: int, batch: int, seq_q: int, seq_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    mask = rand_mask(gen, batch, seq_q, seq_k, p=0.5)
    rows = torch.rand(batch, seq_q, generator=gen) < 0.4
    rows[0, 0] = True  # at least one fully masked row
    mask[rows] = False
    return mask, ~mask.any(-1)


@FAST
@given(
    seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 3), seq_q=st.integers(1, 5), seq_k=st.integers(1, 5)
)
def test_fully_masked_rows_are_zero_and_nan_free_forward_and_backward(seed, batch, seq_q, seq_k):
    mask, dead = _fully_masked_case(seed, batch, seq_q, seq_k)
    gen = torch.Generator().manual_seed(seed + 1)
    torch.manual_seed(seed)
    additive = AdditiveAttention(4, 3, 5).double()
    cases = [
        ("sdpa", scaled_dot_product_attention, (4, 4)),
        ("additive", additive, (4, 3)),
    ]
    for name, attend, (d_q, d_k) in cases:
        q, k, v = (
            rand(gen, batch, seq_q, d_q, grad=True),
            rand(gen, batch, seq_k, d_k, grad=True),
            rand(gen, batch, seq_k, 2, grad=True),
        )
        out, weights = attend(q, k, v, mask)
        assert torch.isfinite(out).all() and torch.isfinite(weights).all(), name
        assert (out[dead] == 0).all() and (weights[dead] == 0).all(), name
        live = ~dead
        torch.testing.assert_close(
            weights.sum(-1)[live], torch.ones_like(weights.sum(-1)[live]), atol=1e-12, rtol=0
        )
        ((out * rand(gen, *out.shape)).sum() + (weights * rand(gen, *weights.shape)).sum()).backward()
        for t in (q, k, v):
            assert t.grad is not None and torch.isfinite(t.grad).all(), name
        # nothing flows back into a query whose keys are all masked
        assert (q.grad[dead] == 0).all(), name
    for p in additive.parameters():
        assert torch.isfinite(p.grad).all()

    scores = rand(gen, batch, seq_q, seq_k, grad=True)
    w = masked_softmax(scores, mask)
    assert torch.isfinite(w).all() and (w[dead] == 0).all()
    (w * rand(gen, *w.shape)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert (scores.grad[dead] == 0).all() and (scores.grad[~mask] == 0).all()


def test_all_keys_masked_everywhere():
    q = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    out, weights = scaled_dot_product_attention(
        q, torch.randn(2, 5, 4, dtype=torch.float64), torch.randn(2, 5, 6, dtype=torch.float64), mask
    )
    assert (out == 0).all() and (weights == 0).all()
    out.sum().backward()
    assert (q.grad == 0).all()


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
def test_fully_masked_rows_have_no_nan_anywhere_in_the_backward_graph():
    # anomaly mode fails if any backward step produces NaN, even one a later masked_fill would hide
    q, k, v = (torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    mask = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])
    with torch.autograd.detect_anomaly():
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        (out.sum() + weights.sum()).backward()
    assert (out[:, 1] == 0).all() and torch.isfinite(q.grad).all()


# --------------------------------------------------------------------------- gradcheck


def test_gradcheck_sdpa_with_mask():
    gen = torch.Generator().manual_seed(7)
    q, k, v = rand(gen, 2, 3, 4, grad=True), rand(gen, 2, 5, 4, grad=True), rand(gen, 2, 5, 3, grad=True)
    mask = rand_mask(gen, 2, 3, 5)
    mask[1, 2] = False  # a fully masked row must have a correct (zero) gradient as well
    mask[0, :, 0] = True
    assert torch.autograd.gradcheck(
        lambda q, k, v: scaled_dot_product_attention(q, k, v, mask, scale=0.7), (q, k, v)
    )


def test_gradcheck_additive_attention():
    torch.manual_seed(8)
    gen = torch.Generator().manual_seed(8)
    attn = AdditiveAttention(3, 4, 5).double()
    q, k, v = rand(gen, 2, 3, 3, grad=True), rand(gen, 2, 4, 4, grad=True), rand(gen, 2, 4, 2, grad=True)
    mask = causal_mask(3, 4)
    assert torch.autograd.gradcheck(lambda q, k, v: attn(q, k, v), (q, k, v))
    assert torch.autograd.gradcheck(lambda q, k, v: attn(q, k, v, mask), (q, k, v))


# --------------------------------------------------------------------------- AdditiveAttention


def test_additive_shapes_weights_and_different_widths():
    torch.manual_seed(9)
    attn = AdditiveAttention(d_q=6, d_k=4, d_hidden=7)
    q, k, v = torch.randn(2, 3, 5, 6), torch.randn(2, 3, 8, 4), torch.randn(2, 3, 8, 2)
    out, weights = attn(q, k, v)
    assert out.shape == (2, 3, 5, 2) and weights.shape == (2, 3, 5, 8)
    assert attn.scores(q, k).shape == (2, 3, 5, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5), atol=1e-6, rtol=0)
    torch.testing.assert_close(out, weights @ v, atol=1e-6, rtol=1e-5)


def test_additive_matches_hand_written_loop():
    torch.manual_seed(10)
    attn = AdditiveAttention(d_q=2, d_k=3, d_hidden=4).double()
    q = torch.randn(3, 2, dtype=torch.float64)
    k = torch.randn(4, 3, dtype=torch.float64)
    v = torch.randn(4, 2, dtype=torch.float64)
    W_q, W_k, w = attn.w_q.weight, attn.w_k.weight, attn.w.weight[0]
    with torch.no_grad():
        scores = torch.empty(3, 4, dtype=torch.float64)
        for i in range(3):
            for j in range(4):
                scores[i, j] = w @ torch.tanh(W_q @ q[i] + W_k @ k[j])
        expected_w = torch.exp(scores) / torch.exp(scores).sum(-1, keepdim=True)
        out, weights = attn(q, k, v)
        torch.testing.assert_close(attn.scores(q, k), scores, atol=1e-12, rtol=0)
        torch.testing.assert_close(weights, expected_w, atol=1e-12, rtol=0)
        torch.testing.assert_close(out, expected_w @ v, atol=1e-12, rtol=0)


@pytest.mark.usefixtures("no_type_checks")  # AdditiveAttention(3, 4, 2.0): the wrong type is the point
def test_additive_bad_inputs():
    attn = AdditiveAttention(3, 4, 5)
    q, k, v = torch.randn(2, 3, 3), torch.randn(2, 6, 4), torch.randn(2, 6, 2)
    with pytest.raises(ValueError, match=re.escape("q has shape (2, 3, 5) but this module expects d_q=3")):
        attn(torch.randn(2, 3, 5), k, v)
    with pytest.raises(ValueError, match=re.escape("k has shape (2, 6, 3) but this module expects d_k=4")):
        attn(q, torch.randn(2, 6, 3), v)
    with pytest.raises(
        ValueError, match=r"q has dtype torch.float64 but the module's weights are torch.float32"
    ):
        attn(q.double(), k.double(), v.double())
    with pytest.raises(ValueError, match=re.escape("k has shape (2, 6, 4) but v has shape (2, 5, 2)")):
        attn(q, k, torch.randn(2, 5, 2))
    with pytest.raises(ValueError, match="mask must be boolean"):
        attn(q, k, v, torch.ones(3, 6))
    for name, args in [("d_q", (0, 4, 5)), ("d_k", (3, -1, 5)), ("d_hidden", (3, 4, 2.0))]:
        with pytest.raises(ValueError, match=f"{name} must be a positive int"):
            AdditiveAttention(*args)


# --------------------------------------------------------------------------- masks


def test_causal_mask_square():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert torch.equal(m, torch.ones(4, 4, dtype=torch.bool).tril())
    assert torch.equal(causal_mask(4, 4), m)


@pytest.mark.parametrize("seq_q,seq_k", [(1, 5), (3, 5), (2, 7), (5, 5)])
def test_causal_mask_is_bottom_right_aligned(seq_q, seq_k):
    m = causal_mask(seq_q, seq_k)
    assert m.shape == (seq_q, seq_k)
    assert torch.equal(m, torch.ones(seq_q, seq_k, dtype=torch.bool).tril(diagonal=seq_k - seq_q))
    assert m[-1].all()  # the newest query sees every key
    assert m.sum(-1).tolist() == list(range(seq_k - seq_q + 1, seq_k + 1))


def test_causal_mask_with_cache_equals_last_rows_of_full_mask():
    gen = torch.Generator().manual_seed(11)
    q, k, v = rand(gen, 2, 6, 4), rand(gen, 2, 6, 4), rand(gen, 2, 6, 3)
    full, _ = scaled_dot_product_attention(q, k, v, causal_mask(6))
    last, _ = scaled_dot_product_attention(q[:, -2:], k, v, causal_mask(2, 6))
    torch.testing.assert_close(last, full[:, -2:], atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "args,name",
    [((0,), "seq_q"), ((-2,), "seq_q"), ((3, 0), "seq_k"), ((2.0,), "seq_q"), ((3, "4"), "seq_k")],
)
def test_causal_mask_bad_sizes(args, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        causal_mask(*args)


def test_padding_mask_values():
    m = padding_mask(torch.tensor([3, 1, 0]), max_len=4)
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert m.dtype == torch.bool and torch.equal(m, expected)
    assert torch.equal(padding_mask([3, 1, 0], 4), expected)  # a list works too


def test_padding_mask_max_len_defaults_to_longest():
    m = padding_mask([2, 5, 1])
    assert m.shape == (3, 5)
    assert m.sum(-1).tolist() == [2, 5, 1]
    assert m[1].all()


@pytest.mark.parametrize(
    "lengths,max_len,pattern",
    [
        ([2, -1], 3, r"lengths must lie in \[0, max_len=3\], got \[2, -1\]"),
        ([2, 4], 3, r"lengths must lie in \[0, max_len=3\], got \[2, 4\]"),
        (
            torch.tensor([1.0, 2.0]),
            None,
            r"lengths must be a 1-D integer tensor .*torch.float32 shape \(2,\)",
        ),
        (torch.tensor([[1, 2]]), None, r"lengths must be a 1-D integer tensor .*shape \(1, 2\)"),
        (torch.tensor([True, False]), None, r"lengths must be a 1-D integer tensor .*torch.bool"),
    ],
)
def test_padding_mask_bad_lengths(lengths, max_len, pattern):
    with pytest.raises(ValueError, match=pattern):
        padding_mask(lengths, max_len)


# --------------------------------------------------------------------------- dropout


def test_dropout_zero_is_deterministic():
    gen = torch.Generator().manual_seed(12)
    q, k, v = rand(gen, 2, 4, 8), rand(gen, 2, 6, 8), rand(gen, 2, 6, 3)
    a = scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    b = scaled_dot_product_attention(q, k, v)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_dropout_changes_weights_and_keeps_shape():
    gen = torch.Generator().manual_seed(13)
    q, k, v = rand(gen, 2, 3, 8, 8), rand(gen, 2, 3, 10, 8), rand(gen, 2, 3, 10, 4)
    ref_out, ref_w = scaled_dot_product_attention(q, k, v)
    torch.manual_seed(13)
    out, w = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert out.shape == ref_out.shape and w.shape == ref_w.shape
    dropped = w == 0
    assert dropped.any() and (~dropped).any()
    # kept weights are rescaled by 1 / (1 - p); the output uses exactly the returned weights
    torch.testing.assert_close(w[~dropped], ref_w[~dropped] / 0.5, atol=1e-12, rtol=0)
    torch.testing.assert_close(out, w @ v, atol=1e-12, rtol=0)
    assert not torch.allclose(out, ref_out)
    # seeded: same seed, same draw
    torch.manual_seed(13)
    assert torch.equal(scaled_dot_product_attention(q, k, v, dropout_p=0.5)[1], w)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_dropout_p(p):
    x = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
        scaled_dot_product_attention(x, x, x, dropout_p=p)


# --------------------------------------------------------------------------- bad input -> ValueError


def _e(s: str) -> str:
    return re.escape(s)


BAD_QKV = [
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8)),
        _e("q, k and v must have the same number of axes, got q (2, 5, 8), k (2, 3, 5, 8), v (2, 3, 5, 8)"),
        id="rank-mismatch",
    ),
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(2, 5, 6), torch.randn(2, 5, 8)),
        _e("q has shape (2, 5, 8) but k has d=6 (shape (2, 5, 6))"),
        id="d_k-mismatch",
    ),
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 6, 8)),
        _e("k has shape (2, 7, 8) but v has shape (2, 6, 8)") + ".*seq_k",
        id="seq_k-mismatch",
    ),
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(3, 5, 8), torch.randn(3, 5, 8)),
        _e("the leading (batch) axes of q (2, 5, 8), k (3, 5, 8) and v (3, 5, 8) do not broadcast"),
        id="batch-not-broadcastable",
    ),
    pytest.param(
        (torch.ones(2, 5, 8, dtype=torch.long), torch.randn(2, 5, 8), torch.randn(2, 5, 8)),
        _e("q must be a floating-point tensor, got dtype torch.int64 with shape (2, 5, 8)"),
        id="int-q",
    ),
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.ones(2, 5, 8, dtype=torch.int32)),
        _e("v must be a floating-point tensor, got dtype torch.int32 with shape (2, 5, 8)"),
        id="int-v",
    ),
    pytest.param(
        (torch.randn(2, 5, 8), torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 5, 8)),
        _e("q, k and v must share a dtype, got q torch.float32, k torch.float64, v torch.float32"),
        id="mixed-dtypes",
    ),
    pytest.param(
        (torch.randn(8), torch.randn(8), torch.randn(8)),
        _e("q must have shape (..., seq, d) with at least 2 axes, got shape (8,)"),
        id="rank-1",
    ),
    pytest.param(
        ([[1.0]], torch.randn(1, 1), torch.randn(1, 1)),
        "q must be a torch.Tensor, got list",
        id="not-a-tensor",
    ),
]


@pytest.mark.parametrize("qkv,pattern", BAD_QKV)
def test_bad_qkv_raises_value_error_naming_argument_and_shapes(qkv, pattern):
    with pytest.raises(ValueError, match=pattern):
        scaled_dot_product_attention(*qkv)


@pytest.mark.parametrize(
    "mask,pattern",
    [
        pytest.param(
            torch.ones(5, 7),
            _e("mask must be boolean (True = may attend), got dtype torch.float32 with shape (5, 7)"),
            id="float",
        ),
        pytest.param(torch.ones(5, 7, dtype=torch.long), "mask must be boolean.*torch.int64", id="int"),
        pytest.param(
            torch.ones(5, 6, dtype=torch.bool),
            _e("mask has shape (5, 6), which does not broadcast to the scores' shape (2, 3, 5, 7)"),
            id="wrong-seq_k",
        ),
        pytest.param(
            torch.ones(4, 3, 5, 7, dtype=torch.bool),
            _e("mask has shape (4, 3, 5, 7), which does not broadcast to the scores' shape (2, 3, 5, 7)"),
            id="wrong-batch",
        ),
        pytest.param(
            torch.ones(1, 2, 3, 5, 7, dtype=torch.bool),
            _e("mask has shape (1, 2, 3, 5, 7), which does not broadcast to the scores' shape (2, 3, 5, 7)"),
            id="too-many-axes",
        ),
        pytest.param([[True]], "mask must be a boolean torch.Tensor, got list", id="not-a-tensor"),
        pytest.param(
            torch.ones(7, dtype=torch.bool), _e("mask has shape (7,), which does not broadcast"), id="1-D"
        ),
        pytest.param(  # the rule of every module: 2-D, or one axis per axis of the scores
            torch.ones(3, 5, 7, dtype=torch.bool),
            "mask has shape \\(3, 5, 7\\).*add the heads axis",
            id="3-D-for-4-D",
        ),
    ],
)
def test_bad_mask_raises_value_error(mask, pattern):
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    with pytest.raises(ValueError, match=pattern):
        scaled_dot_product_attention(q, k, v, mask=mask)
    with pytest.raises(ValueError, match=pattern):
        masked_softmax(torch.randn(2, 3, 5, 7), mask)
