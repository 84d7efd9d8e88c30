"""The diagrams of chapter 1: an RNN folded and unrolled, and the seq2seq bottleneck (one vector between
the encoder and the decoder).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from tfmcourse.diagrams.parts import arrow, box, canvas

__all__ = ["unrolled_rnn", "seq2seq_bottleneck"]


# --------------------------------------------------------------------- chapter 1: RNN and seq2seq


def unrolled_rnn(steps: int = 4) -> Figure:
    """Chapter 1: an RNN folded (one cell with a loop) and unrolled through ``steps`` time steps.

    The unrolled picture shows the two facts the chapter measures: the same weights ``W_xh``, ``W_hh``
    are used at every step, and step ``t`` cannot start before step ``t - 1`` has given ``h_{t-1}``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 8:
        raise ValueError(f"steps must be an int from 2 to 8, got {steps!r}")
    width = 4.2 + 1.9 * steps + 1.6
    fig, ax = canvas(
        width,
        4.4,
        title="An RNN unrolled through time: the same weights at every step, one step after another",
    )
    # folded: one cell and a loop
    box(ax, 0.5, 0.3, 1.2, 0.7, "$x_t$", kind="token")
    box(ax, 0.5, 1.8, 1.2, 0.8, "$h_t$", kind="state")
    box(ax, 0.5, 3.3, 1.2, 0.7, "read-out", kind="ffn", fontsize=9)
    arrow(ax, (1.1, 1.0), (1.1, 1.8), text="$W_{xh}$")
    arrow(ax, (1.1, 2.6), (1.1, 3.3))
    arrow(ax, (1.7, 2.35), (1.7, 2.05), connection="arc3,rad=-2.2", text="")
    ax.text(2.55, 2.2, "$W_{hh}$", fontsize=9, ha="center", va="center")
    ax.text(3.25, 2.2, "=", fontsize=20, ha="center", va="center")
    # unrolled
    x0 = 3.9
    box(ax, x0, 1.8, 0.9, 0.8, "$h_0$", kind="state")
    for t in range(1, steps + 1):
        x = x0 + 1.9 * t
        box(ax, x, 0.3, 0.9, 0.7, f"$x_{t}$", kind="token")
        box(ax, x, 1.8, 0.9, 0.8, f"$h_{t}$", kind="state")
        arrow(ax, (x + 0.45, 1.0), (x + 0.45, 1.8), text="$W_{xh}$" if t == 1 else "")
        arrow(ax, (x - 1.0, 2.2), (x, 2.2), text="$W_{hh}$")
    last = x0 + 1.9 * steps
    box(ax, last - 0.15, 3.3, 1.2, 0.7, "read-out", kind="ffn", fontsize=9)
    arrow(ax, (last + 0.45, 2.6), (last + 0.45, 3.3))
    ax.text(
        (x0 + 1.9 + last + 0.9) / 2,
        3.65,
        f"{steps} steps in a row: $h_t = \\tanh(x_t W_{{xh}} + h_{{t-1}} W_{{hh}} + b)$",
        fontsize=9,
        ha="center",
        va="center",
    )
    return fig


def seq2seq_bottleneck(length: int = 4) -> Figure:
    """Chapter 1: an encoder-decoder without attention (the source passes through one vector) and with
    attention (every decoder step reads a weighted sum of all encoder states)."""
    if isinstance(length, bool) or not isinstance(length, int) or not 2 <= length <= 6:
        raise ValueError(f"length must be an int from 2 to 6, got {length!r}")
    step = 1.5
    width = 2 * length * step + 5.0
    fig, ax = canvas(
        width, 9.4, title="Sequence to sequence: one vector, or attention over every encoder state"
    )
    dec0 = length * step + 2.6  # where the decoder starts

    def row(y: float, with_attention: bool) -> None:
        for i in range(length):
            x = 0.4 + i * step
            box(ax, x, y, 1.0, 0.6, f"$x_{i + 1}$", kind="token")
            box(ax, x, y + 1.2, 1.0, 0.7, f"$e_{i + 1}$", kind="state")
            arrow(ax, (x + 0.5, y + 0.6), (x + 0.5, y + 1.2))
            if i:
                arrow(ax, (x - step + 1.0, y + 1.55), (x, y + 1.55))
        for t in range(length):
            x = dec0 + t * step
            box(ax, x, y + 1.2, 1.0, 0.7, f"$s_{t + 1}$", kind="state")
            box(ax, x, y + 2.5, 1.0, 0.6, f"$y_{t + 1}$", kind="token")
            arrow(ax, (x + 0.5, y + 1.9), (x + 0.5, y + 2.5))
            if t:
                arrow(ax, (x - step + 1.0, y + 1.55), (x, y + 1.55))
        enc_last = 0.4 + (length - 1) * step + 1.0
        if not with_attention:
            box(
                ax,
                enc_last + 0.35,
                y + 1.2,
                dec0 - enc_last - 0.7,
                0.7,
                "one vector",
                kind="norm",
                fontsize=9,
            )
            arrow(ax, (dec0 - 0.35, y + 1.55), (dec0, y + 1.55))
            ax.text(
                width / 2,
                y - 0.35,
                "the decoder sees the source only through the encoder's last state",
                fontsize=9,
                ha="center",
                va="center",
            )
        else:
            arrow(ax, (enc_last, y + 1.55), (dec0, y + 1.55), text="last state")
            target = dec0 + (length - 1) * step  # show the attention of the last decoder step
            cx, cy = target + 1.5, y + 2.5  # the context box, to the right of y_n
            box(ax, cx, cy, 1.3, 0.6, "context", kind="attention", fontsize=9)
            for i in range(length):
                x = 0.4 + i * step + 0.5
                arrow(ax, (x, y + 1.9), (cx + 0.3, cy + 0.6), color="#cc4125", connection="arc3,rad=-0.15")
            arrow(ax, (target + 1.0, y + 1.55), (cx + 0.65, cy), color="#cc4125", connection="arc3,rad=0.3")
            ax.text(cx + 0.75, y + 1.6, "query", fontsize=9, ha="left", va="center")
            arrow(ax, (cx, cy + 0.3), (target + 1.0, y + 2.8), color="#cc4125")
            ax.text(
                width / 2,
                y - 0.35,
                "each decoder step reads a weighted sum of ALL encoder states (drawn for the last step)",
                fontsize=9,
                ha="center",
                va="center",
            )

    row(5.6, with_attention=False)
    row(0.6, with_attention=True)
    ax.text(0.1, 9.0, "without attention", fontsize=11, fontweight="bold", va="center")
    ax.text(0.1, 4.5, "with attention", fontsize=11, fontweight="bold", va="center")
    ax.text(0.4 + (length * step) / 2 - 0.3, 8.75, "encoder", fontsize=10, ha="center", style="italic")
    ax.text(dec0 + (length * step) / 2 - 0.3, 8.75, "decoder", fontsize=10, ha="center", style="italic")
    return fig
