"""The speech models of chapter 14 (tfmcourse.models.speech): shapes, the front-end's lengths, padding
that changes nothing, local attention, CTC decoding and the error rate, and input checks."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.blocks import EncoderLayer
from tfmcourse.models import speech as models


def _features(lengths, n_mels=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, n_mels, generator=g) for n in lengths]


def _pad(features):
    lengths = torch.tensor([len(f) for f in features])
    x = torch.full((len(features), int(lengths.max()), features[0].shape[1]), -2.0)  # padding of any value
    for i, f in enumerate(features):
        x[i, : len(f)] = f
    return x, lengths


@pytest.mark.parametrize("strides", [(2, 2), (1, 2), (2, 2, 2), (3,)])
def test_front_end_lengths_match_its_output(strides):
    front = models.ConvFrontEnd(12, 16, kernel_size=3, strides=strides)
    for n in [1, 2, 3, 4, 5, 17, 64, 101]:
        out = front(torch.randn(1, n, 12))
        assert out.shape == (1, front.output_lengths(n), 16)
        assert int(front.output_lengths(torch.tensor([n]))[0]) == out.shape[1]


def test_conv_output_length_is_torchs():
    for n, k, s, p in [(100, 3, 2, 1), (101, 3, 2, 1), (7, 5, 3, 0), (8, 4, 2, 1)]:
        got = models.conv_output_length(n, k, s, p)
        assert (
            got
            == torch.nn.functional.conv1d(
                torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p
            ).shape[-1]
        )


def test_chapter_front_end_divides_by_four_rounding_up():
    front = models.ConvFrontEnd(40, 64)
    lengths = torch.arange(1, 200)
    assert torch.equal(front.output_lengths(lengths), (lengths + 3) // 4)


def test_front_end_refuses_bad_configs():
    with pytest.raises(ValueError, match="kernel_size"):
        models.ConvFrontEnd(12, 16, kernel_size=4)
    with pytest.raises(ValueError, match="strides"):
        models.ConvFrontEnd(12, 16, strides=())


@pytest.mark.parametrize(
    "make",
    [
        lambda: models.SpeechTransformer(12, 5, d_model=16, num_heads=2, d_ff=32),
        lambda: models.SpeechTransformer(
            12, 5, d_model=16, num_heads=2, d_ff=32, strides=(2, 2, 2), window=1
        ),
        lambda: models.SpeechCNN(12, 5, d_model=16, extra_layers=3),
    ],
    ids=["transformer", "transformer-local", "cnn"],
)
def test_padding_changes_nothing(make):
    torch.manual_seed(0)
    model = make().eval()
    feats = _features([9, 23, 4, 16])
    x, lengths = _pad(feats)
    with torch.no_grad():
        together = model(x, lengths)
        alone = torch.cat([model(f[None]) for f in feats])
    assert together.shape == (4, 5)
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_frame_logits_and_lengths():
    torch.manual_seed(0)
    model = models.SpeechTransformer(12, 11, d_model=16, num_heads=2, d_ff=32, strides=(2, 2, 2)).eval()
    feats = _features([30, 9])
    x, lengths = _pad(feats)
    with torch.no_grad():
        logits, out_lengths = model.frame_logits(x, lengths)
        alone, n = model.frame_logits(feats[1][None])
    assert logits.shape == (2, 4, 11) and out_lengths.tolist() == [4, 2]
    torch.testing.assert_close(logits[1, :2], alone[0], atol=1e-5, rtol=1e-4)
    assert n.tolist() == [2]


def test_attention_weights_ignore_padding_and_respect_the_window():
    torch.manual_seed(0)
    model = models.SpeechTransformer(12, 5, d_model=16, num_heads=2, d_ff=32, window=1).eval()
    x, lengths = _pad(_features([40, 13]))
    with torch.no_grad():
        _, out_lengths, weights = model.encode(x, lengths, need_weights=True)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 10, 10)
    for w in weights:
        torch.testing.assert_close(w[0].sum(-1), torch.ones(2, 10))
        assert (w[1, :, :, out_lengths[1] :] == 0).all()  # no weight on padding
        band = (torch.arange(10)[:, None] - torch.arange(10)[None, :]).abs() <= 1
        assert (w[:, :, ~band] == 0).all()  # nothing outside |i - j| <= 1
    _, _, none = model.encode(x, lengths)
    assert none == []


def test_encoder_layers_are_our_pre_norm_gelu_layers():
    model = models.SpeechTransformer(12, 5, d_model=16, num_heads=2, d_ff=32, num_layers=3)
    assert len(model.layers) == 3
    for layer in model.layers:
        assert isinstance(layer, EncoderLayer) and layer.norm_first and layer.ff.activation == "gelu"


def test_cnn_receptive_field():
    cnn = models.SpeechCNN(12, 5, extra_layers=2)
    assert cnn.receptive_field == 23  # 3, then 3 + 2*2 = 7 after the strides, then + 2*4 per extra conv
    x = torch.zeros(1, 60, 12)
    x2 = x.clone()
    x2[0, 59] = 5.0  # far from the start
    h = lambda z: cnn.front(z)  # noqa: E731
    assert torch.equal(h(x)[0, :5], h(x2)[0, :5])  # the front-end's early positions do not see frame 59


def test_masked_mean():
    x = torch.arange(12.0).reshape(2, 3, 2)
    got = models.masked_mean(x, torch.tensor([1, 3]))
    torch.testing.assert_close(got, torch.tensor([[0.0, 1.0], [8.0, 9.0]]))


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(2, 10), "features"),
        (torch.zeros(2, 10, 7), "n_mels=12"),
        (torch.zeros(2, 10, 12, dtype=torch.long), "features"),
    ],
)
def test_bad_features_are_refused(bad, match):
    model = models.SpeechTransformer(12, 5, d_model=16, num_heads=2, d_ff=32)
    with pytest.raises(ValueError, match=match):
        model(bad)


@pytest.mark.parametrize(
    "lengths, match",
    [
        (torch.tensor([3]), "batch=2"),
        (torch.tensor([3.0, 4.0]), "integer"),
        (torch.tensor([0, 4]), r"\[1, frames=10\]"),
        (torch.tensor([3, 11]), r"\[1, frames=10\]"),
    ],
)
def test_bad_lengths_are_refused(lengths, match):
    model = models.SpeechCNN(12, 5, d_model=16)
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(2, 10, 12), lengths)


def test_window_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="window"):
        models.SpeechTransformer(12, 5, d_model=16, num_heads=2, window=-1)


def _path(labels, n_classes=5):
    logits = torch.full((len(labels), n_classes), -5.0)
    logits[torch.arange(len(labels)), torch.tensor(labels)] = 5.0
    return logits


def test_ctc_greedy_decode():
    assert models.ctc_greedy_decode(_path([0, 3, 3, 0, 0, 2, 0, 2, 2])) == [3, 2, 2]
    assert models.ctc_greedy_decode(_path([1, 1, 4, 4, 1]), blank=4) == [1, 1]
    assert models.ctc_greedy_decode(_path([0, 0, 0])) == []
    batch = torch.stack([_path([1, 0, 2, 2]), _path([3, 3, 0, 1])])
    assert models.ctc_greedy_decode(batch, torch.tensor([4, 2])) == [[1, 2], [3]]
    assert models.ctc_greedy_decode(batch) == [[1, 2], [3, 1]]
    with pytest.raises(ValueError, match="blank"):
        models.ctc_greedy_decode(_path([0, 1]), blank=5)
    with pytest.raises(ValueError, match="log_probs"):
        models.ctc_greedy_decode(torch.zeros(5))


def test_edit_distance_and_label_error_rate():
    assert models.edit_distance([3, 7, 7], [3, 7, 7]) == 0
    assert models.edit_distance([3, 7], [3, 7, 7]) == 1
    assert models.edit_distance([1, 2, 3], [3, 2, 1]) == 2
    assert models.edit_distance([], [4, 5]) == 2
    assert models.label_error_rate([[3, 7], [1]], [[3, 7, 7], [2]]) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="pair up"):
        models.label_error_rate([[1]], [])
    with pytest.raises(ValueError, match="empty"):
        models.label_error_rate([[1]], [[]])


def test_ctc_trains_on_a_toy_problem():
    # one label per sequence, which position carries it does not matter: CTC learns it without alignments
    torch.manual_seed(0)
    model = models.SpeechTransformer(4, 3, d_model=16, num_heads=2, d_ff=32, strides=(1,), dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(1)
    for _ in range(150):
        labels = torch.randint(1, 3, (16,), generator=g)
        x = torch.zeros(16, 8, 4)
        where = torch.randint(0, 8, (16,), generator=g)
        x[torch.arange(16), where, labels] = 3.0  # a "word" at a random position
        logits, n = model.frame_logits(x)
        loss = torch.nn.functional.ctc_loss(
            logits.log_softmax(-1).transpose(0, 1), labels, n, torch.ones(16, dtype=torch.long)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits, n = model.frame_logits(x)
    assert models.ctc_greedy_decode(logits, n) == [[int(lab)] for lab in labels]
