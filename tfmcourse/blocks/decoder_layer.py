"""The decoder layer: causal self-attention, cross-attention into the memory, then feed-forward
(chapter 6)."""

from __future__ import annotations

from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse import checks
from tfmcourse.blocks.common import LAYER_ARGS, MemoryMask, TgtMask, _config_of, _copy_from_torch
from tfmcourse.blocks.feedforward import FeedForward
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import Dims, entry_point
from tfmcourse.config import TransformerConfig, configurable
from tfmcourse.multihead import MultiHeadAttention

__all__ = ["DecoderLayer"]


def _check_decoder_layer(
    self: DecoderLayer,
    x: object,
    memory: object,
    tgt_mask: object = None,
    memory_mask: object = None,
    cache: object = None,
    layer: int = 0,
) -> None:
    dims = Dims(d_model=self.d_model)
    dims(x, "x", "batch seq_t d_model")
    dims(memory, "memory", "batch seq_s d_model")
    batch, seq_t, seq_s, heads = x.shape[0], x.shape[1], memory.shape[1], self.config.num_heads
    cached = 0
    if cache is not None:
        check_cache(cache, len(cache), batch)
        cached = cache.length
    if tgt_mask is not None:
        checks.check_mask(tgt_mask, "tgt_mask", (batch, heads, seq_t, cached + seq_t))
    if memory_mask is not None:
        checks.check_mask(memory_mask, "memory_mask", (batch, heads, seq_t, seq_s))


class DecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention into the memory, feed-forward.

    Each of the three sublayers has a residual connection, dropout and a LayerNorm (post-norm or
    pre-norm); ``DecoderLayer(config)`` reads the fields :class:`EncoderLayer` reads.

    Submodules: ``self_attn`` and ``cross_attn`` (:class:`MultiHeadAttention`), ``ff``
    (:class:`FeedForward`), ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.
    In the cross-attention the queries come from the decoder (``x``), the keys and values from the
    encoder's output ``memory``: every target position looks into the whole source.
    """

    @configurable(*LAYER_ARGS)
    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = self.config = config
        self.d_model, self.norm_first = c.d_model, c.norm_first
        self.self_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.cross_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.ff = FeedForward(c.d_model, c.d_ff, activation=c.activation, dropout=c.dropout, bias=c.bias)
        self.norm1 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm2 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm3 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.dropout1 = nn.Dropout(c.dropout)
        self.dropout2 = nn.Dropout(c.dropout)
        self.dropout3 = nn.Dropout(c.dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None, cache: KVCache | None, layer: int) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask, cache=cache, layer=layer)[0])

    def _cross_attention(self, x: Tensor, memory: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout2(self.cross_attn(x, memory, memory, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout3(self.ff(x))

    @entry_point(_check_decoder_layer)
    def forward(
        self,
        x: Float[Tensor, "batch seq_t d_model"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: TgtMask | None = None,
        memory_mask: MemoryMask | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """``x (batch, seq_t, d_model)``, ``memory (batch, seq_s, d_model)`` -> ``(batch, seq_t, d_model)``.

        Args:
            x: the target-side vectors.
            memory: the encoder's output.
            tgt_mask: for the self-attention, broadcastable to ``(batch, heads, seq_t, seq_k)`` where
                ``seq_k = cached + seq_t``; usually causal (and padding) so position ``i`` sees ``<= i``.
            memory_mask: for the cross-attention, broadcastable to ``(batch, heads, seq_t, seq_s)``;
                usually the source padding mask ``(batch, 1, 1, seq_s)``.
            cache: ``None``, or a :class:`~tfmcourse.cache.KVCache` whose slot ``layer`` holds the
                self-attention keys and values of all earlier target positions; those of ``x`` are
                appended. Feeding one new position at a time needs no ``tgt_mask``: the cache holds
                only the past.
            layer: this layer's slot in ``cache``.
        """
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, cache, layer)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask)
            x = x + self._feed_forward(self.norm3(x))
        else:
            x = self.norm1(x + self._self_attention(x, tgt_mask, cache, layer))
            x = self.norm2(x + self._cross_attention(x, memory, memory_mask))
            x = self.norm3(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.Module, impl: str = "naive") -> DecoderLayer:
        """A copy of ``torch.nn.TransformerDecoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first; torch's ``multihead_attn`` is our ``cross_attn``. torch's boolean
        masks mean ``True`` = NOT allowed: convert them with :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        w = layer.linear1.weight
        ours = cls(_config_of(layer, impl)).to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        ours.cross_attn = MultiHeadAttention.from_torch(layer.multihead_attn, impl=impl)
        return _copy_from_torch(ours, layer, ("norm1", "norm2", "norm3"))
