"""A decoder-only language model, GPT-2's layout, built from the book's blocks (chapter 9).

A GPT reads token ids ``(batch, seq)`` and returns, at every position, scores (logits) for the token
that comes next, ``(batch, seq, vocab)``. It is the decoder of chapter 6 without the cross-attention:

1. token embeddings plus learned position embeddings (:class:`~tfmcourse.positional.LearnedPositions`);
2. ``num_layers`` pre-norm blocks (:class:`GPTBlock`), each ``x = x + attn(norm1(x))`` with a causal
   mask (position ``i`` sees positions ``<= i`` only), then ``x = x + ff(norm2(x))`` with the tanh
   approximation of GELU;
3. a final LayerNorm and the output projection ``lm_head``, whose weight *is* the token embedding
   matrix (tied embeddings): the same vector represents a token on the way in and on the way out.

**Causal attention without a mask.** A block's self-attention is called with ``is_causal=True`` and no
mask: with ``impl="sdpa"`` torch then receives ``is_causal=True`` and may run its FlashAttention kernel,
which an explicit mask rules out (:func:`tfmcourse.attention.fused_attention`).

**KV cache.** :meth:`GPT.new_cache` gives a :class:`~tfmcourse.cache.KVCache` with one slot per block.
A call ``model(ids, cache=cache)`` appends the keys and values of ``ids`` to every block's slot and puts
``ids`` at positions ``cached .. cached + seq - 1``; feeding a prompt once and then one new token per call
gives the same logits as re-running the whole sequence, at the cost of one position per call
(:mod:`tfmcourse.sampling`).

**Hugging Face.** :meth:`GPT.from_hf` copies a ``transformers.GPT2LMHeadModel`` into a GPT and
:meth:`GPT.to_hf` does the reverse; the two compute the same logits. GPT-2 stores its linear layers as
``Conv1D`` modules whose weight is ``(in, out)``, the transpose of ``nn.Linear``'s ``(out, in)``, and
packs the query, key and value projections into one ``c_attn`` layer of width ``3 * d_model``.
``transformers`` is imported only inside those two methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import FeedForward
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import check_ids, check_positive, check_probability, entry_point
from tfmcourse.config import ACTIVATIONS
from tfmcourse.losses import evaluate_lm, lm_loss
from tfmcourse.multihead import IMPLS, MultiHeadAttention
from tfmcourse.positional import LearnedPositions

__all__ = ["GPTConfig", "GPTBlock", "GPT", "lm_loss", "evaluate_lm"]

#: Our activation names and the ``activation_function`` names of Hugging Face's GPT-2 config.
_TO_HF_ACTIVATION = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
_FROM_HF_ACTIVATION = {
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu": "gelu",
    "relu": "relu",
}


@dataclass
class GPTConfig:
    """The hyperparameters of a :class:`GPT`.

    Args:
        vocab_size: number of token ids.
        max_len: the longest sequence (number of learned positions), GPT-2's ``n_positions``.
        d_model: width of every vector; ``num_heads`` must divide it.
        num_layers: number of blocks.
        num_heads: attention heads per block.
        d_ff: hidden width of the feed-forward networks (``None``: ``4 * d_model``).
        dropout: on the embeddings, the attention weights and each sublayer's output (GPT-2 uses one
            value for the three).
        layer_norm_eps: ``eps`` of every LayerNorm.
        activation: of the feed-forward networks; ``"gelu_tanh"`` is GPT-2's.
        tie_weights: use the token embedding matrix as the output projection.
        impl: attention implementation, ``"naive"`` or ``"sdpa"`` (see :class:`MultiHeadAttention`).
    """

    vocab_size: int
    max_len: int = 128
    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    d_ff: int | None = None
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    activation: str = "gelu_tanh"
    tie_weights: bool = True
    impl: str = "naive"

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        check_positive(
            vocab_size=self.vocab_size,
            max_len=self.max_len,
            d_model=self.d_model,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            d_ff=self.d_ff,
        )
        if self.d_model % self.num_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}")
        check_probability(dropout=self.dropout)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")


class GPTBlock(nn.Module):
    """One GPT-2 block: pre-norm causal self-attention, then a pre-norm feed-forward network.

    ``x = x + dropout(attn(norm1(x)))``, then ``x = x + dropout(ff(norm2(x)))``. This is
    :class:`~tfmcourse.blocks.EncoderLayer` with ``norm_first=True`` and a causal mask, written out
    here with GPT-2's names. As in GPT-2, the feed-forward network has no dropout after its
    activation (only on its output).

    Submodules: ``norm1``, ``attn`` (:class:`MultiHeadAttention`), ``dropout1``, ``norm2``, ``ff``
    (:class:`FeedForward`), ``dropout2``.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        d = config.d_model
        self.norm1 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.attn = MultiHeadAttention(d, config.num_heads, dropout=config.dropout, impl=config.impl)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.ff = FeedForward(d, config.d_ff, activation=config.activation, dropout=0.0)
        self.dropout2 = nn.Dropout(config.dropout)

    def forward(
        self, x: Float[Tensor, "batch seq d_model"], cache: KVCache | None = None, layer: int = 0
    ) -> Float[Tensor, "batch seq d_model"]:
        """``(batch, seq, d_model) -> (batch, seq, d_model)``: position ``i`` attends to the positions
        ``<= i`` (and to every cached one); ``cache``, ``layer``: the KV cache and this block's slot.

        Causal without a mask: one new token after a cache sees every key (nothing to mask); otherwise the
        attention gets ``is_causal=True`` (aligned bottom-right after a cache)."""
        h = self.norm1(x)
        x = x + self.dropout1(self.attn(h, h, h, cache=cache, layer=layer, is_causal=x.shape[1] > 1)[0])
        return x + self.dropout2(self.ff(self.norm2(x)))


def _check_forward(model: GPT, ids: object, cache: object = None) -> None:
    check_ids(ids, "ids", model.config.vocab_size)
    batch, seq = ids.shape
    if seq == 0:
        raise ValueError(f"ids has shape {tuple(ids.shape)}: it needs at least one token")
    if cache is not None:
        check_cache(cache, len(model.blocks), batch)
    offset = 0 if cache is None else cache.length
    if offset + seq > model.config.max_len:
        raise ValueError(
            f"ids has shape {tuple(ids.shape)} and the cache holds {offset} positions: positions up "
            f"to {offset + seq - 1} exceed max_len={model.config.max_len}"
        )


class GPT(nn.Module):
    """A decoder-only Transformer language model (GPT-2's architecture).

    ``GPT(config)`` with a :class:`GPTConfig`. Submodules: ``tok_embed`` (``nn.Embedding``), ``pos``
    (:class:`~tfmcourse.positional.LearnedPositions`, with the embedding dropout), ``blocks`` (a
    ``ModuleList`` of :class:`GPTBlock`), ``norm`` (the final LayerNorm) and ``lm_head``
    (``nn.Linear(d_model, vocab_size, bias=False)``, its weight tied to ``tok_embed.weight`` when
    ``config.tie_weights``).

    The weights start as in GPT-2: normal with std 0.02, biases zero, and the two projections that
    write into the residual stream of each block (``attn.out_proj``, ``ff.linear2``) with std
    ``0.02 / sqrt(2 * num_layers)`` so that the sum of ``2 * num_layers`` of them keeps its scale.

    ``forward(ids (batch, seq), cache=None)`` returns the logits ``(batch, seq, vocab_size)``:
    ``logits[b, i]`` scores the token that follows ``ids[b, : i + 1]``.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise ValueError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self.tok_embed = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = LearnedPositions(c.d_model, c.max_len, dropout=c.dropout)
        self.blocks = nn.ModuleList(GPTBlock(c) for _ in range(c.num_layers))
        self.norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation (see the class docstring); ties ``lm_head`` to the embeddings."""
        residual_std = 0.02 / math.sqrt(2 * self.config.num_layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif ".norm" in name or name.startswith("norm"):
                nn.init.ones_(p)
            elif name.endswith(("attn.out_proj.weight", "ff.linear2.weight")):
                nn.init.normal_(p, std=residual_std)
            else:
                nn.init.normal_(p, std=0.02)
        if self.config.tie_weights:
            self.lm_head.weight = self.tok_embed.weight

    def num_params(self) -> int:
        """Number of trainable numbers (a tied matrix counts once)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> KVCache:
        """An empty KV cache, one slot per block, filled by the first call that receives it."""
        return KVCache(len(self.blocks))

    @entry_point(_check_forward)
    def forward(
        self, ids: Int[Tensor, "batch seq"], cache: KVCache | None = None
    ) -> Float[Tensor, "batch seq vocab"]:
        """Token ids ``(batch, seq)`` -> next-token logits ``(batch, seq, vocab_size)``.

        With a ``cache`` (from :meth:`new_cache`), ``ids`` holds only the new tokens: they take the
        positions ``cached .. cached + seq - 1`` and attend to every cached position and causally to
        each other. ``cached + seq`` must not exceed ``config.max_len``. The ids are checked against the
        vocabulary on the CPU only: on a GPU that would wait for the device at every step. An empty batch
        gives an empty result.
        """
        x = self.pos(self.tok_embed(ids), offset=0 if cache is None else cache.length)
        for i, block in enumerate(self.blocks):
            x = block(x, cache=cache, layer=i)
        return self.lm_head(self.norm(x))

    # ------------------------------------------------------------------------------ Hugging Face
    def hf_config(self, **overrides):
        """The ``transformers.GPT2Config`` that describes this model (``overrides`` are passed on,
        e.g. ``bos_token_id``, ``eos_token_id``, ``pad_token_id``; by default they are ``None``)."""
        from transformers import GPT2Config

        c = self.config
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

    def hf_state_dict(self) -> dict[str, Tensor]:
        """Our weights under GPT-2's names and in its layout (``Conv1D`` weights are ``(in, out)``)."""
        sd = {"transformer.wte.weight": self.tok_embed.weight, "transformer.wpe.weight": self.pos.table}
        for i, b in enumerate(self.blocks):
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
        sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = self.norm.weight, self.norm.bias
        sd["lm_head.weight"] = self.lm_head.weight
        return {k: v.detach().clone().contiguous() for k, v in sd.items()}

    def to_hf(self, **config_overrides):
        """A ``transformers.GPT2LMHeadModel`` with this model's weights (same dtype, device and mode).

        ``config_overrides`` go to :meth:`hf_config` (e.g. ``eos_token_id=0``).
        """
        from transformers import GPT2LMHeadModel

        w = self.tok_embed.weight
        hf = GPT2LMHeadModel(self.hf_config(**config_overrides)).to(device=w.device, dtype=w.dtype)
        missing, unexpected = hf.load_state_dict(self.hf_state_dict(), strict=False)
        missing = [k for k in missing if not k.endswith(".attn.bias") and not k.endswith(".attn.masked_bias")]
        if missing or unexpected:  # a layout change in transformers would show up here, not as wrong numbers
            raise ValueError(
                f"GPT2LMHeadModel's weights do not match ours: missing {missing}, unexpected {unexpected}"
            )
        return hf.train(self.training)

    @classmethod
    def from_hf(cls, hf: nn.Module, impl: str = "naive") -> GPT:
        """A :class:`GPT` with the weights of ``hf``, a ``transformers.GPT2LMHeadModel``.

        The copy has ``hf``'s dtype, device and mode. Refused (ValueError): models whose attention is
        not plain scaled dot-product (``scale_attn_by_inverse_layer_idx``, no ``scale_attn_weights``),
        with cross-attention, or with an activation we do not have.
        """
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
        w = hf.transformer.wte.weight
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        theirs = hf.state_dict()
        with torch.no_grad():
            ours.tok_embed.weight.copy_(theirs["transformer.wte.weight"])
            ours.pos.table.copy_(theirs["transformer.wpe.weight"])
            for i, b in enumerate(ours.blocks):
                p, a = f"transformer.h.{i}.", b.attn
                # (d_model, 3 d_model) -> three (d_model, d_model) blocks, transposed to Linear's (out, in).
                w_q, w_k, w_v = rearrange(
                    theirs[p + "attn.c_attn.weight"], "i (three o) -> three o i", three=3
                )
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
        return ours.train(hf.training)
