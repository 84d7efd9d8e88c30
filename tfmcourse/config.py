"""The hyperparameters of the encoder-decoder family in one object, :class:`TransformerConfig`.

Every layer, stack and model of the family (:class:`~tfmcourse.blocks.EncoderLayer`,
:class:`~tfmcourse.blocks.DecoderLayer`, :class:`~tfmcourse.transformer.Encoder`,
:class:`~tfmcourse.transformer.Decoder`, :class:`~tfmcourse.models.transformer.Transformer`) is built
from one config and reads the fields it needs, as :class:`~tfmcourse.models.gpt.GPT` is built from a
:class:`~tfmcourse.models.gpt.GPTConfig`::

    config = TransformerConfig(d_model=32, num_heads=2, d_ff=64, dropout=0.0)
    layer = EncoderLayer(config)
    pre_norm = EncoderLayer(config, norm_first=True)     # the config with one field changed
    layer = EncoderLayer(d_model=32, num_heads=2, d_ff=64, dropout=0.0)   # the same, field by field

The constructors also take the fields in the positional order they had before the config existed
(``EncoderLayer(32, 2, 64)``), so that code written then keeps working.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from tfmcourse.checks import check_positive, check_probability
from tfmcourse.multihead import IMPLS

__all__ = ["TransformerConfig", "ACTIVATIONS", "POSITIONALS", "configurable"]


def _gelu_tanh(x: Tensor) -> Tensor:
    return F.gelu(x, approximate="tanh")


#: The activations of the feed-forward networks, by name ("gelu_tanh" is GPT-2's approximation).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": _gelu_tanh}
POSITIONALS = ("sinusoidal", "learned")


@dataclass
class TransformerConfig:
    """The hyperparameters of an encoder-decoder Transformer, of its stacks and of its layers.

    Every layer:
        d_model: width of every vector; ``num_heads`` must divide it.
        num_heads: attention heads in every attention layer.
        d_ff: hidden width of the feed-forward networks.
        dropout: on the attention weights, inside the feed-forward networks, on each sublayer's output
            and after adding the positions (as in ``torch.nn.Transformer``).
        activation: of the feed-forward networks, ``"relu"``, ``"gelu"`` or ``"gelu_tanh"``.
        norm_first: ``False`` = post-norm (the original Transformer), ``True`` = pre-norm.
        layer_norm_eps: the ``eps`` of every LayerNorm.
        bias: whether the linear layers and LayerNorms have biases.
        impl: attention implementation, ``"naive"`` or ``"sdpa"`` (see ``MultiHeadAttention``).

    The stacks:
        num_encoder_layers, num_decoder_layers: their depths.
        final_norm: a LayerNorm after the last layer of each stack (``torch.nn.Transformer`` has one).

    The whole model (:class:`~tfmcourse.models.transformer.Transformer` only):
        src_vocab, tgt_vocab: vocabulary sizes of the source and target tokens.
        max_len: the longest source or target sequence the positions cover.
        positional: ``"sinusoidal"`` (fixed table) or ``"learned"``.
        tie_embeddings: use the target embedding matrix as the output projection's weight.
        pad_id: the padding token id, used by ``make_masks`` (``None``: no padding).
    """

    d_model: int = 512
    num_heads: int = 8
    d_ff: int = 2048
    dropout: float = 0.1
    activation: str = "relu"
    norm_first: bool = False
    layer_norm_eps: float = 1e-5
    bias: bool = True
    impl: str = "naive"
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    final_norm: bool = True
    src_vocab: int | None = None
    tgt_vocab: int | None = None
    max_len: int = 512
    positional: str = "sinusoidal"
    tie_embeddings: bool = False
    pad_id: int | None = None

    def __post_init__(self) -> None:
        check_positive(
            d_model=self.d_model,
            num_heads=self.num_heads,
            d_ff=self.d_ff,
            max_len=self.max_len,
            num_encoder_layers=self.num_encoder_layers,
            num_decoder_layers=self.num_decoder_layers,
        )
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}: every head "
                f"gets d_model // num_heads features"
            )
        check_probability(dropout=self.dropout)
        for name, value, allowed in (
            ("activation", self.activation, tuple(ACTIVATIONS)),
            ("impl", self.impl, IMPLS),
            ("positional", self.positional, POSITIONALS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        for name in ("src_vocab", "tgt_vocab"):
            if getattr(self, name) is not None:
                check_positive(**{name: getattr(self, name)})
        vocabs = [v for v in (self.src_vocab, self.tgt_vocab) if v is not None]
        if self.pad_id is not None and not (
            isinstance(self.pad_id, int) and 0 <= self.pad_id < min(vocabs or [1])
        ):
            raise ValueError(
                f"pad_id must be None or a token id in both vocabularies (< {min(vocabs or [1])}), "
                f"got {self.pad_id!r}"
            )


def configurable(*order: str, **renamed: str) -> Callable:
    """Let ``__init__(self, config)`` also be called with a config and changes,
    ``Cls(config, norm_first=True)``, or with fields only, ``Cls(d_model=32, num_heads=2)``, or positionally
    in ``order`` (the argument list the class had before the config). ``renamed`` maps an old argument name
    to its field (``num_layers="num_encoder_layers"``)."""

    def decorate(init: Callable) -> Callable:
        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **fields: Any) -> None:
            config = fields.pop("config", None)
            if args and isinstance(args[0], TransformerConfig):
                config, args = args[0], args[1:]
            if len(args) > len(order):
                raise TypeError(
                    f"{type(self).__name__}() takes at most {len(order)} positional fields, got {len(args)}"
                )
            fields.update(zip(order, args))
            fields = {renamed.get(name, name): value for name, value in fields.items()}
            unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(TransformerConfig)})
            if unknown:
                raise TypeError(
                    f"{type(self).__name__}() got unknown arguments {unknown}: see TransformerConfig"
                )
            base = config if config is not None else TransformerConfig()
            init(self, dataclasses.replace(base, **fields) if fields else base)

        return wrapper

    return decorate
