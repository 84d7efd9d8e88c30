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


# ------------------------------------------------------------------------------------ chapter 3


@pytest.mark.parametrize("num_heads", [1, 3, 4])
def test_multihead_split_merge_draws_every_head(num_heads):
    fig = diagrams.multihead_split_merge(num_heads)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for i in range(1, num_heads + 1):
        assert f"Q{i}" in texts and f"K{i}" in texts and f"V{i}" in texts and f"h{i}" in texts
        assert any(t.startswith(f"head {i}\n") for t in texts)
    assert f"Q{num_heads + 1}" not in texts
    assert any("b s (h d) -> b h s d" in t for t in texts) and any("b h s d -> b s (h d)" in t for t in texts)
    assert "out_proj" in texts
    plt.close(fig)


def test_multihead_split_merge_refuses_bad_head_counts():
    for bad in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="num_heads"):
            diagrams.multihead_split_merge(bad)
