"""Chapter 6 checkers: the reference passes, the stub fails with "not implemented", and plausible wrong
versions (mutants) fail with the hint that names their mistake."""

from __future__ import annotations

import pytest
import torch

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
    return torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=-1)[None, None] & (tgt != pad_id)[:, None, None, :]


def one_ahead(tgt, pad_id):
    seq = tgt.shape[1]
    return torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None, None] & (tgt != pad_id)[:, None, None, :]


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


def test_tgt_mask_reference_passes(capsys):
    check.tgt_mask(make_tgt_mask)
    assert "✔ make_tgt_mask" in capsys.readouterr().out


def test_tgt_mask_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.tgt_mask(mask_stub)


@pytest.mark.parametrize("mutant,hint", [
    (inverted, "sense is inverted"),
    (strict_diagonal, "attend to itself"),
    (one_ahead, "i \\+ 1"),
    (transposed, "transposed"),
    (padding_on_queries, "queries \\(rows\\) instead of the keys"),
    (no_heads_axis, "heads axis of size 1"),
    (float_mask, "boolean"),
    (hard_coded_zero, "hard-coded"),
    (causal_only, "padded keys are not masked"),
])
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


def test_decoder_layer_reference_passes(capsys):
    check.decoder_layer(decoder_layer_forward)
    assert "✔ decoder_layer_forward" in capsys.readouterr().out


def test_decoder_layer_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.decoder_layer(layer_stub)


@pytest.mark.parametrize("mutant,hint", [
    (pre_norm, "pre-norm order"),
    (no_residuals, "residual connections are missing"),
    (no_ff_residual, "around the feed-forward"),
    (sees_the_future, "sees the future"),
    (cross_from_x, "keys and values from x"),
    (ignores_memory_padding, "memory_mask"),
    (returns_tuple, "tuple"),
    (swapped_masks, "mask"),  # the shapes do not fit: the learner sees the ValueError naming the mask
])
def test_decoder_layer_mutants_fail_with_their_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.decoder_layer(mutant)
