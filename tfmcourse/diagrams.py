"""Diagrams drawn by code: the pictures of chapters 1 to 6 (matplotlib only, no image edited by hand).

Each diagram is one function that returns the matplotlib ``Figure`` it drew, so a chapter shows it with
one line (``diagrams.encoder_layer()``) and a test can check that it draws. The shared pieces are at the
top: a canvas in data units, labelled boxes and arrows. Colours say what a piece is, the same in every
diagram (:data:`COLORS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["COLORS", "canvas", "box", "arrow"]

#: One colour per kind of piece, shared by all diagrams.
COLORS = {
    "token": "#f2f2f2",  # inputs and outputs: tokens, vectors
    "state": "#cfe2f3",  # hidden states, memory
    "attention": "#f4cccc",  # attention and its scores / weights
    "ffn": "#d9ead3",  # feed-forward networks, linear layers
    "norm": "#fff2cc",  # LayerNorm
    "add": "#ffffff",  # residual additions
    "query": "#f9cb9c",
    "key": "#b6d7a8",
    "value": "#9fc5e8",
}


def canvas(width: float, height: float, *, scale: float = 0.9, title: str | None = None) -> tuple[Figure, Axes]:
    """A figure whose axes run from 0 to ``width`` and 0 to ``height`` in data units, with no ticks.

    ``scale`` inches per unit. Diagrams place their boxes in these units.
    """
    fig, ax = plt.subplots(figsize=(width * scale, height * scale), layout="constrained")
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig, ax


def box(ax: Axes, x: float, y: float, w: float, h: float, text: str = "", *, kind: str = "token",
        fontsize: float = 10, rounded: bool = True) -> tuple[float, float, float, float]:
    """Draw a labelled box with its lower-left corner at ``(x, y)``; return ``(x, y, w, h)``.

    ``kind`` picks the fill colour from :data:`COLORS`.
    """
    if kind not in COLORS:
        raise ValueError(f"kind must be one of {tuple(COLORS)}, got {kind!r}")
    style = "round,pad=0.02,rounding_size=0.12" if rounded else "square,pad=0.02"
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=style, facecolor=COLORS[kind], edgecolor="#444444",
                                linewidth=1.0))
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)
    return x, y, w, h


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *, text: str = "",
          color: str = "#444444", style: str = "-|>", connection: str = "arc3", fontsize: float = 9) -> None:
    """Draw an arrow from ``start`` to ``end`` (data units), with an optional label at its middle.

    ``connection`` is a matplotlib connection style (``"arc3,rad=0.3"`` bends it).
    """
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color,
                                 connectionstyle=connection, linewidth=1.2, shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, text, fontsize=fontsize, ha="center",
                va="center", backgroundcolor="white")


# --------------------------------------------------------------------- chapter 1: RNN and seq2seq


# ------------------------------------------------------------------ chapter 2: Q, K, V and the sum


# ------------------------------------------------------------- chapter 3: heads split and merged


# ---------------------------------------------------- chapter 5: the encoder layer, residuals, norms


# ------------------------------------------------- chapter 6: the encoder-decoder, cross-attention


def _frame(ax: Axes, x: float, y: float, w: float, h: float, label: str) -> None:
    """A dashed frame around a repeated layer, labelled at its side (``× N``)."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05,rounding_size=0.2", facecolor="#fafafa",
                                edgecolor="#888888", linewidth=1.0, linestyle="--", zorder=0))
    ax.text(x + w + 0.15, y + h / 2, label, ha="left", va="center", fontsize=10, color="#555555")


def _sublayer(ax: Axes, x: float, y: float, w: float, text: str, kind: str, *, residual: bool = True,
              fontsize: float = 9) -> float:
    """A sublayer box and its "add & norm" box above it, with the residual path around both; returns the
    top of the add & norm box (where the next piece starts)."""
    box(ax, x, y, w, 0.55, text, kind=kind, fontsize=fontsize)
    box(ax, x, y + 0.8, w, 0.4, "add & norm", kind="norm", fontsize=8.5)
    arrow(ax, (x + w / 2, y + 0.55), (x + w / 2, y + 0.8))
    if residual:  # the residual path: from below the sublayer, around its right side, into the add
        ax.add_patch(FancyArrowPatch((x + w - 0.05, y - 0.2), (x + w + 0.02, y + 1.0), arrowstyle="-|>",
                                     mutation_scale=10, color="#777777", linewidth=1.0,
                                     connectionstyle="arc3,rad=0.55", shrinkA=0, shrinkB=2))
    return y + 1.2


def encoder_decoder() -> Figure:
    """The encoder-decoder Transformer (chapter 6): the encoder stack turns the source into the memory; every
    decoder layer reads it through cross-attention (keys and values from the memory, queries from the
    decoder), after a causally masked self-attention over the target written so far.

    Post-norm layers as in the original paper, each sublayer followed by "add & norm" (the residual
    addition and a LayerNorm); the dashed frames are repeated ``N`` times.
    """
    fig, ax = canvas(12.0, 10.5, scale=0.62,
                     title="The encoder-decoder Transformer: cross-attention reads the memory")
    w = 3.6
    ex, dx = 0.7, 6.9  # left edges of the encoder and decoder columns

    # encoder: source tokens -> embeddings -> N layers -> memory
    box(ax, ex, 0.2, w, 0.6, "source tokens (batch, seq_s)", kind="token")
    box(ax, ex, 1.3, w, 0.6, "embedding × √d_model\n+ positions", kind="ffn", fontsize=8.5)
    arrow(ax, (ex + w / 2, 0.8), (ex + w / 2, 1.3))
    _frame(ax, ex - 0.25, 2.25, w + 0.5, 2.85, "× N")
    arrow(ax, (ex + w / 2, 1.9), (ex + w / 2, 2.5))
    top = _sublayer(ax, ex, 2.5, w, "self-attention\n(source padding mask)", "attention", fontsize=8.5)
    arrow(ax, (ex + w / 2, top), (ex + w / 2, top + 0.25))
    top = _sublayer(ax, ex, top + 0.25, w, "feed-forward", "ffn")
    box(ax, ex, 5.55, w, 0.45, "final LayerNorm", kind="norm", fontsize=8.5)
    arrow(ax, (ex + w / 2, top), (ex + w / 2, 5.55))
    box(ax, ex, 6.5, w, 0.75, "memory\n(batch, seq_s, d_model)", kind="state")
    arrow(ax, (ex + w / 2, 6.0), (ex + w / 2, 6.5))

    # decoder: target so far -> embeddings -> N layers -> next-token probabilities
    box(ax, dx, 0.2, w, 0.6, "target so far: <bos> y1 .. y(t-1)", kind="token", fontsize=8.5)
    box(ax, dx, 1.3, w, 0.6, "embedding × √d_model\n+ positions", kind="ffn", fontsize=8.5)
    arrow(ax, (dx + w / 2, 0.8), (dx + w / 2, 1.3))
    _frame(ax, dx - 0.25, 2.25, w + 0.5, 4.35, "× N")
    arrow(ax, (dx + w / 2, 1.9), (dx + w / 2, 2.5))
    top = _sublayer(ax, dx, 2.5, w, "masked self-attention\n(causal + padding mask)", "attention", fontsize=8.5)
    arrow(ax, (dx + w / 2, top), (dx + w / 2, top + 0.25))
    cross_y = top + 0.25
    top = _sublayer(ax, dx, cross_y, w, "cross-attention\nQ: decoder, K and V: memory", "attention",
                    fontsize=8.5)
    arrow(ax, (dx + w / 2, top), (dx + w / 2, top + 0.25))
    top = _sublayer(ax, dx, top + 0.25, w, "feed-forward", "ffn")
    box(ax, dx, 7.05, w, 0.45, "final LayerNorm", kind="norm", fontsize=8.5)
    arrow(ax, (dx + w / 2, top), (dx + w / 2, 7.05))
    box(ax, dx, 7.95, w, 0.55, "linear to the target vocabulary", kind="ffn", fontsize=8.5)
    arrow(ax, (dx + w / 2, 7.5), (dx + w / 2, 7.95))
    box(ax, dx, 8.95, w, 0.75, "softmax: probabilities of\nthe next token y(t)", kind="token", fontsize=8.5)
    arrow(ax, (dx + w / 2, 8.5), (dx + w / 2, 8.95))

    # the memory feeds every decoder layer's cross-attention (keys and values, with the source padding mask)
    arrow(ax, (ex + w, 6.9), (dx, cross_y + 0.3), text="K, V (every layer)", connection="arc3,rad=-0.15",
          color="#b45f06")
    ax.text(ex + w / 2, 7.6, "ENCODER", ha="center", fontsize=11, fontweight="bold")
    ax.text(dx + w / 2, 10.0, "DECODER", ha="center", fontsize=11, fontweight="bold")
    ax.text(ex - 0.2, 9.2, "The encoder runs once per source.\nThe decoder runs once per output token\n"
                     "(teacher forcing: all target positions\nat once, the causal mask hides the future).",
            ha="left", va="center", fontsize=8.5, color="#444444")
    return fig
