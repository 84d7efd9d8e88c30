"""Chapter 6 checkers: the reference passes, the stub fails with "not implemented", and plausible wrong
versions (mutants) fail with the hint that names their mistake."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F

from tfmcourse import transformer
from tfmcourse.blocks import DecoderLayer
from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch06 as check


# ------------------------------------------------------------------------------------ make_tgt_mask
def make_tgt_mask(tgt, pad_id):
    seq = tgt.shape[1]
    causal = torch.tril(torch.ones(seq, seq, dtype=torch.bool))
    return causal[None, None] & (tgt != pad_id)[:, None, None, :]


def mask_stub(tgt, pad_id):
    raise NotImplementedError("Exercise: write your solution here")


def inverted(tgt, pad_id):
    return ~make_tgt_mask(tgt, pad_id)


def strict_diagonal(tgt, pad_id):
    seq = tgt.shape[1]
    return (
        torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=-1)[None, None]
        & (tgt != pad_id)[:, None, None, :]
    )


def one_ahead(tgt, pad_id):
    seq = tgt.shape[1]
    return (
        torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None, None]
        & (tgt != pad_id)[:, None, None, :]
    )


def transposed(tgt, pad_id):
    seq = tgt.shape[1]
    return torch.triu(torch.ones(seq, seq, dtype=torch.bool))[None, None] & (tgt != pad_id)[:, None, None, :]


def padding_on_queries(tgt, pad_id):
    seq = tgt.shape[1]
    return torch.tril(torch.ones(seq, seq, dtype=torch.bool))[None, None] & (tgt != pad_id)[:, None, :, None]


def no_heads_axis(tgt, pad_id):
    return make_tgt_mask(tgt, pad_id)[:, 0]


def float_mask(tgt, pad_id):
    return make_tgt_mask(tgt, pad_id).float()


def hard_coded_zero(tgt, pad_id):
    return make_tgt_mask(tgt, 0)


def causal_only(tgt, pad_id):
    seq = tgt.shape[1]
    return torch.tril(torch.ones(seq, seq, dtype=torch.bool)).expand(tgt.shape[0], 1, seq, seq)


def causal_in_torch_sense(tgt, pad_id):
    seq = tgt.shape[1]
    return (
        torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None, None]
        & (tgt != pad_id)[:, None, None, :]
    )


def padding_inverted(tgt, pad_id):
    seq = tgt.shape[1]
    return torch.tril(torch.ones(seq, seq, dtype=torch.bool))[None, None] & (tgt == pad_id)[:, None, None, :]


def both_in_torch_sense_and(tgt, pad_id):
    seq = tgt.shape[1]
    return (
        torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None, None]
        & (tgt == pad_id)[:, None, None, :]
    )


def mostly_inverted(
    tgt, pad_id
):  # inverted, and the diagonal blocked as well: no named mistake, mostly opposite
    seq = tgt.shape[1]
    return torch.triu(torch.ones(seq, seq, dtype=torch.bool))[None, None] | (tgt == pad_id)[:, None, None, :]


def delegates_to_the_package(tgt, pad_id):
    return transformer.make_tgt_mask(tgt, pad_id)


def delegates_to_an_imported_name(tgt, pad_id):
    return imported_make_tgt_mask(tgt, pad_id)


imported_make_tgt_mask = transformer.make_tgt_mask


def delegates_to_a_model(tgt, pad_id):
    model = transformer.Transformer(
        30, 30, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=8, pad_id=pad_id
    )
    return model.make_tgt_mask(tgt)


def test_tgt_mask_reference_passes(capsys):
    check.tgt_mask(make_tgt_mask)
    assert "✔ make_tgt_mask" in capsys.readouterr().out


def test_tgt_mask_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.tgt_mask(mask_stub)


@pytest.mark.parametrize(
    "mutant,hint",
    [
        (inverted, "sense is inverted"),
        (strict_diagonal, "attend to itself"),
        (one_ahead, "i \\+ 1"),
        (transposed, "transposed"),
        (padding_on_queries, "queries \\(rows\\) instead of the keys"),
        (no_heads_axis, "heads axis of size 1"),
        (float_mask, "boolean"),
        (hard_coded_zero, "hard-coded"),
        (causal_only, "padded keys are not masked"),
        (causal_in_torch_sense, "opposite sense"),
        (padding_inverted, "padding part is inverted"),
        (both_in_torch_sense_and, "Both parts"),
        (mostly_inverted, "mostly the opposite"),
        (delegates_to_the_package, "without tfmcourse.*make_tgt_mask"),
        (delegates_to_an_imported_name, "without tfmcourse.*make_tgt_mask"),
        (delegates_to_a_model, "without tfmcourse.*make_tgt_mask"),
    ],
)
def test_tgt_mask_mutants_fail_with_their_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.tgt_mask(mutant)


# ------------------------------------------------------------------------------------ decoder layer
def decoder_layer_forward(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.dropout1(layer.self_attn(x, x, x, mask=tgt_mask)[0]))
    x = layer.norm2(x + layer.dropout2(layer.cross_attn(x, memory, memory, mask=memory_mask)[0]))
    return layer.norm3(x + layer.dropout3(layer.ff(x)))


def layer_stub(x, memory, layer, tgt_mask, memory_mask):
    raise NotImplementedError("Exercise: write your solution here")


def pre_norm(x, memory, layer, tgt_mask, memory_mask):
    h = layer.norm1(x)
    x = x + layer.self_attn(h, h, h, mask=tgt_mask)[0]
    h = layer.norm2(x)
    x = x + layer.cross_attn(h, memory, memory, mask=memory_mask)[0]
    return x + layer.ff(layer.norm3(x))


def no_residuals(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(layer.self_attn(x, x, x, mask=tgt_mask)[0])
    x = layer.norm2(layer.cross_attn(x, memory, memory, mask=memory_mask)[0])
    return layer.norm3(layer.ff(x))


def no_ff_residual(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x, mask=tgt_mask)[0])
    x = layer.norm2(x + layer.cross_attn(x, memory, memory, mask=memory_mask)[0])
    return layer.norm3(layer.ff(x))


def sees_the_future(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x)[0])
    x = layer.norm2(x + layer.cross_attn(x, memory, memory, mask=memory_mask)[0])
    return layer.norm3(x + layer.ff(x))


def cross_from_x(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x, mask=tgt_mask)[0])
    x = layer.norm2(x + layer.cross_attn(x, x, x, mask=tgt_mask)[0])
    return layer.norm3(x + layer.ff(x))


def ignores_memory_padding(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x, mask=tgt_mask)[0])
    x = layer.norm2(x + layer.cross_attn(x, memory, memory)[0])
    return layer.norm3(x + layer.ff(x))


def returns_tuple(x, memory, layer, tgt_mask, memory_mask):
    return decoder_layer_forward(x, memory, layer, tgt_mask, memory_mask), None


def swapped_masks(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x, mask=memory_mask)[0])
    x = layer.norm2(x + layer.cross_attn(x, memory, memory, mask=tgt_mask)[0])
    return layer.norm3(x + layer.ff(x))


def no_dropouts(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.self_attn(x, x, x, mask=tgt_mask)[0])
    x = layer.norm2(x + layer.cross_attn(x, memory, memory, mask=memory_mask)[0])
    return layer.norm3(x + layer.ff(x))


def no_dropout2(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer.dropout1(layer.self_attn(x, x, x, mask=tgt_mask)[0]))
    x = layer.norm2(x + layer.cross_attn(x, memory, memory, mask=memory_mask)[0])
    return layer.norm3(x + layer.dropout3(layer.ff(x)))


def dropout_after_add(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(layer.dropout1(x + layer.self_attn(x, x, x, mask=tgt_mask)[0]))
    x = layer.norm2(layer.dropout2(x + layer.cross_attn(x, memory, memory, mask=memory_mask)[0]))
    return layer.norm3(layer.dropout3(x + layer.ff(x)))


def calls_the_layer(x, memory, layer, tgt_mask, memory_mask):
    return layer(x, memory, tgt_mask, memory_mask)


def calls_the_class_forward(x, memory, layer, tgt_mask, memory_mask):
    return DecoderLayer.forward(layer, x, memory, tgt_mask, memory_mask)


def calls_the_layer_helpers(x, memory, layer, tgt_mask, memory_mask):
    x = layer.norm1(x + layer._self_attention(x, tgt_mask, None))
    x = layer.norm2(x + layer._cross_attention(x, memory, memory_mask))
    return layer.norm3(x + layer._feed_forward(x))


def test_decoder_layer_reference_passes(capsys):
    check.decoder_layer(decoder_layer_forward)
    assert "✔ decoder_layer_forward" in capsys.readouterr().out


def test_decoder_layer_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.decoder_layer(layer_stub)


@pytest.mark.parametrize(
    "mutant,hint",
    [
        (pre_norm, "pre-norm order"),
        (no_residuals, "residual connections are missing"),
        (no_ff_residual, "around the feed-forward"),
        (sees_the_future, "sees the future"),
        (cross_from_x, "keys and values from x"),
        (ignores_memory_padding, "memory_mask"),
        (returns_tuple, "tuple"),
        (swapped_masks, "mask"),  # the shapes do not fit: the learner sees the ValueError naming the mask
        (no_dropouts, "three residual dropouts are missing"),  # passed the eval-mode check before
        (no_dropout2, "dropout2 is missing"),
        (dropout_after_add, "applied to the sum"),
        (calls_the_layer, "called the decoder layer itself"),  # passed before
        (calls_the_class_forward, "called the decoder layer itself"),
        (calls_the_layer_helpers, "called the decoder layer itself"),
    ],
)
def test_decoder_layer_mutants_fail_with_their_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.decoder_layer(mutant)


def test_decoder_layer_is_restored_after_a_refused_call():
    with pytest.raises(ExerciseError):
        check.decoder_layer(calls_the_layer)
    layer = DecoderLayer(8, 2, 16, dropout=0.0).eval()
    x, memory = torch.randn(1, 3, 8), torch.randn(1, 4, 8)
    assert layer(x, memory).shape == (1, 3, 8)  # the class's methods are back


# ------------------------------------------------------------------------------- teacher-forced loss
def seq2seq_loss(model, src, tgt, pad_id):
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    src_mask = (src != pad_id)[:, None, None, :]
    tgt_mask = make_tgt_mask(tgt_in, pad_id)
    logits = model(src, tgt_in, src_mask, tgt_mask, src_mask)
    return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=pad_id)


def seq2seq_with_model_masks(model, src, tgt, pad_id):
    tgt_in = tgt[:, :-1]
    logits = model(src, tgt_in, *model.make_masks(src, tgt_in))
    log_p = logits.log_softmax(-1).gather(-1, tgt[:, 1:, None])[..., 0]
    keep = tgt[:, 1:] != pad_id
    return -(log_p * keep).sum() / keep.sum()


def loss_variant(mistake):
    return lambda model, src, tgt, pad_id: check._seq2seq_variant(model, src, tgt, pad_id, mistake)


def loss_causal_only(
    model, src, tgt, pad_id
):  # also right: with right-padding, the causal mask hides the pads
    tgt_in = tgt[:, :-1]
    seq = tgt_in.shape[1]
    src_mask = (src != pad_id)[:, None, None, :]
    logits = model(src, tgt_in, src_mask, torch.tril(torch.ones(seq, seq, dtype=torch.bool)), src_mask)
    return F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=pad_id)


def loss_hard_coded_pad(model, src, tgt, pad_id):
    return seq2seq_loss(model, src, tgt, 0)


def loss_item(model, src, tgt, pad_id):
    return torch.tensor(seq2seq_loss(model, src, tgt, pad_id).item(), dtype=torch.float64)


def loss_per_token(model, src, tgt, pad_id):
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    logits = model(src, tgt_in, *model.make_masks(src, tgt_in))
    return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=pad_id, reduction="none")


def loss_full_target_mask(model, src, tgt, pad_id):
    src_mask = (src != pad_id)[:, None, None, :]
    logits = model(src, tgt[:, :-1], src_mask, make_tgt_mask(tgt, pad_id), src_mask)
    return F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=pad_id)


@pytest.mark.parametrize("fn", [seq2seq_loss, seq2seq_with_model_masks, loss_causal_only])
def test_seq2seq_loss_right_answers_pass(fn, capsys):
    check.seq2seq_loss(fn)
    assert "✔ seq2seq_loss" in capsys.readouterr().out


def test_seq2seq_loss_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.seq2seq_loss(lambda model, src, tgt, pad_id: layer_stub(model, src, tgt, pad_id, None))


@pytest.mark.parametrize(
    "mutant,hint",
    [
        (loss_variant("no_shift"), "reads the very tokens"),
        (loss_variant("reverse_shift"), "wrong way"),
        (loss_variant("no_causal"), "no causal part"),
        (loss_variant("no_tgt_mask"), "No target mask"),
        (loss_variant("no_src_mask"), "source padding is not masked"),
        (loss_variant("no_encoder_mask"), "encoder sees the source padding"),
        (loss_variant("no_memory_mask"), "as memory_mask too"),
        (loss_variant("pad_counted"), "padding positions are counted"),
        (loss_variant("sum"), "not their sum"),
        (loss_hard_coded_pad, "hard-coded as 0"),
        (loss_item, "gradients"),
        (loss_per_token, "0-dimensional"),
        (loss_full_target_mask, "raised ValueError"),
    ],
)
def test_seq2seq_loss_mutants_fail_with_their_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.seq2seq_loss(mutant)


@pytest.mark.parametrize(
    "checker,fn",
    [
        (check.tgt_mask, make_tgt_mask),
        (check.decoder_layer, decoder_layer_forward),
        (check.seq2seq_loss, seq2seq_loss),
        (check.decoder_layer, no_dropouts),
    ],
)
def test_checkers_leave_the_random_state_alone(checker, fn):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with contextlib.suppress(ExerciseError):
        checker(fn)
    assert torch.equal(torch.rand(3), expected)
