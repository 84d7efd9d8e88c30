"""The diagrams of chapters 11 to 14: BERT, GPT and T5 with their masks (chapter 11), the ViT pipeline
(chapter 12), CLIP's two towers (chapter 13) and the speech encoder (chapter 14).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from tfmcourse.diagrams.parts import COLORS, arrow, box, canvas

__all__ = ["model_families", "vit_pipeline", "clip_towers", "speech_encoder"]


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
