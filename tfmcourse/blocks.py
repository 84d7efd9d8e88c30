"""The building blocks of a Transformer layer (chapters 5 and 6).

- :class:`FeedForward`: the position-wise feed-forward network, ``linear2(act(linear1(x)))``, applied
  to every position on its own.
- :class:`EncoderLayer`: self-attention then feed-forward, each wrapped in a residual connection,
  dropout and a LayerNorm.
- :class:`DecoderLayer`: masked (causal) self-attention, cross-attention into the encoder's output
  (the *memory*), then feed-forward, each wrapped the same way.

Both layers come in two flavours, chosen by ``norm_first``:

- post-norm (``norm_first=False``, the original Transformer): ``x = norm(x + dropout(sublayer(x)))``;
- pre-norm (``norm_first=True``): ``x = x + dropout(sublayer(norm(x)))``.

The computation follows ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer`` step by
step (same order of activation, dropouts and norms), so ``from_torch`` copies give the same outputs.

The layers are built from a :class:`~tfmcourse.config.TransformerConfig` (``EncoderLayer(config)``, or
``EncoderLayer(d_model=16, num_heads=4, d_ff=64)``, see :mod:`tfmcourse.config`).

Shapes are batch first: ``x (batch, seq, d_model)``. Masks are boolean, ``True`` = may attend,
broadcastable to ``(batch, heads, seq_q, seq_k)``: a ``(seq, seq)`` causal mask, a
``(batch, 1, 1, seq_k)`` padding mask, or their combination ``(batch, 1, seq_q, seq_k)``. A layer called
on its own checks its inputs; called by a stack or a model, it trusts them (:mod:`tfmcourse.checks`).
"""

from __future__ import annotations

import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor, nn

from tfmcourse import checks
from tfmcourse.cache import KVCache, check_cache
from tfmcourse.checks import Dims, check_positive, check_probability, entry_point
from tfmcourse.config import ACTIVATIONS, TransformerConfig, configurable
from tfmcourse.multihead import MultiHeadAttention

__all__ = [
    "ACTIVATIONS",
    "FeedForward",
    "EncoderLayer",
    "DecoderLayer",
    "LAYER_ARGS",
    "check_x",
    "check_mask",
]

#: The positional order of the layers' arguments before :class:`~tfmcourse.config.TransformerConfig`.
LAYER_ARGS = (
    "d_model",
    "num_heads",
    "d_ff",
    "dropout",
    "activation",
    "norm_first",
    "layer_norm_eps",
    "impl",
    "bias",
)

# Masks broadcast to the scores (batch, heads, seq_q, seq_k): "*#mask" stands for (batch | 1, heads | 1) or
# nothing (a 2-D mask). Each mask of a call has its own key axis.
SelfMask = Bool[Tensor, "*#mask #seq seq"]
TgtMask = Bool[Tensor, "*#mask #seq_t seq_tk"]  # seq_tk: the cached positions and the new ones
MemoryMask = Bool[Tensor, "*#mask #seq_t seq_s"]


def check_x(x: object, name: str, d_model: int) -> None:
    """Kept for code written before :mod:`tfmcourse.checks`: ``x`` must be a floating-point
    ``(batch, seq, d_model)`` tensor (``Dims(d_model=d_model)(x, name, "batch seq d_model")``)."""
    Dims(d_model=d_model)(x, name, "batch seq d_model")


def check_mask(mask: object, name: str, batch: int, seq_q: int, seq_k: int) -> None:
    """Kept for code written before :mod:`tfmcourse.checks`: the mask rule of
    :func:`tfmcourse.checks.check_mask` for scores ``(batch, heads, seq_q, seq_k)``, any number of heads."""
    heads = mask.shape[1] if isinstance(mask, Tensor) and mask.ndim == 4 else 1
    checks.check_mask(mask, name, (batch, heads, seq_q, seq_k))


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``linear2(dropout(activation(linear1(x))))``.

    Every position goes through the same two-layer MLP on its own, widening ``d_model -> d_ff`` and
    back. (The dropout on the *output* belongs to the residual connection of the layer around it.)

    Args:
        d_model: input and output width.
        d_ff: hidden width (the paper uses ``4 * d_model``).
        activation: ``"relu"``, ``"gelu"`` (exact, erf) or ``"gelu_tanh"`` (the tanh approximation of GPT-2).
        dropout: dropout probability after the activation (training mode only).
        bias: whether the two linear layers have a bias.

    ``forward(x)``: ``(..., d_model) -> (..., d_model)``.
    """

    def __init__(
        self, d_model: int, d_ff: int, activation: str = "relu", dropout: float = 0.1, bias: bool = True
    ):
        super().__init__()
        check_positive(d_model=d_model, d_ff=d_ff)
        check_probability(dropout=dropout)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        self.d_model, self.d_ff, self.activation = d_model, d_ff, activation
        self.linear1 = nn.Linear(d_model, d_ff, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model, bias=bias)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"

    @entry_point(lambda self, x: Dims(d_model=self.d_model)(x, "x", "... d_model"))
    def forward(self, x: Float[Tensor, "*batch d_model"]) -> Float[Tensor, "*batch d_model"]:
        """``(..., d_model) -> (..., d_model)``, each position independently."""
        return self.linear2(self.dropout(ACTIVATIONS[self.activation](self.linear1(x))))


def _activation_name(fn: object) -> str:
    """The name in :data:`ACTIVATIONS` of a torch layer's activation (a function or a module)."""
    if fn is F.relu or isinstance(fn, nn.ReLU):
        return "relu"
    if fn is F.gelu or (isinstance(fn, nn.GELU) and fn.approximate == "none"):
        return "gelu"
    if isinstance(fn, nn.GELU) and fn.approximate == "tanh":
        return "gelu_tanh"
    raise ValueError(f"unsupported activation {fn!r}: only relu, gelu and gelu (tanh) can be copied")


def _config_of(
    layer: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer, impl: str
) -> TransformerConfig:
    """The configuration of a ``torch.nn`` encoder or decoder layer."""
    return TransformerConfig(
        d_model=layer.self_attn.embed_dim,
        num_heads=layer.self_attn.num_heads,
        d_ff=layer.linear1.out_features,
        dropout=layer.dropout.p,
        activation=_activation_name(layer.activation),
        norm_first=layer.norm_first,
        layer_norm_eps=layer.norm1.eps,
        impl=impl,
        bias=layer.linear1.bias is not None,
    )


def _copy_from_torch(ours: nn.Module, layer: nn.Module, norms: tuple[str, ...]) -> nn.Module:
    """Copy the feed-forward and norm weights of a torch layer into ours, on its device, in its mode."""
    for name in ("linear1", "linear2"):
        getattr(ours.ff, name).load_state_dict(getattr(layer, name).state_dict())
    for name in norms:
        getattr(ours, name).load_state_dict(getattr(layer, name).state_dict())
    return ours.train(layer.training)


def _check_encoder_layer(self: EncoderLayer, x: object, mask: object = None) -> None:
    Dims(d_model=self.d_model)(x, "x", "batch seq d_model")
    if mask is not None:
        checks.check_mask(mask, "mask", (x.shape[0], self.config.num_heads, x.shape[1], x.shape[1]))


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention and feed-forward, each with residual, dropout and LayerNorm.

    ``EncoderLayer(config)`` reads ``d_model``, ``num_heads``, ``d_ff``, ``dropout`` (on the attention
    weights, inside the feed-forward network and on each sublayer's output before the residual addition,
    as in ``torch.nn``), ``activation``, ``norm_first`` (``False``: post-norm ``x = norm(x + sublayer(x))``,
    the original Transformer; ``True``: pre-norm ``x = x + sublayer(norm(x))``), ``layer_norm_eps``,
    ``impl`` and ``bias`` of the :class:`~tfmcourse.config.TransformerConfig`.

    Submodules: ``self_attn`` (:class:`MultiHeadAttention`), ``ff`` (:class:`FeedForward`), ``norm1``,
    ``norm2`` (``nn.LayerNorm``), ``dropout1``, ``dropout2`` (residual dropouts).
    """

    @configurable(*LAYER_ARGS)
    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = self.config = config
        self.d_model, self.norm_first = c.d_model, c.norm_first
        self.self_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.ff = FeedForward(c.d_model, c.d_ff, activation=c.activation, dropout=c.dropout, bias=c.bias)
        self.norm1 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm2 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.dropout1 = nn.Dropout(c.dropout)
        self.dropout2 = nn.Dropout(c.dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.ff(x))

    @entry_point(_check_encoder_layer)
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], mask: SelfMask | None = None
    ) -> Float[Tensor, "batch seq d_model"]:
        """``(batch, seq, d_model) -> (batch, seq, d_model)``.

        ``mask``: boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq, seq)``; for
        source padding pass ``(batch, 1, 1, seq)``.
        """
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), mask)
            x = x + self._feed_forward(self.norm2(x))
        else:
            x = self.norm1(x + self._self_attention(x, mask))
            x = self.norm2(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.Module, impl: str = "naive") -> EncoderLayer:
        """A copy of ``torch.nn.TransformerEncoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first. torch's boolean masks mean ``True`` = NOT allowed: convert them with
        :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        w = layer.linear1.weight
        ours = cls(_config_of(layer, impl)).to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        return _copy_from_torch(ours, layer, ("norm1", "norm2"))


def _check_decoder_layer(
    self: DecoderLayer,
    x: object,
    memory: object,
    tgt_mask: object = None,
    memory_mask: object = None,
    cache: object = None,
    layer: int = 0,
) -> None:
    dims = Dims(d_model=self.d_model)
    dims(x, "x", "batch seq_t d_model")
    dims(memory, "memory", "batch seq_s d_model")
    batch, seq_t, seq_s, heads = x.shape[0], x.shape[1], memory.shape[1], self.config.num_heads
    cached = 0
    if cache is not None:
        check_cache(cache, len(cache), batch)
        cached = cache.length
    if tgt_mask is not None:
        checks.check_mask(tgt_mask, "tgt_mask", (batch, heads, seq_t, cached + seq_t))
    if memory_mask is not None:
        checks.check_mask(memory_mask, "memory_mask", (batch, heads, seq_t, seq_s))


class DecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention into the memory, feed-forward.

    Each of the three sublayers has a residual connection, dropout and a LayerNorm (post-norm or
    pre-norm); ``DecoderLayer(config)`` reads the fields :class:`EncoderLayer` reads.

    Submodules: ``self_attn`` and ``cross_attn`` (:class:`MultiHeadAttention`), ``ff``
    (:class:`FeedForward`), ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.
    In the cross-attention the queries come from the decoder (``x``), the keys and values from the
    encoder's output ``memory``: every target position looks into the whole source.
    """

    @configurable(*LAYER_ARGS)
    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = self.config = config
        self.d_model, self.norm_first = c.d_model, c.norm_first
        self.self_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.cross_attn = MultiHeadAttention(
            c.d_model, c.num_heads, dropout=c.dropout, bias=c.bias, impl=c.impl
        )
        self.ff = FeedForward(c.d_model, c.d_ff, activation=c.activation, dropout=c.dropout, bias=c.bias)
        self.norm1 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm2 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.norm3 = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps, bias=c.bias)
        self.dropout1 = nn.Dropout(c.dropout)
        self.dropout2 = nn.Dropout(c.dropout)
        self.dropout3 = nn.Dropout(c.dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None, cache: KVCache | None, layer: int) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask, cache=cache, layer=layer)[0])

    def _cross_attention(self, x: Tensor, memory: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout2(self.cross_attn(x, memory, memory, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout3(self.ff(x))

    @entry_point(_check_decoder_layer)
    def forward(
        self,
        x: Float[Tensor, "batch seq_t d_model"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: TgtMask | None = None,
        memory_mask: MemoryMask | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """``x (batch, seq_t, d_model)``, ``memory (batch, seq_s, d_model)`` -> ``(batch, seq_t, d_model)``.

        Args:
            x: the target-side vectors.
            memory: the encoder's output.
            tgt_mask: for the self-attention, broadcastable to ``(batch, heads, seq_t, seq_k)`` where
                ``seq_k = cached + seq_t``; usually causal (and padding) so position ``i`` sees ``<= i``.
            memory_mask: for the cross-attention, broadcastable to ``(batch, heads, seq_t, seq_s)``;
                usually the source padding mask ``(batch, 1, 1, seq_s)``.
            cache: ``None``, or a :class:`~tfmcourse.cache.KVCache` whose slot ``layer`` holds the
                self-attention keys and values of all earlier target positions; those of ``x`` are
                appended. Feeding one new position at a time needs no ``tgt_mask``: the cache holds
                only the past.
            layer: this layer's slot in ``cache``.
        """
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, cache, layer)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask)
            x = x + self._feed_forward(self.norm3(x))
        else:
            x = self.norm1(x + self._self_attention(x, tgt_mask, cache, layer))
            x = self.norm2(x + self._cross_attention(x, memory, memory_mask))
            x = self.norm3(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.Module, impl: str = "naive") -> DecoderLayer:
        """A copy of ``torch.nn.TransformerDecoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first; torch's ``multihead_attn`` is our ``cross_attn``. torch's boolean
        masks mean ``True`` = NOT allowed: convert them with :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        w = layer.linear1.weight
        ours = cls(_config_of(layer, impl)).to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        ours.cross_attn = MultiHeadAttention.from_torch(layer.multihead_attn, impl=impl)
        return _copy_from_torch(ours, layer, ("norm1", "norm2", "norm3"))
