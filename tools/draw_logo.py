"""Draw the book's logo and favicon: a causal attention pattern, the picture the course keeps coming back to.

Each row is a query, each column a key; a query attends only to itself and the keys before it (the
causal mask), with most weight on the nearest ones: ``softmax(-0.8 * (i - j))`` over ``j <= i``.

``python tools/draw_logo.py`` writes ``book/_static/logo.png`` and ``book/_static/favicon.png``
(committed; ``_config.yml`` points at them). ``--out DIR`` writes them elsewhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N = 6  # queries and keys in the picture


def causal_pattern(n: int = N, decay: float = 0.8) -> np.ndarray:
    """``(n, n)`` weights: row ``i`` is ``softmax(-decay * (i - j))`` over ``j <= i``, 0 above the
    diagonal."""
    i, j = np.indices((n, n))
    scores = np.where(j <= i, -decay * (i - j), -np.inf)
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def draw_grid(ax, weights: np.ndarray, gap: float = 0.12) -> None:
    """Rounded squares, one per (query, key), coloured by weight; masked ones left faint."""
    cmap = plt.get_cmap("Blues")
    n = weights.shape[0]
    for i in range(n):
        for j in range(n):
            colour = cmap(0.25 + 0.75 * weights[i, j] ** 0.6) if j <= i else "#eef1f5"
            ax.add_patch(
                FancyBboxPatch(
                    (j + gap / 2, n - 1 - i + gap / 2),
                    1 - gap,
                    1 - gap,
                    boxstyle="round,pad=0,rounding_size=0.18",
                    linewidth=0,
                    facecolor=colour,
                )
            )
    ax.set_xlim(0, n)
    ax.set_ylim(0, n)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_favicon(path: Path) -> None:
    """A 64x64 PNG of the pattern alone."""
    fig = plt.figure(figsize=(1, 1), dpi=64)
    ax = fig.add_axes((0, 0, 1, 1))
    draw_grid(ax, causal_pattern(), gap=0.16)
    fig.savefig(path, transparent=True)
    plt.close(fig)


def draw_logo(path: Path) -> None:
    """A 480x160 PNG: the pattern, then the course's name."""
    fig = plt.figure(figsize=(6, 2), dpi=80)
    draw_grid(fig.add_axes((0.03, 0.08, 0.26, 0.84)), causal_pattern())
    fig.text(0.33, 0.56, "tfmcourse", fontsize=34, fontweight="bold", color="#1f3b5c", va="center")
    fig.text(0.335, 0.26, "the Transformer, built and tested", fontsize=12.5, color="#4a6480", va="center")
    fig.savefig(path, transparent=True)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "_static")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    draw_logo(args.out / "logo.png")
    draw_favicon(args.out / "favicon.png")
    print(f"wrote {args.out / 'logo.png'} and {args.out / 'favicon.png'}")


if __name__ == "__main__":
    main()
