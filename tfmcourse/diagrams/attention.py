"""The diagrams of chapters 2 and 3: queries, keys and values and one query's weighted sum (chapter 2), and
multi-head attention as a split and a merge (chapter 3).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from tfmcourse.diagrams.parts import arrow, box, canvas

__all__ = ["qkv_attention", "multihead_split_merge"]


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
