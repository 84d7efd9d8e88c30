"""Tests of tfmcourse.multihead: equality with torch.nn.MultiheadAttention, naive == sdpa, KV cache,
masks, parameter count, bad input."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from torch import nn

from tfmcourse.attention import causal_mask, padding_mask
from tfmcourse.cache import KVCache
from tfmcourse.multihead import MultiHeadAttention, merge_heads, split_heads

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _inputs(batch, seq_q, seq_k, d_model, kdim, vdim, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, seq_q, d_model, generator=g, dtype=dtype)
    k = torch.randn(batch, seq_k, kdim, generator=g, dtype=dtype)
    v = torch.randn(batch, seq_k, vdim, generator=g, dtype=dtype)
    return q, k, v


def _torch_mha(
    d_model, heads, *, bias=True, kdim=None, vdim=None, batch_first=True, dtype=torch.float64, seed=0
):
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(d_model, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first)
    m = m.to(dtype).eval()
    if bias:  # torch initialises the biases to zero: make them matter
        with torch.no_grad():
            m.in_proj_bias.normal_()
            m.out_proj.bias.normal_()
    return m


def _call_torch(m, q, k, v, **kw):
    if not m.batch_first:
        q, k, v = (x.transpose(0, 1) for x in (q, k, v))
    out, w = m(q, k, v, **kw)
    if not m.batch_first:
        out = out.transpose(0, 1)
    return out, w


# ----------------------------------------------------------------------------- equality with torch
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "kind,kdim,vdim",
    [("self", None, None), ("cross", None, None), ("cross-separate", 6, 10)],
)
def test_equals_torch(dtype, batch_first, bias, kind, kdim, vdim):
    d_model, heads = 12, 3
    m = _torch_mha(d_model, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first, dtype=dtype)
    ours = MultiHeadAttention.from_torch(m)
    assert ours.q_proj.weight.dtype == dtype
    q, k, v = _inputs(2, 5, 7, d_model, kdim or d_model, vdim or d_model, dtype)
    if kind == "self":
        k = v = q
    want, want_w = _call_torch(m, q, k, v, need_weights=True, average_attn_weights=False)
    got, got_w = ours(q, k, v, need_weights=True)
    tol = TOL[dtype]
    torch.testing.assert_close(got, want, atol=tol, rtol=tol)
    torch.testing.assert_close(got_w, want_w, atol=tol, rtol=tol)
    assert got_w.shape == (2, heads, q.shape[1], k.shape[1])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch_first", [True, False])
def test_equals_torch_with_masks_and_averaged_weights(dtype, batch_first):
    d_model, heads, batch, seq = 16, 4, 3, 6
    m = _torch_mha(d_model, heads, batch_first=batch_first, dtype=dtype, seed=1)
    ours = MultiHeadAttention.from_torch(m)
    x, _, _ = _inputs(batch, seq, seq, d_model, d_model, d_model, dtype, seed=1)
    lengths = torch.tensor([6, 4, 2])
    # torch: True = NOT allowed. Ours: True = may attend.
    torch_kpm = ~padding_mask(lengths, seq)  # (batch, seq_k)
    torch_attn = ~causal_mask(seq)  # (seq_q, seq_k)
    our_mask = rearrange(~torch_kpm, "b k -> b 1 1 k") & ~torch_attn
    want, want_w = _call_torch(
        m, x, x, x, key_padding_mask=torch_kpm, attn_mask=torch_attn, need_weights=True
    )
    got, got_w = ours(x, x, x, mask=our_mask, need_weights=True)
    tol = TOL[dtype]
    torch.testing.assert_close(got, want, atol=tol, rtol=tol)
    torch.testing.assert_close(got_w.mean(1), want_w, atol=tol, rtol=tol)  # average_attn_weights=True
    # without need_weights torch takes another (fused) path: still equal
    want2, _ = _call_torch(m, x, x, x, key_padding_mask=torch_kpm, attn_mask=torch_attn, need_weights=False)
    torch.testing.assert_close(ours(x, x, x, mask=our_mask)[0], want2, atol=tol, rtol=tol)


def test_equals_torch_in_training_mode_with_gradients():
    m = _torch_mha(8, 2, kdim=5, vdim=3).train()
    ours = MultiHeadAttention.from_torch(m)
    assert ours.training
    q, k, v = _inputs(2, 4, 6, 8, 5, 3, torch.float64)
    m(q, k, v)[0].square().sum().backward()
    ours(q, k, v)[0].square().sum().backward()
    torch.testing.assert_close(ours.q_proj.weight.grad, m.q_proj_weight.grad, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(ours.out_proj.bias.grad, m.out_proj.bias.grad, atol=1e-10, rtol=1e-10)


def test_from_torch_rejects_unsupported():
    with pytest.raises(ValueError, match="add_bias_kv"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2, add_bias_kv=True))
    with pytest.raises(ValueError, match="MultiheadAttention"):
        MultiHeadAttention.from_torch(nn.Linear(8, 8))


# ------------------------------------------------------------------------------------ naive == sdpa
@pytest.mark.parametrize("use_mask", [False, True])
def test_naive_equals_sdpa(use_mask):
    torch.manual_seed(0)
    naive = MultiHeadAttention(16, 4, kdim=6, vdim=10).double()
    sdpa = MultiHeadAttention(16, 4, kdim=6, vdim=10, impl="sdpa").double()
    sdpa.load_state_dict(naive.state_dict())
    q, k, v = _inputs(3, 5, 7, 16, 6, 10, torch.float64)
    mask = None
    if use_mask:
        mask = rearrange(padding_mask([7, 3, 0], 7), "b k -> b 1 1 k")  # batch 2 has no keys at all
    a, _ = naive(q, k, v, mask=mask)
    b, w = sdpa(q, k, v, mask=mask)
    assert w is None
    torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    # need_weights with sdpa falls back to the naive path and returns the weights
    c, w = sdpa(q, k, v, mask=mask, need_weights=True)
    torch.testing.assert_close(c, a, atol=1e-10, rtol=1e-10)
    assert w.shape == (3, 4, 5, 7)


@pytest.mark.parametrize("impl", ["naive", "sdpa"])
def test_fully_masked_rows_give_zeros_not_nan(impl):
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, bias=False, impl=impl).double()
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    mask = rearrange(padding_mask([4, 0], 4), "b k -> b 1 1 k")
    out, _ = mha(x, x, x, mask=mask)
    assert not out.isnan().any()
    assert torch.all(out[1] == 0)  # no bias: zero context -> zero output
    out.sum().backward()
    assert not x.grad.isnan().any()


# ---------------------------------------------------------------------------------------- KV cache
@pytest.mark.parametrize("impl", ["naive", "sdpa"])
def test_cache_one_position_at_a_time_equals_causal(impl):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, impl=impl).double().eval()
    x = torch.randn(2, 7, 16, dtype=torch.float64)
    full, _ = mha(x, x, x, mask=causal_mask(7))
    cache = KVCache(1)
    steps = [mha(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], cache=cache)[0] for t in range(7)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-10, rtol=1e-10)
    assert cache[0]["k"].shape == cache[0]["v"].shape == (2, 4, 7, 4) and cache.length == 7


def test_cache_in_chunks_with_mask_and_weights():
    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3).double().eval()
    x = torch.randn(2, 6, 12, dtype=torch.float64)
    full, full_w = mha(x, x, x, mask=causal_mask(6), need_weights=True)
    cache = KVCache(1)
    a, _ = mha(x[:, :4], x[:, :4], x[:, :4], mask=causal_mask(4), cache=cache)
    # 2 new queries over 6 cached keys: the causal mask aligned bottom-right
    b, w = mha(x[:, 4:], x[:, 4:], x[:, 4:], mask=causal_mask(2, 6), cache=cache, need_weights=True)
    torch.testing.assert_close(torch.cat([a, b], dim=1), full, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(w, full_w[:, :, 4:], atol=1e-10, rtol=1e-10)
    with pytest.raises(ValueError, match=r"mask has shape \(1, 6\).*\(2, 3, 1, 7\)"):  # must cover all 7 keys
        mha(x[:, :1], x[:, :1], x[:, :1], mask=causal_mask(1, 6), cache=cache)
    assert cache.length == 6  # a failed call leaves the cache alone


def test_bad_cache():
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match="cache must be None or a KVCache"):
        mha(x, x, x, cache=[])
    cache = KVCache(1)
    cache.update(0, torch.zeros(2, 2, 3, 4), torch.zeros(2, 2, 3, 4))
    with pytest.raises(ValueError, match="the cache holds a batch of 2 but the input has a batch of 1"):
        mha(x, x, x, cache=cache)
    with pytest.raises(ValueError, match="layer=1 but the cache has 1 layers"):
        mha(x[:2].expand(2, 3, 8), x[:2].expand(2, 3, 8), x[:2].expand(2, 3, 8), cache=cache, layer=1)


# ---------------------------------------------------------------------------------- other properties
def test_parameter_count_equals_single_head():
    for heads in (1, 2, 4, 8):
        mha = MultiHeadAttention(32, heads)
        assert sum(p.numel() for p in mha.parameters()) == 4 * 32 * 32 + 4 * 32
    one = MultiHeadAttention(32, 1)
    assert sum(p.numel() for p in MultiHeadAttention(32, 8).parameters()) == sum(
        p.numel() for p in one.parameters()
    )
    assert sum(p.numel() for p in MultiHeadAttention(32, 4, bias=False).parameters()) == 4 * 32 * 32


def test_causal_mask_keeps_the_future_out():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).double()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    y = x.clone()
    y[:, 4:] = torch.randn(1, 2, 8, dtype=torch.float64)
    a, _ = mha(x, x, x, mask=causal_mask(6))
    b, _ = mha(y, y, y, mask=causal_mask(6))
    torch.testing.assert_close(a[:, :4], b[:, :4], atol=1e-12, rtol=0)
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_padding_keys_do_not_change_real_outputs():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 4).double()
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    mask = rearrange(padding_mask([3], 5), "b k -> b 1 1 k")
    y = x.clone()
    y[:, 3:] = 100.0
    torch.testing.assert_close(
        mha(x, x, x, mask=mask)[0][:, :3], mha(y, y, y, mask=mask)[0][:, :3], atol=1e-12, rtol=0
    )


def test_dropout_only_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 5, 16)
    mha.eval()
    a, wa = mha(x, x, x, need_weights=True)
    b, _ = mha(x, x, x)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa.sum(-1), torch.ones(2, 4, 5))
    mha.train()
    c, wc = mha(x, x, x, need_weights=True)
    assert not torch.allclose(a, c)
    assert (wc == 0).any()


@pytest.mark.parametrize("impl", ["naive", "sdpa"])
def test_runs_under_autocast(impl):
    """Under mixed precision the inputs may be bfloat16 while the weights stay float32."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, impl=impl)
    x = torch.randn(2, 5, 16)
    want, _ = mha(x, x, x, mask=causal_mask(5))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        xb = x.bfloat16()
        got, _ = mha(xb, xb, xb, mask=causal_mask(5))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, atol=0.1, rtol=0.1)


def test_split_merge_heads():
    x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)
    h = split_heads(x, 4)
    assert h.shape == (2, 4, 3, 2)
    torch.testing.assert_close(h[:, 1], x[..., 2:4])  # head 1 holds features 2 and 3
    torch.testing.assert_close(merge_heads(h), x)
    with pytest.raises(ValueError, match="num_heads"):
        split_heads(x, 3)
    with pytest.raises(ValueError, match="heads"):
        merge_heads(x)


def test_heads_are_independent_attentions():
    """Each head is an ordinary single-head attention on its slice of the projected features."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3, bias=False).double()
    x = torch.randn(2, 5, 12, dtype=torch.float64)
    out, w = mha(x, x, x, need_weights=True)
    q, k, v = mha.q_proj(x), mha.k_proj(x), mha.v_proj(x)
    heads = []
    for i in range(3):
        s = slice(4 * i, 4 * i + 4)
        wi = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / 2.0, dim=-1)
        torch.testing.assert_close(wi, w[:, i])
        heads.append(wi @ v[..., s])
    torch.testing.assert_close(mha.out_proj(torch.cat(heads, dim=-1)), out)


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(d_model=10, num_heads=3), "divisible"),
        (dict(d_model=0, num_heads=1), "d_model"),
        (dict(d_model=8, num_heads=2, impl="flash"), "impl"),
        (dict(d_model=8, num_heads=2, dropout=1.0), "dropout"),
        (dict(d_model=8, num_heads=2, kdim=-1), "kdim"),
    ],
)
def test_bad_constructor(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(**kwargs)


def test_bad_inputs():
    mha = MultiHeadAttention(8, 2, kdim=6)
    q, k, v = torch.randn(2, 3, 8), torch.randn(2, 4, 6), torch.randn(2, 4, 8)
    cases = [
        (
            (torch.randn(2, 3, 7), k, v),
            {},
            r"query must have shape \(batch, seq_q, d_model=8\), got shape \(2, 3, 7\)",
        ),
        (
            (q, torch.randn(2, 4, 8), v),
            {},
            r"key must have shape \(batch=2, seq_k, kdim=6\), got shape \(2, 4, 8\)",
        ),
        (
            (q, k, torch.randn(2, 4, 6)),
            {},
            r"value must have shape \(batch=2, seq_k=4, vdim=8\), got shape \(2, 4, 6\)",
        ),
        (
            (q, k[:1], v[:1]),
            {},
            r"key has shape \(1, 4, 6\) but query has shape \(2, 3, 8\): their batch sizes",
        ),
        (
            (q, k, v[:, :3]),
            {},
            r"value has shape \(2, 3, 8\) but key has shape \(2, 4, 6\): their seq_k sizes",
        ),
        ((q[0], k, v), {}, r"query must have shape \(batch, seq_q, d_model=8\), got shape \(3, 8\)"),
        ((q.double(), k, v), {}, r"dtype"),
        ((q, k, v), {"mask": torch.ones(3, 4)}, r"mask must be boolean.*float32"),
        ((q, k, v), {"mask": torch.ones(3, 5, dtype=torch.bool)}, r"mask has shape \(3, 5\).*\(2, 2, 3, 4\)"),
        (
            (q, k, v),
            {"mask": torch.ones(2, 3, 4, dtype=torch.bool)},
            r"mask has shape \(2, 3, 4\).*add the heads axis: mask\[:, None\]",
        ),
        ((q, k, v), {"mask": [[True]]}, r"mask must be a boolean torch.Tensor"),
    ]
    for args, kw, match in cases:
        with pytest.raises(ValueError, match=match):
            mha(*args, **kw)


# ------------------------------------------------------- the ablation's task (tfmcourse.data.relations)
def test_two_position_lookup_is_deterministic_and_correct():
    from tfmcourse.data.relations import query_index, two_position_lookup, vocab_size

    a = two_position_lookup(500, seq_len=6, num_values=7, seed=3)
    b = two_position_lookup(500, seq_len=6, num_values=7, seed=3)
    c = two_position_lookup(500, seq_len=6, num_values=7, seed=4)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.tokens, c.tokens)
    assert a.tokens.shape == (500, 7) and a.targets.shape == (500, 2) and a.positions.shape == (500, 2)
    assert a.tokens.max() < vocab_size(6, 7) and a.tokens[:, :6].max() < 7 and a.tokens[:, 6].min() >= 7
    i, j = a.positions.unbind(1)
    assert (i != j).all()
    for row in range(500):  # labels: the values at the named positions, in order; the query names them
        assert a.targets[row].tolist() == [a.tokens[row, i[row]].item(), a.tokens[row, j[row]].item()]
        assert a.tokens[row, 6].item() == 7 + query_index(int(i[row]), int(j[row]), 6).item()
    # every ordered pair gets its own query id, 0 .. seq_len * (seq_len - 1) - 1
    ii, jj = zip(*[(p, q) for p in range(6) for q in range(6) if p != q])
    assert sorted(query_index(torch.tensor(ii), torch.tensor(jj), 6).tolist()) == list(range(30))
    # a generator continues where it stopped: two draws differ
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(
        two_position_lookup(50, generator=g).tokens, two_position_lookup(50, generator=g).tokens
    )


def test_two_position_lookup_bad_input():
    from tfmcourse.data.relations import query_index, two_position_lookup

    with pytest.raises(ValueError, match="seq_len"):
        two_position_lookup(10, seq_len=1)
    with pytest.raises(ValueError, match="num_values"):
        two_position_lookup(10, num_values=1)
    with pytest.raises(ValueError, match="num_samples"):
        two_position_lookup(0)
    with pytest.raises(ValueError, match="seed or generator"):
        two_position_lookup(10, seed=1, generator=torch.Generator())
    with pytest.raises(ValueError, match="different"):
        query_index(2, 2, 5)
