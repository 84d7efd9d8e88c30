"""BERT (tfmcourse.models.bert): equal to Hugging Face's BertModel / BertForMaskedLM /
BertForSequenceClassification after a weight copy, padding-invariant, clear errors."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.models.bert import (
    BERT,
    BertClassifier,
    BertConfig,
    BertForMLM,
    attention_mask_from_padding,
    mlm_loss,
)

transformers = pytest.importorskip("transformers")


def _hf_config(**kw):
    base = dict(
        vocab_size=97,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=20,
        pad_token_id=0,
    )
    base.update(kw)
    return transformers.BertConfig(**base)


def _padded_batch(gen, vocab=97):
    ids = torch.randint(5, vocab, (4, 14), generator=gen)
    ids[:, 0] = 2
    for row, n in enumerate([14, 9, 4, 1]):
        ids[row, n:] = 0
    token_types = (torch.arange(14) >= 6).long().expand(4, 14).clone()
    return ids, (ids != 0).long(), token_types


@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new", "relu"])
def test_from_hf_bertmodel_equals_last_hidden_state_with_padding(hidden_act):
    torch.manual_seed(0)
    hf = transformers.BertModel(_hf_config(hidden_act=hidden_act)).eval()
    ours = BERT.from_hf(hf)
    ids, mask, types = _padded_batch(torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = hf(ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        got = ours(ids, mask, types)
    assert got.dtype == torch.float32 and got.shape == (4, 14, 32)
    assert (got - want).abs().max() < 1e-5  # float32 rounding of two orders of the same sums


def test_from_hf_masked_lm_and_classifier_equal_logits():
    torch.manual_seed(2)
    ids, mask, types = _padded_batch(torch.Generator().manual_seed(3))
    hf_mlm = transformers.BertForMaskedLM(_hf_config()).eval()
    hf_clf = transformers.BertForSequenceClassification(_hf_config(num_labels=5)).eval()
    with torch.no_grad():
        for hf, ours in ((hf_mlm, BertForMLM.from_hf(hf_mlm)), (hf_clf, BertClassifier.from_hf(hf_clf))):
            diff = (
                (hf(ids, attention_mask=mask, token_type_ids=types).logits - ours(ids, mask, types))
                .abs()
                .max()
            )
            assert diff < 1e-5
    assert BertForMLM.from_hf(hf_mlm).head.embedding.weight is not None


def test_from_hf_keeps_mode_dtype_and_encoder_of_wrappers():
    hf = transformers.BertForMaskedLM(_hf_config()).double().train()
    ours = BERT.from_hf(hf)  # the encoder inside a BertForMaskedLM
    assert ours.training and ours.tok_embed.weight.dtype == torch.float64


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(4)
    model = BERT(BertConfig(vocab_size=50, max_len=16, d_model=16, num_heads=2, dropout=0.0)).eval()
    alone = torch.tensor([[2, 7, 8, 9, 3]])
    padded = torch.tensor([[2, 7, 8, 9, 3, 0, 0, 0]])
    with torch.no_grad():
        a = model(alone)
        b = model(padded, attention_mask=attention_mask_from_padding(padded, 0))
    assert (a - b[:, :5]).abs().max() < 1e-5


def test_mlm_head_is_tied_and_loss_only_counts_labelled_positions():
    torch.manual_seed(5)
    model = BertForMLM(BertConfig(vocab_size=40, max_len=8, d_model=16, num_heads=2, dropout=0.0))
    assert model.head.embedding.weight is model.bert.tok_embed.weight
    inputs = torch.randint(5, 40, (3, 8))
    labels = torch.full((3, 8), -100)
    labels[0, 2], labels[2, 5] = 7, 11
    logits = model(inputs)
    want = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    assert torch.allclose(mlm_loss(model, (inputs, labels)), want, atol=1e-6)


def test_classifier_reads_the_first_position_only():
    torch.manual_seed(6)
    config = BertConfig(vocab_size=30, max_len=8, d_model=16, num_heads=2, dropout=0.0)
    clf = BertClassifier(config, 3).eval()
    ids = torch.randint(5, 30, (2, 6))
    with torch.no_grad():
        hidden = clf.bert(ids)
        want = clf.classifier(torch.tanh(clf.pooler(hidden[:, 0])))
        assert torch.allclose(clf(ids), want, atol=1e-6)
    with pytest.raises(ValueError, match="num_labels"):
        BertClassifier(config, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(vocab_size=0), "vocab_size"),
        (dict(vocab_size=10, d_model=30, num_heads=4), "divisible"),
        (dict(vocab_size=10, dropout=1.0), "dropout"),
        (dict(vocab_size=10, activation="tanh"), "activation"),
        (dict(vocab_size=10, pad_id=10), "pad_id"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BertConfig(**kwargs)


def test_forward_errors_name_the_argument():
    model = BERT(BertConfig(vocab_size=20, max_len=6, d_model=8, num_heads=2))
    with pytest.raises(ValueError, match="ids"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="outside"):
        model(torch.tensor([[1, 25]]))
    with pytest.raises(ValueError, match="max_len=6"):
        model(torch.ones(1, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask"):
        model(torch.ones(2, 3, dtype=torch.long), attention_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="token_type_ids"):
        model(torch.ones(2, 3, dtype=torch.long), token_type_ids=torch.full((2, 3), 2))
    with pytest.raises(ValueError, match="BertModel"):
        BERT.from_hf(torch.nn.Linear(2, 2))
