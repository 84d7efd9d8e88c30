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


def test_encoder_decoder_diagram_shows_cross_attention_reading_the_memory():
    fig = diagrams.encoder_decoder()
    ax = fig.axes[0]
    texts = " | ".join(t.get_text() for t in ax.texts)
    for piece in ("memory", "masked self-attention", "cross-attention", "K and V: memory", "K, V (every layer)",
                  "feed-forward", "add & norm", "× N", "ENCODER", "DECODER", "next token"):
        assert piece in texts, piece
    assert texts.count("add & norm") == 5  # 2 sublayers in the encoder layer, 3 in the decoder layer
    plt.close(fig)
