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


def test_multihead_split_merge_refuses_bad_head_counts(no_type_checks):
    for bad in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="num_heads"):
            diagrams.multihead_split_merge(bad)


def test_encoder_decoder_diagram_shows_cross_attention_reading_the_memory():
    fig = diagrams.encoder_decoder()
    ax = fig.axes[0]
    texts = " | ".join(t.get_text() for t in ax.texts)
    for piece in (
        "memory",
        "masked self-attention",
        "cross-attention",
        "K and V: memory",
        "K, V (every layer)",
        "feed-forward",
        "add & norm",
        "× N",
        "ENCODER",
        "DECODER",
        "next token",
    ):
        assert piece in texts, piece
    assert texts.count("add & norm") == 5  # 2 sublayers in the encoder layer, 3 in the decoder layer
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


# ------------------------------------------------------------------------------- chapters 1 and 2


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_unrolled_rnn_draws_one_state_per_step():
    fig = diagrams.unrolled_rnn(steps=5)
    texts = _texts(fig)
    assert [f"$h_{t}$" in texts for t in range(6)] == [True] * 6 and "$x_5$" in texts and "$h_t$" in texts
    assert texts.count("$W_{hh}$") == 5 + 1  # one per step, plus the folded cell's loop
    plt.close(fig)
    with pytest.raises(ValueError, match="steps"):
        diagrams.unrolled_rnn(steps=1)


def test_seq2seq_bottleneck_has_both_versions():
    fig = diagrams.seq2seq_bottleneck(length=3)
    texts = _texts(fig)
    assert "one vector" in texts and "context" in texts and "with attention" in texts
    assert texts.count("$e_3$") == 2 and texts.count("$y_3$") == 2 and "$e_4$" not in texts
    plt.close(fig)
    with pytest.raises(ValueError, match="length"):
        diagrams.seq2seq_bottleneck(length=9)


def test_qkv_attention_scores_one_query_against_every_key():
    fig = diagrams.qkv_attention(n_tokens=4, query=3)
    texts = _texts(fig)
    for j in range(1, 5):
        assert f"$q_{j}$" in texts and f"$k_{j}$" in texts and f"$v_{j}$" in texts
        assert f"$q_3 \\cdot k_{j} / \\sqrt{{d_k}}$" in texts and f"$w_{{3{j}}}$" in texts
    assert any("o_3" in t for t in texts)
    plt.close(fig)
    with pytest.raises(ValueError, match="query"):
        diagrams.qkv_attention(n_tokens=3, query=4)


def test_speech_encoder_diagram_shows_the_pieces_and_shapes():
    fig = diagrams.speech_encoder(frames=100, n_mels=40, d_model=64, strides=(2, 2), num_layers=2)
    texts = " | ".join(t.get_text() for t in fig.axes[0].texts)
    for piece in (
        "waveform",
        "log-mel",
        "conv front-end: 2 x Conv1d",
        "positions",
        "2 x pre-norm encoder layer",
        "mean over time",
        "(100, 40)",
        "(25, 64)",
        "(20,)",
    ):
        assert piece in texts, piece
    plt.close(fig)
    fig = diagrams.speech_encoder(frames=96, strides=(2, 2, 2))
    assert "(12, 64)" in " | ".join(t.get_text() for t in fig.axes[0].texts)


# ------------------------------------------------------------------------------------ chapter 5


def test_encoder_layer_draws_both_norm_placements():
    fig = diagrams.encoder_layer()
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("+") == 4  # two residual additions per layer, two layers drawn
    assert texts.count("LayerNorm (norm1)") == 2 and texts.count("LayerNorm (norm2)") == 2
    assert any("post-norm" in t for t in texts) and any("pre-norm" in t for t in texts)
    # the order bottom to top: post-norm has attention below its first +, pre-norm its norm1 below attention
    y = {}
    for t in ax.texts:
        x, yy = t.get_position()
        y.setdefault((t.get_text(), x < 4.3), []).append(yy)
    post, pre = True, False
    assert y[("multi-head\nself-attention", post)][0] < y[("LayerNorm (norm1)", post)][0]
    assert y[("LayerNorm (norm1)", pre)][0] < y[("multi-head\nself-attention", pre)][0]
    red = [line for line in ax.lines if line.get_color() == "#cc0000"]
    assert len(red) == 4  # one residual path per sublayer
    plt.close(fig)


def test_clip_towers_diagram_shows_both_towers_and_the_matrix():
    fig = diagrams.clip_towers(n=4)
    texts = " | ".join(t.get_text() for t in fig.axes[0].texts)
    for piece in (
        "image tower: ViT",
        "[CLS]",
        "causal",
        "[EOT]",
        "logits_per_image",
        "each column",
        "$s_{44}$",
    ):
        assert piece in texts, piece
    assert "$s_{15}$" not in texts
    plt.close(fig)
    with pytest.raises(ValueError, match="n must be"):
        diagrams.clip_towers(n=9)
