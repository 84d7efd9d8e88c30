"""The hyperparameters of chapter 13's CLIP: :class:`CLIPConfig` (both towers, the shared space, the
temperature), checked once when it is built; :meth:`CLIPConfig.vit_config` gives the image tower's."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tfmcourse.blocks import ACTIVATIONS
from tfmcourse.checks import check_positive
from tfmcourse.models.vit import ViTConfig
from tfmcourse.multihead import IMPLS

__all__ = ["CLIPConfig"]


@dataclass
class CLIPConfig:
    """The hyperparameters of a :class:`~tfmcourse.models.clip.model.CLIP`.

    Args:
        vocab_size: number of token ids of the text tower.
        eot_id: the id of the end-of-text token, whose output vector represents the text (the first one
            in each row); ``None``: the position of the largest id in each row (the original CLIP's
            rule, for vocabularies whose EOT has the largest id).
        image_size, patch_size, channels: of the (square) images, as :class:`~tfmcourse.models.vit.ViTConfig`.
        vision_d_model, vision_layers, vision_heads, vision_d_ff: width, depth, heads and feed-forward
            width of the image tower (``vision_d_ff=None``: ``4 * vision_d_model``).
        max_len: the longest text (number of learned text positions).
        text_d_model, text_layers, text_heads, text_d_ff: the same for the text tower.
        proj_dim: width of the shared space both towers project into.
        activation: of every feed-forward network: ``"quick_gelu"`` (CLIP's) or one of the package's
            activations (``"gelu"``, ``"gelu_tanh"``, ``"relu"``).
        layer_norm_eps: ``eps`` of every LayerNorm (CLIP: ``1e-5``).
        dropout: on the attention weights and each sublayer's output, in both towers (CLIP: 0).
        logit_scale_init: the starting ``logit_scale`` = ``log(1 / temperature)``; CLIP's is
            ``log(1 / 0.07)`` (HF's ``logit_scale_init_value = 2.6592``).
        impl: attention implementation, ``"naive"`` or ``"sdpa"``.
    """

    vocab_size: int
    eot_id: int | None = None
    image_size: int = 8
    patch_size: int = 4
    channels: int = 1
    vision_d_model: int = 64
    vision_layers: int = 2
    vision_heads: int = 4
    vision_d_ff: int | None = None
    max_len: int = 16
    text_d_model: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_d_ff: int | None = None
    proj_dim: int = 32
    activation: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    dropout: float = 0.0
    logit_scale_init: float = math.log(1 / 0.07)
    impl: str = "naive"

    def __post_init__(self) -> None:
        if self.vision_d_ff is None:
            self.vision_d_ff = 4 * self.vision_d_model
        if self.text_d_ff is None:
            self.text_d_ff = 4 * self.text_d_model
        sizes = (
            "vocab_size",
            "image_size",
            "patch_size",
            "channels",
            "vision_d_model",
            "vision_layers",
            "vision_heads",
            "vision_d_ff",
            "max_len",
            "text_d_model",
            "text_layers",
            "text_heads",
            "text_d_ff",
            "proj_dim",
        )
        check_positive(**{name: getattr(self, name) for name in sizes})
        if self.eot_id is not None and (
            not isinstance(self.eot_id, int)
            or isinstance(self.eot_id, bool)
            or not 0 <= self.eot_id < self.vocab_size
        ):
            raise ValueError(
                f"eot_id must be None or a token id in [0, vocab_size={self.vocab_size}), got {self.eot_id!r}"
            )
        if self.text_d_model % self.text_heads != 0:
            raise ValueError(
                f"text_d_model={self.text_d_model} is not divisible by text_heads={self.text_heads}"
            )
        if self.activation != "quick_gelu" and self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be 'quick_gelu' or one of {tuple(ACTIVATIONS)}, got {self.activation!r}"
            )
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.logit_scale_init, (int, float)) or not math.isfinite(self.logit_scale_init):
            raise ValueError(f"logit_scale_init must be a finite number, got {self.logit_scale_init!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")
        # The image tower's own checks (patch_size divides image_size, heads divide d_model).
        self.vit_config()

    def vit_config(self) -> ViTConfig:
        """The :class:`~tfmcourse.models.vit.ViTConfig` of the image tower (its layers are then rebuilt by
        :func:`~tfmcourse.models.clip.layers.clip_layer`, which sets the activation)."""
        return ViTConfig(
            image_size=self.image_size,
            patch_size=self.patch_size,
            channels=self.channels,
            d_model=self.vision_d_model,
            num_layers=self.vision_layers,
            num_heads=self.vision_heads,
            d_ff=self.vision_d_ff,
            dropout=self.dropout,
            layer_norm_eps=self.layer_norm_eps,
            activation="gelu" if self.activation == "quick_gelu" else self.activation,
            impl=self.impl,
        )
