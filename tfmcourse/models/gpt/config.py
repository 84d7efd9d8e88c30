"""The hyperparameters of chapter 9's GPT, :class:`GPTConfig`, checked once when it is built."""

from __future__ import annotations

from dataclasses import dataclass

from tfmcourse.checks import check_positive, check_probability
from tfmcourse.config import ACTIVATIONS
from tfmcourse.multihead import IMPLS

__all__ = ["GPTConfig"]


@dataclass
class GPTConfig:
    """The hyperparameters of a :class:`~tfmcourse.models.gpt.model.GPT`.

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
        impl: attention implementation, ``"naive"`` or ``"sdpa"`` (see
            :class:`~tfmcourse.multihead.MultiHeadAttention`).
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
