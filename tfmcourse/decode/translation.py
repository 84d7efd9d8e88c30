"""Using a trained encoder-decoder on text (chapter 7): :func:`translate` (encode, decode greedily or with
beam search, decode the ids) and :func:`cross_attention_weights` (what the decoder looks at).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.decode.beam import beam_search
from tfmcourse.decode.greedy import _src_mask, greedy_decode

__all__ = ["translate", "cross_attention_weights"]


def translate(
    model: nn.Module,
    texts: Sequence[str],
    src_vocab: Any,
    tgt_vocab: Any,
    *,
    method: str = "greedy",
    beam_size: int = 4,
    alpha: float = 0.0,
    max_len: int = 32,
    batch_size: int = 256,
) -> list[str]:
    """Translate ``texts`` with ``model`` in eval mode: encode with ``src_vocab``, decode greedily
    (``method="greedy"``) or with beam search (``"beam"``), and turn the best output into text with
    ``tgt_vocab`` (:class:`tfmcourse.data.translation.Vocab` objects)."""
    if method not in ("greedy", "beam"):
        raise ValueError(f"method must be 'greedy' or 'beam', got {method!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    specials = dict(
        bos_id=tgt_vocab.bos_id, eos_id=tgt_vocab.eos_id, pad_id=tgt_vocab.pad_id, max_len=max_len
    )
    out: list[str] = []
    try:
        for start in range(0, len(texts), batch_size):
            src = src_vocab.encode_batch(texts[start : start + batch_size]).to(device)
            if method == "greedy":
                out += tgt_vocab.decode_batch(greedy_decode(model, src, **specials).cpu())
            else:
                hyps = beam_search(model, src, beam_size=beam_size, alpha=alpha, n_best=1, **specials)
                out += [tgt_vocab.decode(h[0].tokens) for h in hyps]
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def cross_attention_weights(
    model: nn.Module, src: Int[Tensor, "batch seq_s"], tgt: Int[Tensor, "batch seq_t"], *, pad_id: int = 0
) -> list[Float[Tensor, "batch heads seq_t seq_s"]]:
    """The cross-attention weights of every decoder layer when ``model`` reads ``tgt`` (teacher forcing).

    ``tgt`` is the decoder input (``<bos>`` first). Row ``i`` of a layer's weights says how much the
    decoder, when predicting the token after ``tgt[:, i]``, looks at each source position. Works with
    :class:`tfmcourse.models.transformer.Transformer` (it asks each ``decoder.layers[i].cross_attn`` for its
    weights with a forward hook). Returns one ``(batch, heads, seq_t, seq_s)`` tensor per layer.
    """
    captured: list[Tensor] = []

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True}

    def keep_weights(module, args, kwargs, output):
        captured.append(output[1])

    handles = []
    for layer in model.decoder.layers:
        handles.append(layer.cross_attn.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(layer.cross_attn.register_forward_hook(keep_weights, with_kwargs=True))
    was_training = model.training
    model.eval()
    try:
        src_mask = _src_mask(src, pad_id)
        tgt_mask = (
            causal_mask(tgt.shape[1], device=tgt.device)[None, None] & (tgt != pad_id)[:, None, None, :]
        )
        model(src, tgt, src_mask, tgt_mask, src_mask)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return captured
