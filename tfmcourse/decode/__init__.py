"""Turning a trained encoder-decoder into output sequences: greedy decoding and beam search (chapter 7).

Both decoders work on a batch of sources at once and feed the decoder one new token per step through
its KV cache (so a step costs one position, not the whole prefix). Both stop a sequence at ``<eos>``,
never produce more than ``max_len`` tokens, and never produce ``<pad>`` or ``<bos>`` (their scores are
set to ``-inf``, so the probabilities are renormalised over the other tokens).

The model needs the interface of :class:`tfmcourse.models.transformer.Transformer`:

- ``encode(src, src_mask) -> memory (batch, seq_s, d_model)``;
- ``decode(tgt, memory, tgt_mask, memory_mask, cache=None) -> logits (batch, seq_t, vocab)``;
- ``new_cache() -> cache`` (a :class:`~tfmcourse.cache.KVCache`; beam search reorders its batch rows with
  ``cache.reorder(rows)``).

Masks are boolean, ``True`` = may attend; the source padding mask is ``(batch, 1, 1, seq_s)``.

The decoders live in :mod:`~tfmcourse.decode.greedy` and :mod:`~tfmcourse.decode.beam`; :func:`translate`
and :func:`cross_attention_weights` in :mod:`~tfmcourse.decode.translation`.
"""

from tfmcourse.decode.beam import Hypothesis, beam_search, length_penalty
from tfmcourse.decode.greedy import greedy_decode
from tfmcourse.decode.translation import cross_attention_weights, translate

__all__ = [
    "greedy_decode",
    "beam_search",
    "Hypothesis",
    "length_penalty",
    "translate",
    "cross_attention_weights",
]
