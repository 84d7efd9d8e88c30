"""CLIP: an image tower and a text tower that map into one space (chapter 13).

CLIP {Radford et al. 2021} trains two encoders side by side so that an image and a text that describe
the same thing land on nearby unit vectors, and unrelated ones far apart:

1. the **image tower** is the ViT of chapter 12 (:class:`~tfmcourse.models.vit.ViT`): patches,
   ``[CLS]`` in front, learned positions, then, as in CLIP, a LayerNorm *before* the pre-norm encoder
   layers (``visual_pre_norm``, HF's ``pre_layrnorm``) and the ViT's final LayerNorm; the image is the
   output vector at ``[CLS]``. CLIP's patch embedding has no bias;
2. the **text tower** is a causal Transformer (a GPT without its language-model head): token plus
   learned position embeddings, pre-norm encoder layers under a causal mask (and a padding mask), a
   final LayerNorm; the text is the output vector at its **end-of-text token** (EOT), the one position
   that has seen the whole text;
3. one linear **projection** per tower (no bias) maps both to the shared ``proj_dim``; the embeddings
   are divided by their length, so similarity is a cosine;
4. a learnable **temperature**: ``logit_scale`` holds ``log(1 / temperature)`` (CLIP starts at
   ``log(1 / 0.07)``), and ``logits_per_image = exp(logit_scale) * image_embeds @ text_embeds.T``.

Training (:func:`contrastive_loss`) makes the matching image and text of every pair in a batch the right
answer of a softmax over all texts (for each image) and over all images (for each text): the symmetric
InfoNCE loss.

Both towers' feed-forward networks use CLIP's **quick GELU**, ``x * sigmoid(1.702 * x)`` (a cheaper
approximation of GELU, :func:`quick_gelu`), with ``activation="quick_gelu"``; the package's other
activations (``"gelu"``, ...) work too.

**Hugging Face.** :meth:`CLIP.from_hf` copies a ``transformers.CLIPModel``: :meth:`CLIP.encode_image`
equals ``get_image_features``, :meth:`CLIP.encode_text` equals ``get_text_features`` and
:meth:`CLIP.forward` equals ``logits_per_image``. (In transformers 5, the two ``get_*_features`` return
a ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds the projected features; in version 4 they
returned that tensor itself.) HF finds the EOT position as the first ``eos_token_id`` in each row, or,
for old configs with ``eos_token_id == 2``, as the position of the largest id (in the original CLIP
vocabulary EOT has the largest id); our ``eot_id`` is the first rule and ``eot_id=None`` the second.

**Porting note.** Every encoder layer of both towers is built in one place, :func:`_layer`, from today's
``EncoderLayer`` constructor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.blocks import ACTIVATIONS, EncoderLayer, FeedForward
from tfmcourse.models.vit import ViT, ViTConfig
from tfmcourse.multihead import IMPLS

__all__ = ["CLIPConfig", "CLIP", "quick_gelu", "QuickGELUFeedForward", "contrastive_loss", "clip_loss"]

#: Hugging Face's ``hidden_act`` names and ours.
_FROM_HF_ACTIVATION = {
    "quick_gelu": "quick_gelu",
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


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


def _positive(name: str, n: object) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


@dataclass
class CLIPConfig:
    """The hyperparameters of a :class:`CLIP`.

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
        for name in (
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
        ):
            _positive(name, getattr(self, name))
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
        self.vit_config()  # the image tower's own checks (patch_size divides image_size, heads divide d_model)

    def vit_config(self) -> ViTConfig:
        """The :class:`~tfmcourse.models.vit.ViTConfig` of the image tower (its layers are then rebuilt by
        :func:`_layer`, which sets the activation)."""
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


def _layer(config: CLIPConfig, d_model: int, num_heads: int, d_ff: int) -> EncoderLayer:
    """One CLIP layer (either tower) from the package's encoder layer: pre-norm, CLIP's activation and
    ``eps``, no dropout after the feed-forward activation. (The only place where this module calls the
    layer's constructor.)"""
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


def _check_ids(ids: object, vocab_size: int, max_len: int) -> None:
    if not isinstance(ids, Tensor) or ids.ndim != 2 or ids.is_floating_point() or ids.dtype == torch.bool:
        what = f"dtype {ids.dtype}, shape {_shape(ids)}" if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"ids must be a (batch, seq) integer tensor of token ids, got {what}")
    if ids.shape[1] == 0 or ids.shape[1] > max_len:
        raise ValueError(f"ids has shape {_shape(ids)}: texts must have 1 to max_len={max_len} tokens")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"ids has values in [{int(ids.min())}, {int(ids.max())}], outside [0, vocab_size={vocab_size})"
        )


def _check_attention_mask(attention_mask: object, ids: Tensor) -> None:
    if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != tuple(ids.shape):
        what = _shape(attention_mask) if isinstance(attention_mask, Tensor) else type(attention_mask).__name__
        raise ValueError(
            f"attention_mask must be a (batch, seq) tensor of 1 (token) and 0 (padding) shaped "
            f"like ids {_shape(ids)}, got {what}"
        )
    if attention_mask.is_floating_point() or not ((attention_mask == 0) | (attention_mask == 1)).all():
        raise ValueError("attention_mask must hold only 0 (padding) and 1 (token), as integers or booleans")


class CLIP(nn.Module):
    """Two towers and a temperature: CLIP (see the module docstring).

    ``CLIP(config)`` with a :class:`CLIPConfig`. Submodules and parameters:

    - image tower: ``visual`` (a :class:`~tfmcourse.models.vit.ViT`: ``patch_embed`` without bias,
      ``cls_token``, ``pos_embed``, ``layers``, ``norm``), ``visual_pre_norm`` (LayerNorm), ``visual_proj``
      (``nn.Linear(vision_d_model, proj_dim, bias=False)``);
    - text tower: ``tok_embed`` (``nn.Embedding``), ``pos_embed`` ``(max_len, text_d_model)``,
      ``text_layers`` (``ModuleList`` of pre-norm :class:`~tfmcourse.blocks.EncoderLayer`), ``text_norm``,
      ``text_proj`` (``nn.Linear(text_d_model, proj_dim, bias=False)``);
    - ``logit_scale``: a scalar, ``log(1 / temperature)``.

    ``encode_image(pixels (batch, channels, H, W)) -> (batch, proj_dim)``,
    ``encode_text(ids (batch, seq), attention_mask=None) -> (batch, proj_dim)`` (not normalised, as
    HF's ``get_*_features``), ``forward(pixels, ids, attention_mask=None) -> logits_per_image
    (n_images, n_texts)``.
    """

    def __init__(self, config: CLIPConfig):
        super().__init__()
        if not isinstance(config, CLIPConfig):
            raise ValueError(f"config must be a CLIPConfig, got {type(config).__name__}")
        self.config = c = config
        # Image tower: chapter 12's ViT, with CLIP's layers, a patch embedding without bias and a pre-norm.
        self.visual = ViT(c.vit_config())
        self.visual.patch_embed = nn.Linear(self.visual.config.patch_dim, c.vision_d_model, bias=False)
        self.visual.layers = nn.ModuleList(
            _layer(c, c.vision_d_model, c.vision_heads, c.vision_d_ff) for _ in range(c.vision_layers)
        )
        self.visual_pre_norm = nn.LayerNorm(c.vision_d_model, eps=c.layer_norm_eps)
        self.visual_proj = nn.Linear(c.vision_d_model, c.proj_dim, bias=False)
        # Text tower: a causal Transformer read at its end-of-text token.
        self.tok_embed = nn.Embedding(c.vocab_size, c.text_d_model)
        self.pos_embed = nn.Parameter(torch.zeros(c.max_len, c.text_d_model))
        self.text_layers = nn.ModuleList(
            _layer(c, c.text_d_model, c.text_heads, c.text_d_ff) for _ in range(c.text_layers)
        )
        self.text_norm = nn.LayerNorm(c.text_d_model, eps=c.layer_norm_eps)
        self.text_proj = nn.Linear(c.text_d_model, c.proj_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(c.logit_scale_init)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Linear weights and embeddings normal with std 0.02 (positions 0.01), biases 0, LayerNorms 1,
        the projections with std ``d_model ** -0.5`` (as CLIP), ``logit_scale`` at ``logit_scale_init``."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
        nn.init.normal_(self.visual.cls_token, std=0.02)
        nn.init.normal_(self.visual.pos_embed, std=0.01)
        nn.init.normal_(self.pos_embed, std=0.01)
        nn.init.normal_(self.visual_proj.weight, std=self.config.vision_d_model**-0.5)
        nn.init.normal_(self.text_proj.weight, std=self.config.text_d_model**-0.5)
        with torch.no_grad():
            self.logit_scale.fill_(float(self.config.logit_scale_init))

    def num_params(self) -> int:
        """Number of trainable numbers."""
        return sum(p.numel() for p in self.parameters())

    @property
    def temperature(self) -> float:
        """The current temperature, ``1 / exp(logit_scale)``."""
        return math.exp(-self.logit_scale.item())

    # ------------------------------------------------------------------------------ the two towers
    def image_states(
        self, pixels: Float[Tensor, "batch channels height width"]
    ) -> Float[Tensor, "batch tokens d"]:
        """The image tower's output at every position, ``(batch, 1 + patches, vision_d_model)``, after the
        final LayerNorm (position 0 is ``[CLS]``)."""
        v = self.visual
        x = self.visual_pre_norm(v.embed(pixels))  # patches, [CLS] in front, positions; then CLIP's pre-norm
        for layer in v.layers:
            x = layer(x)
        return v.norm(x)

    def encode_image(
        self, pixels: Float[Tensor, "batch channels height width"]
    ) -> Float[Tensor, "batch proj"]:
        """Images ``(batch, channels, H, W)`` -> their features ``(batch, proj_dim)``: the ``[CLS]`` output,
        projected (not normalised; HF's ``get_image_features``)."""
        return self.visual_proj(self.image_states(pixels)[:, 0])

    def text_mask(self, ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """The text tower's boolean attention mask, ``True`` = may attend: causal ``(seq, seq)``, or, with
        an ``attention_mask`` ``(batch, seq)`` (1 = token, 0 = padding), causal and not padding,
        ``(batch, 1, seq, seq)``."""
        mask = causal_mask(ids.shape[1], device=ids.device)
        if attention_mask is None:
            return mask
        return mask & rearrange(attention_mask.bool(), "b k -> b 1 1 k")

    def eot_positions(self, ids: Int[Tensor, "batch seq"]) -> Int[Tensor, " batch"]:
        """Where each text is read: the first ``eot_id`` of each row (the largest id when ``eot_id`` is
        ``None``). A row without ``eot_id`` is an error."""
        if self.config.eot_id is None:
            return ids.argmax(dim=-1)
        is_eot = ids == self.config.eot_id
        missing = (~is_eot.any(dim=-1)).nonzero().flatten().tolist()
        if missing:
            raise ValueError(
                f"ids has shape {_shape(ids)} and rows {missing[:10]} have no end-of-text token "
                f"eot_id={self.config.eot_id}: CLIP reads each text at its EOT token"
            )
        return is_eot.int().argmax(dim=-1)

    def text_states(
        self, ids: Int[Tensor, "batch seq"], attention_mask: Tensor | None = None
    ) -> Float[Tensor, "batch seq d"]:
        """The text tower's output at every position, ``(batch, seq, text_d_model)``, after the final
        LayerNorm."""
        c = self.config
        _check_ids(ids, c.vocab_size, c.max_len)
        if attention_mask is not None:
            _check_attention_mask(attention_mask, ids)
        x = self.tok_embed(ids) + self.pos_embed[: ids.shape[1]]
        mask = self.text_mask(ids, attention_mask)
        for layer in self.text_layers:
            x = layer(x, mask=mask)
        return self.text_norm(x)

    def encode_text(
        self, ids: Int[Tensor, "batch seq"], attention_mask: Tensor | None = None
    ) -> Float[Tensor, "batch proj"]:
        """Token ids ``(batch, seq)`` -> text features ``(batch, proj_dim)``: the output at the end-of-text
        token, projected (not normalised; HF's ``get_text_features``). ``attention_mask (batch, seq)``:
        1 at tokens, 0 at padding (``None``: no padding)."""
        states = self.text_states(ids, attention_mask)
        rows = torch.arange(ids.shape[0], device=ids.device)
        return self.text_proj(states[rows, self.eot_positions(ids)])

    # ------------------------------------------------------------------------------ the shared space
    def similarity(
        self, image_features: Float[Tensor, "n_images proj"], text_features: Float[Tensor, "n_texts proj"]
    ) -> Float[Tensor, "n_images n_texts"]:
        """``exp(logit_scale)`` times the cosine similarity of every image with every text:
        ``(n_images, proj), (n_texts, proj) -> (n_images, n_texts)``."""
        for name, f in (("image_features", image_features), ("text_features", text_features)):
            if not isinstance(f, Tensor) or f.ndim != 2 or f.shape[1] != self.config.proj_dim:
                raise ValueError(
                    f"{name} must be (n, proj_dim={self.config.proj_dim}), got "
                    f"{_shape(f) if isinstance(f, Tensor) else type(f).__name__}"
                )
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        return self.logit_scale.exp() * image_features @ text_features.T

    def forward(
        self,
        pixels: Float[Tensor, "n_images channels height width"],
        ids: Int[Tensor, "n_texts seq"],
        attention_mask: Tensor | None = None,
    ) -> Float[Tensor, "n_images n_texts"]:
        """``logits_per_image`` ``(n_images, n_texts)``: scaled cosine similarities of every image with every
        text (HF's ``logits_per_image``; ``logits_per_text`` is its transpose)."""
        return self.similarity(self.encode_image(pixels), self.encode_text(ids, attention_mask))

    # ------------------------------------------------------------------------------ Hugging Face
    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> CLIP:
        """A :class:`CLIP` with the weights of ``hf``, a ``transformers.CLIPModel``. Same dtype, device and
        mode. ``encode_image`` equals ``hf.get_image_features(pixels).pooler_output``, ``encode_text``
        equals ``hf.get_text_features(ids, attention_mask).pooler_output`` and ``forward`` equals
        ``hf(input_ids=ids, pixel_values=pixels).logits_per_image``. Square images and patches, the
        same activation and ``eps`` in both towers, no dropout."""
        if type(hf).__name__ != "CLIPModel" or getattr(hf, "config", None) is None:
            raise ValueError(f"hf must be a transformers.CLIPModel, got {type(hf).__name__}")
        vc, tc = hf.config.vision_config, hf.config.text_config
        if vc.hidden_act != tc.hidden_act or vc.hidden_act not in _FROM_HF_ACTIVATION:
            raise ValueError(
                f"both towers need one activation among {tuple(_FROM_HF_ACTIVATION)}, got "
                f"vision {vc.hidden_act!r}, text {tc.hidden_act!r}"
            )
        if vc.layer_norm_eps != tc.layer_norm_eps:
            raise ValueError(
                f"both towers need one layer_norm_eps, got {vc.layer_norm_eps} and {tc.layer_norm_eps}"
            )
        if vc.attention_dropout or tc.attention_dropout:
            raise ValueError("only CLIPs with attention_dropout=0 can be copied")
        if not isinstance(vc.image_size, int) or not isinstance(vc.patch_size, int):
            raise ValueError(
                f"only square images and patches can be copied, got image_size={vc.image_size}, "
                f"patch_size={vc.patch_size}"
            )
        eos = tc.eos_token_id
        if not isinstance(eos, int):
            raise ValueError(f"the text config needs one int eos_token_id, got {eos!r}")
        config = CLIPConfig(
            vocab_size=tc.vocab_size,
            eot_id=None if eos == 2 else eos,  # HF's legacy rule for eos_token_id == 2
            image_size=vc.image_size,
            patch_size=vc.patch_size,
            channels=vc.num_channels,
            vision_d_model=vc.hidden_size,
            vision_layers=vc.num_hidden_layers,
            vision_heads=vc.num_attention_heads,
            vision_d_ff=vc.intermediate_size,
            max_len=tc.max_position_embeddings,
            text_d_model=tc.hidden_size,
            text_layers=tc.num_hidden_layers,
            text_heads=tc.num_attention_heads,
            text_d_ff=tc.intermediate_size,
            proj_dim=hf.config.projection_dim,
            activation=_FROM_HF_ACTIVATION[vc.hidden_act],
            layer_norm_eps=vc.layer_norm_eps,
            dropout=0.0,
            logit_scale_init=hf.logit_scale.item(),
            impl=impl,
        )
        w = hf.logit_scale
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        sd = hf.state_dict()

        def copy_layers(layers: nn.ModuleList, prefix: str) -> None:
            for i, layer in enumerate(layers):
                p = f"{prefix}.encoder.layers.{i}."
                a = layer.self_attn
                for module, name in (
                    (a.q_proj, "self_attn.q_proj"),
                    (a.k_proj, "self_attn.k_proj"),
                    (a.v_proj, "self_attn.v_proj"),
                    (a.out_proj, "self_attn.out_proj"),
                    (layer.norm1, "layer_norm1"),
                    (layer.ff.linear1, "mlp.fc1"),
                    (layer.ff.linear2, "mlp.fc2"),
                    (layer.norm2, "layer_norm2"),
                ):
                    module.weight.copy_(sd[p + name + ".weight"])
                    module.bias.copy_(sd[p + name + ".bias"])

        def copy_norm(norm: nn.LayerNorm, name: str) -> None:
            norm.weight.copy_(sd[name + ".weight"])
            norm.bias.copy_(sd[name + ".bias"])

        with torch.no_grad():
            v = ours.visual
            # Conv2d weight (d_model, c, p1, p2) -> linear weight (d_model, p1 * p2 * c), patchify's order.
            v.patch_embed.weight.copy_(
                rearrange(sd["vision_model.embeddings.patch_embedding.weight"], "d c p1 p2 -> d (p1 p2 c)")
            )
            v.cls_token.copy_(sd["vision_model.embeddings.class_embedding"])
            v.pos_embed.copy_(sd["vision_model.embeddings.position_embedding.weight"])
            copy_norm(ours.visual_pre_norm, "vision_model.pre_layrnorm")
            copy_layers(v.layers, "vision_model")
            copy_norm(v.norm, "vision_model.post_layernorm")
            ours.visual_proj.weight.copy_(sd["visual_projection.weight"])
            ours.tok_embed.weight.copy_(sd["text_model.embeddings.token_embedding.weight"])
            ours.pos_embed.copy_(sd["text_model.embeddings.position_embedding.weight"])
            copy_layers(ours.text_layers, "text_model")
            copy_norm(ours.text_norm, "text_model.final_layer_norm")
            ours.text_proj.weight.copy_(sd["text_projection.weight"])
            ours.logit_scale.copy_(sd["logit_scale"])
        return ours.train(hf.training)


def contrastive_loss(logits_per_image: Float[Tensor, "n n"]) -> Float[Tensor, ""]:
    """The symmetric contrastive (InfoNCE) loss of CLIP on a batch of ``n`` matching pairs.

    ``logits_per_image[i, j]`` scores image ``i`` against text ``j``; image ``i`` and text ``i`` belong
    together. The loss is the mean of two cross-entropies: every image must pick its text among the
    ``n`` texts (the rows), and every text its image among the ``n`` images (the columns).
    """
    if (
        not isinstance(logits_per_image, Tensor)
        or logits_per_image.ndim != 2
        or logits_per_image.shape[0] != logits_per_image.shape[1]
    ):
        raise ValueError(
            "logits_per_image must be a square (n, n) tensor (image i matches text i), got "
            f"{_shape(logits_per_image) if isinstance(logits_per_image, Tensor) else type(logits_per_image).__name__}"
        )
    targets = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    return (F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_image.T, targets)) / 2


def clip_loss(model: CLIP, batch: tuple[Tensor, Tensor, Tensor | None]) -> Float[Tensor, ""]:
    """:func:`contrastive_loss` of ``model`` on a batch ``(pixels, ids, attention_mask)`` of matching pairs
    (the loss function for :class:`~tfmcourse.train.Trainer`)."""
    pixels, ids, attention_mask = batch
    return contrastive_loss(model(pixels, ids, attention_mask))
