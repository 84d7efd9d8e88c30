"""ViT: a Transformer encoder that reads an image as a sequence of patches (chapter 12).

The Vision Transformer {Dosovitskiy et al. 2021} cuts an image ``(channels, height, width)`` into
square patches of ``patch_size x patch_size`` pixels, flattens every patch into one vector, and from
there on treats the patches exactly like the tokens of a sentence:

1. **patch embedding**: ``rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)")`` then one
   linear layer to ``d_model`` (the same as a convolution with kernel and stride ``patch_size``);
2. a learned ``[CLS]`` vector is put in front of the patches, and a learned position vector is added
   to every one of the ``1 + patches`` positions;
3. ``num_layers`` **pre-norm** encoder layers (:class:`~tfmcourse.blocks.EncoderLayer` with
   ``norm_first=True``, exact GELU, ``eps = 1e-12``) and a final LayerNorm;
4. :class:`ViTClassifier` classifies the image from the ``[CLS]`` vector with one linear layer.

Nothing in the encoder knows that the patches come from a 2-D grid: the positions are learned, one
vector per patch index, and whatever the model knows about rows and columns it has to learn.

**Hugging Face.** :meth:`ViT.from_hf` copies a ``transformers.ViTModel`` (or the ``vit`` inside
``ViTForImageClassification``); the outputs equal ``last_hidden_state``. HF embeds the patches with a
``Conv2d`` whose weight ``(d_model, c, p1, p2)`` becomes our linear weight by
``rearrange(w, "d c p1 p2 -> d (p1 p2 c)")``. ``transformers`` is imported only where needed.

**Porting note.** The encoder layers are built in one place, :func:`_layer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.blocks import ACTIVATIONS, EncoderLayer
from tfmcourse.checks import check_positive
from tfmcourse.multihead import IMPLS

__all__ = ["ViTConfig", "ViT", "ViTClassifier", "patchify"]

_FROM_HF_ACTIVATION = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


@dataclass
class ViTConfig:
    """The hyperparameters of a :class:`ViT`.

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


#: Where Hugging Face keeps each weight of layer ``i``: the names of transformers 5 first, then the older
#: ``encoder.layer.{i}`` names (both are accepted).
_HF_LAYER_NAMES = {
    "q": ("layers.{i}.attention.q_proj", "encoder.layer.{i}.attention.attention.query"),
    "k": ("layers.{i}.attention.k_proj", "encoder.layer.{i}.attention.attention.key"),
    "v": ("layers.{i}.attention.v_proj", "encoder.layer.{i}.attention.attention.value"),
    "o": ("layers.{i}.attention.o_proj", "encoder.layer.{i}.attention.output.dense"),
    "norm1": ("layers.{i}.layernorm_before", "encoder.layer.{i}.layernorm_before"),
    "fc1": ("layers.{i}.mlp.fc1", "encoder.layer.{i}.intermediate.dense"),
    "fc2": ("layers.{i}.mlp.fc2", "encoder.layer.{i}.output.dense"),
    "norm2": ("layers.{i}.layernorm_after", "encoder.layer.{i}.layernorm_after"),
}


def _hf_name(sd: dict[str, Tensor], i: int, what: str) -> str:
    """The state-dict prefix of weight ``what`` of layer ``i`` in a Hugging Face ViT, whichever naming it uses."""
    for pattern in _HF_LAYER_NAMES[what]:
        if pattern.format(i=i) + ".weight" in sd:
            return pattern.format(i=i)
    raise ValueError(
        f"the Hugging Face ViT has no weight for {what!r} of layer {i} "
        f"(looked for {[p.format(i=i) for p in _HF_LAYER_NAMES[what]]})"
    )


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
            f"pixels must be (batch, channels, height, width), got {getattr(pixels, 'shape', type(pixels).__name__)}"
        )
    if pixels.shape[2] % patch_size or pixels.shape[3] % patch_size:
        raise ValueError(
            f"pixels has shape {_shape(pixels)}: patch_size={patch_size} must divide height and width"
        )
    return rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)


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

    def embed(
        self, pixels: Float[Tensor, "batch channels height width"]
    ) -> Float[Tensor, "batch tokens d_model"]:
        """Patches -> vectors, ``[CLS]`` in front, positions added: ``(batch, 1 + num_patches, d_model)``."""
        c = self.config
        _check_pixels(pixels, c.channels, c.image_size)
        patches = self.patch_embed(patchify(pixels, c.patch_size))  # (batch, patches, d_model)
        cls = self.cls_token.expand(patches.shape[0], 1, -1)
        return self.embed_dropout(torch.cat([cls, patches], dim=1) + self.pos_embed)

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
        vit = getattr(hf, "vit", hf)
        hc = getattr(vit, "config", None)
        if type(vit).__name__ != "ViTModel" or hc is None:
            raise ValueError(
                f"hf must be a transformers.ViTModel (or hold one as .vit), got {type(hf).__name__}"
            )
        if hc.hidden_act not in _FROM_HF_ACTIVATION:
            raise ValueError(
                f"unsupported hidden_act {hc.hidden_act!r}; supported: {tuple(_FROM_HF_ACTIVATION)}"
            )
        if not hc.qkv_bias:
            raise ValueError("only ViTs with qkv_bias=True can be copied")
        if hc.hidden_dropout_prob != hc.attention_probs_dropout_prob:
            raise ValueError(
                f"ViT needs one dropout value, got hidden_dropout_prob={hc.hidden_dropout_prob}, "
                f"attention_probs_dropout_prob={hc.attention_probs_dropout_prob}"
            )
        size, patch = hc.image_size, hc.patch_size
        if not isinstance(size, int) or not isinstance(patch, int):
            raise ValueError(
                f"only square images and patches can be copied, got image_size={size}, patch_size={patch}"
            )
        config = ViTConfig(
            image_size=size,
            patch_size=patch,
            channels=hc.num_channels,
            d_model=hc.hidden_size,
            num_layers=hc.num_hidden_layers,
            num_heads=hc.num_attention_heads,
            d_ff=hc.intermediate_size,
            dropout=float(hc.hidden_dropout_prob),
            layer_norm_eps=hc.layer_norm_eps,
            activation=_FROM_HF_ACTIVATION[hc.hidden_act],
            impl=impl,
        )
        w = vit.embeddings.cls_token
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        sd = vit.state_dict()
        with torch.no_grad():
            # Conv2d weight (d_model, c, p1, p2) -> linear weight (d_model, p1 * p2 * c), patchify's order.
            ours.patch_embed.weight.copy_(
                rearrange(sd["embeddings.patch_embeddings.projection.weight"], "d c p1 p2 -> d (p1 p2 c)")
            )
            ours.patch_embed.bias.copy_(sd["embeddings.patch_embeddings.projection.bias"])
            ours.cls_token.copy_(sd["embeddings.cls_token"].reshape(-1))
            ours.pos_embed.copy_(sd["embeddings.position_embeddings"][0])
            for i, layer in enumerate(ours.layers):
                a = layer.self_attn
                for module, names in (
                    (a.q_proj, "q"),
                    (a.k_proj, "k"),
                    (a.v_proj, "v"),
                    (a.out_proj, "o"),
                    (layer.norm1, "norm1"),
                    (layer.ff.linear1, "fc1"),
                    (layer.ff.linear2, "fc2"),
                    (layer.norm2, "norm2"),
                ):
                    name = _hf_name(sd, i, names)
                    module.weight.copy_(sd[name + ".weight"])
                    module.bias.copy_(sd[name + ".bias"])
            ours.norm.weight.copy_(sd["layernorm.weight"])
            ours.norm.bias.copy_(sd["layernorm.bias"])
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
