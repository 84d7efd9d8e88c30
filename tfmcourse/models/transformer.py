"""The encoder-decoder Transformer of Vaswani et al. (2017), batch first (chapters 6 and 7).

:class:`Transformer` adds to the two stacks of :mod:`tfmcourse.transformer` what ``torch.nn.Transformer``
leaves out: token embeddings (scaled by ``sqrt(d_model)``), positions and the output projection to the
target vocabulary. It is built from a :class:`~tfmcourse.config.TransformerConfig`::

    config = TransformerConfig(src_vocab=13, tgt_vocab=13, d_model=32, num_heads=2, d_ff=64, pad_id=0)
    model = Transformer(config)          # or Transformer(13, 13, d_model=32, num_heads=2, d_ff=64, pad_id=0)
    logits = model(src, tgt, *model.make_masks(src, tgt))

Masks are not made for you (as in ``torch.nn.Transformer``): :meth:`Transformer.make_masks` builds them
from the padding id. The KV cache of incremental decoding is a :class:`~tfmcourse.cache.KVCache`
(:meth:`Transformer.new_cache`); :mod:`tfmcourse.decode` uses it for greedy decoding and beam search.
"""

from __future__ import annotations

import dataclasses
import math

from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.blocks import MemoryMask, TgtMask
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import Dims, check_ids, check_mask, check_positive, entry_point
from tfmcourse.config import TransformerConfig, configurable
from tfmcourse.positional import LearnedPositions, SinusoidalPositions
from tfmcourse.transformer import Decoder, Encoder, cache_length, make_src_mask, make_tgt_mask

__all__ = ["Transformer", "TransformerConfig"]

#: The positional order of the arguments before the config.
MODEL_ARGS = (
    "src_vocab",
    "tgt_vocab",
    "d_model",
    "num_heads",
    "num_encoder_layers",
    "num_decoder_layers",
    "d_ff",
    "dropout",
    "norm_first",
    "positional",
    "tie_embeddings",
    "max_len",
    "pad_id",
    "activation",
    "layer_norm_eps",
    "impl",
)


def _check_fits(model: Transformer, name: str, ids: Tensor, offset: int = 0) -> None:
    if offset + ids.shape[1] > model.config.max_len:
        raise ValueError(
            f"{name} has shape {tuple(ids.shape)}: positions {offset} .. {offset + ids.shape[1] - 1} "
            f"exceed max_len={model.config.max_len}"
        )


def _check_ids(model: Transformer, name: str, ids: object, offset: int = 0) -> None:
    """Token ids of the source or the target: ``(batch, seq)`` integers in the vocabulary, within max_len."""
    check_ids(ids, name, model.src_vocab if name == "src" else model.tgt_vocab)
    _check_fits(model, name, ids, offset)


def _check_encode(self: Transformer, src: object, src_mask: object = None) -> None:
    _check_ids(self, "src", src)
    batch, seq_s = src.shape
    if src_mask is not None:
        check_mask(src_mask, "src_mask", (batch, self.config.num_heads, seq_s, seq_s))


def _check_decode(
    self: Transformer,
    tgt: object,
    memory: object,
    tgt_mask: object = None,
    memory_mask: object = None,
    cache: object = None,
) -> None:
    check_ids(tgt, "tgt", self.tgt_vocab)
    dims = Dims(d_model=self.config.d_model)
    dims(tgt, "tgt", "batch seq_t", kind="int")
    dims(memory, "memory", "batch seq_s d_model")
    if cache is not None:
        check_cache(cache, len(self.decoder.layers), tgt.shape[0])
    offset = cache_length(cache)
    _check_fits(self, "tgt", tgt, offset)
    (batch, seq_t), seq_s, heads = tgt.shape, memory.shape[1], self.config.num_heads
    if tgt_mask is not None:
        check_mask(tgt_mask, "tgt_mask", (batch, heads, seq_t, offset + seq_t))
    if memory_mask is not None:
        check_mask(memory_mask, "memory_mask", (batch, heads, seq_t, seq_s))


def _check_forward(
    self: Transformer,
    src: object,
    tgt: object,
    src_mask: object = None,
    tgt_mask: object = None,
    memory_mask: object = None,
) -> None:
    _check_ids(self, "src", src)
    _check_ids(self, "tgt", tgt)
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(
            f"src has shape {tuple(src.shape)} but tgt has shape {tuple(tgt.shape)}: "
            f"the batch sizes must match"
        )
    (batch, seq_s), seq_t, heads = src.shape, tgt.shape[1], self.config.num_heads
    for name, m, q, k in (
        ("src_mask", src_mask, seq_s, seq_s),
        ("tgt_mask", tgt_mask, seq_t, seq_t),
        ("memory_mask", memory_mask, seq_t, seq_s),
    ):
        if m is not None:
            check_mask(m, name, (batch, heads, q, k))


class Transformer(nn.Module):
    """The encoder-decoder Transformer, built from a :class:`~tfmcourse.config.TransformerConfig` with
    ``src_vocab`` and ``tgt_vocab`` set (every field is described there).

    Submodules: ``src_embed``, ``tgt_embed`` (``nn.Embedding``), ``src_pos``, ``tgt_pos`` (positions),
    ``encoder`` (:class:`~tfmcourse.transformer.Encoder`), ``decoder``
    (:class:`~tfmcourse.transformer.Decoder`),
    ``output_proj`` (``nn.Linear(d_model, tgt_vocab, bias=False)``).

    ``forward(src (batch, seq_s), tgt (batch, seq_t), src_mask, tgt_mask, memory_mask)`` returns the
    logits ``(batch, seq_t, tgt_vocab)``: position ``i``'s scores for the target token that follows.
    """

    @configurable(*MODEL_ARGS)
    def __init__(self, config: TransformerConfig):
        super().__init__()
        check_positive(src_vocab=config.src_vocab, tgt_vocab=config.tgt_vocab)
        c = self.config = config
        self.src_vocab, self.tgt_vocab, self.d_model = c.src_vocab, c.tgt_vocab, c.d_model
        self.max_len, self.pad_id, self.positional, self.tie_embeddings = (
            c.max_len,
            c.pad_id,
            c.positional,
            c.tie_embeddings,
        )
        self.src_embed = nn.Embedding(c.src_vocab, c.d_model)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.d_model)
        positions = SinusoidalPositions if c.positional == "sinusoidal" else LearnedPositions
        self.src_pos = positions(c.d_model, c.max_len, dropout=c.dropout)
        self.tgt_pos = positions(c.d_model, c.max_len, dropout=c.dropout)
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.output_proj = nn.Linear(c.d_model, c.tgt_vocab, bias=False)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform matrices in the stacks (as ``torch.nn.Transformer``); embeddings
        ``N(0, 1/d_model)``, so that after the ``sqrt(d_model)`` scale they have unit variance."""
        for stack in (self.encoder, self.decoder):
            for p in stack.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
        for emb in (self.src_embed, self.tgt_embed):
            nn.init.normal_(emb.weight, std=self.d_model**-0.5)
        if self.tie_embeddings:
            self.output_proj.weight = self.tgt_embed.weight
        else:
            nn.init.xavier_uniform_(self.output_proj.weight)

    # ----------------------------------------------------------------------------------------- masks
    def make_src_mask(self, src: Int[Tensor, "batch seq_s"]) -> Bool[Tensor, "batch 1 1 seq_s"]:
        """:func:`~tfmcourse.transformer.make_src_mask` with this model's ``pad_id``."""
        return make_src_mask(src, self.pad_id)

    def make_tgt_mask(self, tgt: Int[Tensor, "batch seq_t"]) -> Bool[Tensor, "batch 1 seq_t seq_t"]:
        """:func:`~tfmcourse.transformer.make_tgt_mask` (causal and padding) with this model's ``pad_id``."""
        return make_tgt_mask(tgt, self.pad_id)

    def make_masks(
        self, src: Int[Tensor, "batch seq_s"], tgt: Int[Tensor, "batch seq_t"]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(src_mask, tgt_mask, memory_mask)`` for ``forward(src, tgt, *masks)``: source padding,
        target causal + padding, and source padding again for the cross-attention."""
        src_mask = self.make_src_mask(src)
        return src_mask, self.make_tgt_mask(tgt), src_mask

    def new_cache(self) -> KVCache:
        """An empty KV cache for :meth:`decode`, one slot per decoder layer."""
        return self.decoder.new_cache()

    # ----------------------------------------------------------------------------------------- steps
    @entry_point(lambda self, src: _check_ids(self, "src", src))
    def embed_src(self, src: Int[Tensor, "batch seq_s"]) -> Float[Tensor, "batch seq_s d_model"]:
        """Source ids -> vectors: ``embedding * sqrt(d_model)`` plus positions (then dropout)."""
        return self.src_pos(self.src_embed(src) * math.sqrt(self.d_model))

    @entry_point(lambda self, tgt, offset=0: _check_ids(self, "tgt", tgt, offset))
    def embed_tgt(
        self, tgt: Int[Tensor, "batch seq_t"], offset: int = 0
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """Target ids -> vectors, positions starting at ``offset`` (the number of cached positions)."""
        return self.tgt_pos(self.tgt_embed(tgt) * math.sqrt(self.d_model), offset=offset)

    @entry_point(_check_encode)
    def encode(
        self, src: Int[Tensor, "batch seq_s"], src_mask: Bool[Tensor, "*#mask #seq_s seq_s"] | None = None
    ) -> Float[Tensor, "batch seq_s d_model"]:
        """Source ids ``(batch, seq_s)`` -> memory ``(batch, seq_s, d_model)``."""
        return self.encoder(self.embed_src(src), src_mask)

    @entry_point(_check_decode)
    def decode(
        self,
        tgt: Int[Tensor, "batch seq_t"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: TgtMask | None = None,
        memory_mask: MemoryMask | None = None,
        cache: KVCache | None = None,
    ) -> Float[Tensor, "batch seq_t tgt_vocab"]:
        """Target ids ``(batch, seq_t)`` and memory -> logits ``(batch, seq_t, tgt_vocab)``.

        With a ``cache`` (from :meth:`new_cache`), ``tgt`` holds only the *new* positions: their
        positional encodings start at ``cache.length`` and their keys and values are appended to the
        cache. ``tgt_mask`` then broadcasts to ``(batch, heads, seq_t, cached + seq_t)``.
        """
        y = self.embed_tgt(tgt, offset=cache_length(cache))
        return self.output_proj(self.decoder(y, memory, tgt_mask, memory_mask, cache=cache))

    @entry_point(_check_forward)
    def forward(
        self,
        src: Int[Tensor, "batch seq_s"],
        tgt: Int[Tensor, "batch seq_t"],
        src_mask: Bool[Tensor, "*#mask #seq_s seq_s"] | None = None,
        tgt_mask: Bool[Tensor, "*#mask #seq_t seq_t"] | None = None,
        memory_mask: MemoryMask | None = None,
    ) -> Float[Tensor, "batch seq_t tgt_vocab"]:
        """``encode`` then ``decode``: logits ``(batch, seq_t, tgt_vocab)``."""
        return self.decode(tgt, self.encode(src, src_mask), tgt_mask, memory_mask)

    # ------------------------------------------------------------------------------------ weight copy
    @classmethod
    def from_torch(
        cls,
        model: nn.Module,
        src_vocab: int,
        tgt_vocab: int,
        positional: str = "sinusoidal",
        tie_embeddings: bool = False,
        max_len: int = 512,
        pad_id: int | None = None,
        impl: str = "naive",
    ) -> Transformer:
        """A Transformer whose encoder and decoder stacks are copies of ``torch.nn.Transformer`` ``model``.

        ``torch.nn.Transformer`` has no embeddings, positions or output projection: ours are freshly
        initialised (from torch's global random state), with the given vocabularies. Then
        ``ours.encoder(x, mask)`` equals ``model.encoder(x, ...)`` and ``ours.decoder(...)`` equals
        ``model.decoder(...)``; so ``ours(src, tgt, ...)`` equals
        ``ours.output_proj(model(ours.embed_src(src), ours.embed_tgt(tgt), ...))`` in eval mode (with
        ``batch_first=True``; masks converted with :func:`~tfmcourse.transformer.mask_from_torch`).
        """
        if not isinstance(model, nn.Transformer):
            raise ValueError(f"model must be a torch.nn.Transformer, got {type(model).__name__}")
        encoder = Encoder.from_torch(model.encoder, impl=impl)
        decoder = Decoder.from_torch(model.decoder, impl=impl)
        config = dataclasses.replace(
            encoder.config,
            num_decoder_layers=len(decoder.layers),
            src_vocab=src_vocab,
            tgt_vocab=tgt_vocab,
            positional=positional,
            tie_embeddings=tie_embeddings,
            max_len=max_len,
            pad_id=pad_id,
        )
        w = encoder.layers[0].norm1.weight
        ours = cls(config).to(device=w.device, dtype=w.dtype)
        ours.encoder, ours.decoder = encoder, decoder
        return ours.train(model.training)
