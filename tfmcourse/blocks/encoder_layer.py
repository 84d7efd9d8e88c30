"""The encoder layer: self-attention then feed-forward, each in a residual connection (chapter 5)."""

from __future__ import annotations

from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse import checks
from tfmcourse.blocks.common import LAYER_ARGS, SelfMask, _config_of, _copy_from_torch
from tfmcourse.blocks.feedforward import FeedForward
from tfmcourse.checks import Dims, entry_point
from tfmcourse.config import TransformerConfig, configurable
from tfmcourse.multihead import MultiHeadAttention

__all__ = ["EncoderLayer"]


def _check_encoder_layer(self: EncoderLayer, x: object, mask: object = None) -> None:
    Dims(d_model=self.d_model)(x, "x", "batch seq d_model")
    if mask is not None:
        checks.check_mask(mask, "mask", (x.shape[0], self.config.num_heads, x.shape[1], x.shape[1]))


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention and feed-forward, each with residual, dropout and LayerNorm.

    ``EncoderLayer(config)`` reads ``d_model``, ``num_heads``, ``d_ff``, ``dropout`` (on the attention
    weights, inside the feed-forward network and on each sublayer's output before the residual addition,
    as in ``torch.nn``), ``activation``, ``norm_first`` (``False``: post-norm ``x = norm(x + sublayer(x))``,
    the original Transformer; ``True``: pre-norm ``x = x + sublayer(norm(x))``), ``layer_norm_eps``,
    ``impl`` and ``bias`` of the :class:`~tfmcourse.config.TransformerConfig`.

    Submodules: ``self_attn`` (:class:`MultiHeadAttention`), ``ff`` (:class:`FeedForward`), ``norm1``,
    ``norm2`` (``nn.LayerNorm``), ``dropout1``, ``dropout2`` (residual dropouts).
    """

    @configurable(*LAYER_ARGS)
    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = self.config = config
        self.d_model, self.norm_first = c.d_model, c.norm_first
        self.self_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.ff = FeedForward(c.d_model, c.d_ff, activation=c.activation, dropout=c.dropout, bias=c.bias)
        self.norm1 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm2 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.dropout1 = nn.Dropout(c.dropout)
        self.dropout2 = nn.Dropout(c.dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.ff(x))

    @entry_point(_check_encoder_layer)
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], mask: SelfMask | None = None
    ) -> Float[Tensor, "batch seq d_model"]:
        """``(batch, seq, d_model) -> (batch, seq, d_model)``.

        ``mask``: boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq, seq)``; for
        source padding pass ``(batch, 1, 1, seq)``.
        """
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), mask)
            x = x + self._feed_forward(self.norm2(x))
        else:
            x = self.norm1(x + self._self_attention(x, mask))
            x = self.norm2(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.Module, impl: str = "naive") -> EncoderLayer:
        """A copy of ``torch.nn.TransformerEncoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first. torch's boolean masks mean ``True`` = NOT allowed: convert them with
        :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        w = layer.linear1.weight
        ours = cls(_config_of(layer, impl)).to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        return _copy_from_torch(ours, layer, ("norm1", "norm2"))
