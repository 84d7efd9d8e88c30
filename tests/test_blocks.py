"""tfmcourse.blocks: feed-forward network, encoder and decoder layers.

Oracle tests against torch.nn.TransformerEncoderLayer / TransformerDecoderLayer after weight copy
(post-norm and pre-norm, with attention and key-padding masks, float64 to 1e-10 and float32 to 1e-5),
mask properties, the KV cache, and bad input.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tfmcourse.attention import causal_mask
from tfmcourse.blocks import DecoderLayer, EncoderLayer, FeedForward
from tfmcourse.cache import KVCache
from tfmcourse.config import TransformerConfig
from tfmcourse.transformer import mask_from_torch

D, H, FF = 16, 4, 24
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
NORMS = pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _torch_masks(batch: int, seq_q: int, seq_k: int, seed: int = 0):
    """torch-sense masks (True = NOT allowed): a causal-like attn_mask and a key padding mask."""
    g = _gen(seed)
    attn = torch.triu(torch.ones(seq_q, seq_k, dtype=torch.bool), diagonal=1 + seq_k - seq_q)
    lengths = torch.randint(seq_k // 2 + 1, seq_k + 1, (batch,), generator=g)
    lengths[0] = seq_k
    kpm = torch.arange(seq_k)[None, :] >= lengths[:, None]
    return attn, kpm


# ------------------------------------------------------------------------------------- FeedForward
@pytest.mark.parametrize(
    "activation,fn",
    [
        ("relu", F.relu),
        ("gelu", F.gelu),
        ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ],
)
def test_feed_forward_computes_linear_act_linear(activation, fn):
    torch.manual_seed(0)
    ff = FeedForward(D, FF, activation=activation, dropout=0.0).double()
    x = torch.randn(2, 5, D, dtype=torch.float64)
    want = ff.linear2(fn(ff.linear1(x)))
    assert ff(x).shape == (2, 5, D)
    torch.testing.assert_close(ff(x), want, atol=1e-12, rtol=0)


def test_feed_forward_acts_on_each_position_independently():
    torch.manual_seed(0)
    ff = FeedForward(D, FF, dropout=0.0)
    x = torch.randn(1, 6, D)
    y = ff(x)
    x2 = x.clone()
    x2[0, 3] += 1.0
    y2 = ff(x2)
    changed = (y2 - y).abs().amax(-1)[0] > 0
    assert changed.tolist() == [False, False, False, True, False, False]


def test_feed_forward_dropout_only_in_training():
    torch.manual_seed(0)
    ff = FeedForward(D, FF, dropout=0.5)
    x = torch.randn(2, 5, D)
    ff.eval()
    assert torch.equal(ff(x), ff(x))
    ff.train()
    assert not torch.equal(ff(x), ff(x))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(activation="tanh"), "activation"),
        (dict(dropout=1.0), "dropout"),
        (dict(d_ff=0), "d_ff"),
    ],
)
def test_feed_forward_bad_arguments(kwargs, match):
    args = dict(d_model=D, d_ff=FF) | kwargs
    with pytest.raises(ValueError, match=match):
        FeedForward(**args)


def test_feed_forward_bad_width():
    with pytest.raises(ValueError, match=r"d_model=16.*\(2, 5, 8\)"):
        FeedForward(D, FF)(torch.randn(2, 5, 8))


# ---------------------------------------------------------------------------- torch reference: layers
@DTYPES
@NORMS
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_equals_torch(dtype, norm_first, activation):
    torch.manual_seed(1)
    ref = nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.1, activation=activation, batch_first=True, norm_first=norm_first, dtype=dtype
    ).eval()
    ours = EncoderLayer.from_torch(ref).eval()
    x = torch.randn(3, 7, D, dtype=dtype)
    attn, kpm = _torch_masks(3, 7, 7)
    want = ref(x, src_mask=attn, src_key_padding_mask=kpm)
    got = ours(x, mask=mask_from_torch(attn, kpm))
    assert (got - want).abs().max().item() < TOL[dtype]
    # no mask at all
    assert (ours(x) - ref(x)).abs().max().item() < TOL[dtype]


@DTYPES
@NORMS
def test_decoder_layer_equals_torch(dtype, norm_first):
    torch.manual_seed(2)
    ref = nn.TransformerDecoderLayer(
        D, H, FF, dropout=0.1, batch_first=True, norm_first=norm_first, dtype=dtype
    ).eval()
    ours = DecoderLayer.from_torch(ref).eval()
    x, memory = torch.randn(3, 6, D, dtype=dtype), torch.randn(3, 9, D, dtype=dtype)
    tgt_attn, tgt_kpm = _torch_masks(3, 6, 6, seed=1)
    mem_attn, mem_kpm = _torch_masks(3, 6, 9, seed=2)
    want = ref(
        x,
        memory,
        tgt_mask=tgt_attn,
        memory_mask=mem_attn,
        tgt_key_padding_mask=tgt_kpm,
        memory_key_padding_mask=mem_kpm,
    )
    got = ours(
        x, memory, tgt_mask=mask_from_torch(tgt_attn, tgt_kpm), memory_mask=mask_from_torch(mem_attn, mem_kpm)
    )
    assert (got - want).abs().max().item() < TOL[dtype]


def test_from_torch_copies_mode_and_config():
    ref = nn.TransformerDecoderLayer(
        D, H, FF, dropout=0.2, activation="gelu", layer_norm_eps=1e-6, batch_first=True, norm_first=True
    )
    ours = DecoderLayer.from_torch(ref, impl="sdpa")
    assert ours.training and ours.norm_first and ours.ff.activation == "gelu"
    assert ours.norm3.eps == 1e-6 and ours.dropout2.p == 0.2 and ours.cross_attn.impl == "sdpa"
    # a copy, not a view: changing ours leaves torch's alone
    with torch.no_grad():
        ours.ff.linear1.weight.zero_()
    assert ref.linear1.weight.abs().sum() > 0


def test_from_torch_rejects_other_modules():
    with pytest.raises(ValueError, match="TransformerEncoderLayer"):
        EncoderLayer.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="TransformerDecoderLayer"):
        DecoderLayer.from_torch(nn.TransformerEncoderLayer(D, H, FF))


def test_sdpa_impl_gives_the_same_layer():
    torch.manual_seed(3)
    ref = nn.TransformerDecoderLayer(D, H, FF, batch_first=True, dtype=torch.float64).eval()
    naive, sdpa = DecoderLayer.from_torch(ref), DecoderLayer.from_torch(ref, impl="sdpa")
    x, memory = torch.randn(2, 5, D, dtype=torch.float64), torch.randn(2, 4, D, dtype=torch.float64)
    mask = causal_mask(5)
    assert (naive(x, memory, mask) - sdpa(x, memory, mask)).abs().max() < 1e-10


# --------------------------------------------------------------------------------- mask properties
@NORMS
def test_causal_decoder_layer_ignores_the_future(norm_first):
    torch.manual_seed(4)
    layer = DecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first).double().eval()
    x, memory = torch.randn(2, 6, D, dtype=torch.float64), torch.randn(2, 5, D, dtype=torch.float64)
    y = layer(x, memory, tgt_mask=causal_mask(6))
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 2, D, dtype=torch.float64)
    y2 = layer(x2, memory, tgt_mask=causal_mask(6))
    assert (y2[:, :4] - y[:, :4]).abs().max() < 1e-12
    assert (y2[:, 4:] - y[:, 4:]).abs().max() > 1e-3


@NORMS
def test_padding_in_the_memory_changes_nothing(norm_first):
    torch.manual_seed(5)
    layer = DecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first).double().eval()
    x, memory = torch.randn(1, 4, D, dtype=torch.float64), torch.randn(1, 5, D, dtype=torch.float64)
    padded = torch.cat([memory, torch.randn(1, 3, D, dtype=torch.float64)], dim=1)
    keep = torch.tensor([[True] * 5 + [False] * 3])[:, None, None, :]
    assert (layer(x, padded, memory_mask=keep) - layer(x, memory)).abs().max() < 1e-12


def test_fully_masked_rows_give_no_nan():
    torch.manual_seed(6)
    layer = EncoderLayer(D, H, FF, dropout=0.0).eval()
    mask = torch.zeros(2, 1, 1, 5, dtype=torch.bool)
    assert not torch.isnan(layer(torch.randn(2, 5, D), mask)).any()


@NORMS
def test_decoder_layer_cache_equals_full_pass(norm_first):
    torch.manual_seed(7)
    layer = DecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first).double().eval()
    x, memory = torch.randn(2, 6, D, dtype=torch.float64), torch.randn(2, 5, D, dtype=torch.float64)
    full = layer(x, memory, tgt_mask=causal_mask(6))
    cache = KVCache(1)
    # one position, then a chunk of three (with a bottom-right causal mask), then two single positions
    parts = [
        layer(x[:, :1], memory, cache=cache),
        layer(x[:, 1:4], memory, tgt_mask=causal_mask(3, 4), cache=cache),
        layer(x[:, 4:5], memory, cache=cache),
        layer(x[:, 5:], memory, cache=cache),
    ]
    assert cache[0]["k"].shape == (2, H, 6, D // H)
    assert (torch.cat(parts, dim=1) - full).abs().max() < 1e-10


# ------------------------------------------------------------------------------------------ training
def test_dropout_is_active_in_training_and_gradients_flow():
    torch.manual_seed(8)
    layer = DecoderLayer(D, H, FF, dropout=0.3)
    x, memory = torch.randn(2, 4, D), torch.randn(2, 3, D, requires_grad=True)
    a, b = layer(x, memory), layer(x, memory)
    assert not torch.equal(a, b)
    a.sum().backward()
    assert memory.grad is not None and memory.grad.abs().sum() > 0
    assert all(p.grad is not None for p in layer.parameters())


# ------------------------------------------------------------------------------------------ bad input
def test_decoder_layer_batch_mismatch():
    layer = DecoderLayer(D, H, FF)
    with pytest.raises(ValueError, match=r"memory has shape \(3, 5, 16\) but x has shape \(2, 4, 16\)"):
        layer(torch.randn(2, 4, D), torch.randn(3, 5, D))


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 1, 4, 5), (3, 1, 1, 4), (4, 4, 4), (1, 1, 1, 1, 4)])
def test_encoder_layer_mask_of_the_wrong_shape(mask_shape):
    layer = EncoderLayer(D, H, FF)
    with pytest.raises(ValueError, match=r"mask has shape"):
        layer(torch.randn(2, 4, D), mask=torch.ones(mask_shape, dtype=torch.bool))


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("tgt_mask", dict(tgt_mask=torch.ones(4, 5, dtype=torch.bool))),
        ("memory_mask", dict(memory_mask=torch.ones(2, 1, 1, 4, dtype=torch.bool))),
        ("memory_mask", dict(memory_mask=torch.ones(1, 1, 1, 5))),  # float, not boolean
    ],
)
def test_decoder_layer_masks_name_themselves(name, kwargs):
    layer = DecoderLayer(D, H, FF)
    with pytest.raises(ValueError, match=name):
        layer(torch.randn(2, 4, D), torch.randn(2, 5, D), **kwargs)


def test_x_of_the_wrong_width_or_rank():
    layer = EncoderLayer(D, H, FF)
    with pytest.raises(
        ValueError, match=r"x must have shape \(batch, seq, d_model=16\), got shape \(4, 16\)"
    ):
        layer(torch.randn(4, D))
    with pytest.raises(ValueError, match="memory"):
        DecoderLayer(D, H, FF)(torch.randn(2, 4, D), torch.randn(2, 4, 8))


# ------------------------------------------------------------------------------------------ the config
def test_a_config_or_its_fields_or_the_old_argument_list_build_the_same_layer():
    config = TransformerConfig(d_model=D, num_heads=H, d_ff=FF, dropout=0.0, norm_first=True)
    layers = [
        EncoderLayer(config),
        EncoderLayer(d_model=D, num_heads=H, d_ff=FF, dropout=0.0, norm_first=True),
        EncoderLayer(D, H, FF, 0.0, "relu", True),
        EncoderLayer(TransformerConfig(D, H, FF, 0.0), norm_first=True),
    ]
    for layer in layers:
        assert layer.config == config and layer.norm_first
        assert [tuple(p.shape) for p in layer.parameters()] == [
            tuple(p.shape) for p in layers[0].parameters()
        ]
    assert DecoderLayer(config).config == config
    with pytest.raises(TypeError, match="unknown arguments"):
        EncoderLayer(config, heads=4)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        EncoderLayer(config, num_heads=5)
