"""The shared figure helpers draw what they say and reject what they cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tfmcourse.plot import annotate_heatmap, attention_heatmap  # noqa: E402


def test_heatmap_labels_axes_and_colour_scale():
    w = torch.softmax(torch.randn(3, 4), dim=-1)
    ax = attention_heatmap(w, q_labels=["a", "b", "c"], k_labels=["w", "x", "y", "z"], title="t")
    assert ax.get_xlabel() == "key" and ax.get_ylabel() == "query" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w", "x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    image = ax.get_images()[0]
    assert image.get_clim() == (0.0, 1.0)  # weights in [0, 1]: one colour scale across the book
    np.testing.assert_allclose(image.get_array(), w.numpy(), rtol=1e-6)
    assert ax.figure.axes[-1].get_ylabel() == "attention weight"
    plt.close("all")


def test_heatmap_of_raw_scores_uses_their_range():
    scores = torch.tensor([[-3.0, 5.0], [1.0, 2.0]])
    ax = attention_heatmap(scores)
    assert ax.get_images()[0].get_clim() == (-3.0, 5.0)
    plt.close("all")


def test_heatmap_draws_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    got = attention_heatmap(np.eye(3), ax=axes[1])
    assert got is axes[1] and len(axes[0].get_images()) == 0
    plt.close(fig)


@pytest.mark.parametrize(
    "bad,match",
    [
        (torch.rand(2, 3, 4), r"2-D \(seq_q, seq_k\), got shape \(2, 3, 4\)"),
        (torch.rand(5), r"got shape \(5,\)"),
    ],
)
@pytest.mark.usefixtures("no_type_checks")  # the wrong shape is the point
def test_heatmap_rejects_non_2d(bad, match):
    with pytest.raises(ValueError, match=match):
        attention_heatmap(bad)


def test_heatmap_rejects_wrong_label_counts():
    with pytest.raises(ValueError, match="q_labels has 2 labels but the weights have 3 query rows"):
        attention_heatmap(torch.rand(3, 3), q_labels=["a", "b"])
    with pytest.raises(ValueError, match="k_labels has 4 labels"):
        attention_heatmap(torch.rand(3, 3), k_labels=list("abcd"))


def test_annotate_writes_every_value():
    w = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    ax = attention_heatmap(w)
    annotate_heatmap(ax, w)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["0.00", "0.25", "0.75", "1.00"]
    plt.close("all")
