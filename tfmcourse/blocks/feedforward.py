"""The position-wise feed-forward network of a Transformer layer (chapter 5)."""

from __future__ import annotations

from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.checks import Dims, check_positive, check_probability, entry_point
from tfmcourse.config import ACTIVATIONS

__all__ = ["FeedForward"]


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
