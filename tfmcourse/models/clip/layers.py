"""The encoder layer of both CLIP towers (chapter 13): CLIP's quick GELU (:func:`quick_gelu`,
:class:`QuickGELUFeedForward`) and :func:`clip_layer`, the one place where a CLIP layer is built."""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.blocks import EncoderLayer, FeedForward
from tfmcourse.models.clip.config import CLIPConfig

__all__ = ["quick_gelu", "QuickGELUFeedForward", "clip_layer"]


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def quick_gelu(x: Tensor) -> Tensor:
    """CLIP's activation: ``x * sigmoid(1.702 * x)``, within about 0.02 of the exact GELU everywhere."""
    return x * torch.sigmoid(1.702 * x)


class QuickGELUFeedForward(FeedForward):
    """The package's :class:`~tfmcourse.blocks.FeedForward` with CLIP's :func:`quick_gelu` as activation:
    ``linear2(dropout(quick_gelu(linear1(x))))``, ``(..., d_model) -> (..., d_model)``."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__(d_model, d_ff, activation="gelu", dropout=dropout)  # the layers and the checks
        self.activation = "quick_gelu"

    def forward(self, x: Float[Tensor, "... d_model"]) -> Float[Tensor, "... d_model"]:
        """``(..., d_model) -> (..., d_model)``, each position independently."""
        if not isinstance(x, Tensor) or x.ndim < 1 or x.shape[-1] != self.d_model:
            shape = _shape(x) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., d_model={self.d_model}), got {shape}")
        return self.linear2(self.dropout(quick_gelu(self.linear1(x))))


def clip_layer(config: CLIPConfig, d_model: int, num_heads: int, d_ff: int) -> EncoderLayer:
    """One CLIP layer (either tower) from the package's encoder layer: pre-norm, CLIP's activation and
    ``eps``, no dropout after the feed-forward activation. (The only place where
    :mod:`tfmcourse.models.clip` calls the layer's constructor.)"""
    activation = "gelu" if config.activation == "quick_gelu" else config.activation
    layer = EncoderLayer(
        d_model,
        num_heads,
        d_ff,
        dropout=config.dropout,
        activation=activation,
        norm_first=True,
        layer_norm_eps=config.layer_norm_eps,
        impl=config.impl,
    )
    if config.activation == "quick_gelu":
        layer.ff = QuickGELUFeedForward(d_model, d_ff)
    else:
        layer.ff.dropout = nn.Dropout(0.0)
    return layer
