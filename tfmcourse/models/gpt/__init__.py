"""A decoder-only language model, GPT-2's layout, built from the book's blocks (chapter 9).

A GPT reads token ids ``(batch, seq)`` and returns, at every position, scores (logits) for the token
that comes next, ``(batch, seq, vocab)``. It is the decoder of chapter 6 without the cross-attention:

1. token embeddings plus learned position embeddings (:class:`~tfmcourse.positional.LearnedPositions`);
2. ``num_layers`` pre-norm blocks (:class:`GPTBlock`), each ``x = x + attn(norm1(x))`` with a causal
   mask (position ``i`` sees positions ``<= i`` only), then ``x = x + ff(norm2(x))`` with the tanh
   approximation of GELU;
3. a final LayerNorm and the output projection ``lm_head``, whose weight *is* the token embedding
   matrix (tied embeddings): the same vector represents a token on the way in and on the way out.

**Causal attention without a mask.** A block's self-attention is called with ``is_causal=True`` and no
mask: with ``impl="sdpa"`` torch then receives ``is_causal=True`` and may run its FlashAttention kernel,
which an explicit mask rules out (:func:`tfmcourse.attention.fused_attention`).

**KV cache.** :meth:`GPT.new_cache` gives a :class:`~tfmcourse.cache.KVCache` with one slot per block.
A call ``model(ids, cache=cache)`` appends the keys and values of ``ids`` to every block's slot and puts
``ids`` at positions ``cached .. cached + seq - 1``; feeding a prompt once and then one new token per call
gives the same logits as re-running the whole sequence, at the cost of one position per call
(:mod:`tfmcourse.sampling`).

**Hugging Face.** :meth:`GPT.from_hf` copies a ``transformers.GPT2LMHeadModel`` into a GPT and
:meth:`GPT.to_hf` does the reverse; the two compute the same logits. GPT-2 stores its linear layers as
``Conv1D`` modules whose weight is ``(in, out)``, the transpose of ``nn.Linear``'s ``(out, in)``, and
packs the query, key and value projections into one ``c_attn`` layer of width ``3 * d_model``.
``transformers`` is imported only inside those two methods.

**The package.** :mod:`~tfmcourse.models.gpt.config` holds :class:`GPTConfig`,
:mod:`~tfmcourse.models.gpt.model` :class:`GPTBlock` and :class:`GPT`, :mod:`~tfmcourse.models.gpt.hf` the
weight copies to and from Hugging Face; :func:`lm_loss` and :func:`evaluate_lm` live in
:mod:`tfmcourse.losses` and are presented here too.
"""

from tfmcourse.models.gpt.config import GPTConfig
from tfmcourse.models.gpt.model import GPT, GPTBlock

__all__ = ["GPTConfig", "GPTBlock", "GPT", "lm_loss", "evaluate_lm"]


def __getattr__(name: str):
    """``lm_loss`` and ``evaluate_lm`` live in :mod:`tfmcourse.losses` (training sits above the models);
    they are still importable from here, loaded on first use."""
    if name in ("lm_loss", "evaluate_lm"):
        from tfmcourse import losses

        return getattr(losses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
