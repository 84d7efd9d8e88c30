"""The encoder-decoder Transformer (chapter 6).

- :class:`Encoder`: a stack of :class:`~tfmcourse.blocks.EncoderLayer` and a final LayerNorm; it maps
  the source vectors to the *memory*, one vector per source position.
- :class:`Decoder`: a stack of :class:`~tfmcourse.blocks.DecoderLayer` and a final LayerNorm; it maps
  the target vectors to output vectors, looking into the memory through cross-attention.
- :class:`Transformer`: token embeddings (scaled by ``sqrt(d_model)``), positions, the encoder, the
  decoder and the output projection to the target vocabulary.

``Encoder`` and ``Decoder`` compute exactly what ``torch.nn.TransformerEncoder`` /
``TransformerDecoder`` compute (the stacks inside ``torch.nn.Transformer``, which has a final norm in
both, post-norm or pre-norm): ``from_torch`` copies the weights. Embeddings and the output projection
are not part of ``torch.nn.Transformer``; they are ours.

Shapes are batch first. Token ids are ``(batch, seq)`` integer tensors; vectors ``(batch, seq, d_model)``.
Masks are boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq_q, seq_k)``:

- ``src_mask`` for the encoder's self-attention, usually the padding mask ``(batch, 1, 1, seq_s)``;
- ``tgt_mask`` for the decoder's self-attention, usually causal and padding ``(batch, 1, seq_t, seq_t)``;
- ``memory_mask`` for the cross-attention, usually the source padding mask ``(batch, 1, 1, seq_s)``.

:func:`make_src_mask` and :func:`make_tgt_mask` build them from the token ids and the padding id.
:func:`mask_from_torch` converts torch's masks, whose boolean sense is the opposite (``True`` = NOT allowed).

**KV cache** (incremental decoding). A cache is a list with one dict per decoder layer, made by
:meth:`Decoder.new_cache` (``[{}, {}, ...]``). After a call that received it, layer ``i``'s dict holds
``"k"`` and ``"v"``: the self-attention keys and values of every target position fed so far, each
``(batch, heads, cached, d_head)``. Feed the target one position (or one chunk) at a time, passing the
same cache: each call appends the new positions' keys and values, and :meth:`Transformer.decode` adds
the positional encoding at ``offset = cached`` (:func:`cache_length`). With one new position per call no
``tgt_mask`` is needed (the cache holds only the past); for a chunk of ``n`` new positions use
``causal_mask(n, cached + n)``. The outputs equal those of decoding the whole target at once with a
causal mask.
"""

from __future__ import annotations

import copy
import math

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.blocks import DecoderLayer, EncoderLayer, check_mask, check_x
from tfmcourse.positional import LearnedPositions, SinusoidalPositions

__all__ = [
    "Encoder",
    "Decoder",
    "Transformer",
    "make_src_mask",
    "make_tgt_mask",
    "mask_from_torch",
    "cache_length",
    "POSITIONALS",
]

POSITIONALS = ("sinusoidal", "learned")


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_ids(ids: object, name: str, vocab: int | None = None) -> None:
    """Raise a ValueError unless ``ids`` is a ``(batch, seq)`` integer tensor with ids in ``[0, vocab)``."""
    if not isinstance(ids, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype} with shape {_shape(ids)}")
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"{name} must have shape (batch, seq) with seq >= 1, got shape {_shape(ids)}")
    if vocab is not None and ids.numel() and (ids.min() < 0 or ids.max() >= vocab):
        bad = ids[(ids < 0) | (ids >= vocab)][0].item()
        raise ValueError(f"{name} contains token id {bad}, outside the vocabulary: ids must be in 0 .. {vocab - 1}")


def make_src_mask(src: Int[Tensor, "batch seq_s"], pad_id: int | None = None) -> Bool[Tensor, "batch 1 1 seq_s"]:
    """Source padding mask ``(batch, 1, 1, seq_s)``: ``True`` at real tokens (may be attended to).

    Every query may attend to every non-padding key; with ``pad_id=None`` the mask is all ``True``.
    Use it as the encoder's ``src_mask`` and as the decoder's ``memory_mask``.
    """
    _check_ids(src, "src")
    keep = torch.ones_like(src, dtype=torch.bool) if pad_id is None else src != pad_id
    return keep[:, None, None, :]


def make_tgt_mask(tgt: Int[Tensor, "batch seq_t"], pad_id: int | None = None) -> Bool[Tensor, "batch 1 seq_t seq_t"]:
    """Target mask ``(batch, 1, seq_t, seq_t)``: causal **and** padding, ``True`` = may attend.

    Query ``i`` may attend to key ``j`` when ``j <= i`` (no peeking at later tokens) and token ``j``
    is not padding. Padding is a property of the *keys* (the last axis); the extra axis of size 1
    broadcasts over the heads.
    """
    _check_ids(tgt, "tgt")
    seq = tgt.shape[1]
    causal = causal_mask(seq, device=tgt.device)  # (seq_t, seq_t)
    keys = torch.ones_like(tgt, dtype=torch.bool) if pad_id is None else tgt != pad_id
    return causal[None, None, :, :] & keys[:, None, None, :]


def mask_from_torch(
    attn_mask: Bool[Tensor, "seq_q seq_k"] | None = None,
    key_padding_mask: Bool[Tensor, "batch seq_k"] | None = None,
) -> Bool[Tensor, "#batch 1 #seq_q seq_k"] | None:
    """Convert torch's boolean masks (``True`` = NOT allowed) to one of ours (``True`` = may attend).

    ``attn_mask`` ``(seq_q, seq_k)`` (torch's ``src_mask``/``tgt_mask``/``memory_mask``) and
    ``key_padding_mask`` ``(batch, seq_k)`` (``True`` at padding) combine into one mask of shape
    ``(batch or 1, 1, seq_q or 1, seq_k)``. ``None`` when both are ``None``. Float (additive) masks are
    not supported: give boolean ones.
    """
    ours = None
    for name, m, ndim in (("attn_mask", attn_mask, 2), ("key_padding_mask", key_padding_mask, 2)):
        if m is None:
            continue
        if not isinstance(m, Tensor) or m.dtype != torch.bool or m.ndim != ndim:
            what = f"dtype {m.dtype}, shape {_shape(m)}" if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(f"{name} must be a 2-D boolean tensor (torch's sense: True = NOT allowed), got {what}")
        allowed = ~m[None, None, :, :] if name == "attn_mask" else ~m[:, None, None, :]
        ours = allowed if ours is None else ours & allowed
    return ours


def cache_length(cache: list[dict] | None) -> int:
    """How many target positions a KV cache holds (0 for ``None`` or a fresh cache)."""
    if not cache or not cache[0]:
        return 0
    return int(cache[0]["k"].shape[-2])


def _final_norm(d_model: int, eps: float, bias: bool, final_norm: bool) -> nn.Module:
    return nn.LayerNorm(d_model, eps=eps, bias=bias) if final_norm else nn.Identity()


class Encoder(nn.Module):
    """A stack of ``num_layers`` :class:`~tfmcourse.blocks.EncoderLayer` and a final LayerNorm.

    ``forward(x, mask=None)``: ``(batch, seq_s, d_model) -> (batch, seq_s, d_model)`` (the memory).
    The other arguments are those of :class:`~tfmcourse.blocks.EncoderLayer`; ``final_norm=False``
    drops the last LayerNorm (``torch.nn.Transformer`` always has it, in both norm orders).

    Submodules: ``layers`` (``nn.ModuleList``), ``norm`` (``nn.LayerNorm``, or ``nn.Identity``).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        impl: str = "naive",
        final_norm: bool = True,
        bias: bool = True,
    ):
        super().__init__()
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive int, got {num_layers!r}")
        self.d_model = d_model
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, activation, norm_first, layer_norm_eps, impl, bias)
            for _ in range(num_layers)
        )
        self.norm = _final_norm(d_model, layer_norm_eps, bias, final_norm)

    def forward(
        self,
        x: Float[Tensor, "batch seq_s d_model"],
        mask: Bool[Tensor, "#batch #heads #seq_s #seq_s"] | None = None,
    ) -> Float[Tensor, "batch seq_s d_model"]:
        """Run every layer, then the final norm. ``mask``: as in :meth:`EncoderLayer.forward`."""
        check_x(x, "x", self.d_model)
        if mask is not None:
            check_mask(mask, "mask", x.shape[0], x.shape[1], x.shape[1])
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)

    @classmethod
    def from_torch(cls, encoder: nn.TransformerEncoder, impl: str = "naive") -> "Encoder":
        """A copy of ``torch.nn.TransformerEncoder`` (its layers and its final ``norm``, if any)."""
        if not isinstance(encoder, nn.TransformerEncoder):
            raise ValueError(f"encoder must be a torch.nn.TransformerEncoder, got {type(encoder).__name__}")
        layers = [EncoderLayer.from_torch(layer, impl=impl) for layer in encoder.layers]
        first = layers[0]
        ours = cls(first.d_model, first.self_attn.num_heads, len(layers), first.ff.d_ff, impl=impl)
        ours.layers = nn.ModuleList(layers)
        ours.norm = nn.Identity() if encoder.norm is None else copy.deepcopy(encoder.norm)
        return ours.train(encoder.training)


class Decoder(nn.Module):
    """A stack of ``num_layers`` :class:`~tfmcourse.blocks.DecoderLayer` and a final LayerNorm.

    ``forward(x, memory, tgt_mask=None, memory_mask=None, cache=None)``:
    ``(batch, seq_t, d_model), (batch, seq_s, d_model) -> (batch, seq_t, d_model)``. Every layer looks
    into the same ``memory``. Arguments as in :class:`Encoder`. ``cache``: see the module docstring.

    Submodules: ``layers`` (``nn.ModuleList``), ``norm`` (``nn.LayerNorm``, or ``nn.Identity``).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        d_ff: int,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        impl: str = "naive",
        final_norm: bool = True,
        bias: bool = True,
    ):
        super().__init__()
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive int, got {num_layers!r}")
        self.d_model = d_model
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, activation, norm_first, layer_norm_eps, impl, bias)
            for _ in range(num_layers)
        )
        self.norm = _final_norm(d_model, layer_norm_eps, bias, final_norm)

    def new_cache(self) -> list[dict]:
        """An empty KV cache: one empty dict per layer (filled by the first call that receives it)."""
        return [{} for _ in self.layers]

    def _check_cache(self, cache: object, batch: int) -> None:
        if not isinstance(cache, list) or len(cache) != len(self.layers) or not all(isinstance(c, dict) for c in cache):
            raise ValueError(
                f"cache must be a list of {len(self.layers)} dicts (one per decoder layer, from new_cache()), "
                f"got {type(cache).__name__}" + (f" of length {len(cache)}" if isinstance(cache, list) else "")
            )
        lengths = {c["k"].shape[-2] if c else 0 for c in cache}
        if len(lengths) > 1:
            raise ValueError(f"the layers' caches hold different numbers of positions {sorted(lengths)}")
        for c in cache:
            if c and c["k"].shape[0] != batch:
                raise ValueError(f"the cache has batch {c['k'].shape[0]} (k shape {_shape(c['k'])}) but x has batch {batch}")

    def forward(
        self,
        x: Float[Tensor, "batch seq_t d_model"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: Bool[Tensor, "#batch #heads #seq_t #seq_k"] | None = None,
        memory_mask: Bool[Tensor, "#batch #heads #seq_t #seq_s"] | None = None,
        cache: list[dict] | None = None,
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """Run every layer (each with its own cache dict), then the final norm.

        Masks as in :meth:`DecoderLayer.forward`; with a cache, ``tgt_mask``'s ``seq_k`` is
        ``cache_length(cache) + seq_t``.
        """
        check_x(x, "x", self.d_model)
        check_x(memory, "memory", self.d_model)
        if memory.shape[0] != x.shape[0]:
            raise ValueError(f"memory has shape {_shape(memory)} but x has shape {_shape(x)}: the batch sizes must match")
        if cache is not None:
            self._check_cache(cache, x.shape[0])
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, tgt_mask, memory_mask, cache=None if cache is None else cache[i])
        return self.norm(x)

    @classmethod
    def from_torch(cls, decoder: nn.TransformerDecoder, impl: str = "naive") -> "Decoder":
        """A copy of ``torch.nn.TransformerDecoder`` (its layers and its final ``norm``, if any)."""
        if not isinstance(decoder, nn.TransformerDecoder):
            raise ValueError(f"decoder must be a torch.nn.TransformerDecoder, got {type(decoder).__name__}")
        layers = [DecoderLayer.from_torch(layer, impl=impl) for layer in decoder.layers]
        first = layers[0]
        ours = cls(first.d_model, first.self_attn.num_heads, len(layers), first.ff.d_ff, impl=impl)
        ours.layers = nn.ModuleList(layers)
        ours.norm = nn.Identity() if decoder.norm is None else copy.deepcopy(decoder.norm)
        return ours.train(decoder.training)


class Transformer(nn.Module):
    """The encoder-decoder Transformer of Vaswani et al. (2017), batch first.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes of the source and target tokens.
        d_model: width of every vector; ``num_heads`` must divide it.
        num_heads: attention heads in every attention layer.
        num_encoder_layers, num_decoder_layers: depth of the two stacks.
        d_ff: hidden width of the feed-forward networks.
        dropout: dropout probability everywhere (also after adding the positions).
        norm_first: pre-norm (``True``) or post-norm (``False``, the original) layers.
        positional: ``"sinusoidal"`` (fixed table) or ``"learned"`` (one table each for source and target).
        tie_embeddings: use the target embedding matrix as the output projection's weight.
        max_len: the longest source or target sequence the positions cover.
        pad_id: the padding token id, used by :meth:`make_masks` (``None``: no padding).
        activation, layer_norm_eps, impl: as in :class:`~tfmcourse.blocks.EncoderLayer`.

    Submodules: ``src_embed``, ``tgt_embed`` (``nn.Embedding``), ``src_pos``, ``tgt_pos`` (positions),
    ``encoder`` (:class:`Encoder`), ``decoder`` (:class:`Decoder`), ``output_proj``
    (``nn.Linear(d_model, tgt_vocab, bias=False)``).

    ``forward(src (batch, seq_s), tgt (batch, seq_t), src_mask, tgt_mask, memory_mask)`` returns the
    logits ``(batch, seq_t, tgt_vocab)``: position ``i``'s scores for the target token that follows.
    Masks are not made for you (as in ``torch.nn.Transformer``): use :meth:`make_masks`.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        d_model: int = 512,
        num_heads: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        d_ff: int = 2048,
        dropout: float = 0.1,
        norm_first: bool = False,
        positional: str = "sinusoidal",
        tie_embeddings: bool = False,
        max_len: int = 512,
        pad_id: int | None = None,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        impl: str = "naive",
    ):
        super().__init__()
        for name, n in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab), ("d_model", d_model), ("max_len", max_len)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"{name} must be a positive int, got {n!r}")
        if positional not in POSITIONALS:
            raise ValueError(f"positional must be one of {POSITIONALS}, got {positional!r}")
        if pad_id is not None and not (isinstance(pad_id, int) and 0 <= pad_id < min(src_vocab, tgt_vocab)):
            raise ValueError(f"pad_id must be None or a token id in both vocabularies (< {min(src_vocab, tgt_vocab)}), got {pad_id!r}")
        self.src_vocab, self.tgt_vocab, self.d_model = src_vocab, tgt_vocab, d_model
        self.max_len, self.pad_id, self.positional = max_len, pad_id, positional
        self.tie_embeddings = bool(tie_embeddings)

        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model)
        positions = SinusoidalPositions if positional == "sinusoidal" else LearnedPositions
        self.src_pos = positions(d_model, max_len, dropout=dropout)
        self.tgt_pos = positions(d_model, max_len, dropout=dropout)
        stack = dict(d_ff=d_ff, dropout=dropout, activation=activation, norm_first=norm_first,
                     layer_norm_eps=layer_norm_eps, impl=impl)
        self.encoder = Encoder(d_model, num_heads, num_encoder_layers, **stack)
        self.decoder = Decoder(d_model, num_heads, num_decoder_layers, **stack)
        self.output_proj = nn.Linear(d_model, tgt_vocab, bias=False)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform matrices in the stacks (as ``torch.nn.Transformer``); embeddings ``N(0, 1/d_model)``,
        so that after the ``sqrt(d_model)`` scale they have unit variance."""
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
        """:func:`make_src_mask` with this model's ``pad_id``."""
        return make_src_mask(src, self.pad_id)

    def make_tgt_mask(self, tgt: Int[Tensor, "batch seq_t"]) -> Bool[Tensor, "batch 1 seq_t seq_t"]:
        """:func:`make_tgt_mask` (causal and padding) with this model's ``pad_id``."""
        return make_tgt_mask(tgt, self.pad_id)

    def make_masks(self, src: Int[Tensor, "batch seq_s"], tgt: Int[Tensor, "batch seq_t"]) -> tuple[Tensor, Tensor, Tensor]:
        """``(src_mask, tgt_mask, memory_mask)`` for ``forward(src, tgt, *masks)``: source padding,
        target causal + padding, and source padding again for the cross-attention."""
        src_mask = self.make_src_mask(src)
        return src_mask, self.make_tgt_mask(tgt), src_mask

    def new_cache(self) -> list[dict]:
        """An empty KV cache for :meth:`decode` (see the module docstring)."""
        return self.decoder.new_cache()

    # ----------------------------------------------------------------------------------------- steps
    def _embed(self, ids: Tensor, name: str, embed: nn.Embedding, pos: nn.Module, vocab: int, offset: int = 0) -> Tensor:
        _check_ids(ids, name, vocab)
        if offset + ids.shape[1] > self.max_len:
            raise ValueError(
                f"{name} has shape {_shape(ids)}: positions {offset} .. {offset + ids.shape[1] - 1} exceed "
                f"max_len={self.max_len}"
            )
        return pos(embed(ids) * math.sqrt(self.d_model), offset=offset)

    def embed_src(self, src: Int[Tensor, "batch seq_s"]) -> Float[Tensor, "batch seq_s d_model"]:
        """Source ids -> vectors: ``embedding * sqrt(d_model)`` plus positions (then dropout)."""
        return self._embed(src, "src", self.src_embed, self.src_pos, self.src_vocab)

    def embed_tgt(self, tgt: Int[Tensor, "batch seq_t"], offset: int = 0) -> Float[Tensor, "batch seq_t d_model"]:
        """Target ids -> vectors, positions starting at ``offset`` (the number of cached positions)."""
        return self._embed(tgt, "tgt", self.tgt_embed, self.tgt_pos, self.tgt_vocab, offset)

    def encode(
        self,
        src: Int[Tensor, "batch seq_s"],
        src_mask: Bool[Tensor, "#batch #heads #seq_s #seq_s"] | None = None,
    ) -> Float[Tensor, "batch seq_s d_model"]:
        """Source ids ``(batch, seq_s)`` -> memory ``(batch, seq_s, d_model)``."""
        x = self.embed_src(src)
        if src_mask is not None:
            check_mask(src_mask, "src_mask", src.shape[0], src.shape[1], src.shape[1])
        return self.encoder(x, src_mask)

    def decode(
        self,
        tgt: Int[Tensor, "batch seq_t"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: Bool[Tensor, "#batch #heads #seq_t #seq_k"] | None = None,
        memory_mask: Bool[Tensor, "#batch #heads #seq_t #seq_s"] | None = None,
        cache: list[dict] | None = None,
    ) -> Float[Tensor, "batch seq_t tgt_vocab"]:
        """Target ids ``(batch, seq_t)`` and memory -> logits ``(batch, seq_t, tgt_vocab)``.

        With a ``cache`` (from :meth:`new_cache`), ``tgt`` holds only the *new* positions: their
        positional encodings start at ``cache_length(cache)`` and their keys and values are appended
        to the cache. ``tgt_mask`` then broadcasts to ``(batch, heads, seq_t, cached + seq_t)``.
        """
        _check_ids(tgt, "tgt", self.tgt_vocab)
        check_x(memory, "memory", self.d_model)
        if memory.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"memory has shape {_shape(memory)} but tgt has shape {_shape(tgt)}: the batch sizes must match"
            )
        if cache is not None:
            self.decoder._check_cache(cache, tgt.shape[0])
        offset = cache_length(cache)
        batch, seq_t = tgt.shape
        if tgt_mask is not None:
            check_mask(tgt_mask, "tgt_mask", batch, seq_t, offset + seq_t)
        if memory_mask is not None:
            check_mask(memory_mask, "memory_mask", batch, seq_t, memory.shape[1])
        y = self.embed_tgt(tgt, offset=offset)
        return self.output_proj(self.decoder(y, memory, tgt_mask, memory_mask, cache=cache))

    def forward(
        self,
        src: Int[Tensor, "batch seq_s"],
        tgt: Int[Tensor, "batch seq_t"],
        src_mask: Bool[Tensor, "#batch #heads #seq_s #seq_s"] | None = None,
        tgt_mask: Bool[Tensor, "#batch #heads #seq_t #seq_t"] | None = None,
        memory_mask: Bool[Tensor, "#batch #heads #seq_t #seq_s"] | None = None,
    ) -> Float[Tensor, "batch seq_t tgt_vocab"]:
        """``encode`` then ``decode``: logits ``(batch, seq_t, tgt_vocab)``."""
        _check_ids(src, "src", self.src_vocab)
        _check_ids(tgt, "tgt", self.tgt_vocab)
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(f"src has shape {_shape(src)} but tgt has shape {_shape(tgt)}: the batch sizes must match")
        # Check every mask before any work, so that a wrong one fails fast and names itself.
        (batch, seq_s), seq_t = src.shape, tgt.shape[1]
        for name, m, q, k in (("src_mask", src_mask, seq_s, seq_s), ("tgt_mask", tgt_mask, seq_t, seq_t),
                              ("memory_mask", memory_mask, seq_t, seq_s)):
            if m is not None:
                check_mask(m, name, batch, q, k)
        return self.decode(tgt, self.encode(src, src_mask), tgt_mask, memory_mask)

    # ------------------------------------------------------------------------------------ weight copy
    @classmethod
    def from_torch(
        cls,
        model: nn.Transformer,
        src_vocab: int,
        tgt_vocab: int,
        positional: str = "sinusoidal",
        tie_embeddings: bool = False,
        max_len: int = 512,
        pad_id: int | None = None,
        impl: str = "naive",
    ) -> "Transformer":
        """A Transformer whose encoder and decoder stacks are copies of ``torch.nn.Transformer`` ``model``.

        ``torch.nn.Transformer`` has no embeddings, positions or output projection: ours are freshly
        initialised (from torch's global random state), with the given vocabularies. Then
        ``ours.encoder(x, mask)`` equals ``model.encoder(x, ...)`` and ``ours.decoder(...)`` equals
        ``model.decoder(...)``; so ``ours(src, tgt, ...)`` equals
        ``ours.output_proj(model(ours.embed_src(src), ours.embed_tgt(tgt), ...))`` in eval mode (with
        ``batch_first=True``; masks converted with :func:`mask_from_torch`).
        """
        if not isinstance(model, nn.Transformer):
            raise ValueError(f"model must be a torch.nn.Transformer, got {type(model).__name__}")
        encoder = Encoder.from_torch(model.encoder, impl=impl)
        decoder = Decoder.from_torch(model.decoder, impl=impl)
        first = encoder.layers[0]
        ours = cls(
            src_vocab, tgt_vocab, model.d_model, model.nhead, len(encoder.layers), len(decoder.layers),
            first.ff.d_ff, dropout=first.dropout1.p, norm_first=first.norm_first, positional=positional,
            tie_embeddings=tie_embeddings, max_len=max_len, pad_id=pad_id, activation=first.ff.activation,
            layer_norm_eps=first.norm1.eps, impl=impl,
        )
        w = first.norm1.weight
        ours = ours.to(device=w.device, dtype=w.dtype)
        ours.encoder, ours.decoder = encoder, decoder
        return ours.train(model.training)
