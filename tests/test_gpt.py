"""Tests of tfmcourse.models.gpt: shapes, causality, the KV cache, naive = sdpa, equality with Hugging
Face's GPT-2 in both directions, the training helpers and the errors."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download: every model here is built locally

from tfmcourse.data.corpus import random_windows  # noqa: E402
from tfmcourse.models.gpt import GPT, GPTConfig, evaluate_lm, lm_loss  # noqa: E402
from tfmcourse.train import Trainer  # noqa: E402

transformers = pytest.importorskip("transformers")
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

SMALL = dict(vocab_size=101, max_len=32, d_model=64, num_layers=2, num_heads=4)


def small_gpt(seed: int = 0, dtype=torch.float32, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**SMALL, **kw})).to(dtype).eval()


def small_hf(seed: int = 0, **kw) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = dict(
        vocab_size=101, n_positions=32, n_embd=64, n_layer=2, n_head=4, bos_token_id=None, eos_token_id=None
    )
    return GPT2LMHeadModel(GPT2Config(**{**config, **kw})).eval()


def ids(batch: int = 3, seq: int = 20, vocab: int = 101, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, seq), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------- the model


@pytest.mark.usefixtures("no_type_checks")  # the wrong types are the point
def test_config_defaults_and_errors():
    c = GPTConfig(vocab_size=10, d_model=32)
    assert c.d_ff == 128 and c.activation == "gelu_tanh" and c.tie_weights
    for bad in (
        dict(vocab_size=0),
        dict(vocab_size=10, d_model=30, num_heads=4),
        dict(vocab_size=10, dropout=1.0),
        dict(vocab_size=10, impl="flash"),
        dict(vocab_size=10, activation="swish"),
        dict(vocab_size=10.0),
    ):
        with pytest.raises(ValueError):
            GPTConfig(**bad)
    with pytest.raises(ValueError, match="GPTConfig"):
        GPT({"vocab_size": 10})


def test_shapes_and_tied_embeddings():
    m = small_gpt()
    assert m(ids()).shape == (3, 20, 101)
    assert m.lm_head.weight is m.tok_embed.weight
    untied = small_gpt(tie_weights=False)
    assert untied.num_params() == m.num_params() + 101 * 64


def test_init_scales_the_residual_projections():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=50, d_model=256, num_layers=8, num_heads=4))
    std_ff1 = m.blocks[0].ff.linear1.weight.std().item()
    std_out = m.blocks[0].attn.out_proj.weight.std().item()
    assert abs(std_ff1 - 0.02) < 0.002 and abs(std_out - 0.02 / 4) < 0.0005
    assert (m.blocks[0].ff.linear1.bias == 0).all() and (m.norm.weight == 1).all()


def test_causal_future_tokens_do_not_change_the_past():
    m = small_gpt(dtype=torch.float64)
    x = ids(2, 16)
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 7) % 101
    a, b = m(x), m(y)
    torch.testing.assert_close(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_naive_equals_sdpa():
    m = small_gpt(dtype=torch.float64)
    s = small_gpt(dtype=torch.float64, impl="sdpa")
    s.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(ids()), s(ids()))


@pytest.mark.parametrize("impl", ["naive", "sdpa"])
def test_cache_gives_the_logits_of_the_full_sequence(impl):
    m = small_gpt(dtype=torch.float64, impl=impl)
    x = ids(2, 20)
    cache = m.new_cache()
    parts = [
        m(x[:, :9], cache=cache),
        m(x[:, 9:10], cache=cache),
        m(x[:, 10:11], cache=cache),
        m(x[:, 11:], cache=cache),
    ]
    torch.testing.assert_close(torch.cat(parts, dim=1), m(x))
    assert cache[0]["k"].shape == (2, 4, 20, 16)


def test_dropout_only_in_training():
    m = small_gpt(dropout=0.5)
    x = ids()
    torch.testing.assert_close(m(x), m(x))
    m.train()
    assert not torch.allclose(m(x), m(x))


def test_forward_errors():
    m = small_gpt()
    with pytest.raises(ValueError, match="ids"):
        m(torch.rand(2, 5))
    with pytest.raises(ValueError, match="ids"):
        m(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="vocab_size=101"):
        m(torch.full((1, 4), 101))
    with pytest.raises(ValueError, match="max_len=32"):
        m(torch.zeros(1, 33, dtype=torch.long))
    cache = m.new_cache()
    m(torch.zeros(1, 30, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="max_len=32"):
        m(torch.zeros(1, 3, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="batch"):
        m(torch.zeros(2, 1, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="cache"):
        m(torch.zeros(1, 1, dtype=torch.long), cache=[{}])


# ----------------------------------------------------------------------------- Hugging Face


def test_from_hf_gives_hf_logits():
    hf = small_hf()
    ours = GPT.from_hf(hf)
    assert ours.config.activation == "gelu_tanh" and ours.config.tie_weights and not ours.training
    x = ids()
    with torch.no_grad():
        diff = (hf(x).logits - ours(x)).abs().max().item()
    assert diff < 1e-5


@pytest.mark.parametrize("impl", ["naive", "sdpa"])
def test_to_hf_gives_our_logits(impl):
    ours = small_gpt(impl=impl)
    hf = ours.to_hf()
    assert isinstance(hf, GPT2LMHeadModel) and not hf.training
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # still tied
    x = ids()
    with torch.no_grad():
        diff = (hf(x).logits - ours(x)).abs().max().item()
    assert diff < 1e-5


def test_hf_round_trip_keeps_every_weight():
    ours = small_gpt(seed=3, tie_weights=False, dropout=0.1)
    back = GPT.from_hf(ours.to_hf())
    assert back.config == ours.config
    for (name, a), b in zip(ours.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), name


def test_hf_untied_and_other_activation():
    hf = small_hf(seed=2, tie_word_embeddings=False, activation_function="gelu_pytorch_tanh", n_inner=96)
    ours = GPT.from_hf(hf)
    assert not ours.config.tie_weights and ours.config.d_ff == 96
    x = ids()
    with torch.no_grad():
        assert (hf(x).logits - ours(x)).abs().max().item() < 1e-5


def test_hf_cache_matches_ours_step_by_step():
    """Hugging Face's own KV cache (past_key_values) gives the logits of our cache."""
    ours = small_gpt(seed=4)
    hf = ours.to_hf()
    x = ids(2, 12)
    cache = ours.new_cache()
    with torch.no_grad():
        out = hf(x[:, :8], use_cache=True)
        ours(x[:, :8], cache=cache)
        for t in range(8, 12):
            out = hf(x[:, t : t + 1], past_key_values=out.past_key_values, use_cache=True)
            assert (out.logits - ours(x[:, t : t + 1], cache=cache)).abs().max().item() < 1e-5


def test_from_hf_refuses_what_we_cannot_compute():
    with pytest.raises(ValueError, match="scale_attn"):
        GPT.from_hf(small_hf(scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="activation"):
        GPT.from_hf(small_hf(activation_function="silu"))
    with pytest.raises(ValueError, match="GPT2LMHeadModel"):
        GPT.from_hf(torch.nn.Linear(2, 2))


def test_hf_config_overrides():
    hf = small_gpt().to_hf(eos_token_id=0, pad_token_id=0)
    assert (
        hf.config.eos_token_id == 0
        and hf.config.n_positions == 32
        and hf.config.activation_function == "gelu_new"
    )


# ----------------------------------------------------------------------------- training helpers


def test_lm_loss_and_evaluate_lm():
    m = small_gpt(dtype=torch.float64)
    tokens = torch.randint(0, 101, (200,), generator=torch.Generator().manual_seed(0))
    # At initialisation the logits are nearly flat: the loss is close to log(vocab).
    loss = evaluate_lm(m, tokens, context=16, batch_size=4)
    assert abs(loss - torch.log(torch.tensor(101.0)).item()) < 0.1
    # Batching does not matter, up to rounding: batch sizes 4 and 7 take different kernels, so the float64
    # sums may differ in the last bits (4.644731065762761 vs ...762 on an AVX-512 machine, issue 11).
    assert abs(loss - evaluate_lm(m, tokens, context=16, batch_size=7)) < 1e-12
    windows = tokens[: 12 * 16 + 1]
    x = torch.stack([windows[i * 16 : i * 16 + 16] for i in range(12)])
    y = torch.stack([windows[i * 16 + 1 : i * 16 + 17] for i in range(12)])
    assert abs(loss - lm_loss(m, (x, y)).item()) < 1e-12
    with pytest.raises(ValueError):
        lm_loss(m, (x, y[:, :-1]))
    with pytest.raises(ValueError):
        evaluate_lm(m, tokens[:10], context=16)


def test_the_chapter7_trainer_trains_a_gpt():
    """A GPT batch is (x, y): the Trainer takes lm_loss and random_windows as they are."""
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=5, max_len=16, d_model=32, num_layers=1, num_heads=2))
    tokens = torch.arange(400) % 5  # 0 1 2 3 4 0 1 ...: perfectly predictable
    trainer = Trainer(
        m, lm_loss, random_windows(tokens, 16, 8), lr=3e-3, schedule="constant", warmup=5, progress=False
    )
    trainer.train(60)
    assert trainer.history["loss"][-1] < 0.2 < trainer.history["loss"][0]
    assert evaluate_lm(m, tokens, 16) < 0.2


def test_lm_loss_and_evaluate_lm_take_a_hugging_face_model():
    ours = small_gpt(seed=5)
    hf = ours.to_hf()
    tokens = torch.randint(0, 101, (300,), generator=torch.Generator().manual_seed(2))
    x, y = tokens[:-1].reshape(1, -1)[:, :32], tokens[1:].reshape(1, -1)[:, :32]
    assert abs(lm_loss(hf, (x, y)).item() - lm_loss(ours, (x, y)).item()) < 1e-5
    assert abs(evaluate_lm(hf, tokens, 32) - evaluate_lm(ours, tokens, 32)) < 1e-5
    assert not hf.training


def test_a_block_still_accepts_the_mask_it_used_to_need():
    """Code written before blocks were causal by themselves passed ``mask=causal_mask(seq)``: it gets the
    same output as without the mask, and a FutureWarning that the mask is no longer needed."""
    from tfmcourse.attention import causal_mask
    from tfmcourse.models.gpt import GPTConfig
    from tfmcourse.models.gpt.model import GPTBlock

    torch.manual_seed(0)
    block = GPTBlock(GPTConfig(vocab_size=11, max_len=16, d_model=16, num_heads=2, num_layers=1)).eval()
    x = torch.randn(2, 5, 16)
    with pytest.warns(FutureWarning, match="causal by itself"):
        with_mask = block(x, mask=causal_mask(5))
    torch.testing.assert_close(with_mask, block(x), rtol=1e-5, atol=1e-6)
