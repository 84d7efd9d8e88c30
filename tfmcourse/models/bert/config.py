"""The hyperparameters of chapter 11's BERT, :class:`BertConfig`, checked once when it is built."""

from __future__ import annotations

from dataclasses import dataclass

from tfmcourse.blocks import ACTIVATIONS
from tfmcourse.checks import check_positive
from tfmcourse.multihead import IMPLS

__all__ = ["BertConfig"]


@dataclass
class BertConfig:
    """The hyperparameters of a :class:`~tfmcourse.models.bert.encoder.BERT`.

    Args:
        vocab_size: number of token ids (special tokens included).
        max_len: the longest sequence (number of learned positions), HF's ``max_position_embeddings``.
        d_model: width of every vector (HF's ``hidden_size``); ``num_heads`` must divide it.
        num_layers: encoder layers.
        num_heads: attention heads per layer.
        d_ff: hidden width of the feed-forward networks (``None``: ``4 * d_model``).
        type_vocab_size: number of token types (segments); 2 in BERT (sentence A, sentence B).
        dropout: on the embeddings, the attention weights and each sublayer's output.
        layer_norm_eps: ``eps`` of every LayerNorm (BERT uses ``1e-12``).
        activation: of the feed-forward networks (BERT: exact ``"gelu"``).
        pad_id: the id of the padding token (its embedding row starts at zero, as in HF).
        impl: attention implementation, ``"naive"`` or ``"sdpa"``.
    """

    vocab_size: int
    max_len: int = 128
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int | None = None
    type_vocab_size: int = 2
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    activation: str = "gelu"
    pad_id: int = 0
    impl: str = "naive"

    def __post_init__(self) -> None:
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        sizes = ("vocab_size", "max_len", "d_model", "num_layers", "num_heads", "d_ff", "type_vocab_size")
        check_positive(**{name: getattr(self, name) for name in sizes})
        if self.d_model % self.num_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by num_heads={self.num_heads}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if not isinstance(self.pad_id, int) or not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(
                f"pad_id must be a token id in [0, vocab_size={self.vocab_size}), got {self.pad_id!r}"
            )
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")
