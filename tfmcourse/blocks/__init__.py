"""The building blocks of a Transformer layer (chapters 5 and 6).

- :class:`FeedForward`: the position-wise feed-forward network, ``linear2(act(linear1(x)))``, applied
  to every position on its own.
- :class:`EncoderLayer`: self-attention then feed-forward, each wrapped in a residual connection,
  dropout and a LayerNorm.
- :class:`DecoderLayer`: masked (causal) self-attention, cross-attention into the encoder's output
  (the *memory*), then feed-forward, each wrapped the same way.

Both layers come in two flavours, chosen by ``norm_first``:

- post-norm (``norm_first=False``, the original Transformer): ``x = norm(x + dropout(sublayer(x)))``;
- pre-norm (``norm_first=True``): ``x = x + dropout(sublayer(norm(x)))``.

The computation follows ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer`` step by
step (same order of activation, dropouts and norms), so ``from_torch`` copies give the same outputs.

The layers are built from a :class:`~tfmcourse.config.TransformerConfig` (``EncoderLayer(config)``, or
``EncoderLayer(d_model=16, num_heads=4, d_ff=64)``, see :mod:`tfmcourse.config`).

Shapes are batch first: ``x (batch, seq, d_model)``. Masks are boolean, ``True`` = may attend,
broadcastable to ``(batch, heads, seq_q, seq_k)``: a ``(seq, seq)`` causal mask, a
``(batch, 1, 1, seq_k)`` padding mask, or their combination ``(batch, 1, seq_q, seq_k)``. A layer called
on its own checks its inputs; called by a stack or a model, it trusts them (:mod:`tfmcourse.checks`).
"""

from __future__ import annotations

from tfmcourse.blocks.common import LAYER_ARGS, MemoryMask, SelfMask, TgtMask, check_mask, check_x
from tfmcourse.blocks.decoder_layer import DecoderLayer
from tfmcourse.blocks.encoder_layer import EncoderLayer
from tfmcourse.blocks.feedforward import FeedForward
from tfmcourse.config import ACTIVATIONS

__all__ = [
    "ACTIVATIONS",
    "FeedForward",
    "EncoderLayer",
    "DecoderLayer",
    "LAYER_ARGS",
    "check_x",
    "check_mask",
    "SelfMask",
    "TgtMask",
    "MemoryMask",
]
