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


# ------------------------------------------------ chapter 14: speech, the conv front-end and the encoder


def speech_encoder(frames: int = 100, n_mels: int = 40, d_model: int = 64, strides: tuple[int, ...] = (2, 2),
                   num_layers: int = 2) -> Figure:
    """The speech classifier of chapter 14, bottom to top: waveform, log-mel frames, the convolutional
    front-end (one convolution per entry of ``strides``, which shorten the sequence by their product),
    positions, the encoder layers, the mean over time and the classifier; shapes beside the arrows."""
    fig, ax = canvas(9.0, 7.4, scale=0.8, title="A Transformer encoder for speech (chapter 14)")
    x, w = 2.2, 4.6
    stride = 1
    for s in strides:
        stride *= s
    rows = [
        (0.3, "waveform: 22,050 samples per second", "token"),
        (1.35, "log-mel spectrogram (tfmcourse.audio.log_mel)", "state"),
        (2.4, f"conv front-end: {len(strides)} x Conv1d + GELU, strides {'/'.join(map(str, strides))}", "ffn"),
        (3.45, "+ sinusoidal positions", "add"),
        (4.5, f"{num_layers} x pre-norm encoder layer (self-attention, FFN)", "attention"),
        (5.55, "LayerNorm, mean over time, Linear", "norm"),
        (6.55, "spoken word (20 classes)", "token"),
    ]
    shapes = ["(samples,)", f"({frames}, {n_mels})", f"({frames // stride}, {d_model})",
              f"({frames // stride}, {d_model})", f"({frames // stride}, {d_model})", "(20,)"]
    for y, text, kind in rows:
        box(ax, x, y, w, 0.6, text, kind=kind, fontsize=9)
    for (y0, _, _), (y1, _, _), shape in zip(rows[:-1], rows[1:], shapes):
        arrow(ax, (x + w / 2, y0 + 0.6), (x + w / 2, y1))
        ax.text(x + w + 0.15, (y0 + 0.6 + y1) / 2, shape, fontsize=8, va="center", color="#444444")
    ax.text(0.15, 2.7, f"{frames} frames\n-> {frames // stride}", fontsize=8, va="center", color="#444444")
    return fig
