"""Position information for attention (chapter 4): sinusoidal, learned and rotary (RoPE).

Self-attention on its own has no notion of order: permute the input tokens and the outputs are permuted
the same way (it is *permutation-equivariant*). The three classic ways to tell the model where each
token is:

- :func:`sinusoidal_table` / :class:`SinusoidalPositions`: a fixed table of sines and cosines added to
  the token embeddings (Vaswani et al., 2017).
- :class:`LearnedPositions`: a trained table, one vector per position, added the same way; it has rows
  only for positions ``0 .. max_len - 1``.
- :class:`RotaryEmbedding` / :func:`apply_rotary`: rotary position embedding (RoPE, Su et al., 2021):
  queries and keys are *rotated* by an angle proportional to their position, so that the score
  ``q_m . k_n`` depends on the positions only through ``m - n``. It is applied to q and k inside the
  attention layer, not added to the embeddings.

The two additive modules take ``x`` of shape ``(batch, seq, d_model)`` and an ``offset``: the position
of ``x[:, 0]``. Incremental decoding feeds one new token at a time with ``offset`` = the number of
tokens already generated.

For the experiments of chapter 4 the module also holds a small encoder, :class:`OrderModel`, whose
position scheme is a constructor argument (``"none"``, ``"sinusoidal"``, ``"learned"``, ``"rope"``).
"""

from __future__ import annotations

import torch
from einops import rearrange
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from tfmcourse.attention import scaled_dot_product_attention

__all__ = [
    "sinusoidal_table",
    "SinusoidalPositions",
    "LearnedPositions",
    "rope_angles",
    "apply_rotary",
    "RotaryEmbedding",
    "RotarySelfAttention",
    "OrderModel",
    "POSITION_KINDS",
]

POSITION_KINDS = ("none", "sinusoidal", "learned", "rope")


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_positive_int(name: str, n: object, *, even: bool = False) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    if even and n % 2:
        raise ValueError(f"{name} must be even (dimensions come in sin/cos or rotation pairs), got {n}")


def _check_offset(offset: object) -> None:
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError(f"offset must be a non-negative int, got {offset!r}")


def _check_base(base: object) -> None:
    if not isinstance(base, (int, float)) or isinstance(base, bool) or not base > 0:
        raise ValueError(f"base must be a positive number, got {base!r}")


def sinusoidal_table(
    max_len: int, d_model: int, base: float = 10000.0, dtype: torch.dtype | None = None
) -> Float[Tensor, "max_len d_model"]:
    """The sinusoidal position table of Vaswani et al. (2017), shape ``(max_len, d_model)``.

    ``PE[pos, 2i] = sin(pos / base^(2i / d_model))`` and ``PE[pos, 2i + 1] = cos(pos / base^(2i / d_model))``
    for ``pos = 0 .. max_len - 1`` and ``i = 0 .. d_model / 2 - 1``: pair ``i`` is a sine and a cosine
    of the same frequency ``base^(-2i / d_model)``, from one radian per position (``i = 0``) down to
    almost ``1 / base``. Computed in float64, returned in ``dtype`` (default: torch's default dtype).
    """
    _check_positive_int("max_len", max_len)
    _check_positive_int("d_model", d_model, even=True)
    _check_base(base)
    pos = torch.arange(max_len, dtype=torch.float64)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos[:, None] / base ** (two_i / d_model)  # (max_len, d_model / 2)
    # Interleave: sin at even dimensions, cos at odd ones.
    table = rearrange(torch.stack([angle.sin(), angle.cos()], dim=-1), "pos i two -> pos (i two)")
    return table.to(dtype or torch.get_default_dtype())


def _check_additive_input(x: object, d_model: int, max_len: int, offset: object) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        what = f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating-point tensor (batch, seq, d_model), got {what}")
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ValueError(f"x must have shape (batch, seq, d_model={d_model}), got shape {_shape(x)}")
    _check_offset(offset)
    seq = x.shape[1]
    if offset + seq > max_len:
        raise ValueError(
            f"x has seq={seq} (shape {_shape(x)}) at offset={offset}, so it needs positions up to "
            f"{offset + seq - 1}, but the table has max_len={max_len} positions (0 .. {max_len - 1})"
        )


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal table to ``x``: ``forward(x, offset) = dropout(x + PE[offset : offset + seq])``.

    ``x`` is ``(batch, seq, d_model)``; the output has the same shape. The table (``self.table``,
    ``(max_len, d_model)``) is a *non-persistent* buffer: it moves with ``.to(device)`` but is not in
    the ``state_dict``, since it is not learned. (Vaswani et al. also multiply the token embeddings by
    ``sqrt(d_model)`` before the addition; that belongs to the embedding, not to this module.)
    """

    table: Tensor

    def __init__(self, d_model: int, max_len: int = 4096, dropout: float = 0.0, base: float = 10000.0):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("table", sinusoidal_table(max_len, d_model, base), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Float[Tensor, "batch seq d_model"], offset: int = 0) -> Float[Tensor, "batch seq d_model"]:
        """``x`` plus the rows ``offset .. offset + seq - 1`` of the table (then dropout)."""
        _check_additive_input(x, self.d_model, self.max_len, offset)
        pe = self.table[offset : offset + x.shape[1]].to(x.dtype)
        return self.dropout(x + pe)


class LearnedPositions(nn.Module):
    """Adds a trained table, one vector per position: ``forward(x, offset) = dropout(x + P[offset : offset + seq])``.

    ``self.table`` is an ``nn.Parameter`` of shape ``(max_len, d_model)``, initialised from
    ``N(0, 0.02^2)``. There is no row for a position ``>= max_len``: such inputs raise ``ValueError``.
    """

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.0):
        super().__init__()
        _check_positive_int("d_model", d_model)
        _check_positive_int("max_len", max_len)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.max_len = d_model, max_len
        self.table = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Float[Tensor, "batch seq d_model"], offset: int = 0) -> Float[Tensor, "batch seq d_model"]:
        """``x`` plus the rows ``offset .. offset + seq - 1`` of the learned table (then dropout)."""
        _check_additive_input(x, self.d_model, self.max_len, offset)
        return self.dropout(x + self.table[offset : offset + x.shape[1]].to(x.dtype))


def rope_angles(
    positions: Int[Tensor, "*pos"], d_head: int, base: float = 10000.0
) -> Float[Tensor, "*pos half"]:
    """Rotation angles ``theta[..., i] = position * base^(-2i / d_head)``, shape ``(*positions.shape, d_head / 2)``.

    Pair ``i`` turns by ``base^(-2i / d_head)`` radians per position: the same frequencies as the
    sinusoidal table. Computed in float64 (the caller casts ``cos`` and ``sin``).
    """
    _check_positive_int("d_head", d_head, even=True)
    _check_base(base)
    if not isinstance(positions, Tensor):
        raise ValueError(f"positions must be a tensor of positions, got {type(positions).__name__}")
    inv_freq = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64, device=positions.device) / d_head)
    return positions.to(torch.float64)[..., None] * inv_freq


def apply_rotary(
    x: Float[Tensor, "... seq d_head"],
    cos: Float[Tensor, "seq half"],
    sin: Float[Tensor, "seq half"],
    interleaved: bool = False,
) -> Float[Tensor, "... seq d_head"]:
    """Rotate each pair of dimensions of ``x`` by the angle whose cosine and sine are given.

    Pair ``i`` at sequence position ``s`` is turned counter-clockwise by ``theta[s, i]``:
    ``(a, b) -> (a cos - b sin, a sin + b cos)``. Which dimensions form pair ``i``:

    - ``interleaved=False`` (the default, "half-split", as in GPT-NeoX and Llama): dimensions
      ``i`` and ``i + d_head / 2``;
    - ``interleaved=True`` (as in the RoFormer paper): dimensions ``2i`` and ``2i + 1``.

    ``cos`` and ``sin`` have shape ``(seq, d_head / 2)`` (or anything that broadcasts against
    ``(..., seq, d_head / 2)``). The output has the shape and dtype of ``x``.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim < 2:
        what = f"shape {_shape(x)} dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating-point tensor (..., seq, d_head), got {what}")
    if x.shape[-1] % 2:
        raise ValueError(f"x has shape {_shape(x)}: its last axis d_head={x.shape[-1]} must be even")
    for name, t in (("cos", cos), ("sin", sin)):
        if not isinstance(t, Tensor):
            raise ValueError(f"{name} must be a tensor, got {type(t).__name__}")
    if cos.shape != sin.shape:
        raise ValueError(f"cos has shape {_shape(cos)} but sin has shape {_shape(sin)}; they must match")
    half = x.shape[-1] // 2
    if cos.ndim < 2 or cos.shape[-1] != half or cos.shape[-2] != x.shape[-2]:
        raise ValueError(
            f"cos and sin must have shape (seq, d_head / 2) = ({x.shape[-2]}, {half}) for x of shape "
            f"{_shape(x)}, got {_shape(cos)}"
        )
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if interleaved:
        pairs = rearrange(x, "... (i two) -> ... i two", two=2)
        a, b = pairs[..., 0], pairs[..., 1]
        out = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1)
        return rearrange(out, "... i two -> ... (i two)")
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE, Su et al. 2021) for queries or keys of width ``d_head``.

    ``forward(x, offset)`` rotates pair ``i`` of the token at position ``p = offset + s`` by the angle
    ``p * base^(-2i / d_head)`` (see :func:`apply_rotary` for the pairing; the default is half-split,
    dimension ``i`` with ``i + d_head / 2``, as in GPT-NeoX and Llama; ``interleaved=True`` pairs
    ``2i`` with ``2i + 1`` as in the paper). Apply the same module to ``q`` and to ``k`` (each
    ``(..., seq, d_head)``, e.g. ``(batch, heads, seq, d_head)``); then ``q_m . k_n`` depends on the
    positions only through ``m - n``, and every vector keeps its norm. No table, no ``max_len``, no
    parameters: the angles are computed for the positions asked for.
    """

    def __init__(self, d_head: int, base: float = 10000.0, interleaved: bool = False):
        super().__init__()
        _check_positive_int("d_head", d_head, even=True)
        _check_base(base)
        self.d_head, self.base, self.interleaved = d_head, float(base), bool(interleaved)

    def cos_sin(
        self, seq: int, offset: int = 0, device: torch.device | str | None = None
    ) -> tuple[Float[Tensor, "seq half"], Float[Tensor, "seq half"]]:
        """``(cos, sin)`` of the angles for positions ``offset .. offset + seq - 1``, each ``(seq, d_head / 2)``, float64."""
        _check_offset(offset)
        theta = rope_angles(torch.arange(offset, offset + seq, device=device), self.d_head, self.base)
        return theta.cos(), theta.sin()

    def forward(self, x: Float[Tensor, "... seq d_head"], offset: int = 0) -> Float[Tensor, "... seq d_head"]:
        """``x`` (``(..., seq, d_head)``, its first token at position ``offset``), rotated; same shape."""
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim < 2 or x.shape[-1] != self.d_head:
            what = f"shape {_shape(x)} dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be a floating-point tensor (..., seq, d_head={self.d_head}), got {what}")
        cos, sin = self.cos_sin(x.shape[-2], offset, device=x.device)
        return apply_rotary(x, cos, sin, interleaved=self.interleaved)

    def extra_repr(self) -> str:
        return f"d_head={self.d_head}, base={self.base}, interleaved={self.interleaved}"


# --- A small encoder for the position experiments of chapter 4 -------------------------------------


class RotarySelfAttention(nn.Module):
    """Multi-head self-attention with optional RoPE on the queries and keys.

    ``forward(x (batch, seq, d_model), mask=None) -> (batch, seq, d_model)``. With ``rope=False`` it is
    plain multi-head self-attention (no position information at all); with ``rope=True`` each head's
    q and k are rotated by :class:`RotaryEmbedding` before the scores are taken.
    """

    def __init__(self, d_model: int, num_heads: int, rope: bool = False, base: float = 10000.0):
        super().__init__()
        _check_positive_int("d_model", d_model)
        _check_positive_int("num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.rotary = RotaryEmbedding(d_model // num_heads, base) if rope else None

    def forward(
        self,
        x: Float[Tensor, "batch seq d_model"],
        mask: Bool[Tensor, "batch seq seq"] | None = None,
        offset: int = 0,
    ) -> Float[Tensor, "batch seq d_model"]:
        """Self-attention of ``x`` over itself; ``mask`` as in :func:`~tfmcourse.attention.scaled_dot_product_attention`.

        ``offset`` is the position of ``x[:, 0]`` (it only matters with RoPE, and even then only
        through the positions' differences, which it does not change).
        """
        q, k, v = rearrange(self.qkv(x), "b s (three h d) -> three b h s d", three=3, h=self.num_heads)
        if self.rotary is not None:  # the same rotation for q and k: compute the angles once
            cos, sin = self.rotary.cos_sin(x.shape[1], offset, device=x.device)
            q = apply_rotary(q, cos, sin, self.rotary.interleaved)
            k = apply_rotary(k, cos, sin, self.rotary.interleaved)
        if mask is not None and mask.ndim == 3:
            mask = rearrange(mask, "b q k -> b 1 q k")
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.out(rearrange(out, "b h s d -> b s (h d)"))


class _Layer(nn.Module):
    """Pre-norm encoder layer: ``x + attn(norm(x))``, then ``x + ffn(norm(x))``."""

    def __init__(self, d_model: int, num_heads: int, rope: bool):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = RotarySelfAttention(d_model, num_heads, rope=rope)
        self.ffn = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.ffn(self.norm2(x))


class OrderModel(nn.Module):
    """A small Transformer encoder whose only varying part is how it is told about position.

    ``position`` is one of :data:`POSITION_KINDS`: ``"none"`` (nothing: the model sees a bag of
    tokens), ``"sinusoidal"`` or ``"learned"`` (a table added to the token embeddings, with ``max_len``
    rows) or ``"rope"`` (rotary embedding inside every attention layer; works at any length).

    ``forward(tokens (batch, seq) int) -> logits (batch, seq, num_classes)``: one prediction per
    token (a sequence-level task reads the logits of one position, e.g. a [CLS]-like first token).
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
        for name, n in (("vocab_size", vocab_size), ("num_classes", num_classes), ("num_layers", num_layers)):
            _check_positive_int(name, n)
        self.position = position
        self.embed = nn.Embedding(vocab_size, d_model)
        self.positions: nn.Module | None = {
            "sinusoidal": lambda: SinusoidalPositions(d_model, max_len),
            "learned": lambda: LearnedPositions(d_model, max_len),
        }.get(position, lambda: None)()
        self.layers = nn.ModuleList(_Layer(d_model, num_heads, rope=position == "rope") for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(
        self, tokens: Int[Tensor, "batch seq"], mask: Bool[Tensor, "batch seq seq"] | None = None
    ) -> Float[Tensor, "batch seq num_classes"]:
        """Logits ``(batch, seq, num_classes)`` for integer ``tokens`` ``(batch, seq)``."""
        if not isinstance(tokens, Tensor) or tokens.ndim != 2 or tokens.is_floating_point():
            what = f"shape {_shape(tokens)} dtype {tokens.dtype}" if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(f"tokens must be an integer tensor (batch, seq), got {what}")
        x = self.embed(tokens)  # (batch, seq, d_model)
        if self.positions is not None:
            x = self.positions(x)
        for layer in self.layers:
            x = layer(x, mask)
        return self.head(self.norm(x))
