"""The shared pieces of every diagram: a canvas in data units, labelled boxes, arrows, and the colours that
say what a piece is (:data:`COLORS`). The chapter diagrams of :mod:`tfmcourse.diagrams` are drawn with them.
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


def canvas(
    width: float, height: float, *, scale: float = 0.9, title: str | None = None
) -> tuple[Figure, Axes]:
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


def box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str = "",
    *,
    kind: str = "token",
    fontsize: float = 10,
    rounded: bool = True,
) -> tuple[float, float, float, float]:
    """Draw a labelled box with its lower-left corner at ``(x, y)``; return ``(x, y, w, h)``.

    ``kind`` picks the fill colour from :data:`COLORS`.
    """
    if kind not in COLORS:
        raise ValueError(f"kind must be one of {tuple(COLORS)}, got {kind!r}")
    style = "round,pad=0.02,rounding_size=0.12" if rounded else "square,pad=0.02"
    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle=style, facecolor=COLORS[kind], edgecolor="#444444", linewidth=1.0
        )
    )
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)
    return x, y, w, h


def arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    text: str = "",
    color: str = "#444444",
    style: str = "-|>",
    connection: str = "arc3",
    fontsize: float = 9,
) -> None:
    """Draw an arrow from ``start`` to ``end`` (data units), with an optional label at its middle.

    ``connection`` is a matplotlib connection style (``"arc3,rad=0.3"`` bends it).
    """
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=12,
            color=color,
            connectionstyle=connection,
            linewidth=1.2,
            shrinkA=2,
            shrinkB=2,
        )
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2,
            (start[1] + end[1]) / 2,
            text,
            fontsize=fontsize,
            ha="center",
            va="center",
            backgroundcolor="white",
        )
