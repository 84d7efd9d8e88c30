"""Checkers for chapter 6: the combined target mask and a post-norm decoder layer."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from tfmcourse.blocks import DecoderLayer

from . import ExerciseError, expect_close, expect_shape, is_close, passed, run

__all__ = ["tgt_mask", "decoder_layer"]


# ------------------------------------------------------------------------------------- target mask
def _offsets(seq: int) -> Tensor:
    """``(seq_q, seq_k)``: ``j - i`` for query ``i`` and key ``j`` (``<= 0`` is the past and present)."""
    return torch.arange(seq)[None, :] - torch.arange(seq)[:, None]


def _reference_tgt_mask(tgt: Tensor, pad_id: int) -> Tensor:
    return (_offsets(tgt.shape[1]) <= 0)[None, None] & (tgt != pad_id)[:, None, None, :]


def _tgt_mask_mistakes(tgt: Tensor, pad_id: int) -> list[tuple[Tensor, str]]:
    """Plausible wrong masks, each with the hint that explains it (all shaped (batch, 1, seq, seq))."""
    offset, real = _offsets(tgt.shape[1]), tgt != pad_id
    k = real[:, None, None, :]  # padding on the keys (columns): right
    q = real[:, None, :, None]  # padding on the queries (rows): wrong
    causal = (offset <= 0)[None, None]
    right = causal & k
    hard_coded = [] if pad_id == 0 else [
        (causal & (tgt != 0)[:, None, None, :], "The padding id is hard-coded as 0: use the pad_id argument.")]
    return hard_coded + [
        (~right, "The mask sense is inverted: True must mean 'may attend' (a past or present, real token), "
                 "False 'blocked'. Negate your mask."),
        ((offset < 0)[None, None] & k, "The causal diagonal is off by one: a position must be allowed to attend to "
                                       "itself (key j == query i), so use j <= i, i.e. torch.tril with diagonal=0."),
        ((offset <= 1)[None, None] & k, "The causal diagonal is off by one: query i may see key i + 1, one token of "
                                        "the future. Use j <= i."),
        ((offset >= 0)[None, None] & k, "The causal part is transposed: query i (a row) may see keys j <= i (the lower "
                                        "triangle, torch.tril), not j >= i (torch.triu)."),
        (causal & q, "The padding is applied to the queries (rows) instead of the keys (columns): padding is a "
                     "property of the keys, so the pad mask must be shaped (batch, 1, 1, seq) before the &."),
        (causal & q & k, "Only the keys (columns) should be masked for padding, not the padded queries' rows "
                         "too: shape the pad mask (batch, 1, 1, seq)."),
        (causal.expand_as(right), "The padded keys are not masked: combine the causal mask with (tgt != pad_id) "
                                  "on the keys axis."),
        (k.expand_as(right), "The causal part is missing: query i must not see keys j > i (the future)."),
    ]


def tgt_mask(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(tgt (batch, seq) ids, pad_id) -> (batch, 1, seq, seq)`` bool, causal & key padding."""
    g = torch.Generator().manual_seed(0)
    cases = []
    for pad_id, seq, lengths in ((0, 5, (5, 3, 1)), (3, 6, (2, 6, 4, 5)), (0, 1, (1, 1))):
        ids = torch.randint(4, 20, (len(lengths), seq), generator=g)
        for b, n in enumerate(lengths):
            ids[b, n:] = pad_id
        cases.append((ids, pad_id))
    for tgt, pad_id in cases:
        batch, seq = tgt.shape
        want = _reference_tgt_mask(tgt, pad_id)
        got = run(fn, tgt, pad_id)
        what = f"make_tgt_mask(tgt of shape {tuple(tgt.shape)}, pad_id={pad_id})"
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{what} should return a torch.Tensor, but it returned a {type(got).__name__}.")
        if got.dtype != torch.bool:
            raise ExerciseError(f"{what} has dtype {got.dtype}: return a boolean mask (True = may attend), "
                                f"e.g. with comparisons and & rather than arithmetic.")
        if tuple(got.shape) in ((batch, seq, seq), (seq, seq)) and batch > 1:
            raise ExerciseError(
                f"{what} has shape {tuple(got.shape)}, which does not broadcast correctly against the scores "
                f"(batch, heads, seq, seq): its first axis would line up with the heads. Add a heads axis of size 1: "
                f"(batch, 1, seq, seq)."
            )
        expect_shape(got, (batch, 1, seq, seq), what)
        if torch.equal(got, want):
            continue
        for wrong, hint in _tgt_mask_mistakes(tgt, pad_id):
            if torch.equal(got, wrong):
                raise ExerciseError(f"{what} is wrong. {hint}")
        bad = (got != want).nonzero()[0].tolist()
        raise ExerciseError(
            f"{what} is wrong, e.g. at [batch {bad[0]}, 0, query {bad[2]}, key {bad[3]}]: got {bool(got[tuple(bad)])}, "
            f"want {bool(want[tuple(bad)])}. Query i may attend to key j when j <= i and tgt[b, j] != pad_id."
        )
    passed("make_tgt_mask", "causal, padded keys masked, (batch, 1, seq, seq)")


# ---------------------------------------------------------------------------------- decoder layer
def _decoder_variant(x: Tensor, memory: Tensor, layer: DecoderLayer, tgt_mask: Tensor, memory_mask: Tensor,
                     *, pre_norm: bool = False, skip: tuple[int, ...] = (), self_mask: bool = True,
                     cross_mask: bool = True, cross_from_x: bool = False, cross_first: bool = False) -> Tensor:
    """The post-norm decoder layer, or one of its plausible mistakes (selected by the flags)."""
    def self_block(h: Tensor) -> Tensor:
        return layer.dropout1(layer.self_attn(h, h, h, mask=tgt_mask if self_mask else None)[0])

    def cross_block(h: Tensor) -> Tensor:
        kv = h if cross_from_x else memory
        mask = (tgt_mask if cross_from_x else memory_mask) if cross_mask else None
        return layer.dropout2(layer.cross_attn(h, kv, kv, mask=mask)[0])

    def ff_block(h: Tensor) -> Tensor:
        return layer.dropout3(layer.ff(h))

    blocks = [(self_block, layer.norm1), (cross_block, layer.norm2), (ff_block, layer.norm3)]
    if cross_first:
        blocks[0], blocks[1] = blocks[1], blocks[0]
    for i, (block, norm) in enumerate(blocks):
        if pre_norm:
            x = block(norm(x)) + (0 if i in skip else x)
        else:
            x = norm(block(x) + (0 if i in skip else x))
    return x


_LAYER_MISTAKES = [
    (dict(pre_norm=True), "This is the pre-norm order, x + sublayer(norm(x)). The post-norm layer of the "
                          "original Transformer normalises AFTER the residual addition: x = norm(x + sublayer(x))."),
    (dict(skip=(0, 1, 2)), "The residual connections are missing: each sublayer's output must be ADDED to its "
                           "input, x = norm(x + sublayer(x)), not x = norm(sublayer(x))."),
    (dict(skip=(0,)), "The residual connection around the self-attention is missing: x = norm1(x + self_attn(...))."),
    (dict(skip=(1,)), "The residual connection around the cross-attention is missing: x = norm2(x + cross_attn(...))."),
    (dict(skip=(2,)), "The residual connection around the feed-forward network is missing: x = norm3(x + ff(x))."),
    (dict(self_mask=False), "The self-attention ignores tgt_mask, so every position sees the future. Pass "
                            "mask=tgt_mask to layer.self_attn."),
    (dict(cross_mask=False), "The cross-attention ignores memory_mask, so the decoder looks at the source's "
                             "padding. Pass mask=memory_mask to layer.cross_attn."),
    (dict(cross_from_x=True), "The cross-attention takes its keys and values from x: that is a second "
                              "self-attention. Keys and values must come from memory (the encoder's output), "
                              "queries from x."),
    (dict(cross_first=True), "The sublayers are in the wrong order: first the (masked) self-attention, then the "
                             "cross-attention, then the feed-forward network."),
    (dict(pre_norm=True, skip=(0, 1, 2)), "The residual connections are missing and the norms come first: "
                                          "compute x = norm(x + sublayer(x)) for each sublayer."),
]


def decoder_layer(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, memory, layer, tgt_mask, memory_mask) -> (batch, seq_t, d_model)``: a post-norm
    decoder layer computed from ``layer``'s submodules."""
    torch.manual_seed(0)
    layer = DecoderLayer(16, 4, 32, dropout=0.0, norm_first=False).double().eval()
    with torch.no_grad():  # make the LayerNorms' affine parameters non-trivial, so that norm order matters
        for norm in (layer.norm1, layer.norm2, layer.norm3):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    g = torch.Generator().manual_seed(1)
    batch, seq_t, seq_s = 3, 5, 6
    x = torch.randn(batch, seq_t, 16, generator=g, dtype=torch.float64)
    memory = torch.randn(batch, seq_s, 16, generator=g, dtype=torch.float64)
    tgt_len, src_len = torch.tensor([5, 3, 4]), torch.tensor([6, 4, 2])
    t = torch.arange(seq_t)
    tgt_mask = (t[None, :] <= t[:, None])[None, None] & (t[None, :] < tgt_len[:, None])[:, None, None, :]
    memory_mask = (torch.arange(seq_s)[None, :] < src_len[:, None])[:, None, None, :]
    with torch.no_grad():
        want = layer(x, memory, tgt_mask, memory_mask)
        got = run(fn, x, memory, layer, tgt_mask, memory_mask)
    what = "decoder_layer_forward(x, memory, layer, tgt_mask, memory_mask)"
    if isinstance(got, tuple):
        raise ExerciseError(f"{what} returned a tuple: return only the output tensor. (Remember that "
                            f"layer.self_attn(...) returns (out, weights): take [0].)")
    expect_shape(got, tuple(want.shape), what)
    got = got.detach().to(torch.float64)
    if not is_close(got, want, atol=1e-8):
        with torch.no_grad():
            for flags, hint in _LAYER_MISTAKES:
                if is_close(got, _decoder_variant(x, memory, layer, tgt_mask, memory_mask, **flags), atol=1e-8):
                    raise ExerciseError(f"{what} is wrong. {hint}")
    expect_close(got, want, what, atol=1e-8, rtol=1e-6, hint=(
        "For each sublayer compute x = norm(x + dropout(sublayer(x))): self-attention (x, x, x, mask=tgt_mask) "
        "with norm1, cross-attention (x, memory, memory, mask=memory_mask) with norm2, feed-forward with norm3."))
    passed("decoder_layer_forward", "post-norm: self-attention, cross-attention, feed-forward, each with residual")
