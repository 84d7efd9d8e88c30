"""A purely causal self-attention with no padding reaches torch's fused kernel as ``is_causal=True`` with no
mask (the only way torch may pick its FlashAttention kernel), and gives what the masked path gives."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.attention import causal_mask, fused_attention
from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.multihead import MultiHeadAttention


@pytest.fixture
def sdpa_calls(monkeypatch):
    """Every call of torch's fused attention, as ``(attn_mask, is_causal)``; the real kernel still runs."""
    calls = []
    real = F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        calls.append((attn_mask, is_causal))
        return real(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, **kw)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    return calls


def test_multihead_causal_self_attention_calls_sdpa_with_is_causal_and_no_mask(sdpa_calls):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, impl="sdpa").double().eval()
    naive = MultiHeadAttention(16, 4, impl="naive").double().eval()
    naive.load_state_dict(mha.state_dict())
    x = torch.randn(2, 7, 16, dtype=torch.float64)
    fused, _ = mha(x, x, x, is_causal=True)
    assert sdpa_calls == [(None, True)]
    torch.testing.assert_close(fused, naive(x, x, x, mask=causal_mask(7))[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(naive(x, x, x, is_causal=True)[0], fused, atol=1e-12, rtol=0)


def test_multihead_causal_with_padding_passes_one_mask(sdpa_calls):
    torch.manual_seed(1)
    mha = MultiHeadAttention(16, 4, impl="sdpa").double().eval()
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    padding = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])[:, None, None, :]
    out, _ = mha(x, x, x, mask=padding, is_causal=True)
    ((attn_mask, is_causal),) = sdpa_calls
    assert not is_causal and attn_mask is not None
    want, _ = mha(x, x, x, mask=padding & causal_mask(5), need_weights=True)  # need_weights: the naive path
    torch.testing.assert_close(out, want, atol=1e-12, rtol=0)


def test_fused_attention_is_causal_is_aligned_bottom_right_when_queries_are_fewer():
    """torch's own is_causal aligns top-left; with fewer queries than keys (a cache) we pass our mask."""
    gen = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 2, n, 8, generator=gen, dtype=torch.float64) for n in (3, 6, 6))
    got = fused_attention(q, k, v, is_causal=True)
    want = fused_attention(q, k, v, mask=causal_mask(3, 6))
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def _pair(seed: int = 0) -> tuple[GPT, GPT]:
    torch.manual_seed(seed)
    config = dict(vocab_size=50, max_len=16, d_model=32, num_layers=2, num_heads=4)
    fused = GPT(GPTConfig(**config, impl="sdpa")).double().eval()
    naive = GPT(GPTConfig(**config, impl="naive")).double().eval()
    naive.load_state_dict(fused.state_dict())
    return fused, naive


def test_gpt_forward_calls_sdpa_with_is_causal_and_no_mask(sdpa_calls):
    fused, naive = _pair()
    ids = torch.randint(0, 50, (3, 9), generator=torch.Generator().manual_seed(3))
    logits = fused(ids)
    assert sdpa_calls == [(None, True)] * 2  # one call per block
    torch.testing.assert_close(logits, naive(ids), atol=1e-10, rtol=0)


def test_gpt_with_a_cache_uses_the_kernel_it_can(sdpa_calls):
    """The prompt: is_causal; one new token: no mask at all; a chunk after a cache: our bottom-right mask."""
    fused, naive = _pair(1)
    ids = torch.randint(0, 50, (2, 8), generator=torch.Generator().manual_seed(4))
    cache = fused.new_cache()
    parts = [fused(ids[:, :4], cache=cache)]
    assert sdpa_calls == [(None, True)] * 2
    sdpa_calls.clear()
    parts.append(fused(ids[:, 4:5], cache=cache))
    assert sdpa_calls == [(None, False)] * 2
    sdpa_calls.clear()
    parts.append(fused(ids[:, 5:], cache=cache))
    assert all(mask is not None and not causal for mask, causal in sdpa_calls) and len(sdpa_calls) == 2
    torch.testing.assert_close(torch.cat(parts, dim=1), naive(ids), atol=1e-10, rtol=0)
