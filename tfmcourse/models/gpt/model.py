"""Chapter 9's model: :class:`GPTBlock` (pre-norm causal self-attention and feed-forward) and :class:`GPT`
(embeddings, blocks, final LayerNorm, tied output layer, KV cache). Its input is checked here, where a
call enters the model; the Hugging Face copies are in :mod:`tfmcourse.models.gpt.hf`."""

from __future__ import annotations

import math
import warnings

from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import FeedForward
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import check_ids, entry_point
from tfmcourse.models.gpt import hf as _hf
from tfmcourse.models.gpt.config import GPTConfig
from tfmcourse.multihead import MultiHeadAttention
from tfmcourse.positional import LearnedPositions

__all__ = ["GPTBlock", "GPT"]


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
        self,
        x: Float[Tensor, "batch seq d_model"],
        cache: KVCache | None = None,
        layer: int = 0,
        mask: Bool[Tensor, "*#mask #seq seq_k"] | None = None,
    ) -> Float[Tensor, "batch seq d_model"]:
        """``(batch, seq, d_model) -> (batch, seq, d_model)``: position ``i`` attends to the positions
        ``<= i`` (and to every cached one); ``cache``, ``layer``: the KV cache and this block's slot.

        Causal without a mask: one new token after a cache sees every key (nothing to mask); otherwise the
        attention gets ``is_causal=True`` (aligned bottom-right after a cache). ``mask`` (``True`` = may
        attend) is still accepted from code written when a block needed one (``block(x, mask=causal_mask(
        seq))``): it is used as given, with a ``FutureWarning`` that it is no longer needed."""
        h = self.norm1(x)
        if mask is None:
            attended = self.attn(h, h, h, cache=cache, layer=layer, is_causal=x.shape[1] > 1)[0]
        else:
            warnings.warn(
                "GPTBlock is causal by itself: mask= is no longer needed (this mask is used as given)",
                FutureWarning,
                stacklevel=2,
            )
            attended = self.attn(h, h, h, mask=mask, cache=cache, layer=layer)[0]
        x = x + self.dropout1(attended)
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
        return _hf.hf_config(self.config, **overrides)

    def hf_state_dict(self) -> dict[str, Tensor]:
        """Our weights under GPT-2's names and in its layout (``Conv1D`` weights are ``(in, out)``)."""
        return _hf.hf_state_dict(self)

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
        config = _hf.config_from_hf(hf, impl)
        w = hf.transformer.wte.weight
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        _hf.copy_weights_from_hf(ours, hf)
        return ours.train(hf.training)
