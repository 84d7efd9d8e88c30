"""The diagrams of chapters 5 and 6: the encoder layer (post-norm and pre-norm, residuals and LayerNorms,
chapter 5) and the whole encoder-decoder with cross-attention (chapter 6).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from tfmcourse.diagrams.parts import arrow, box, canvas

__all__ = ["encoder_layer", "encoder_decoder"]


# ---------------------------------------------------- chapter 5: the encoder layer, residuals, norms


def _encoder_column(ax: Axes, x0: float, norm_first: bool) -> None:
    """One encoder layer drawn bottom to top, starting at ``x0`` (helper of :func:`encoder_layer`)."""
    w, cx, side = 2.6, x0 + 1.3, x0 + 2.75
    box(ax, x0, 0.2, w, 0.7, "x (batch, seq, d_model)", fontsize=8)
    attn, ffn = ("attention", "multi-head\nself-attention"), ("ffn", "feed-forward\nnetwork")
    norm1, norm2 = ("norm", "LayerNorm (norm1)"), ("norm", "LayerNorm (norm2)")
    if norm_first:  # x + f(LN(x)), twice; the stack ends with one more LayerNorm
        steps = ["branch", norm1, attn, "add", "branch", norm2, ffn, "add"]
    else:  # LN(x + f(x)), twice
        steps = ["branch", attn, "add", norm1, "branch", ffn, "add", norm2]
    y, prev_top, branch_y = 1.4, 0.9, 0.0
    for step in steps:
        if step == "branch":  # the residual path leaves the main line here
            branch_y = prev_top + 0.2
            continue
        arrow(ax, (cx, prev_top), (cx, y))
        if step == "add":
            box(ax, cx - 0.25, y, 0.5, 0.5, "+", kind="add", fontsize=12)
            join = y + 0.25
            ax.plot([cx, side, side], [branch_y, branch_y, join], color="#cc0000", linewidth=1.2)
            arrow(ax, (side, join), (cx + 0.25, join), color="#cc0000")
            prev_top, y = y + 0.5, y + 0.9
            continue
        kind, text = step
        h = 0.9 if "\n" in text else 0.6
        box(ax, x0 + 0.25, y, w - 0.5, h, text, kind=kind, fontsize=8)
        prev_top, y = y + h, y + h + 0.4
    arrow(ax, (cx, prev_top), (cx, prev_top + 0.4))
    box(ax, x0, prev_top + 0.4, w, 0.7, "output (batch, seq, d_model)", fontsize=8)


def encoder_layer() -> Figure:
    """One encoder layer, post-norm (the original) next to pre-norm (chapter 5).

    Each sublayer (self-attention, feed-forward network) is wrapped in a residual connection, drawn as
    the red path that goes around it into a ``+``. Post-norm normalizes after each addition,
    ``LN(x + f(x))``; pre-norm normalizes each sublayer's input and leaves the residual path untouched,
    ``x + f(LN(x))`` (a pre-norm stack then needs one final LayerNorm after its last layer).
    """
    fig, ax = canvas(
        8.6, 9.9, scale=0.62, title="One encoder layer: residual connections (red) and LayerNorms"
    )
    for x0, norm_first, title in [
        (0.4, False, "post-norm (original)\nx = LN(x + f(x))"),
        (5.0, True, "pre-norm\nx = x + f(LN(x))\n(a stack ends with one more LayerNorm)"),
    ]:
        ax.text(x0 + 1.3, 9.85, title, ha="center", va="top", fontsize=9)
        _encoder_column(ax, x0, norm_first)
    return fig


# ------------------------------------------------- chapter 6: the encoder-decoder, cross-attention


def _frame(ax: Axes, x: float, y: float, w: float, h: float, label: str) -> None:
    """A dashed frame around a repeated layer, labelled at its side (``× N``)."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.05,rounding_size=0.2",
            facecolor="#fafafa",
            edgecolor="#888888",
            linewidth=1.0,
            linestyle="--",
            zorder=0,
        )
    )
    ax.text(x + w + 0.15, y + h / 2, label, ha="left", va="center", fontsize=10, color="#555555")


def _sublayer(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    text: str,
    kind: str,
    *,
    residual: bool = True,
    fontsize: float = 9,
) -> float:
    """A sublayer box and its "add & norm" box above it, with the residual path around both; returns the
    top of the add & norm box (where the next piece starts)."""
    box(ax, x, y, w, 0.55, text, kind=kind, fontsize=fontsize)
    box(ax, x, y + 0.8, w, 0.4, "add & norm", kind="norm", fontsize=8.5)
    arrow(ax, (x + w / 2, y + 0.55), (x + w / 2, y + 0.8))
    if residual:  # the residual path: from below the sublayer, around its right side, into the add
        ax.add_patch(
            FancyArrowPatch(
                (x + w - 0.05, y - 0.2),
                (x + w + 0.02, y + 1.0),
                arrowstyle="-|>",
                mutation_scale=10,
                color="#777777",
                linewidth=1.0,
                connectionstyle="arc3,rad=0.55",
                shrinkA=0,
                shrinkB=2,
            )
        )
    return y + 1.2


def encoder_decoder() -> Figure:
    """The encoder-decoder Transformer (chapter 6): the encoder stack turns the source into the memory; every
    decoder layer reads it through cross-attention (keys and values from the memory, queries from the
    decoder), after a causally masked self-attention over the target written so far.

    Post-norm layers as in the original paper, each sublayer followed by "add & norm" (the residual
    addition and a LayerNorm); the dashed frames are repeated ``N`` times.
    """
    fig, ax = canvas(
        12.0, 10.5, scale=0.62, title="The encoder-decoder Transformer: cross-attention reads the memory"
    )
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
    top = _sublayer(
        ax, dx, 2.5, w, "masked self-attention\n(causal + padding mask)", "attention", fontsize=8.5
    )
    arrow(ax, (dx + w / 2, top), (dx + w / 2, top + 0.25))
    cross_y = top + 0.25
    top = _sublayer(
        ax, dx, cross_y, w, "cross-attention\nQ: decoder, K and V: memory", "attention", fontsize=8.5
    )
    arrow(ax, (dx + w / 2, top), (dx + w / 2, top + 0.25))
    top = _sublayer(ax, dx, top + 0.25, w, "feed-forward", "ffn")
    box(ax, dx, 7.05, w, 0.45, "final LayerNorm", kind="norm", fontsize=8.5)
    arrow(ax, (dx + w / 2, top), (dx + w / 2, 7.05))
    box(ax, dx, 7.95, w, 0.55, "linear to the target vocabulary", kind="ffn", fontsize=8.5)
    arrow(ax, (dx + w / 2, 7.5), (dx + w / 2, 7.95))
    box(ax, dx, 8.95, w, 0.75, "softmax: probabilities of\nthe next token y(t)", kind="token", fontsize=8.5)
    arrow(ax, (dx + w / 2, 8.5), (dx + w / 2, 8.95))

    # the memory feeds every decoder layer's cross-attention (keys and values, with the source padding mask)
    arrow(
        ax,
        (ex + w, 6.9),
        (dx, cross_y + 0.3),
        text="K, V (every layer)",
        connection="arc3,rad=-0.15",
        color="#b45f06",
    )
    ax.text(ex + w / 2, 7.6, "ENCODER", ha="center", fontsize=11, fontweight="bold")
    ax.text(dx + w / 2, 10.0, "DECODER", ha="center", fontsize=11, fontweight="bold")
    ax.text(
        ex - 0.2,
        9.2,
        "The encoder runs once per source.\nThe decoder runs once per output token\n"
        "(teacher forcing: all target positions\nat once, the causal mask hides the future).",
        ha="left",
        va="center",
        fontsize=8.5,
        color="#444444",
    )
    return fig
