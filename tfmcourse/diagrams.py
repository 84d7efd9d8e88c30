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


def multihead_split_merge(num_heads: int = 3) -> Figure:
    """Multi-head attention as a split and a merge (chapter 3).

    One projection per role (``q_proj``, ``k_proj``, ``v_proj``) makes ``d_model``-wide queries, keys and
    values; the split cuts each into ``num_heads`` slices of ``d_head`` features
    (``"b s (h d) -> b h s d"``); every head attends on its own slices; the merge puts the heads' outputs
    side by side again (``"b h s d -> b s (h d)"``, drawn as one column of slices) and ``out_proj``
    mixes them.
    """
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or not 1 <= num_heads <= 4:
        raise ValueError(f"num_heads must be an int from 1 to 4 (to fit the drawing), got {num_heads!r}")
    h, row = num_heads, 1.2  # row: the height of one head's row
    fig, ax = canvas(17.6, h * row + 1.7, scale=0.6,
                     title=f"Multi-head attention with {h} heads: split, attend in every head, merge")
    mid = 0.5 + h * row / 2
    box(ax, 0.0, mid - 0.5, 2.25, 1.0, "x\n(batch, seq, d_model)", fontsize=8)
    box(ax, 2.7, mid - 0.9, 1.7, 1.8, "q_proj\nk_proj\nv_proj\n(each d_model\nwide)", kind="ffn", fontsize=8)
    arrow(ax, (2.2, mid), (2.7, mid))
    ax.text(6.0, 0.6 + h * row + 0.35, "split: 'b s (h d) -> b h s d'", ha="center", fontsize=9, style="italic")
    ax.text(12.4, 0.6 + h * row + 0.35, "merge: 'b h s d -> b s (h d)'", ha="center", fontsize=9, style="italic")
    col_x, col_w = 12.0, 0.9
    for i in range(h):
        y = 0.5 + (h - 1 - i) * row  # head 1 on top
        for k, (name, kind) in enumerate([("Q", "query"), ("K", "key"), ("V", "value")]):
            box(ax, 4.9 + 0.8 * k, y + 0.25, 0.7, 0.7, f"{name}{i + 1}", kind=kind, fontsize=8, rounded=False)
        arrow(ax, (4.4, mid), (4.9, y + 0.6), color="#888888")
        box(ax, 7.8, y + 0.15, 3.6, 0.9, f"head {i + 1}\nsoftmax(Q{i + 1} K{i + 1}\u1d40 / \u221ad_head) V{i + 1}",
            kind="attention", fontsize=8)
        arrow(ax, (7.3, y + 0.6), (7.8, y + 0.6))
        box(ax, col_x, y + 0.1, col_w, row - 0.2 if h > 1 else 1.0, f"h{i + 1}", kind="attention", fontsize=8,
            rounded=False)
        arrow(ax, (11.4, y + 0.6), (col_x, y + 0.6))
    box(ax, col_x + col_w + 0.5, mid - 0.5, 1.3, 1.0, "out_proj", kind="ffn", fontsize=8)
    arrow(ax, (col_x + col_w, mid), (col_x + col_w + 0.5, mid))
    box(ax, col_x + col_w + 2.3, mid - 0.5, 2.3, 1.0, "output\n(batch, seq, d_model)", fontsize=8)
    arrow(ax, (col_x + col_w + 1.8, mid), (col_x + col_w + 2.3, mid))
    ax.text(8.8, 0.1, f"each head sees its own d_head = d_model / {h} features of q, k and v",
            ha="center", fontsize=8, color="#444444")
    return fig


# ---------------------------------------------------- chapter 5: the encoder layer, residuals, norms


# ------------------------------------------------- chapter 6: the encoder-decoder, cross-attention
