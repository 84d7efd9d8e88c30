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

Shapes are batch first: ``x (batch, seq, d_model)``. Masks are boolean, ``True`` = may attend,
broadcastable to ``(batch, heads, seq_q, seq_k)``: a ``(seq, seq)`` causal mask, a
``(batch, 1, 1, seq_k)`` padding mask, or their combination ``(batch, 1, seq_q, seq_k)``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor, nn

from tfmcourse.multihead import MultiHeadAttention

__all__ = ["ACTIVATIONS", "FeedForward", "EncoderLayer", "DecoderLayer", "check_x", "check_mask"]


def _gelu_tanh(x: Tensor) -> Tensor:
    return F.gelu(x, approximate="tanh")


#: The activations :class:`FeedForward` accepts, by name.
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": _gelu_tanh}


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _positive_int(name: str, n: object) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


def _probability(name: str, p: object) -> None:
    if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")


def check_x(x: object, name: str, d_model: int) -> None:
    """Raise a ValueError unless ``x`` is a floating-point ``(batch, seq, d_model)`` tensor."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ValueError(f"{name} must have shape (batch, seq, d_model={d_model}), got shape {_shape(x)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def check_mask(mask: object, name: str, batch: int, seq_q: int, seq_k: int) -> None:
    """Raise a ValueError naming ``name`` unless ``mask`` is a boolean tensor that broadcasts to
    ``(batch, heads, seq_q, seq_k)`` (any number of heads).

    Accepted shapes: ``(seq_q, seq_k)`` or 4-D ``(batch | 1, heads | 1, seq_q | 1, seq_k | 1)``. A 3-D
    mask is refused: it is ambiguous (is the first axis the batch or the heads?).
    """
    if not isinstance(mask, Tensor):
        raise ValueError(f"{name} must be a boolean torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise ValueError(f"{name} must be boolean (True = may attend), got dtype {mask.dtype} with shape {_shape(mask)}")
    want = f"(batch={batch}, heads, seq_q={seq_q}, seq_k={seq_k})"
    if mask.ndim not in (2, 4):
        raise ValueError(
            f"{name} has shape {_shape(mask)}: give a 2-D (seq_q, seq_k) or a 4-D (batch, heads, seq_q, seq_k) "
            f"mask that broadcasts to {want}, e.g. (batch, 1, 1, seq_k) for padding"
        )
    b, h, q, k = (1, 1, *mask.shape) if mask.ndim == 2 else mask.shape
    if b not in (1, batch) or q not in (1, seq_q) or k not in (1, seq_k):
        raise ValueError(f"{name} has shape {_shape(mask)}, which does not broadcast to {want}")


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

    def __init__(self, d_model: int, d_ff: int, activation: str = "relu", dropout: float = 0.1, bias: bool = True):
        super().__init__()
        _positive_int("d_model", d_model)
        _positive_int("d_ff", d_ff)
        _probability("dropout", dropout)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        self.d_model, self.d_ff, self.activation = d_model, d_ff, activation
        self.linear1 = nn.Linear(d_model, d_ff, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model, bias=bias)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"

    def forward(self, x: Float[Tensor, "... d_model"]) -> Float[Tensor, "... d_model"]:
        """``(..., d_model) -> (..., d_model)``, each position independently."""
        if not isinstance(x, Tensor) or x.ndim < 1 or x.shape[-1] != self.d_model:
            shape = _shape(x) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., d_model={self.d_model}), got {shape}")
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


def _copy_(dst: nn.Module, src: nn.Module) -> None:
    """Copy the parameters of ``src`` into ``dst`` (same names and shapes)."""
    dst.load_state_dict(src.state_dict())


class EncoderLayer(nn.Module):
    """One encoder layer: self-attention and feed-forward, each with residual, dropout and LayerNorm.

    Args:
        d_model: width of the vectors; ``num_heads`` must divide it.
        num_heads: attention heads.
        d_ff: hidden width of the feed-forward network.
        dropout: dropout probability, used on the attention weights, inside the feed-forward network
            and on each sublayer's output before the residual addition (as in ``torch.nn``).
        activation: of the feed-forward network, see :class:`FeedForward`.
        norm_first: ``False`` = post-norm ``x = norm(x + sublayer(x))`` (the original Transformer);
            ``True`` = pre-norm ``x = x + sublayer(norm(x))``.
        layer_norm_eps: the ``eps`` of both LayerNorms.
        impl: attention implementation, ``"naive"`` or ``"sdpa"`` (see :class:`MultiHeadAttention`).
        bias: whether the linear layers and LayerNorms have biases.

    Submodules: ``self_attn`` (:class:`MultiHeadAttention`), ``ff`` (:class:`FeedForward`), ``norm1``,
    ``norm2`` (``nn.LayerNorm``), ``dropout1``, ``dropout2`` (residual dropouts).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        impl: str = "naive",
        bias: bool = True,
    ):
        super().__init__()
        _probability("dropout", dropout)
        self.d_model, self.norm_first = d_model, bool(norm_first)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias, impl=impl)
        self.ff = FeedForward(d_model, d_ff, activation=activation, dropout=dropout, bias=bias)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.ff(x))

    def forward(
        self,
        x: Float[Tensor, "batch seq d_model"],
        mask: Bool[Tensor, "#batch #heads #seq #seq"] | None = None,
    ) -> Float[Tensor, "batch seq d_model"]:
        """``(batch, seq, d_model) -> (batch, seq, d_model)``.

        ``mask``: boolean, ``True`` = may attend, broadcastable to ``(batch, heads, seq, seq)``; for
        source padding pass ``(batch, 1, 1, seq)``.
        """
        check_x(x, "x", self.d_model)
        if mask is not None:
            check_mask(mask, "mask", x.shape[0], x.shape[1], x.shape[1])
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), mask)
            x = x + self._feed_forward(self.norm2(x))
        else:
            x = self.norm1(x + self._self_attention(x, mask))
            x = self.norm2(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer, impl: str = "naive") -> "EncoderLayer":
        """A copy of ``torch.nn.TransformerEncoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first. torch's boolean masks mean ``True`` = NOT allowed: convert them with
        :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        ours = cls(
            layer.self_attn.embed_dim, layer.self_attn.num_heads, layer.linear1.out_features,
            dropout=layer.dropout.p, activation=_activation_name(layer.activation), norm_first=layer.norm_first,
            layer_norm_eps=layer.norm1.eps, impl=impl, bias=layer.linear1.bias is not None,
        )
        w = layer.linear1.weight
        ours = ours.to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        for name in ("linear1", "linear2"):
            _copy_(getattr(ours.ff, name), getattr(layer, name))
        for name in ("norm1", "norm2"):
            _copy_(getattr(ours, name), getattr(layer, name))
        return ours.train(layer.training)


class DecoderLayer(nn.Module):
    """One decoder layer: masked self-attention, cross-attention into the memory, feed-forward.

    Each of the three sublayers has a residual connection, dropout and a LayerNorm (post-norm or
    pre-norm, see :class:`EncoderLayer`, whose arguments this takes too).

    Submodules: ``self_attn`` and ``cross_attn`` (:class:`MultiHeadAttention`), ``ff``
    (:class:`FeedForward`), ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.
    In the cross-attention the queries come from the decoder (``x``), the keys and values from the
    encoder's output ``memory``: every target position looks into the whole source.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        impl: str = "naive",
        bias: bool = True,
    ):
        super().__init__()
        _probability("dropout", dropout)
        self.d_model, self.norm_first = d_model, bool(norm_first)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias, impl=impl)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias, impl=impl)
        self.ff = FeedForward(d_model, d_ff, activation=activation, dropout=dropout, bias=bias)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"

    def _self_attention(self, x: Tensor, mask: Tensor | None, cache: dict | None) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask=mask, cache=cache)[0])

    def _cross_attention(self, x: Tensor, memory: Tensor, mask: Tensor | None) -> Tensor:
        return self.dropout2(self.cross_attn(x, memory, memory, mask=mask)[0])

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout3(self.ff(x))

    def forward(
        self,
        x: Float[Tensor, "batch seq_t d_model"],
        memory: Float[Tensor, "batch seq_s d_model"],
        tgt_mask: Bool[Tensor, "#batch #heads #seq_t #seq_k"] | None = None,
        memory_mask: Bool[Tensor, "#batch #heads #seq_t #seq_s"] | None = None,
        cache: dict | None = None,
    ) -> Float[Tensor, "batch seq_t d_model"]:
        """``x (batch, seq_t, d_model)``, ``memory (batch, seq_s, d_model)`` -> ``(batch, seq_t, d_model)``.

        Args:
            x: the target-side vectors.
            memory: the encoder's output.
            tgt_mask: for the self-attention, broadcastable to ``(batch, heads, seq_t, seq_k)`` where
                ``seq_k = cached + seq_t``; usually causal (and padding) so position ``i`` sees ``<= i``.
            memory_mask: for the cross-attention, broadcastable to ``(batch, heads, seq_t, seq_s)``;
                usually the source padding mask ``(batch, 1, 1, seq_s)``.
            cache: ``None``, or this layer's KV cache: a dict that holds (or will hold, after the first
                call) ``"k"`` and ``"v"``, the self-attention keys and values of all earlier target
                positions, ``(batch, heads, cached, d_head)``. The keys and values of ``x`` are appended
                to it. Feeding one new position at a time needs no ``tgt_mask``: the cache holds only
                the past.
        """
        check_x(x, "x", self.d_model)
        check_x(memory, "memory", self.d_model)
        if memory.shape[0] != x.shape[0]:
            raise ValueError(
                f"memory has shape {_shape(memory)} but x has shape {_shape(x)}: the batch sizes must match"
            )
        if cache is not None and not isinstance(cache, dict):
            raise ValueError(f"cache must be None or a dict, got {type(cache).__name__}")
        cached = cache["k"].shape[-2] if cache else 0
        batch, seq_t = x.shape[:2]
        if tgt_mask is not None:
            check_mask(tgt_mask, "tgt_mask", batch, seq_t, cached + seq_t)
        if memory_mask is not None:
            check_mask(memory_mask, "memory_mask", batch, seq_t, memory.shape[1])
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, cache)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask)
            x = x + self._feed_forward(self.norm3(x))
        else:
            x = self.norm1(x + self._self_attention(x, tgt_mask, cache))
            x = self.norm2(x + self._cross_attention(x, memory, memory_mask))
            x = self.norm3(x + self._feed_forward(x))
        return x

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer, impl: str = "naive") -> "DecoderLayer":
        """A copy of ``torch.nn.TransformerDecoderLayer`` ``layer`` (same weights, dtype, device, mode).

        Ours is always batch first; torch's ``multihead_attn`` is our ``cross_attn``. torch's boolean
        masks mean ``True`` = NOT allowed: convert them with :func:`tfmcourse.transformer.mask_from_torch`.
        """
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        ours = cls(
            layer.self_attn.embed_dim, layer.self_attn.num_heads, layer.linear1.out_features,
            dropout=layer.dropout.p, activation=_activation_name(layer.activation), norm_first=layer.norm_first,
            layer_norm_eps=layer.norm1.eps, impl=impl, bias=layer.linear1.bias is not None,
        )
        w = layer.linear1.weight
        ours = ours.to(device=w.device, dtype=w.dtype)
        ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn, impl=impl)
        ours.cross_attn = MultiHeadAttention.from_torch(layer.multihead_attn, impl=impl)
        for name in ("linear1", "linear2"):
            _copy_(getattr(ours.ff, name), getattr(layer, name))
        for name in ("norm1", "norm2", "norm3"):
            _copy_(getattr(ours, name), getattr(layer, name))
        return ours.train(layer.training)
