"""tfmcourse.transformer: Encoder, Decoder, Transformer.

- equality with torch.nn.TransformerEncoder / TransformerDecoder / Transformer after weight copy, in eval
  mode, post-norm and pre-norm, with attention masks and key padding masks: float64 to 1e-10, float32
  to 1e-5;
- incremental decoding with the KV cache equals decoding the whole target at once;
- mask helpers and mask properties (causality, padding) of the whole model;
- bad input: batch mismatch, masks of the wrong shape, token ids outside the vocabulary, caches.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from tfmcourse.attention import causal_mask
from tfmcourse.cache import KVCache
from tfmcourse.transformer import (
    Decoder,
    Encoder,
    Transformer,
    cache_length,
    make_src_mask,
    make_tgt_mask,
    mask_from_torch,
)

D, H, FF, SRC_V, TGT_V, PAD = 16, 4, 24, 11, 13, 0
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
NORMS = pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])

pytestmark = [
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
    pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning"),
]


def _torch_transformer(dtype=torch.float64, norm_first=False, batch_first=True, seed=0) -> nn.Transformer:
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.Transformer(
            D, H, 2, 3, FF, dropout=0.1, batch_first=batch_first, norm_first=norm_first, dtype=dtype
        ).eval()


def _batch(seed: int = 0, batch: int = 3, seq_s: int = 7, seq_t: int = 6):
    """Source and target ids with padding (PAD) at the end of some rows."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(1, SRC_V, (batch, seq_s), generator=g)
    tgt = torch.randint(1, TGT_V, (batch, seq_t), generator=g)
    src[1, seq_s - 2 :] = PAD
    tgt[2, seq_t - 3 :] = PAD
    return src, tgt


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


# ------------------------------------------------------------------------------- torch reference
@DTYPES
@NORMS
def test_encoder_stack_equals_torch(dtype, norm_first):
    ref = _torch_transformer(dtype, norm_first).encoder
    ours = Encoder.from_torch(ref).eval()
    assert isinstance(ours.norm, nn.LayerNorm)  # nn.Transformer has a final norm in both orders
    x = torch.randn(3, 7, D, dtype=dtype)
    kpm = torch.zeros(3, 7, dtype=torch.bool)
    kpm[1, 5:] = True
    attn = torch.rand(7, 7, generator=torch.Generator().manual_seed(1)) < 0.3
    attn.fill_diagonal_(False)
    want = ref(x, mask=attn, src_key_padding_mask=kpm)
    assert _err(ours(x, mask_from_torch(attn, kpm)), want) < TOL[dtype]


@DTYPES
@NORMS
def test_decoder_stack_equals_torch(dtype, norm_first):
    ref = _torch_transformer(dtype, norm_first).decoder
    ours = Decoder.from_torch(ref).eval()
    x, memory = torch.randn(3, 6, D, dtype=dtype), torch.randn(3, 7, D, dtype=dtype)
    tgt_attn = nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.bool)
    mem_attn = torch.zeros(6, 7, dtype=torch.bool)
    mem_attn[:3, 6] = True  # some queries may not see the last source position
    tgt_kpm, mem_kpm = torch.zeros(3, 6, dtype=torch.bool), torch.zeros(3, 7, dtype=torch.bool)
    tgt_kpm[2, 4:], mem_kpm[0, 5:] = True, True
    want = ref(
        x,
        memory,
        tgt_mask=tgt_attn,
        memory_mask=mem_attn,
        tgt_key_padding_mask=tgt_kpm,
        memory_key_padding_mask=mem_kpm,
    )
    got = ours(x, memory, mask_from_torch(tgt_attn, tgt_kpm), mask_from_torch(mem_attn, mem_kpm))
    assert _err(got, want) < TOL[dtype]


def test_stack_without_final_norm():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, H, FF, batch_first=True, dtype=torch.float64)
    ref = nn.TransformerEncoder(layer, 2, norm=None, enable_nested_tensor=False).eval()
    ours = Encoder.from_torch(ref).eval()
    assert isinstance(ours.norm, nn.Identity)
    x = torch.randn(2, 5, D, dtype=torch.float64)
    assert _err(ours(x), ref(x)) < 1e-10


@DTYPES
@NORMS
def test_transformer_core_equals_torch(dtype, norm_first):
    """Our whole model on token ids == our embeddings + torch.nn.Transformer + our output projection,
    with source, target and memory padding and a causal target mask."""
    ref = _torch_transformer(dtype, norm_first)
    ours = Transformer.from_torch(ref, SRC_V, TGT_V, pad_id=PAD).eval()
    assert ours.src_embed.weight.dtype == dtype
    src, tgt = _batch()
    xs, xt = ours.embed_src(src), ours.embed_tgt(tgt)
    want = ours.output_proj(
        ref(
            xs,
            xt,
            tgt_mask=nn.Transformer.generate_square_subsequent_mask(tgt.shape[1], dtype=torch.bool),
            src_key_padding_mask=src == PAD,
            tgt_key_padding_mask=tgt == PAD,
            memory_key_padding_mask=src == PAD,
        )
    )
    got = ours(src, tgt, *ours.make_masks(src, tgt))
    assert got.shape == (3, 6, TGT_V)
    assert _err(got, want) < TOL[dtype]


def test_transformer_equals_torch_sequence_first_with_src_and_memory_attention_masks():
    ref = _torch_transformer(torch.float64, batch_first=False)
    ours = Transformer.from_torch(ref, SRC_V, TGT_V).eval()
    g = torch.Generator().manual_seed(3)
    xs, xt = torch.randn(2, 5, D, dtype=torch.float64), torch.randn(2, 4, D, dtype=torch.float64)
    src_attn, mem_attn = torch.rand(5, 5, generator=g) < 0.3, torch.rand(4, 5, generator=g) < 0.3
    src_attn.fill_diagonal_(False)
    mem_attn[:, 0] = False
    want = ref(xs.transpose(0, 1), xt.transpose(0, 1), src_mask=src_attn, memory_mask=mem_attn).transpose(
        0, 1
    )
    memory = ours.encoder(xs, mask_from_torch(src_attn))
    got = ours.decoder(xt, memory, memory_mask=mask_from_torch(mem_attn))
    assert _err(got, want) < 1e-10


def test_torch_fast_path_agrees_on_real_positions():
    """Under no_grad torch's encoder takes a fused "fast path" that zeroes padded positions: the real
    positions still agree."""
    ref = _torch_transformer(torch.float32)
    ours = Transformer.from_torch(ref, SRC_V, TGT_V, pad_id=PAD).eval()
    src, _ = _batch()
    with torch.no_grad():
        xs = ours.embed_src(src)
        want = ref.encoder(xs, src_key_padding_mask=src == PAD)
        got = ours.encoder(xs, ours.make_src_mask(src))
    real = src != PAD
    assert _err(got[real], want[real]) < 1e-5


def test_from_torch_keeps_the_configuration():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nn.Transformer(
            D,
            H,
            1,
            2,
            FF,
            dropout=0.2,
            activation="gelu",
            layer_norm_eps=1e-6,
            batch_first=True,
            norm_first=True,
        )
    ours = Transformer.from_torch(ref, SRC_V, TGT_V, positional="learned", tie_embeddings=True, max_len=32)
    assert ours.training
    assert len(ours.encoder.layers) == 1 and len(ours.decoder.layers) == 2
    layer = ours.decoder.layers[1]
    assert (
        layer.norm_first
        and layer.ff.activation == "gelu"
        and layer.norm1.eps == 1e-6
        and layer.dropout1.p == 0.2
    )
    assert ours.output_proj.weight is ours.tgt_embed.weight
    with pytest.raises(ValueError, match="torch.nn.Transformer"):
        Transformer.from_torch(ref.encoder, SRC_V, TGT_V)


# ------------------------------------------------------------------------------ incremental decoding
def _model(norm_first=False, positional="sinusoidal", seed=0, **kw) -> Transformer:
    torch.manual_seed(seed)
    args = (
        dict(
            d_model=D,
            num_heads=H,
            num_encoder_layers=2,
            num_decoder_layers=2,
            d_ff=FF,
            dropout=0.1,
            norm_first=norm_first,
            positional=positional,
            max_len=32,
            pad_id=PAD,
        )
        | kw
    )
    return Transformer(SRC_V, TGT_V, **args).double().eval()


@NORMS
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_incremental_decoding_equals_full_decoding(norm_first, positional):
    model = _model(norm_first, positional)
    src, _ = _batch()
    tgt = torch.randint(1, TGT_V, (3, 6), generator=torch.Generator().manual_seed(5))
    memory_mask = model.make_src_mask(src)
    memory = model.encode(src, memory_mask)
    full = model.decode(tgt, memory, model.make_tgt_mask(tgt), memory_mask)
    cache = model.new_cache()
    steps = []
    for i in range(tgt.shape[1]):
        assert cache_length(cache) == i
        steps.append(model.decode(tgt[:, i : i + 1], memory, memory_mask=memory_mask, cache=cache))
    assert cache[0]["k"].shape == (3, H, 6, D // H) and len(cache) == 2
    assert _err(torch.cat(steps, dim=1), full) < 1e-10


def test_incremental_decoding_in_chunks():
    model = _model(norm_first=True)
    src, _ = _batch()
    tgt = torch.randint(1, TGT_V, (3, 7), generator=torch.Generator().manual_seed(6))
    memory = model.encode(src)
    full = model.decode(tgt, memory, causal_mask(7))
    cache = model.new_cache()
    a = model.decode(tgt[:, :4], memory, causal_mask(4), cache=cache)
    b = model.decode(tgt[:, 4:], memory, causal_mask(3, 7), cache=cache)
    assert _err(torch.cat([a, b], dim=1), full) < 1e-10


# ----------------------------------------------------------------------------------- model properties
def test_future_target_tokens_do_not_change_earlier_logits():
    model = _model()
    src, _ = _batch()
    tgt = torch.randint(1, TGT_V, (3, 6), generator=torch.Generator().manual_seed(7))
    tgt2 = tgt.clone()
    tgt2[:, 4:] = (tgt2[:, 4:] % (TGT_V - 1)) + 1  # different, still not padding
    assert not torch.equal(tgt, tgt2)
    a, b = (model(src, t, *model.make_masks(src, t)) for t in (tgt, tgt2))
    assert _err(a[:, :4], b[:, :4]) < 1e-12
    assert _err(a[:, 4:], b[:, 4:]) > 1e-3


@NORMS
def test_padding_does_not_change_real_outputs(norm_first):
    model = _model(norm_first)
    g = torch.Generator().manual_seed(8)
    src, tgt = torch.randint(1, SRC_V, (1, 5), generator=g), torch.randint(1, TGT_V, (1, 4), generator=g)
    alone = model(src, tgt, *model.make_masks(src, tgt))
    src_p = torch.cat([src, torch.full((1, 3), PAD)], dim=1)
    tgt_p = torch.cat([tgt, torch.full((1, 2), PAD)], dim=1)
    padded = model(src_p, tgt_p, *model.make_masks(src_p, tgt_p))
    assert _err(padded[:, :4], alone) < 1e-10


def test_tied_embeddings_share_one_matrix():
    model = _model(tie_embeddings=True)
    assert model.output_proj.weight is model.tgt_embed.weight
    n_tied = sum(p.numel() for p in model.parameters())
    n_untied = sum(p.numel() for p in _model(tie_embeddings=False).parameters())
    assert n_untied - n_tied == TGT_V * D


def test_embeddings_are_scaled_by_sqrt_d_model():
    model = _model(dropout=0.0)
    ids = torch.tensor([[3, 4]])
    want = model.tgt_embed(ids) * D**0.5 + model.tgt_pos.table[:2].to(torch.float64)
    assert _err(model.embed_tgt(ids), want) < 1e-12


def test_training_step_runs_and_every_parameter_gets_a_gradient():
    model = _model(positional="learned").train()
    src, tgt = _batch()
    logits = model(src, tgt, *model.make_masks(src, tgt))
    nn.functional.cross_entropy(logits.flatten(0, 1), tgt.flatten()).backward()
    assert all(p.grad is not None for p in model.parameters())


# ------------------------------------------------------------------------------------------ masks
def test_make_tgt_mask_is_causal_and_masks_padded_keys():
    tgt = torch.tensor([[5, 6, 7], [5, 6, PAD]])
    m = make_tgt_mask(tgt, PAD)
    assert m.shape == (2, 1, 3, 3) and m.dtype == torch.bool
    assert m[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert m[1, 0].tolist() == [[True, False, False], [True, True, False], [True, True, False]]
    assert torch.equal(make_tgt_mask(tgt), causal_mask(3).expand(2, 1, 3, 3))


def test_make_src_mask():
    src = torch.tensor([[5, PAD], [5, 6]])
    assert make_src_mask(src, PAD).tolist() == [[[[True, False]]], [[[True, True]]]]
    assert make_src_mask(src).all()


def test_mask_from_torch_inverts_and_combines():
    attn = torch.tensor([[False, True], [False, False]])
    kpm = torch.tensor([[False, False], [False, True]])
    m = mask_from_torch(attn, kpm)
    assert m.shape == (2, 1, 2, 2)
    assert m[0, 0].tolist() == [[True, False], [True, True]]
    assert m[1, 0].tolist() == [[True, False], [True, False]]
    assert mask_from_torch() is None
    with pytest.raises(ValueError, match="attn_mask"):
        mask_from_torch(torch.zeros(2, 2))  # an additive float mask


# ------------------------------------------------------------------------------------------ bad input
def test_batch_mismatch_between_src_and_tgt():
    model = _model()
    with pytest.raises(ValueError, match=r"src has shape \(3, 7\) but tgt has shape \(2, 6\)"):
        model(torch.ones(3, 7, dtype=torch.long), torch.ones(2, 6, dtype=torch.long))


def test_batch_mismatch_between_memory_and_tgt():
    model = _model()
    memory = model.encode(torch.ones(3, 7, dtype=torch.long))
    with pytest.raises(ValueError, match=r"memory has shape \(3, 7, 16\) but tgt has shape \(2, 6\)"):
        model.decode(torch.ones(2, 6, dtype=torch.long), memory)
    with pytest.raises(ValueError, match="memory"):
        model.decoder(torch.randn(2, 6, D, dtype=torch.float64), memory)


@pytest.mark.parametrize(
    "name,shape",
    [
        ("src_mask", (3, 1, 1, 6)),  # seq_s is 7
        ("src_mask", (3, 1, 7)),  # 3-D is ambiguous
        ("tgt_mask", (7, 7)),  # seq_t is 6
        ("tgt_mask", (2, 1, 6, 6)),  # batch is 3
        ("memory_mask", (3, 1, 1, 6)),  # seq_s is 7
        ("memory_mask", (6, 6)),
    ],
)
def test_masks_of_the_wrong_shape(name, shape):
    model = _model()
    src, tgt = _batch()
    masks = dict(zip(("src_mask", "tgt_mask", "memory_mask"), model.make_masks(src, tgt)))
    masks[name] = torch.ones(shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=rf"{name} has shape \({', '.join(map(str, shape))}\)"):
        model(src, tgt, **masks)


def test_mask_that_is_not_boolean():
    model = _model()
    src, tgt = _batch()
    with pytest.raises(ValueError, match="tgt_mask must be boolean"):
        model(src, tgt, tgt_mask=causal_mask(6).double())


@pytest.mark.parametrize("which,bad_id", [("src", SRC_V), ("src", -1), ("tgt", TGT_V), ("tgt", 100)])
def test_token_ids_out_of_the_vocabulary(which, bad_id):
    model = _model()
    src, tgt = _batch()
    (src if which == "src" else tgt)[0, 1] = bad_id
    vocab = SRC_V if which == "src" else TGT_V
    with pytest.raises(ValueError, match=rf"{which} contains token id {bad_id}.*0 \.\. {vocab - 1}"):
        model(src, tgt)


@pytest.mark.parametrize(
    "ids,match",
    [
        (torch.ones(2, 3), "src must be an integer tensor"),
        (torch.ones(2, 3, dtype=torch.bool), "src must be an integer tensor"),
        (torch.ones(6, dtype=torch.long), r"\(batch, seq\)"),
        (torch.ones(1, 40, dtype=torch.long), "max_len=32"),
    ],
)
def test_bad_token_tensors(ids, match):
    with pytest.raises(ValueError, match=match):
        _model().encode(ids)


def test_bad_caches():
    model = _model()
    memory = model.encode(torch.ones(2, 3, dtype=torch.long))
    step = torch.ones(2, 1, dtype=torch.long)
    with pytest.raises(ValueError, match="cache must be None or a KVCache"):
        model.decode(step, memory, cache=[{}])
    with pytest.raises(ValueError, match="cache has 1 layers but the model has 2"):
        model.decode(step, memory, cache=KVCache(1))
    cache = model.new_cache()
    model.decode(step, memory, cache=cache)
    with pytest.raises(ValueError, match="batch"):
        model.decode(step[:1], memory[:1], cache=cache)
    with pytest.raises(ValueError, match=r"tgt_mask has shape \(1, 3\)"):
        model.decode(step, memory, tgt_mask=torch.ones(1, 3, dtype=torch.bool), cache=cache)  # seq_k is 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(positional="rope"), "positional"),
        (dict(pad_id=20), "pad_id"),
        (dict(num_encoder_layers=0), "num_encoder_layers"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(**kwargs)
