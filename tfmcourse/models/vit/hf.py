"""Hugging Face's ``transformers.ViTModel`` -> chapter 12's ViT: its config (:func:`config_from_hf`) and its
weights (:func:`copy_weights_from_hf`, under either naming of transformers 4 and 5);
:meth:`~tfmcourse.models.vit.model.ViT.from_hf` uses both."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from tfmcourse.models.vit.config import ViTConfig

__all__ = ["config_from_hf", "copy_weights_from_hf"]


_FROM_HF_ACTIVATION = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


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
    """The state-dict prefix of weight ``what`` of layer ``i`` in a Hugging Face ViT, whichever naming it
    uses."""
    for pattern in _HF_LAYER_NAMES[what]:
        if pattern.format(i=i) + ".weight" in sd:
            return pattern.format(i=i)
    raise ValueError(
        f"the Hugging Face ViT has no weight for {what!r} of layer {i} "
        f"(looked for {[p.format(i=i) for p in _HF_LAYER_NAMES[what]]})"
    )


def config_from_hf(hf: nn.Module, impl: str = "naive") -> ViTConfig:
    """The :class:`~tfmcourse.models.vit.config.ViTConfig` of ``hf``, a ``transformers.ViTModel`` (or a model
    holding one as ``hf.vit``): square images and patches, one dropout value (a ``ValueError`` otherwise)."""
    vit = getattr(hf, "vit", hf)
    hc = getattr(vit, "config", None)
    if type(vit).__name__ != "ViTModel" or hc is None:
        raise ValueError(f"hf must be a transformers.ViTModel (or hold one as .vit), got {type(hf).__name__}")
    if hc.hidden_act not in _FROM_HF_ACTIVATION:
        raise ValueError(f"unsupported hidden_act {hc.hidden_act!r}; supported: {tuple(_FROM_HF_ACTIVATION)}")
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
    return config


def copy_weights_from_hf(ours: nn.Module, hf: nn.Module) -> None:
    """Copy the weights of ``hf``, a ``transformers.ViTModel`` (or a model holding one as ``hf.vit``), into
    ``ours``, a :class:`~tfmcourse.models.vit.model.ViT` built from :func:`config_from_hf`."""
    vit = getattr(hf, "vit", hf)
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
