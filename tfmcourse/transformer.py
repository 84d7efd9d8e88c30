"""The encoder and decoder stacks of the encoder-decoder Transformer, and its masks (chapter 6).

- :class:`Encoder`: a stack of :class:`~tfmcourse.blocks.EncoderLayer` and a final LayerNorm; it maps
  the source vectors to the *memory*, one vector per source position.
- :class:`Decoder`: a stack of :class:`~tfmcourse.blocks.DecoderLayer` and a final LayerNorm; it maps
  the target vectors to output vectors, looking into the memory through cross-attention.
- The whole model, :class:`~tfmcourse.models.transformer.Transformer` (embeddings, positions, the two
  stacks, the output projection), lives in :mod:`tfmcourse.models.transformer`; it can be imported from
  here too.

``Encoder`` and ``Decoder`` compute exactly what ``torch.nn.TransformerEncoder`` /
``TransformerDecoder`` compute (the stacks inside ``torch.nn.Transformer``, which has a final norm in
both, post-norm or pre-norm): ``from_torch`` copies the weights. Both are built from a
:class:`~tfmcourse.config.TransformerConfig` (``Encoder(config)`` has ``config.num_encoder_layers``
layers, ``Decoder(config)`` ``config.num_decoder_layers``).

Shapes are batch first. Token ids are ``(batch, seq)`` integer tensors; vectors ``(batch, seq, d_model)``.
Masks are boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq_q, seq_k)``:

- ``src_mask`` for the encoder's self-attention, usually the padding mask ``(batch, 1, 1, seq_s)``;
- ``tgt_mask`` for the decoder's self-attention, usually causal and padding ``(batch, 1, seq_t, seq_t)``;
- ``memory_mask`` for the cross-attention, usually the source padding mask ``(batch, 1, 1, seq_s)``.

:func:`make_src_mask` and :func:`make_tgt_mask` build them from the token ids and the padding id.
:func:`mask_from_torch` converts torch's masks, whose boolean sense is the opposite (``True`` = NOT allowed).

**KV cache** (incremental decoding): :meth:`Decoder.new_cache` gives a :class:`~tfmcourse.cache.KVCache`
with one slot per decoder layer. Feed the target one position (or one chunk) at a time, passing the same
cache: each call appends the new positions' keys and values. With one new position per call no
``tgt_mask`` is needed (the cache holds only the past); for a chunk of ``n`` new positions use
``causal_mask(n, cached + n)``. The outputs equal those of decoding the whole target at once with a
causal mask.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.blocks import DecoderLayer, EncoderLayer, MemoryMask, SelfMask, TgtMask
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import Dims, check_ids, check_mask, entry_point
from tfmcourse.config import POSITIONALS, TransformerConfig, configurable

__all__ = [
    "Encoder",
    "Decoder",
    "Transformer",  # noqa: F822 -- loaded on first use by __getattr__ below
    "make_src_mask",
    "make_tgt_mask",
    "mask_from_torch",
    "cache_length",
    "POSITIONALS",
]

#: The positional order of the stacks' arguments before the config (``num_layers`` is the stack's depth).
STACK_ARGS = (
    "d_model",
    "num_heads",
    "num_layers",
    "d_ff",
    "dropout",
    "activation",
    "norm_first",
    "layer_norm_eps",
    "impl",
    "final_norm",
    "bias",
)


@entry_point(lambda src, pad_id=None: check_ids(src, "src"))
def make_src_mask(
    src: Int[Tensor, "batch seq_s"], pad_id: int | None = None
) -> Bool[Tensor, "batch 1 1 seq_s"]:
    """Source padding mask ``(batch, 1, 1, seq_s)``: ``True`` at real tokens (may be attended to).

    Every query may attend to every non-padding key; with ``pad_id=None`` the mask is all ``True``.
    Use it as the encoder's ``src_mask`` and as the decoder's ``memory_mask``.
    """
    keep = torch.ones_like(src, dtype=torch.bool) if pad_id is None else src != pad_id
    return keep[:, None, None, :]


@entry_point(lambda tgt, pad_id=None: check_ids(tgt, "tgt"))
def make_tgt_mask(
    tgt: Int[Tensor, "batch seq_t"], pad_id: int | None = None
) -> Bool[Tensor, "batch 1 seq_t seq_t"]:
    """Target mask ``(batch, 1, seq_t, seq_t)``: causal **and** padding, ``True`` = may attend.

    Query ``i`` may attend to key ``j`` when ``j <= i`` (no peeking at later tokens) and token ``j``
    is not padding. Padding is a property of the *keys* (the last axis); the extra axis of size 1
    broadcasts over the heads.
    """
    causal = causal_mask(tgt.shape[1], device=tgt.device)  # (seq_t, seq_t)
    keys = torch.ones_like(tgt, dtype=torch.bool) if pad_id is None else tgt != pad_id
    return causal[None, None, :, :] & keys[:, None, None, :]


def _check_torch_masks(attn_mask: object = None, key_padding_mask: object = None) -> None:
    for name, m in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
        if m is not None and (not isinstance(m, Tensor) or m.dtype != torch.bool or m.ndim != 2):
            what = f"dtype {m.dtype}, shape {tuple(m.shape)}" if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(
                f"{name} must be a 2-D boolean tensor (torch's sense: True = NOT allowed), got {what}"
            )


@entry_point(_check_torch_masks)
def mask_from_torch(
    attn_mask: Bool[Tensor, "seq_q seq_k"] | None = None,
    key_padding_mask: Bool[Tensor, "batch seq_k"] | None = None,
) -> Bool[Tensor, "batch_or_1 1 seq_q_or_1 seq_k"] | None:
    """Convert torch's boolean masks (``True`` = NOT allowed) to one of ours (``True`` = may attend).

    ``attn_mask`` ``(seq_q, seq_k)`` (torch's ``src_mask``/``tgt_mask``/``memory_mask``) and
    ``key_padding_mask`` ``(batch, seq_k)`` (``True`` at padding) combine into one mask of shape
    ``(batch or 1, 1, seq_q or 1, seq_k)``. ``None`` when both are ``None``. Float (additive) masks are
    not supported: give boolean ones.
    """
    ours = None
    if attn_mask is not None:
        ours = ~attn_mask[None, None, :, :]
    if key_padding_mask is not None:
        keys = ~key_padding_mask[:, None, None, :]
        ours = keys if ours is None else ours & keys
    return ours


def cache_length(cache: KVCache | None) -> int:
    """How many target positions a KV cache holds (0 for ``None``): ``cache.length``."""
    return 0 if cache is None else cache.length


def _final_norm(c: TransformerConfig) -> nn.Module:
    return nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias) if c.final_norm else nn.Identity()


def _check_encoder(self: Encoder, x: object, mask: object = None) -> None:
    Dims(d_model=self.d_model)(x, "x", "batch seq_s d_model")
    if mask is not None:
        check_mask(mask, "mask", (x.shape[0], self.config.num_heads, x.shape[1], x.shape[1]))


class Encoder(nn.Module):
    """A stack of ``config.num_encoder_layers`` :class:`~tfmcourse.blocks.EncoderLayer` and a final
    LayerNorm (dropped when ``config.final_norm`` is ``False``; ``torch.nn.Transformer`` always has it).

    ``forward(x, mask=None)``: ``(batch, seq_s, d_model) -> (batch, seq_s, d_model)`` (the memory).

    Submodules: ``layers`` (``nn.ModuleList``), ``norm`` (``nn.LayerNorm``, or ``nn.Identity``).
    """

    @configurable(*STACK_ARGS, num_layers="num_encoder_layers")
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config, self.d_model = config, config.d_model
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_encoder_layers))
        self.norm = _final_norm(config)

    @entry_point(_check_encoder)
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], mask: SelfMask | None = None
    ) -> Float[Tensor, "batch seq d_model"]:
        """Run every layer, then the final norm. ``mask``: as in :meth:`EncoderLayer.forward`."""
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)

    @classmethod
    def from_torch(cls, encoder: nn.Module, impl: str = "naive") -> Encoder:
        """A copy of ``torch.nn.TransformerEncoder`` (its layers and its final ``norm``, if any)."""
        if not isinstance(encoder, nn.TransformerEncoder):
            raise ValueError(f"encoder must be a torch.nn.TransformerEncoder, got {type(encoder).__name__}")
        layers = [EncoderLayer.from_torch(layer, impl=impl) for layer in encoder.layers]
        config = dataclasses.replace(
            layers[0].config, num_encoder_layers=len(layers), final_norm=encoder.norm is not None
        )
        with torch.device("meta"):  # the layers and the norm are replaced by the copies
            ours = cls(config)
        ours.layers = nn.ModuleList(layers)
        ours.norm = nn.Identity() if encoder.norm is None else copy.deepcopy(encoder.norm)
        return ours.train(encoder.training)


def _check_decoder(
    self: Decoder,
    x: object,
    memory: object,
    tgt_mask: object = None,
    memory_mask: object = None,
    cache: object = None,
) -> None:
    dims = Dims(d_model=self.d_model)
    dims(x, "x", "batch seq_t d_model")
    dims(memory, "memory", "batch seq_s d_model")
    (batch, seq_t), seq_s, heads = x.shape[:2], memory.shape[1], self.config.num_heads
    if cache is not None:
        check_cache(cache, len(self.layers), batch)
    cached = cache_length(cache)
    if tgt_mask is not None:
        check_mask(tgt_mask, "tgt_mask", (batch, heads, seq_t, cached + seq_t))
    if memory_mask is not None:
        check_mask(memory_mask, "memory_mask", (batch, heads, seq_t, seq_s))


class Decoder(nn.Module):
    """A stack of ``config.num_decoder_layers`` :class:`~tfmcourse.blocks.DecoderLayer` and a final LayerNorm.

    ``forward(x, memory, tgt_mask=None, memory_mask=None, cache=None)``:
    ``(batch, seq_t, d_model), (batch, seq_s, d_model) -> (batch, seq_t, d_model)``. Every layer looks
    into the same ``memory``. ``cache``: see the module docstring.

    Submodules: ``layers`` (``nn.ModuleList``), ``norm`` (``nn.LayerNorm``, or ``nn.Identity``).
    """

    @configurable(*STACK_ARGS, num_layers="num_decoder_layers")
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config, self.d_model = config, config.d_model
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_decoder_layers))
        self.norm = _final_norm(config)

    def new_cache(self) -> KVCache:
        """An empty KV cache with one slot per layer (filled by the first call that receives it)."""
        return KVCache(len(self.layers))

    @entry_point(_check_decoder)
    def forward(
        self,
        x: Float[Tensor, "batch seq_t d_model"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: TgtMask | None = None,
        memory_mask: MemoryMask | None = None,
        cache: KVCache | None = None,
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """Run every layer (layer ``i`` with slot ``i`` of the cache), then the final norm.

        Masks as in :meth:`DecoderLayer.forward`; with a cache, ``tgt_mask``'s ``seq_k`` is
        ``cache.length + seq_t``.
        """
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, tgt_mask, memory_mask, cache=cache, layer=i)
        return self.norm(x)

    @classmethod
    def from_torch(cls, decoder: nn.Module, impl: str = "naive") -> Decoder:
        """A copy of ``torch.nn.TransformerDecoder`` (its layers and its final ``norm``, if any)."""
        if not isinstance(decoder, nn.TransformerDecoder):
            raise ValueError(f"decoder must be a torch.nn.TransformerDecoder, got {type(decoder).__name__}")
        layers = [DecoderLayer.from_torch(layer, impl=impl) for layer in decoder.layers]
        config = dataclasses.replace(
            layers[0].config, num_decoder_layers=len(layers), final_norm=decoder.norm is not None
        )
        with torch.device("meta"):  # the layers and the norm are replaced by the copies
            ours = cls(config)
        ours.layers = nn.ModuleList(layers)
        ours.norm = nn.Identity() if decoder.norm is None else copy.deepcopy(decoder.norm)
        return ours.train(decoder.training)


def __getattr__(name: str):
    """``Transformer`` moved to :mod:`tfmcourse.models.transformer`; it is still importable from here
    (loaded on first use: the models sit above this module)."""
    if name == "Transformer":
        from tfmcourse.models.transformer import Transformer

        return Transformer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
