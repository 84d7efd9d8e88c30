"""Hugging Face's GPT-2 and chapter 9's GPT, both ways: :func:`hf_config` and :func:`hf_state_dict` (our
model under GPT-2's names and layout, for :meth:`~tfmcourse.models.gpt.model.GPT.to_hf`),
:func:`config_from_hf` and :func:`copy_weights_from_hf` (a ``transformers.GPT2LMHeadModel`` into ours, for
:meth:`~tfmcourse.models.gpt.model.GPT.from_hf`). ``transformers`` is imported only inside
:func:`hf_config`."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from tfmcourse.models.gpt.config import GPTConfig

__all__ = ["hf_config", "hf_state_dict", "config_from_hf", "copy_weights_from_hf"]


#: Our activation names and the ``activation_function`` names of Hugging Face's GPT-2 config.
_TO_HF_ACTIVATION = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
_FROM_HF_ACTIVATION = {
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu": "gelu",
    "relu": "relu",
}


def hf_config(c: GPTConfig, **overrides):
    """The ``transformers.GPT2Config`` that describes a GPT of config ``c`` (``overrides`` are passed on,
    e.g. ``bos_token_id``, ``eos_token_id``, ``pad_token_id``; by default they are ``None``)."""
    from transformers import GPT2Config

    kwargs = dict(
        vocab_size=c.vocab_size,
        n_positions=c.max_len,
        n_embd=c.d_model,
        n_layer=c.num_layers,
        n_head=c.num_heads,
        n_inner=c.d_ff,
        activation_function=_TO_HF_ACTIVATION[c.activation],
        resid_pdrop=c.dropout,
        embd_pdrop=c.dropout,
        attn_pdrop=c.dropout,
        layer_norm_epsilon=c.layer_norm_eps,
        tie_word_embeddings=c.tie_weights,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    kwargs.update(overrides)
    return GPT2Config(**kwargs)


def hf_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """The weights of ``model``, a :class:`~tfmcourse.models.gpt.model.GPT`, under GPT-2's names and in its
    layout (``Conv1D`` weights are ``(in, out)``)."""
    sd = {"transformer.wte.weight": model.tok_embed.weight, "transformer.wpe.weight": model.pos.table}
    for i, b in enumerate(model.blocks):
        p, a = f"transformer.h.{i}.", b.attn
        # c_attn packs the three projections side by side: columns [q | k | v], each d_model wide.
        sd[p + "attn.c_attn.weight"] = torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]).T
        sd[p + "attn.c_attn.bias"] = torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias])
        sd[p + "attn.c_proj.weight"] = a.out_proj.weight.T
        sd[p + "attn.c_proj.bias"] = a.out_proj.bias
        sd[p + "mlp.c_fc.weight"] = b.ff.linear1.weight.T
        sd[p + "mlp.c_fc.bias"] = b.ff.linear1.bias
        sd[p + "mlp.c_proj.weight"] = b.ff.linear2.weight.T
        sd[p + "mlp.c_proj.bias"] = b.ff.linear2.bias
        for ours, theirs in ((b.norm1, "ln_1"), (b.norm2, "ln_2")):
            sd[p + theirs + ".weight"], sd[p + theirs + ".bias"] = ours.weight, ours.bias
    sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = model.norm.weight, model.norm.bias
    sd["lm_head.weight"] = model.lm_head.weight
    return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def config_from_hf(hf: nn.Module, impl: str = "naive") -> GPTConfig:
    """The :class:`~tfmcourse.models.gpt.config.GPTConfig` of ``hf``, a ``transformers.GPT2LMHeadModel``;
    refused (ValueError) as :meth:`~tfmcourse.models.gpt.model.GPT.from_hf` says."""
    hc = getattr(hf, "config", None)
    if type(hf).__name__ != "GPT2LMHeadModel" or hc is None:
        raise ValueError(f"hf must be a transformers.GPT2LMHeadModel, got {type(hf).__name__}")
    if not hc.scale_attn_weights or hc.scale_attn_by_inverse_layer_idx or hc.add_cross_attention:
        raise ValueError(
            "only GPT-2 models with scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False and "
            "add_cross_attention=False can be copied"
        )
    if hc.activation_function not in _FROM_HF_ACTIVATION:
        raise ValueError(
            f"unsupported activation_function {hc.activation_function!r}; "
            f"supported: {tuple(_FROM_HF_ACTIVATION)}"
        )
    if not (hc.resid_pdrop == hc.embd_pdrop == hc.attn_pdrop):
        raise ValueError(
            f"GPT needs one dropout value, got resid_pdrop={hc.resid_pdrop}, "
            f"embd_pdrop={hc.embd_pdrop}, attn_pdrop={hc.attn_pdrop}"
        )
    tied = hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    config = GPTConfig(
        vocab_size=hc.vocab_size,
        max_len=hc.n_positions,
        d_model=hc.n_embd,
        num_layers=hc.n_layer,
        num_heads=hc.n_head,
        d_ff=hc.n_inner if hc.n_inner is not None else 4 * hc.n_embd,
        dropout=float(hc.resid_pdrop),
        layer_norm_eps=hc.layer_norm_epsilon,
        activation=_FROM_HF_ACTIVATION[hc.activation_function],
        tie_weights=tied,
        impl=impl,
    )
    return config


def copy_weights_from_hf(ours: nn.Module, hf: nn.Module) -> None:
    """Copy the weights of ``hf``, a ``transformers.GPT2LMHeadModel``, into ``ours``, a
    :class:`~tfmcourse.models.gpt.model.GPT` built from :func:`config_from_hf` (``Conv1D`` weights
    transposed, ``c_attn`` unpacked into the three projections)."""
    tied = ours.config.tie_weights
    theirs = hf.state_dict()
    with torch.no_grad():
        ours.tok_embed.weight.copy_(theirs["transformer.wte.weight"])
        ours.pos.table.copy_(theirs["transformer.wpe.weight"])
        for i, b in enumerate(ours.blocks):
            p, a = f"transformer.h.{i}.", b.attn
            # (d_model, 3 d_model) -> three (d_model, d_model) blocks, transposed to Linear's (out, in).
            w_q, w_k, w_v = rearrange(theirs[p + "attn.c_attn.weight"], "i (three o) -> three o i", three=3)
            b_q, b_k, b_v = rearrange(theirs[p + "attn.c_attn.bias"], "(three o) -> three o", three=3)
            for proj, wt, bs in ((a.q_proj, w_q, b_q), (a.k_proj, w_k, b_k), (a.v_proj, w_v, b_v)):
                proj.weight.copy_(wt)
                proj.bias.copy_(bs)
            for lin, name in (
                (a.out_proj, "attn.c_proj"),
                (b.ff.linear1, "mlp.c_fc"),
                (b.ff.linear2, "mlp.c_proj"),
            ):
                lin.weight.copy_(theirs[p + name + ".weight"].T)
                lin.bias.copy_(theirs[p + name + ".bias"])
            for norm, name in ((b.norm1, "ln_1"), (b.norm2, "ln_2")):
                norm.weight.copy_(theirs[p + name + ".weight"])
                norm.bias.copy_(theirs[p + name + ".bias"])
        ours.norm.weight.copy_(theirs["transformer.ln_f.weight"])
        ours.norm.bias.copy_(theirs["transformer.ln_f.bias"])
        if not tied:
            ours.lm_head.weight.copy_(theirs["lm_head.weight"])
