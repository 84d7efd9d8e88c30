"""The small encoder of the position experiments of chapter 4, :class:`OrderModel`.

Its only varying part is how it is told about position: nothing, a sinusoidal or a learned table added to
the token embeddings, or rotary embeddings (RoPE) inside every attention layer
(:class:`~tfmcourse.multihead.MultiHeadAttention` with ``rotary=``).
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.checks import Dims, check_mask, check_positive, entry_point
from tfmcourse.multihead import MultiHeadAttention
from tfmcourse.positional import LearnedPositions, RotaryEmbedding, SinusoidalPositions

__all__ = ["OrderModel", "POSITION_KINDS"]

POSITION_KINDS = ("none", "sinusoidal", "learned", "rope")


class _Layer(nn.Module):
    """Pre-norm encoder layer: ``x + attn(norm(x))``, then ``x + ffn(norm(x))``."""

    def __init__(self, d_model: int, num_heads: int, rope: bool):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        rotary = RotaryEmbedding(d_model // num_heads) if rope else None
        with torch.random.fork_rng(devices=[]):  # its random start is replaced just below
            self.attn = MultiHeadAttention(d_model, num_heads, rotary=rotary)
        # The weights are drawn as chapter 4's first model drew them, one (3 d_model, d_model) layer for q, k
        # and v, then the output layer, so that the chapter's recorded results stay what they were.
        qkv, out = nn.Linear(d_model, 3 * d_model), nn.Linear(d_model, d_model)
        with torch.no_grad():
            for proj, w, b in zip(
                (self.attn.q_proj, self.attn.k_proj, self.attn.v_proj), qkv.weight.chunk(3), qkv.bias.chunk(3)
            ):
                proj.weight.copy_(w)
                proj.bias.copy_(b)
            self.attn.out_proj.load_state_dict(out.state_dict())
        self.ffn = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, mask=mask)[0]
        return x + self.ffn(self.norm2(x))


def _check_forward(self: OrderModel, tokens: object, mask: object = None) -> None:
    if not isinstance(tokens, Tensor) or tokens.ndim != 2 or tokens.is_floating_point():
        what = (
            f"shape {tuple(tokens.shape)} dtype {tokens.dtype}"
            if isinstance(tokens, Tensor)
            else type(tokens).__name__
        )
        raise ValueError(f"tokens must be an integer tensor (batch, seq), got {what}")
    Dims()(tokens, "tokens", "batch seq", kind="int")
    if self.positions is not None and tokens.shape[1] > self.positions.max_len:
        raise ValueError(
            f"tokens has shape {tuple(tokens.shape)} but the {self.position} positions cover "
            f"max_len={self.positions.max_len} positions"
        )
    if mask is not None:
        batch, seq = tokens.shape
        check_mask(mask, "mask", (batch, seq, seq))  # (seq, seq), or (batch | 1, seq | 1, seq)


class OrderModel(nn.Module):
    """A small Transformer encoder whose only varying part is how it is told about position.

    ``position`` is one of :data:`POSITION_KINDS`: ``"none"`` (nothing: the model sees a bag of
    tokens), ``"sinusoidal"`` or ``"learned"`` (a table added to the token embeddings, with ``max_len``
    rows) or ``"rope"`` (rotary embedding inside every attention layer; works at any length).

    ``forward(tokens (batch, seq) int, mask=None) -> logits (batch, seq, num_classes)``: one prediction
    per token (a sequence-level task reads the logits of one position, e.g. a [CLS]-like first token).
    ``mask``: ``(batch, seq, seq)`` (or ``(seq, seq)``, or with axes of size 1 that broadcast), ``True`` =
    may attend; the same for every head.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        position: str = "none",
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        max_len: int = 64,
    ):
        super().__init__()
        if position not in POSITION_KINDS:
            raise ValueError(f"position must be one of {POSITION_KINDS}, got {position!r}")
        check_positive(vocab_size=vocab_size, num_classes=num_classes, num_layers=num_layers)
        self.position = position
        self.embed = nn.Embedding(vocab_size, d_model)
        self.positions: nn.Module | None = {
            "sinusoidal": lambda: SinusoidalPositions(d_model, max_len),
            "learned": lambda: LearnedPositions(d_model, max_len),
        }.get(position, lambda: None)()
        self.layers = nn.ModuleList(
            _Layer(d_model, num_heads, rope=position == "rope") for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    @entry_point(_check_forward)
    def forward(
        self, tokens: Int[Tensor, "batch seq"], mask: Bool[Tensor, "*#batch #seq seq"] | None = None
    ) -> Float[Tensor, "batch seq num_classes"]:
        """Logits ``(batch, seq, num_classes)`` for integer ``tokens`` ``(batch, seq)``."""
        x = self.embed(tokens)  # (batch, seq, d_model)
        if self.positions is not None:
            x = self.positions(x)
        if mask is not None and mask.ndim == 3:
            mask = mask[:, None]  # the same mask for every head: (batch, 1, seq, seq)
        for layer in self.layers:
            x = layer(x, mask)
        return self.head(self.norm(x))
