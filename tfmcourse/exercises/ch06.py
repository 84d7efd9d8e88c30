"""Checkers for chapter 6: the combined target mask, a post-norm decoder layer, and the teacher-forced
loss of the encoder-decoder.

Every checker computes its references first, on copies, keeps the learner's random state (``@checker``)
and refuses the package's own answer (``make_tgt_mask``, the layer's ``forward``)::

    from tfmcourse.exercises import ch06 as check
    check.tgt_mask(make_tgt_mask)
    check.decoder_layer(decoder_layer_forward)
    check.seq2seq_loss(seq2seq_loss)
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse.blocks import DecoderLayer

from . import ExerciseError, checker, expect_close, expect_shape, forbidden, is_close, passed, run
from ._aliases import aliases

__all__ = ["tgt_mask", "decoder_layer", "seq2seq_loss"]


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
    hard_coded = (
        []
        if pad_id == 0
        else [
            (
                causal & (tgt != 0)[:, None, None, :],
                "The padding id is hard-coded as 0: use the pad_id argument.",
            )
        ]
    )
    return hard_coded + [
        (
            ~right,
            "The mask sense is inverted: True must mean 'may attend' (a past or present, real token), "
            "False 'blocked' (torch's nn.Transformer masks use the opposite sense). Negate your mask.",
        ),
        (
            (offset > 0)[None, None] & k,
            "The causal part has the opposite sense: True above the diagonal is "
            "torch's 'blocked' convention (generate_square_subsequent_mask). In this "
            "book True means 'may attend': query i may see keys j <= i, torch.tril.",
        ),
        (
            causal & ~k,
            "The padding part is inverted: it lets the queries see only the padding keys. A key may be "
            "attended to when it is NOT padding: tgt != pad_id.",
        ),
        (
            ~causal & ~k,
            "Both parts are in torch's 'True = blocked' sense, combined with &: that is neither mask. "
            "Build both in this book's sense (True = may attend: j <= i, tgt != pad_id) and combine "
            "them with &.",
        ),
        (
            (offset < 0)[None, None] & k,
            "The causal diagonal is off by one: a position must be allowed to attend to "
            "itself (key j == query i), so use j <= i, i.e. torch.tril with diagonal=0.",
        ),
        (
            (offset <= 1)[None, None] & k,
            "The causal diagonal is off by one: query i may see key i + 1, one token of "
            "the future. Use j <= i.",
        ),
        (
            (offset >= 0)[None, None] & k,
            "The causal part is transposed: query i (a row) may see keys j <= i (the lower "
            "triangle, torch.tril), not j >= i (torch.triu).",
        ),
        (
            causal & q,
            "The padding is applied to the queries (rows) instead of the keys (columns): padding is a "
            "property of the keys, so the pad mask must be shaped (batch, 1, 1, seq) before the &.",
        ),
        (
            causal & q & k,
            "Only the keys (columns) should be masked for padding, not the padded queries' rows "
            "too: shape the pad mask (batch, 1, 1, seq).",
        ),
        (
            causal.expand_as(right),
            "The padded keys are not masked: combine the causal mask with (tgt != pad_id) on the keys axis.",
        ),
        (k.expand_as(right), "The causal part is missing: query i must not see keys j > i (the future)."),
    ]


@checker
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
        with forbidden(fn, *aliases("tfmcourse.transformer.make_tgt_mask")):
            got = run(fn, tgt, pad_id)
        what = f"make_tgt_mask(tgt of shape {tuple(tgt.shape)}, pad_id={pad_id})"
        if not isinstance(got, Tensor):
            raise ExerciseError(
                f"{what} should return a torch.Tensor, but it returned a {type(got).__name__}."
            )
        if got.dtype != torch.bool:
            raise ExerciseError(
                f"{what} has dtype {got.dtype}: return a boolean mask (True = may attend), "
                f"e.g. with comparisons and & rather than arithmetic."
            )
        if tuple(got.shape) in ((batch, seq, seq), (seq, seq)) and batch > 1:
            raise ExerciseError(
                f"{what} has shape {tuple(got.shape)}, which does not broadcast correctly against the scores "
                "(batch, heads, seq, seq): its first axis would line up with the heads. Add a heads axis "
                "of size 1: "
                f"(batch, 1, seq, seq)."
            )
        expect_shape(got, (batch, 1, seq, seq), what)
        if torch.equal(got, want):
            continue
        for wrong, hint in _tgt_mask_mistakes(tgt, pad_id):
            if torch.equal(got, wrong):
                raise ExerciseError(f"{what} is wrong. {hint}")
        if (got == ~want).float().mean() > 0.75:
            raise ExerciseError(
                f"{what} is wrong: it is mostly the opposite of the right mask. True must mean "
                f"'may attend' (j <= i and tgt[b, j] != pad_id), False 'blocked'."
            )
        bad = (got != want).nonzero()[0].tolist()
        raise ExerciseError(
            f"{what} is wrong, e.g. at [batch {bad[0]}, 0, query {bad[2]}, key {bad[3]}]: got "
            f"{bool(got[tuple(bad)])}, "
            f"want {bool(want[tuple(bad)])}. Query i may attend to key j when j <= i and tgt[b, j] != pad_id."
        )
    passed("make_tgt_mask", "causal, padded keys masked, (batch, 1, seq, seq)")


# ---------------------------------------------------------------------------------- decoder layer
def _decoder_variant(
    x: Tensor,
    memory: Tensor,
    layer: DecoderLayer,
    tgt_mask: Tensor,
    memory_mask: Tensor,
    *,
    pre_norm: bool = False,
    skip: tuple[int, ...] = (),
    self_mask: bool = True,
    cross_mask: bool = True,
    cross_from_x: bool = False,
    cross_first: bool = False,
    dropouts: tuple[int, ...] = (1, 2, 3),
    dropout_after_add: bool = False,
) -> Tensor:
    """The post-norm decoder layer, or one of its plausible mistakes (selected by the flags).

    ``dropouts`` lists the residual dropouts applied (1: after the self-attention, 2: the cross-attention,
    3: the feed-forward network); ``dropout_after_add`` applies them to the sum instead of the sublayer.
    """
    drops = {1: layer.dropout1, 2: layer.dropout2, 3: layer.dropout3}

    def self_block(h: Tensor) -> Tensor:
        return layer.self_attn(h, h, h, mask=tgt_mask if self_mask else None)[0]

    def cross_block(h: Tensor) -> Tensor:
        kv = h if cross_from_x else memory
        mask = (tgt_mask if cross_from_x else memory_mask) if cross_mask else None
        return layer.cross_attn(h, kv, kv, mask=mask)[0]

    def ff_block(h: Tensor) -> Tensor:
        return layer.ff(h)

    blocks = [(1, self_block, layer.norm1), (2, cross_block, layer.norm2), (3, ff_block, layer.norm3)]
    if cross_first:
        blocks[0], blocks[1] = blocks[1], blocks[0]
    for i, (d, block, norm) in enumerate(blocks):

        def drop(h: Tensor, d: int = d) -> Tensor:
            return drops[d](h) if d in dropouts else h

        residual = 0 if i in skip else x
        if pre_norm:
            x = drop(block(norm(x))) + residual
        elif dropout_after_add:
            x = norm(drop(block(x) + residual))
        else:
            x = norm(drop(block(x)) + residual)
    return x


_LAYER_MISTAKES = [
    (
        dict(pre_norm=True),
        "This is the pre-norm order, x + sublayer(norm(x)). The post-norm layer of the "
        "original Transformer normalises AFTER the residual addition: x = norm(x + sublayer(x)).",
    ),
    (
        dict(skip=(0, 1, 2)),
        "The residual connections are missing: each sublayer's output must be ADDED to its "
        "input, x = norm(x + sublayer(x)), not x = norm(sublayer(x)).",
    ),
    (
        dict(skip=(0,)),
        "The residual connection around the self-attention is missing: x = norm1(x + self_attn(...)).",
    ),
    (
        dict(skip=(1,)),
        "The residual connection around the cross-attention is missing: x = norm2(x + cross_attn(...)).",
    ),
    (
        dict(skip=(2,)),
        "The residual connection around the feed-forward network is missing: x = norm3(x + ff(x)).",
    ),
    (
        dict(self_mask=False),
        "The self-attention ignores tgt_mask, so every position sees the future. Pass "
        "mask=tgt_mask to layer.self_attn.",
    ),
    (
        dict(cross_mask=False),
        "The cross-attention ignores memory_mask, so the decoder looks at the source's "
        "padding. Pass mask=memory_mask to layer.cross_attn.",
    ),
    (
        dict(cross_from_x=True),
        "The cross-attention takes its keys and values from x: that is a second "
        "self-attention. Keys and values must come from memory (the encoder's output), "
        "queries from x.",
    ),
    (
        dict(cross_first=True),
        "The sublayers are in the wrong order: first the (masked) self-attention, then the "
        "cross-attention, then the feed-forward network.",
    ),
    (
        dict(pre_norm=True, skip=(0, 1, 2)),
        "The residual connections are missing and the norms come first: "
        "compute x = norm(x + sublayer(x)) for each sublayer.",
    ),
]

_DROPOUT_MISTAKES = [
    (
        dict(dropouts=()),
        "Right without dropout, wrong in training mode: the three residual dropouts are missing. "
        "Apply layer.dropout1 to the self-attention's output, layer.dropout2 to the "
        "cross-attention's and layer.dropout3 to the feed-forward network's, before each residual "
        "addition: x = norm(x + dropout(sublayer(x))).",
    ),
    (
        dict(dropouts=(2, 3)),
        "layer.dropout1 is missing: apply it to the self-attention's output before adding x.",
    ),
    (
        dict(dropouts=(1, 3)),
        "layer.dropout2 is missing: apply it to the cross-attention's output before adding x.",
    ),
    (
        dict(dropouts=(1, 2)),
        "layer.dropout3 is missing: apply it to the feed-forward network's output before adding x.",
    ),
    (
        dict(dropout_after_add=True),
        "The dropout is applied to the sum x + sublayer(x): it belongs to the sublayer's "
        "output only, x = norm(x + dropout(sublayer(x))), so that the residual path "
        "carries x unchanged.",
    ),
]


@contextmanager
def _own_forward_refused(layer: nn.Module, fn: Callable[..., Any]) -> Iterator[None]:
    """Within the block, ``layer(...)`` and the layer class's own methods raise a hint: the exercise is to
    compute the layer from its submodules, not to call it."""
    name = getattr(fn, "__name__", "your function")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ExerciseError(
            f"`{name}` called the decoder layer itself (layer(...) or one of its methods): that is the "
            "answer, "
            "not the exercise. Compute it from the submodules: layer.self_attn, layer.cross_attn, layer.ff, "
            "layer.norm1..3 and layer.dropout1..3."
        )

    patched: list[tuple[type, str, Any]] = []
    try:
        for klass in type(layer).__mro__:
            if klass is nn.Module or not issubclass(klass, nn.Module):
                break
            for attr, value in list(vars(klass).items()):
                if inspect.isfunction(value) and attr not in ("__init__", "extra_repr"):
                    patched.append((klass, attr, value))
                    setattr(klass, attr, refuse)
        yield
    finally:
        for klass, attr, value in reversed(patched):
            setattr(klass, attr, value)


def _decoder_case(dropout: float, training: bool) -> tuple[DecoderLayer, tuple[Tensor, ...]]:
    """A float64 post-norm layer with non-trivial LayerNorm parameters, and its inputs (padded masks)."""
    layer = DecoderLayer(16, 4, 32, dropout=dropout, norm_first=False).double().train(training)
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
    return layer, (x, memory, tgt_mask, memory_mask)


@checker
def decoder_layer(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, memory, layer, tgt_mask, memory_mask) -> (batch, seq_t, d_model)``: a post-norm
    decoder layer computed from ``layer``'s submodules, in eval mode and in training mode (dropout)."""
    what = "decoder_layer_forward(x, memory, layer, tgt_mask, memory_mask)"
    for training in (False, True):
        torch.manual_seed(0)
        layer, (x, memory, tgt_mask, memory_mask) = _decoder_case(0.25 if training else 0.0, training)
        learner_layer = copy.deepcopy(layer)  # the learner's copy; the reference and mistakes use `layer`
        with torch.no_grad():
            torch.manual_seed(7)  # the same dropout masks for the reference and the learner
            want = layer(x, memory, tgt_mask, memory_mask)
            torch.manual_seed(7)
            with _own_forward_refused(learner_layer, fn):
                got = run(fn, x, memory, learner_layer, tgt_mask, memory_mask)
        if isinstance(got, tuple):
            raise ExerciseError(
                f"{what} returned a tuple: return only the output tensor. (Remember that "
                f"layer.self_attn(...) returns (out, weights): take [0].)"
            )
        expect_shape(got, tuple(want.shape), what)
        got = got.detach().to(torch.float64)
        if is_close(got, want, atol=1e-8):
            continue
        mistakes = _LAYER_MISTAKES + (_DROPOUT_MISTAKES if training else [])
        with torch.no_grad():
            for flags, hint in mistakes:
                torch.manual_seed(7)
                if is_close(
                    got, _decoder_variant(x, memory, layer, tgt_mask, memory_mask, **flags), atol=1e-8
                ):
                    mode = " in training mode (dropout 0.25)" if training else ""
                    raise ExerciseError(f"{what}{mode} is wrong. {hint}")
        expect_close(
            got,
            want,
            what + (" in training mode (dropout 0.25)" if training else ""),
            atol=1e-8,
            rtol=1e-6,
            hint=(
                "For each sublayer compute x = norm(x + dropout(sublayer(x))): self-attention (x, x, x, "
                "mask=tgt_mask) with dropout1 and norm1, cross-attention (x, memory, memory, "
                "mask=memory_mask) with "
                "dropout2 and norm2, feed-forward with dropout3 and norm3."
            ),
        )
    passed(
        "decoder_layer_forward",
        "post-norm: self-attention, cross-attention, feed-forward, each with "
        "dropout and residual; eval and training mode",
    )


# ------------------------------------------------------------------------------ teacher-forced loss
HINT_LOSS_NO_SHIFT = (
    "The decoder reads the very tokens it must predict: with the causal mask, position i sees token i and "
    "copies it. Feed tgt[:, :-1] (<bos> y1 .. yn) and predict tgt[:, 1:] (y1 .. yn <eos>), one position "
    "ahead."
)
HINT_LOSS_REVERSE_SHIFT = (
    "The shift goes the wrong way: the decoder's input starts with <bos>, tgt[:, :-1], and position i must "
    "predict the NEXT token, tgt[:, 1:]."
)
HINT_LOSS_NO_CAUSAL = (
    "The target mask has no causal part, so every position sees the later target tokens, the answers. Use "
    "the "
    "causal + padding mask of tgt[:, :-1] (make_tgt_mask of section 6.2)."
)
HINT_LOSS_NO_TGT_MASK = (
    "No target mask: every position sees the whole target, the answers included. Pass the causal + padding "
    "mask "
    "of the decoder's input tgt[:, :-1] (make_tgt_mask of section 6.2)."
)
HINT_LOSS_NO_SRC_MASK = (
    "The source padding is not masked: pass src_mask = (src != pad_id)[:, None, None, :] to the encoder "
    "and the "
    "same mask as memory_mask to the decoder's cross-attention."
)
HINT_LOSS_NO_ENCODER_MASK = (
    "The encoder sees the source padding: pass src_mask = (src != pad_id)[:, None, None, :] as the model's "
    "src_mask (you passed it only as memory_mask)."
)
HINT_LOSS_NO_MEMORY_MASK = (
    "The cross-attention looks at the source padding: pass the source padding mask as memory_mask too (the "
    "third mask of model(src, tgt_in, src_mask, tgt_mask, memory_mask))."
)
HINT_LOSS_PAD_COUNTED = (
    "The padding positions are counted in the loss: their targets are not tokens to learn. Use "
    "F.cross_entropy(..., ignore_index=pad_id) (or average over the positions whose target is not pad_id)."
)
HINT_LOSS_SUM = "Return the mean over the real target tokens, not their sum."
HINT_LOSS_NOT_SCALAR = "Return one number for the batch: a 0-dimensional tensor, the mean cross entropy."
HINT_LOSS_NO_GRAD = (
    "The loss does not carry gradients back to the model (.item(), .detach() or torch.no_grad()?): training "
    "calls loss.backward() on it."
)

_SEQ2SEQ_MISTAKES = {
    "no_shift": HINT_LOSS_NO_SHIFT,
    "reverse_shift": HINT_LOSS_REVERSE_SHIFT,
    "no_causal": HINT_LOSS_NO_CAUSAL,
    "no_tgt_mask": HINT_LOSS_NO_TGT_MASK,
    "no_src_mask": HINT_LOSS_NO_SRC_MASK,
    "no_encoder_mask": HINT_LOSS_NO_ENCODER_MASK,
    "no_memory_mask": HINT_LOSS_NO_MEMORY_MASK,
    "pad_counted": HINT_LOSS_PAD_COUNTED,
    "sum": HINT_LOSS_SUM,
}


def _seq2seq_variant(model: nn.Module, src: Tensor, tgt: Tensor, pad_id: int, mistake: str = "") -> Tensor:
    """The teacher-forced loss, or what it is with one plausible ``mistake`` ("" is the right answer)."""
    if mistake == "no_shift":
        tgt_in, tgt_out = tgt, tgt
    elif mistake == "reverse_shift":
        tgt_in, tgt_out = tgt[:, 1:], tgt[:, :-1]
    else:
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    src_mask = (src != pad_id)[:, None, None, :]
    seq = tgt_in.shape[1]
    causal = torch.arange(seq)[None, :] <= torch.arange(seq)[:, None]
    keys = (tgt_in != pad_id)[:, None, None, :]
    tgt_mask = {"no_causal": keys, "no_tgt_mask": None}.get(mistake, causal[None, None] & keys)
    encoder_mask = None if mistake in ("no_src_mask", "no_encoder_mask") else src_mask
    memory_mask = None if mistake in ("no_src_mask", "no_memory_mask") else src_mask
    logits = model(src, tgt_in, encoder_mask, tgt_mask, memory_mask)
    flat = (logits.flatten(0, 1), tgt_out.flatten())
    if mistake == "pad_counted":
        return F.cross_entropy(*flat)
    return F.cross_entropy(*flat, ignore_index=pad_id, reduction="sum" if mistake == "sum" else "mean")


def _quiet_class(cls: type) -> type:
    """A subclass of ``cls`` whose repr is one line (a crash hint lists the arguments it was called with)."""
    return type(cls.__name__, (cls,), {"__repr__": lambda self: f"<{cls.__name__} model>"})


def _seq2seq_cases() -> list[tuple[nn.Module, Tensor, Tensor, int]]:
    """Two small float64 models (padding id 0 and 3) with padded sources and targets ``[<bos> .. <eos>
    pad]``."""
    from tfmcourse.transformer import Transformer

    g = torch.Generator().manual_seed(606)
    cases = []
    for pad_id, bos, eos, src_lens, tgt_lens in ((0, 1, 2, (6, 4, 2), (5, 3, 4)), (3, 0, 1, (3, 5), (6, 2))):
        torch.manual_seed(60 + pad_id)
        model = (
            Transformer(
                11,
                13,
                d_model=16,
                num_heads=2,
                num_encoder_layers=1,
                num_decoder_layers=2,
                d_ff=32,
                dropout=0.0,
                max_len=16,
                pad_id=pad_id,
            )
            .double()
            .eval()
        )
        batch, seq_s, n_out = len(src_lens), max(src_lens), max(tgt_lens)
        src = torch.randint(4, 11, (batch, seq_s), generator=g)
        body = torch.randint(4, 13, (batch, n_out), generator=g)
        tgt = torch.full((batch, n_out + 2), pad_id)
        tgt[:, 0] = bos
        for b, (n_src, n_tgt) in enumerate(zip(src_lens, tgt_lens)):
            src[b, n_src:] = pad_id
            tgt[b, 1 : n_tgt + 1] = body[b, :n_tgt]
            tgt[b, n_tgt + 1] = eos
        cases.append((model, src, tgt, pad_id))
    return cases


@checker
def seq2seq_loss(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(model, src, tgt, pad_id) -> scalar``: the teacher-forced cross entropy of an
    encoder-decoder, decoder input ``tgt[:, :-1]``, expected output ``tgt[:, 1:]``, with the source padding,
    causal and target padding masks, averaged over the non-padding targets."""
    for model, src, tgt, pad_id in _seq2seq_cases():
        want = _seq2seq_variant(model, src, tgt, pad_id).detach()
        learner_model = copy.deepcopy(model)
        learner_model.__class__ = _quiet_class(type(model))  # a one-line repr in the hints of crashes
        what = f"seq2seq_loss(model, src {tuple(src.shape)}, tgt {tuple(tgt.shape)}, pad_id={pad_id})"
        got = run(fn, learner_model, src, tgt, pad_id)
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{what} returned a {type(got).__name__}. {HINT_LOSS_NOT_SCALAR}")
        if got.ndim != 0:
            raise ExerciseError(f"{what} returned shape {tuple(got.shape)}. {HINT_LOSS_NOT_SCALAR}")
        if not got.requires_grad:
            raise ExerciseError(f"{what}: {HINT_LOSS_NO_GRAD}")
        got = got.detach().to(torch.float64)
        if is_close(got, want, atol=1e-10):
            continue
        with torch.no_grad():
            for mistake, hint in _SEQ2SEQ_MISTAKES.items():
                try:
                    variant = _seq2seq_variant(model, src, tgt, pad_id, mistake)
                except ValueError:
                    continue
                if is_close(got, variant, atol=1e-10):
                    raise ExerciseError(
                        f"{what} returned {got.item():.6f}, expected {want.item():.6f}. {hint}"
                    )
            if pad_id != 0 and is_close(got, _seq2seq_variant(model, src, tgt, 0), atol=1e-10):
                raise ExerciseError(
                    f"{what} returned {got.item():.6f}, expected {want.item():.6f}. The padding id "
                    "is hard-coded as 0: use the pad_id argument."
                )
        raise ExerciseError(
            f"{what} returned {got.item():.6f}, expected {want.item():.6f}. Feed tgt[:, :-1] with the "
            "causal + "
            "padding mask, the source with its padding mask (also as memory_mask), and average the cross "
            "entropy "
            "against tgt[:, 1:] over the targets that are not pad_id."
        )
    passed("seq2seq_loss", "shifted target, three masks, padding ignored")
