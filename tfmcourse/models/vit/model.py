"""Chapter 12's model: :func:`patchify` (an image as a sequence of patches), the encoder :class:`ViT`
(patch embedding, ``[CLS]``, learned positions, pre-norm encoder layers) and :class:`ViTClassifier` (one
linear layer on ``[CLS]``). The images are checked here, where a call enters the model."""

from __future__ import annotations

import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.blocks import EncoderLayer
from tfmcourse.checks import entry_point
from tfmcourse.models.vit.config import ViTConfig
from tfmcourse.models.vit.hf import config_from_hf, copy_weights_from_hf

__all__ = ["ViT", "ViTClassifier", "patchify"]


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _layer(config: ViTConfig) -> EncoderLayer:
    """One ViT layer from the package's encoder layer: pre-norm, ViT's activation and ``eps``.

    As in ViT, there is no dropout after the feed-forward activation. (The only place where this
    module calls the layer's constructor.)
    """
    layer = EncoderLayer(
        config.d_model,
        config.num_heads,
        config.d_ff,
        dropout=config.dropout,
        activation=config.activation,
        norm_first=True,
        layer_norm_eps=config.layer_norm_eps,
        impl=config.impl,
    )
    layer.ff.dropout = nn.Dropout(0.0)
    return layer


def _check_pixels(pixels: object, channels: int, image_size: int | None = None) -> None:
    if not isinstance(pixels, Tensor) or pixels.ndim != 4 or not pixels.is_floating_point():
        what = (
            f"dtype {pixels.dtype}, shape {_shape(pixels)}"
            if isinstance(pixels, Tensor)
            else type(pixels).__name__
        )
        raise ValueError(f"pixels must be a float (batch, channels, height, width) tensor, got {what}")
    if pixels.shape[1] != channels:
        raise ValueError(
            f"pixels has shape {_shape(pixels)}: expected {channels} channel(s) on axis 1 "
            f"(batch, channels, height, width)"
        )
    if image_size is not None and tuple(pixels.shape[2:]) != (image_size, image_size):
        raise ValueError(f"pixels has shape {_shape(pixels)}: expected images of {image_size}x{image_size}")


def patchify(
    pixels: Float[Tensor, "batch channels height width"], patch_size: int
) -> Float[Tensor, "batch patches patch_dim"]:
    """Cut images into non-overlapping ``patch_size x patch_size`` patches, each flattened.

    ``(batch, c, H, W) -> (batch, (H/p) * (W/p), p * p * c)``; patches in reading order (row by row),
    each flattened row by row with the channels innermost: ``"b c (h p1) (w p2) -> b (h w) (p1 p2 c)"``.
    """
    if not isinstance(patch_size, int) or isinstance(patch_size, bool) or patch_size <= 0:
        raise ValueError(f"patch_size must be a positive int, got {patch_size!r}")
    if not isinstance(pixels, Tensor) or pixels.ndim != 4:
        raise ValueError(
            "pixels must be (batch, channels, height, width), got "
            f"{getattr(pixels, 'shape', type(pixels).__name__)}"
        )
    if pixels.shape[2] % patch_size or pixels.shape[3] % patch_size:
        raise ValueError(
            f"pixels has shape {_shape(pixels)}: patch_size={patch_size} must divide height and width"
        )
    return rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)


def _check_input(model: nn.Module, pixels: object, need_weights: object = False) -> None:
    _check_pixels(pixels, model.config.channels, model.config.image_size)


class ViT(nn.Module):
    """The Vision Transformer encoder (no classification head).

    ``ViT(config)`` with a :class:`ViTConfig`. Parameters and submodules: ``patch_embed``
    (``nn.Linear(patch_dim, d_model)``), ``cls_token`` ``(d_model,)``, ``pos_embed``
    ``(1 + num_patches, d_model)``, ``embed_dropout``, ``layers`` (``ModuleList`` of pre-norm
    :class:`~tfmcourse.blocks.EncoderLayer`), ``norm`` (the final LayerNorm).

    ``forward(pixels (batch, channels, height, width))`` returns ``(batch, 1 + num_patches, d_model)``:
    position 0 is ``[CLS]``, then the patches in reading order.
    """

    def __init__(self, config: ViTConfig):
        super().__init__()
        if not isinstance(config, ViTConfig):
            raise ValueError(f"config must be a ViTConfig, got {type(config).__name__}")
        self.config = c = config
        self.patch_embed = nn.Linear(c.patch_dim, c.d_model)
        self.cls_token = nn.Parameter(torch.zeros(c.d_model))
        self.pos_embed = nn.Parameter(torch.zeros(1 + c.num_patches, c.d_model))
        self.embed_dropout = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(_layer(c) for _ in range(c.num_layers))
        self.norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated-normal weights (std 0.02) as in ViT, biases 0, LayerNorms 1."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def num_params(self) -> int:
        """Number of trainable numbers."""
        return sum(p.numel() for p in self.parameters())

    @entry_point(_check_input)
    def embed(
        self, pixels: Float[Tensor, "batch channels height width"]
    ) -> Float[Tensor, "batch tokens d_model"]:
        """Patches -> vectors, ``[CLS]`` in front, positions added: ``(batch, 1 + num_patches, d_model)``."""
        c = self.config
        patches = self.patch_embed(patchify(pixels, c.patch_size))  # (batch, patches, d_model)
        cls = self.cls_token.expand(patches.shape[0], 1, -1)
        return self.embed_dropout(torch.cat([cls, patches], dim=1) + self.pos_embed)

    @entry_point(_check_input)
    def forward(
        self, pixels: Float[Tensor, "batch channels height width"], need_weights: bool = False
    ) -> Float[Tensor, "batch tokens d_model"] | tuple[Tensor, list[Tensor]]:
        """Images ``(batch, channels, height, width)`` -> ``(batch, 1 + num_patches, d_model)``.

        With ``need_weights=True``, also returns the attention weights of every layer, a list of
        ``(batch, heads, 1 + num_patches, 1 + num_patches)`` tensors.
        """
        x = self.embed(pixels)
        weights = []
        for layer in self.layers:
            if need_weights:  # the same computation as layer(x), keeping the weights
                h = layer.norm1(x)
                out, w = layer.self_attn(h, h, h, need_weights=True)
                x = x + layer.dropout1(out)
                x = x + layer.dropout2(layer.ff(layer.norm2(x)))
                weights.append(w)
            else:
                x = layer(x)
        x = self.norm(x)
        return (x, weights) if need_weights else x

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> ViT:
        """A :class:`ViT` with the weights of ``hf``, a ``transformers.ViTModel`` (or a model holding one
        as ``hf.vit``, like ``ViTForImageClassification``). Same dtype, device and mode; the output
        equals ``hf(pixel_values).last_hidden_state``. Square images and patches only."""
        config = config_from_hf(hf, impl)
        vit = getattr(hf, "vit", hf)
        w = vit.embeddings.cls_token
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        copy_weights_from_hf(ours, vit)
        return ours.train(hf.training)


class ViTClassifier(nn.Module):
    """A ViT with a linear classification head on the final ``[CLS]`` vector.

    ``forward(pixels) -> (batch, num_classes)`` logits. Submodules: ``vit`` (:class:`ViT`), ``head``
    (``nn.Linear(d_model, num_classes)``), as ``ViTForImageClassification``.
    """

    def __init__(self, config: ViTConfig, num_classes: int):
        super().__init__()
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.vit = ViT(config)
        self.head = nn.Linear(config.d_model, num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def config(self) -> ViTConfig:
        return self.vit.config

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, pixels: Float[Tensor, "batch channels height width"]) -> Float[Tensor, "batch classes"]:
        """``(batch, channels, height, width)`` -> ``(batch, num_classes)`` logits."""
        return self.head(self.vit(pixels)[:, 0])

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> ViTClassifier:
        """A copy of a ``transformers.ViTForImageClassification``; the logits equal ``hf(pixels).logits``."""
        if type(hf).__name__ != "ViTForImageClassification":
            raise ValueError(f"hf must be a transformers.ViTForImageClassification, got {type(hf).__name__}")
        vit = ViT.from_hf(hf.vit, impl)
        w = hf.classifier.weight
        ours = cls(vit.config, hf.config.num_labels).to(device=w.device, dtype=w.dtype)
        ours.vit = vit
        with torch.no_grad():
            ours.head.weight.copy_(hf.classifier.weight)
            ours.head.bias.copy_(hf.classifier.bias)
        return ours.train(hf.training)
