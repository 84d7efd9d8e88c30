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


def test_model_families_draws_three_stacks_and_their_masks():
    fig = diagrams.model_families()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for word in ("BERT", "GPT", "T5", "causal", "cross"):
        assert word in texts
    assert len(fig.axes[0].patches) > 75  # the mask grids: 25 + 25 + 3 * 25 cells, plus the boxes
    plt.close(fig)


def test_vit_pipeline_draws_the_image_and_its_patches():
    import numpy as np

    fig = diagrams.vit_pipeline(np.arange(64).reshape(8, 8), patch_size=4)
    ax = fig.axes[0]
    assert len(ax.images) == 1 + 4  # the image and its 2 x 2 patches
    assert "[CLS]" in " ".join(t.get_text() for t in ax.texts)
    plt.close(fig)
    with pytest.raises(ValueError, match="patch_size"):
        diagrams.vit_pipeline(np.zeros((8, 8)), patch_size=3)


def test_speech_encoder_diagram_shows_the_pieces_and_shapes():
    fig = diagrams.speech_encoder(frames=100, n_mels=40, d_model=64, strides=(2, 2), num_layers=2)
    texts = " | ".join(t.get_text() for t in fig.axes[0].texts)
    for piece in ("waveform", "log-mel", "conv front-end: 2 x Conv1d", "positions", "2 x pre-norm encoder layer",
                  "mean over time", "(100, 40)", "(25, 64)", "(20,)"):
        assert piece in texts, piece
    plt.close(fig)
    fig = diagrams.speech_encoder(frames=96, strides=(2, 2, 2))
    assert "(12, 64)" in " | ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
