"""The diagrams draw, with the pieces they promise (tfmcourse.diagrams)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from tfmcourse import diagrams


def test_box_and_arrow_draw_on_a_canvas():
    fig, ax = diagrams.canvas(4, 2, title="t")
    diagrams.box(ax, 0.2, 0.5, 1, 0.6, "x", kind="state")
    diagrams.arrow(ax, (1.2, 0.8), (2.5, 0.8), text="h")
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["x", "h"] and len(ax.patches) == 2
    plt.close(fig)


def test_box_refuses_an_unknown_kind():
    fig, ax = diagrams.canvas(2, 2)
    with pytest.raises(ValueError, match="kind"):
        diagrams.box(ax, 0, 0, 1, 1, kind="nope")
    plt.close(fig)
