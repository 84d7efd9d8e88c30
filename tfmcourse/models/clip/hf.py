"""Hugging Face's ``transformers.CLIPModel`` -> chapter 13's CLIP: its config (:func:`config_from_hf`) and
its weights (:func:`copy_weights_from_hf`); :meth:`~tfmcourse.models.clip.model.CLIP.from_hf` uses both."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from tfmcourse.models.clip.config import CLIPConfig

__all__ = ["config_from_hf", "copy_weights_from_hf"]

#: Hugging Face's ``hidden_act`` names and ours.
_FROM_HF_ACTIVATION = {
    "quick_gelu": "quick_gelu",
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}


def config_from_hf(hf: nn.Module, impl: str = "naive") -> CLIPConfig:
    """The :class:`~tfmcourse.models.clip.config.CLIPConfig` of ``hf``, a ``transformers.CLIPModel``: square
    images and patches, the same activation and ``eps`` in both towers, no dropout (a ``ValueError``
    otherwise)."""
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
    return config


def copy_weights_from_hf(ours: nn.Module, hf: nn.Module) -> None:
    """Copy the weights of ``hf``, a ``transformers.CLIPModel``, into ``ours``, a
    :class:`~tfmcourse.models.clip.model.CLIP` built from :func:`config_from_hf` (HF's names, our layout)."""
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
