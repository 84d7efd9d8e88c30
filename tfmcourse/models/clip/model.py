"""Chapter 13's model, :class:`CLIP`: the image tower (chapter 12's ViT), the causal text tower read at its
end-of-text token, one projection each into the shared space, and the learnable temperature. The towers'
inputs are checked here, where a call enters the model."""

from __future__ import annotations

import math

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.checks import entry_point
from tfmcourse.models.clip.config import CLIPConfig
from tfmcourse.models.clip.hf import config_from_hf, copy_weights_from_hf
from tfmcourse.models.clip.layers import clip_layer
from tfmcourse.models.vit import ViT

__all__ = ["CLIP"]


def _shape(x: object) -> tuple[int, ...]:
    return tuple(x.shape)


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


def _check_text(model: nn.Module, ids: object, attention_mask: object = None) -> None:
    _check_ids(ids, model.config.vocab_size, model.config.max_len)
    if attention_mask is not None:
        _check_attention_mask(attention_mask, ids)


def _check_features(model: nn.Module, image_features: object, text_features: object) -> None:
    for name, f in (("image_features", image_features), ("text_features", text_features)):
        if not isinstance(f, Tensor) or f.ndim != 2 or f.shape[1] != model.config.proj_dim:
            raise ValueError(
                f"{name} must be (n, proj_dim={model.config.proj_dim}), got "
                f"{_shape(f) if isinstance(f, Tensor) else type(f).__name__}"
            )


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
            clip_layer(c, c.vision_d_model, c.vision_heads, c.vision_d_ff) for _ in range(c.vision_layers)
        )
        self.visual_pre_norm = nn.LayerNorm(c.vision_d_model, eps=c.layer_norm_eps)
        self.visual_proj = nn.Linear(c.vision_d_model, c.proj_dim, bias=False)
        # Text tower: a causal Transformer read at its end-of-text token.
        self.tok_embed = nn.Embedding(c.vocab_size, c.text_d_model)
        self.pos_embed = nn.Parameter(torch.zeros(c.max_len, c.text_d_model))
        self.text_layers = nn.ModuleList(
            clip_layer(c, c.text_d_model, c.text_heads, c.text_d_ff) for _ in range(c.text_layers)
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

    @entry_point(_check_text)
    def text_states(
        self, ids: Int[Tensor, "batch seq"], attention_mask: Tensor | None = None
    ) -> Float[Tensor, "batch seq d"]:
        """The text tower's output at every position, ``(batch, seq, text_d_model)``, after the final
        LayerNorm."""
        x = self.tok_embed(ids) + self.pos_embed[: ids.shape[1]]
        mask = self.text_mask(ids, attention_mask)
        for layer in self.text_layers:
            x = layer(x, mask=mask)
        return self.text_norm(x)

    @entry_point(_check_text)
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
    @entry_point(_check_features)
    def similarity(
        self, image_features: Float[Tensor, "n_images proj"], text_features: Float[Tensor, "n_texts proj"]
    ) -> Float[Tensor, "n_images n_texts"]:
        """``exp(logit_scale)`` times the cosine similarity of every image with every text:
        ``(n_images, proj), (n_texts, proj) -> (n_images, n_texts)``."""
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
        config = config_from_hf(hf, impl)
        w = hf.logit_scale
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        copy_weights_from_hf(ours, hf)
        return ours.train(hf.training)
