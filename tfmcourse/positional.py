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

RoPE is plugged into attention by :class:`~tfmcourse.multihead.MultiHeadAttention`
(``rotary=RotaryEmbedding(d_head)``). The small encoder of the chapter-4 experiments, ``OrderModel``,
lives in :mod:`tfmcourse.models.order` (importable from here too).
"""

from __future__ import annotations

import torch
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.checks import Dims, check_probability, entry_point

__all__ = [
    "sinusoidal_table",
    "SinusoidalPositions",
    "LearnedPositions",
    "rope_angles",
    "apply_rotary",
    "RotaryEmbedding",
]


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


def _check_table(max_len: object, d_model: object, base: object = 10000.0, dtype: object = None) -> None:
    _check_positive_int("max_len", max_len)
    _check_positive_int("d_model", d_model, even=True)
    _check_base(base)


@entry_point(_check_table)
def sinusoidal_table(
    max_len: int, d_model: int, base: float = 10000.0, dtype: torch.dtype | None = None
) -> Float[Tensor, "max_len d_model"]:
    """The sinusoidal position table of Vaswani et al. (2017), shape ``(max_len, d_model)``.

    ``PE[pos, 2i] = sin(pos / base^(2i / d_model))`` and ``PE[pos, 2i + 1] = cos(pos / base^(2i / d_model))``
    for ``pos = 0 .. max_len - 1`` and ``i = 0 .. d_model / 2 - 1``: pair ``i`` is a sine and a cosine
    of the same frequency ``base^(-2i / d_model)``, from one radian per position (``i = 0``) down to
    almost ``1 / base``. Computed in float64, returned in ``dtype`` (default: torch's default dtype).
    """
    pos = torch.arange(max_len, dtype=torch.float64)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos[:, None] / base ** (two_i / d_model)  # (max_len, d_model / 2)
    # Interleave: sin at even dimensions, cos at odd ones.
    table = rearrange(torch.stack([angle.sin(), angle.cos()], dim=-1), "pos i two -> pos (i two)")
    return table.to(dtype or torch.get_default_dtype())


def _check_additive(self: nn.Module, x: object, offset: object = 0) -> None:
    """The input of :class:`SinusoidalPositions` and :class:`LearnedPositions`: it must fit the table."""
    Dims(d_model=self.d_model)(x, "x", "batch seq d_model")
    _check_offset(offset)
    seq, max_len = x.shape[1], self.max_len
    if offset + seq > max_len:
        raise ValueError(
            f"x has seq={seq} (shape {_shape(x)}) at offset={offset}, so it needs positions up to "
            f"{offset + seq - 1}, but the table has max_len={max_len} positions (0 .. {max_len - 1})"
        )


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal table to ``x``:
    ``forward(x, offset) = dropout(x + PE[offset : offset + seq])``.

    ``x`` is ``(batch, seq, d_model)``; the output has the same shape. The table (``self.table``,
    ``(max_len, d_model)``) is a *non-persistent* buffer: it moves with ``.to(device)`` but is not in
    the ``state_dict``, since it is not learned. (Vaswani et al. also multiply the token embeddings by
    ``sqrt(d_model)`` before the addition; that belongs to the embedding, not to this module.)
    """

    table: Tensor

    def __init__(self, d_model: int, max_len: int = 4096, dropout: float = 0.0, base: float = 10000.0):
        super().__init__()
        check_probability(dropout=dropout)
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("table", sinusoidal_table(max_len, d_model, base), persistent=False)
        self.dropout = nn.Dropout(dropout)

    @entry_point(_check_additive)
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], offset: int = 0
    ) -> Float[Tensor, "batch seq d_model"]:
        """``x`` plus the rows ``offset .. offset + seq - 1`` of the table (then dropout)."""
        pe = self.table[offset : offset + x.shape[1]].to(x.dtype)
        return self.dropout(x + pe)


class LearnedPositions(nn.Module):
    """Adds a trained table, one vector per position:
    ``forward(x, offset) = dropout(x + P[offset : offset + seq])``.

    ``self.table`` is an ``nn.Parameter`` of shape ``(max_len, d_model)``, initialised from
    ``N(0, 0.02^2)``. There is no row for a position ``>= max_len``: such inputs raise ``ValueError``.
    """

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.0):
        super().__init__()
        _check_positive_int("d_model", d_model)
        _check_positive_int("max_len", max_len)
        check_probability(dropout=dropout)
        self.d_model, self.max_len = d_model, max_len
        self.table = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout)

    @entry_point(_check_additive)
    def forward(
        self, x: Float[Tensor, "batch seq d_model"], offset: int = 0
    ) -> Float[Tensor, "batch seq d_model"]:
        """``x`` plus the rows ``offset .. offset + seq - 1`` of the learned table (then dropout)."""
        return self.dropout(x + self.table[offset : offset + x.shape[1]].to(x.dtype))


def _check_angles(positions: object, d_head: object, base: object = 10000.0) -> None:
    _check_positive_int("d_head", d_head, even=True)
    _check_base(base)
    if not isinstance(positions, Tensor):
        raise ValueError(f"positions must be a tensor of positions, got {type(positions).__name__}")


@entry_point(_check_angles)
def rope_angles(
    positions: Int[Tensor, "*pos"] | Float[Tensor, "*pos"], d_head: int, base: float = 10000.0
) -> Float[Tensor, "*pos half"]:
    """Rotation angles ``theta[..., i] = position * base^(-2i / d_head)``, shape
    ``(*positions.shape, d_head / 2)``.

    Pair ``i`` turns by ``base^(-2i / d_head)`` radians per position: the same frequencies as the
    sinusoidal table. Computed in float64 (the caller casts ``cos`` and ``sin``).
    """
    inv_freq = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64, device=positions.device) / d_head)
    return positions.to(torch.float64)[..., None] * inv_freq


def _check_rotary(x: object, cos: object, sin: object, interleaved: bool = False) -> None:
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


@entry_point(_check_rotary)
def apply_rotary(
    x: Float[Tensor, "*batch seq d_head"],
    cos: Float[Tensor, "*#batch seq half"],
    sin: Float[Tensor, "*#batch seq half"],
    interleaved: bool = False,
) -> Float[Tensor, "*batch seq d_head"]:
    """Rotate each pair of dimensions of ``x`` by the angle whose cosine and sine are given.

    Pair ``i`` at sequence position ``s`` is turned counter-clockwise by ``theta[s, i]``:
    ``(a, b) -> (a cos - b sin, a sin + b cos)``. Which dimensions form pair ``i``:

    - ``interleaved=False`` (the default, "half-split", as in GPT-NeoX and Llama): dimensions
      ``i`` and ``i + d_head / 2``;
    - ``interleaved=True`` (as in the RoFormer paper): dimensions ``2i`` and ``2i + 1``.

    ``cos`` and ``sin`` have shape ``(seq, d_head / 2)`` (or anything that broadcasts against
    ``(..., seq, d_head / 2)``). The output has the shape and dtype of ``x``.
    """
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if interleaved:
        pairs = rearrange(x, "... (i two) -> ... i two", two=2)
        a, b = pairs[..., 0], pairs[..., 1]
        out = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1)
        return rearrange(out, "... i two -> ... (i two)")
    a, b = x.chunk(2, dim=-1)  # dimension i pairs with i + d_head / 2
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def _check_rope_input(d_head: object, x: object, offset: object) -> None:
    Dims(d_head=d_head)(x, "x", "... seq d_head")
    _check_offset(offset)


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
        """``(cos, sin)`` of the angles for positions ``offset .. offset + seq - 1``, each
        ``(seq, d_head / 2)``, float64."""
        _check_offset(offset)
        theta = rope_angles(torch.arange(offset, offset + seq, device=device), self.d_head, self.base)
        return theta.cos(), theta.sin()

    @entry_point(lambda self, x, offset=0: _check_rope_input(self.d_head, x, offset))
    def forward(
        self, x: Float[Tensor, "*batch seq d_head"], offset: int = 0
    ) -> Float[Tensor, "*batch seq d_head"]:
        """``x`` (``(..., seq, d_head)``, its first token at position ``offset``), rotated; same shape."""
        cos, sin = self.cos_sin(x.shape[-2], offset, device=x.device)
        return apply_rotary(x, cos, sin, interleaved=self.interleaved)

    def extra_repr(self) -> str:
        return f"d_head={self.d_head}, base={self.base}, interleaved={self.interleaved}"


def __getattr__(name: str):
    """``OrderModel`` and ``POSITION_KINDS`` moved to :mod:`tfmcourse.models.order`; they are still
    importable from here (loaded on first use: the models sit above this module)."""
    if name in ("OrderModel", "POSITION_KINDS"):
        from tfmcourse.models import order

        return getattr(order, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
