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


# ------------------------------------------------------------------ chapter 2: Q, K, V and the sum


def qkv_attention(n_tokens: int = 3, query: int = 2) -> Figure:
    """Chapter 2: queries, keys and values from the tokens, and one query's weighted sum of the values.

    Every token ``x_j`` is projected three times (``W_Q``, ``W_K``, ``W_V``). Query ``query`` (1-based) is
    scored against every key, the scores go through one softmax over the keys, and the output is the
    weighted sum of the values.
    """
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or not 2 <= n_tokens <= 5:
        raise ValueError(f"n_tokens must be an int from 2 to 5, got {n_tokens!r}")
    if isinstance(query, bool) or not isinstance(query, int) or not 1 <= query <= n_tokens:
        raise ValueError(f"query must be an int from 1 to n_tokens={n_tokens}, got {query!r}")
    col = 3.9  # distance between tokens
    width = 1.0 + n_tokens * col + 0.6
    fig, ax = canvas(
        width, 9.6, title=f"Attention for query {query}: score every key, softmax, weighted sum of the values"
    )
    centres = [1.0 + j * col + col / 2 - 0.5 for j in range(n_tokens)]
    i = query
    for j, c in enumerate(centres, start=1):
        box(ax, c - 0.6, 0.3, 1.2, 0.6, f"$x_{j}$", kind="token")
        for dx, name, kind in ((-1.2, "q", "query"), (0.0, "k", "key"), (1.2, "v", "value")):
            box(ax, c + dx - 0.45, 1.9, 0.9, 0.6, f"${name}_{j}$", kind=kind)
            arrow(
                ax,
                (c, 0.9),
                (c + dx, 1.9),
                text={"q": "$W_Q$", "k": "$W_K$", "v": "$W_V$"}[name] if j == 1 else "",
            )
        # the score of query i against key j, computed from q_i and k_j
        box(ax, c - 0.9, 3.5, 1.8, 0.7, f"$q_{i} \\cdot k_{j} / \\sqrt{{d_k}}$", kind="attention", fontsize=9)
        arrow(ax, (c, 2.5), (c, 3.5))
        box(ax, c - 0.7, 5.7, 1.4, 0.7, f"$w_{{{i}{j}}}$", kind="attention")
        arrow(ax, (c, 4.2), (c, 4.75))
        arrow(ax, (c, 5.35), (c, 5.7))
        box(ax, c - 0.9, 7.0, 1.8, 0.6, f"$w_{{{i}{j}}}\\, v_{j}$", kind="value", fontsize=9)
        arrow(ax, (c, 6.4), (c, 7.0))
        arrow(ax, (c + 1.65, 2.5), (c + 0.9, 7.3), color="#3d85c6", connection="arc3,rad=0.12")
    qi = centres[i - 1] - 1.2
    for c in centres:  # q_i goes to every score
        arrow(ax, (qi, 2.5), (c - 0.5, 3.5), color="#e69138", connection="arc3,rad=-0.1")
    left, right = centres[0] - 0.9, centres[-1] + 0.9
    box(
        ax,
        left,
        4.75,
        right - left,
        0.6,
        "softmax over the keys: weights $w_{" + str(i) + "j}$ > 0, summing to 1",
        kind="attention",
        fontsize=9,
        rounded=False,
    )
    middle = (left + right) / 2
    box(ax, middle - 1.9, 8.4, 3.8, 0.7, f"output $o_{i} = \\sum_j w_{{{i}j}}\\, v_j$", kind="token")
    for c in centres:
        arrow(ax, (c, 7.6), (middle, 8.4))
    return fig


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
    fig, ax = canvas(
        17.6,
        h * row + 1.7,
        scale=0.6,
        title=f"Multi-head attention with {h} heads: split, attend in every head, merge",
    )
    mid = 0.5 + h * row / 2
    box(ax, 0.0, mid - 0.5, 2.25, 1.0, "x\n(batch, seq, d_model)", fontsize=8)
    box(ax, 2.7, mid - 0.9, 1.7, 1.8, "q_proj\nk_proj\nv_proj\n(each d_model\nwide)", kind="ffn", fontsize=8)
    arrow(ax, (2.2, mid), (2.7, mid))
    ax.text(
        6.0, 0.6 + h * row + 0.35, "split: 'b s (h d) -> b h s d'", ha="center", fontsize=9, style="italic"
    )
    ax.text(
        12.4, 0.6 + h * row + 0.35, "merge: 'b h s d -> b s (h d)'", ha="center", fontsize=9, style="italic"
    )
    col_x, col_w = 12.0, 0.9
    for i in range(h):
        y = 0.5 + (h - 1 - i) * row  # head 1 on top
        for k, (name, kind) in enumerate([("Q", "query"), ("K", "key"), ("V", "value")]):
            box(ax, 4.9 + 0.8 * k, y + 0.25, 0.7, 0.7, f"{name}{i + 1}", kind=kind, fontsize=8, rounded=False)
        arrow(ax, (4.4, mid), (4.9, y + 0.6), color="#888888")
        box(
            ax,
            7.8,
            y + 0.15,
            3.6,
            0.9,
            f"head {i + 1}\nsoftmax(Q{i + 1} K{i + 1}\u1d40 / \u221ad_head) V{i + 1}",
            kind="attention",
            fontsize=8,
        )
        arrow(ax, (7.3, y + 0.6), (7.8, y + 0.6))
        box(
            ax,
            col_x,
            y + 0.1,
            col_w,
            row - 0.2 if h > 1 else 1.0,
            f"h{i + 1}",
            kind="attention",
            fontsize=8,
            rounded=False,
        )
        arrow(ax, (11.4, y + 0.6), (col_x, y + 0.6))
    box(ax, col_x + col_w + 0.5, mid - 0.5, 1.3, 1.0, "out_proj", kind="ffn", fontsize=8)
    arrow(ax, (col_x + col_w, mid), (col_x + col_w + 0.5, mid))
    box(ax, col_x + col_w + 2.3, mid - 0.5, 2.3, 1.0, "output\n(batch, seq, d_model)", fontsize=8)
    arrow(ax, (col_x + col_w + 1.8, mid), (col_x + col_w + 2.3, mid))
    ax.text(
        8.8,
        0.1,
        f"each head sees its own d_head = d_model / {h} features of q, k and v",
        ha="center",
        fontsize=8,
        color="#444444",
    )
    return fig


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


# ------------------------------------------------ chapter 11: BERT, GPT and T5, masks and objectives


def _mask_grid(
    ax: Axes, x: float, y: float, allowed: list[list[bool]], cell: float = 0.32, label: str = ""
) -> None:
    """A grid of cells at lower-left ``(x, y)``: row = query, column = key; filled = may attend."""
    rows = len(allowed)
    for i, row in enumerate(allowed):
        for j, ok in enumerate(row):
            ax.add_patch(
                FancyBboxPatch(
                    (x + j * cell, y + (rows - 1 - i) * cell),
                    cell,
                    cell,
                    boxstyle="square,pad=0",
                    linewidth=0.6,
                    edgecolor="#666666",
                    facecolor=COLORS["attention"] if ok else "white",
                )
            )
    if label:
        ax.text(x + len(allowed[0]) * cell / 2, y - 0.25, label, ha="center", va="top", fontsize=8.5)


def model_families() -> Figure:
    """BERT, GPT and T5 side by side: the stack each keeps, its attention mask(s) as grids (row = query,
    column = key, filled = may attend) and its training objective (chapter 11)."""
    fig, ax = canvas(
        13.5,
        6.2,
        scale=0.78,
        title="Three families: what attends to what (grids: row = query, column = key, filled = may attend)",
    )
    n = 5
    full = [[True] * n for _ in range(n)]
    causal = [[j <= i for j in range(n)] for i in range(n)]
    panels = [
        (
            0.3,
            "BERT: encoder-only",
            "encoder × N\n(full attention)",
            "state",
            "in:  the [MASK] sat on [MASK]\nout: cat, mat (at the blanks)",
        ),
        (
            4.8,
            "GPT: decoder-only",
            "decoder × N\n(causal attention)",
            "state",
            "in:  the cat sat on\nout: cat sat on the (next tokens)",
        ),
        (
            9.3,
            "T5: encoder-decoder",
            "encoder × N  →  decoder × N\n(+ cross-attention)",
            "state",
            "in:  the <X> on the mat\nout: <X> cat sat <Y>",
        ),
    ]
    for x, title, stack, kind, objective in panels:
        ax.text(x + 1.95, 5.85, title, ha="center", va="center", fontsize=11, fontweight="bold")
        box(ax, x, 4.6, 3.9, 0.9, stack, kind=kind, fontsize=9.5)
        box(ax, x, 0.15, 3.9, 0.95, objective, kind="token", fontsize=8.5)
    _mask_grid(ax, 1.45, 1.9, full, label="self-attention: full")
    _mask_grid(ax, 5.95, 1.9, causal, label="self-attention: causal")
    _mask_grid(ax, 9.35, 1.9, full, cell=0.25, label="encoder: full")
    _mask_grid(ax, 10.75, 1.9, causal, cell=0.25, label="decoder: causal")
    _mask_grid(ax, 12.05, 1.9, [[True] * n for _ in range(n)], cell=0.25, label="cross: full")
    for x in (0.3, 4.8, 9.3):
        arrow(ax, (x + 1.95, 4.55), (x + 1.95, 3.65))
        arrow(ax, (x + 1.95, 1.55), (x + 1.95, 1.15))
    return fig


# --------------------------------------------------------- chapter 12: an image as a sequence of patches


def vit_pipeline(image=None, patch_size: int = 2) -> Figure:
    """The ViT pipeline: an image cut into patches, each flattened and embedded, ``[CLS]`` in front,
    positions added, the encoder, and the class read from ``[CLS]`` (chapter 12).

    ``image``: a 2-D array (height = width) to draw, e.g. one of scikit-learn's 8x8 digits; a
    checkerboard when ``None``. ``patch_size`` must divide its side.
    """
    import numpy as np

    img = np.indices((8, 8)).sum(axis=0) % 2 if image is None else np.asarray(image, dtype=float)
    if img.ndim != 2 or img.shape[0] != img.shape[1] or img.shape[0] % patch_size:
        raise ValueError(
            f"image must be a square 2-D array whose side patch_size={patch_size} divides, "
            f"got shape {img.shape}"
        )
    grid = img.shape[0] // patch_size
    fig, ax = canvas(14, 5.2, scale=0.78, title="ViT: an image becomes a sequence of patch vectors")
    side = 3.0
    ax.imshow(img, cmap="gray_r", extent=(0.3, 0.3 + side, 1.0, 1.0 + side), zorder=1)
    step = side / grid
    for k in range(grid + 1):
        ax.plot([0.3 + k * step] * 2, [1.0, 1.0 + side], color="C3", lw=1.2, zorder=2)
        ax.plot([0.3, 0.3 + side], [1.0 + k * step] * 2, color="C3", lw=1.2, zorder=2)
    ax.text(
        0.3 + side / 2,
        0.65,
        f"{img.shape[0]}×{img.shape[1]} image, {grid}×{grid} patches of {patch_size}×{patch_size}",
        ha="center",
        fontsize=8.5,
    )
    # The patches in reading order, as a row of small images.
    n = grid * grid
    shown = min(n, 8)
    width = 0.42
    x0 = 4.3
    for k in range(shown):
        r, c = divmod(k, grid)
        patch = img[r * patch_size : (r + 1) * patch_size, c * patch_size : (c + 1) * patch_size]
        ax.imshow(
            patch,
            cmap="gray_r",
            vmin=img.min(),
            vmax=img.max(),
            extent=(x0 + k * (width + 0.08), x0 + k * (width + 0.08) + width, 2.3, 2.3 + width),
            zorder=1,
        )
    ax.text(x0 + shown * (width + 0.08) + 0.05, 2.3 + width / 2, "…" if n > shown else "", va="center")
    ax.text(
        x0 + 2.0,
        3.05,
        "patches in reading order\n'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'",
        ha="center",
        fontsize=8.5,
    )
    arrow(ax, (3.4, 2.5), (4.25, 2.5))
    box(ax, 4.3, 0.9, 4.1, 0.75, "linear layer: patch → d_model", kind="ffn", fontsize=9)
    arrow(ax, (6.3, 2.25), (6.3, 1.7))
    box(ax, 9.0, 2.3, 0.9, 0.6, "[CLS]", kind="token", fontsize=9)
    box(ax, 9.0, 0.9, 0.9, 0.75, "+ pos", kind="norm", fontsize=9)
    arrow(ax, (8.45, 1.27), (8.95, 1.27))
    arrow(ax, (9.45, 2.25), (9.45, 1.7))
    box(ax, 10.4, 0.9, 1.9, 2.6, "encoder\n× N\n(pre-norm,\nfull attention)", kind="state", fontsize=9)
    arrow(ax, (9.95, 1.27), (10.35, 1.27))
    box(ax, 12.7, 1.8, 1.1, 0.8, "class\nfrom [CLS]", kind="ffn", fontsize=9)
    arrow(ax, (12.35, 2.2), (12.65, 2.2))
    return fig


# ------------------------------------------------ chapter 13: CLIP, two towers and one similarity matrix


def clip_towers(n: int = 4) -> Figure:
    """CLIP's two towers and its training signal (chapter 13): ``n`` images through the image tower (a ViT
    read at ``[CLS]``), their ``n`` captions through the text tower (a causal Transformer read at ``[EOT]``),
    each projected and normalised, and the ``n x n`` matrix of scaled cosine similarities whose diagonal
    holds the true pairs: a cross-entropy along every row (image -> text) and every column (text -> image)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 6:
        raise ValueError(f"n must be an int from 2 to 6 (pairs drawn), got {n!r}")
    fig, ax = canvas(13.0, 6.4, scale=0.78, title="CLIP: two towers, one space, a contrastive loss")
    # image tower, bottom row
    box(ax, 0.2, 0.5, 1.5, 0.8, f"{n} images", kind="token", fontsize=9)
    box(ax, 2.1, 0.5, 2.6, 0.8, "image tower: ViT\n(read at [CLS])", kind="state", fontsize=9)
    box(ax, 5.1, 0.5, 1.9, 0.8, "projection,\nnormalise", kind="ffn", fontsize=9)
    # text tower, top row
    box(ax, 0.2, 4.6, 1.5, 0.8, f"{n} captions", kind="token", fontsize=9)
    box(ax, 2.1, 4.6, 2.6, 0.8, "text tower: causal\nTransformer (read at [EOT])", kind="state", fontsize=8.5)
    box(ax, 5.1, 4.6, 1.9, 0.8, "projection,\nnormalise", kind="ffn", fontsize=9)
    for y in (0.9, 5.0):
        arrow(ax, (1.7, y), (2.1, y))
        arrow(ax, (4.7, y), (5.1, y))
    # the similarity matrix
    x0, y0, cell = 8.4, 1.5, 3.0 / n
    for i in range(n):  # rows: images (top to bottom), columns: texts
        for j in range(n):
            kind = "query" if i == j else "add"
            box(
                ax,
                x0 + j * cell,
                y0 + (n - 1 - i) * cell,
                cell * 0.92,
                cell * 0.92,
                f"$s_{{{i + 1}{j + 1}}}$",
                kind=kind,
                fontsize=8,
                rounded=False,
            )
    for j in range(n):
        ax.text(x0 + (j + 0.46) * cell, y0 + n * cell + 0.15, f"$t_{{{j + 1}}}$", ha="center", fontsize=9)
    for i in range(n):
        ax.text(
            x0 - 0.25,
            y0 + (n - 1 - i + 0.46) * cell,
            f"$i_{{{i + 1}}}$",
            ha="center",
            va="center",
            fontsize=9,
        )
    arrow(ax, (7.0, 0.9), (x0 - 0.45, y0 + 0.6), text="images $i$", connection="arc3,rad=0.15")
    arrow(ax, (7.0, 5.0), (x0 + 1.5, y0 + n * cell + 0.45), text="texts $t$", connection="arc3,rad=-0.15")
    ax.text(
        x0 + 1.5,
        0.75,
        "$s_{ij} = e^{\\mathrm{logit\\_scale}}\\,\\cos(i_i, t_j)$ (logits_per_image)",
        ha="center",
        fontsize=9,
    )
    ax.text(
        x0 + 1.5,
        0.25,
        "loss: cross-entropy along each row (image → text)\nand each column (text → image); "
        "targets: the diagonal",
        ha="center",
        va="top",
        fontsize=8.5,
    )
    return fig


# ------------------------------------------------ chapter 14: speech, the conv front-end and the encoder


def speech_encoder(
    frames: int = 100,
    n_mels: int = 40,
    d_model: int = 64,
    strides: tuple[int, ...] = (2, 2),
    num_layers: int = 2,
) -> Figure:
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
        (
            2.4,
            f"conv front-end: {len(strides)} x Conv1d + GELU, strides {'/'.join(map(str, strides))}",
            "ffn",
        ),
        (3.45, "+ sinusoidal positions", "add"),
        (4.5, f"{num_layers} x pre-norm encoder layer (self-attention, FFN)", "attention"),
        (5.55, "LayerNorm, mean over time, Linear", "norm"),
        (6.55, "spoken word (20 classes)", "token"),
    ]
    shapes = [
        "(samples,)",
        f"({frames}, {n_mels})",
        f"({frames // stride}, {d_model})",
        f"({frames // stride}, {d_model})",
        f"({frames // stride}, {d_model})",
        "(20,)",
    ]
    for y, text, kind in rows:
        box(ax, x, y, w, 0.6, text, kind=kind, fontsize=9)
    for (y0, _, _), (y1, _, _), shape in zip(rows[:-1], rows[1:], shapes):
        arrow(ax, (x + w / 2, y0 + 0.6), (x + w / 2, y1))
        ax.text(x + w + 0.15, (y0 + 0.6 + y1) / 2, shape, fontsize=8, va="center", color="#444444")
    ax.text(0.15, 2.7, f"{frames} frames\n-> {frames // stride}", fontsize=8, va="center", color="#444444")
    return fig
