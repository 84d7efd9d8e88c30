"""The hyperparameters of chapter 12's ViT, :class:`ViTConfig`, checked once when it is built, with the
sizes that follow from them (the patch grid, the number of patches, a patch's length)."""

from __future__ import annotations

from dataclasses import dataclass

from tfmcourse.blocks import ACTIVATIONS
from tfmcourse.checks import check_positive
from tfmcourse.multihead import IMPLS

__all__ = ["ViTConfig"]


@dataclass
class ViTConfig:
    """The hyperparameters of a :class:`~tfmcourse.models.vit.model.ViT`.

    Args:
        image_size: height and width of the (square) images, in pixels.
        patch_size: height and width of a patch; must divide ``image_size``.
        channels: colour channels (1 for grey images, 3 for RGB).
        d_model: width of every vector; ``num_heads`` must divide it.
        num_layers: encoder layers.
        num_heads: attention heads per layer.
        d_ff: hidden width of the feed-forward networks (``None``: ``4 * d_model``).
        dropout: on the embeddings, the attention weights and each sublayer's output.
        layer_norm_eps: ``eps`` of every LayerNorm (ViT uses ``1e-12`` in Hugging Face).
        activation: of the feed-forward networks (ViT: exact ``"gelu"``).
        impl: attention implementation, ``"naive"`` or ``"sdpa"``.
    """

    image_size: int = 8
    patch_size: int = 2
    channels: int = 1
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int | None = None
    dropout: float = 0.0
    layer_norm_eps: float = 1e-12
    activation: str = "gelu"
    impl: str = "naive"

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        sizes = ("image_size", "patch_size", "channels", "d_model", "num_layers", "num_heads", "d_ff")
        check_positive(**{name: getattr(self, name) for name in sizes})
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"patch_size={self.patch_size} must divide image_size={self.image_size}")
        if self.d_model % self.num_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")

    @property
    def grid(self) -> int:
        """Patches per row (and per column)."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid**2

    @property
    def patch_dim(self) -> int:
        """Numbers in one flattened patch: ``patch_size**2 * channels``."""
        return self.patch_size**2 * self.channels
