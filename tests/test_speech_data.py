"""The stored spoken digits (tfmcourse.data.speech): contents, the features recomputed from the stored
waveforms, batching helpers, joined digit strings, and the regeneration where espeak-ng is installed."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from tfmcourse import audio
from tfmcourse.data import speech


@pytest.fixture(scope="module")
def data():
    return speech.load_spoken_digits()


def test_the_file_is_small_and_licensed():
    assert speech.DATA_FILE.stat().st_size < 5e6  # a few MB at most
    notice = (speech.DATA_DIR / "LICENSE-espeak-ng.txt").read_text(encoding="utf-8")
    assert "GNU General Public License" in notice and "eSpeak NG" in notice
    assert "GNU GENERAL PUBLIC LICENSE" in (speech.DATA_DIR / "GPL-3.0.txt").read_text(encoding="utf-8")


def test_every_voice_says_every_word_the_same_number_of_times(data):
    n_words, n_voices = len(speech.WORDS), len(speech.VOICES)
    assert len(data) == n_words * n_voices * speech.REPEATS == 1680
    counts = torch.bincount(data.word * n_voices + data.voice, minlength=n_words * n_voices)
    assert (counts == speech.REPEATS).all()
    assert len(data.accent) == len(data) and set(data.accent) <= set(speech.EN_ACCENTS) | {speech.ZH_VOICE}
    assert all((a == speech.ZH_VOICE) == (lang == "zh") for a, lang in zip(data.accent, data.language))


def test_words_and_voices():
    assert [w.index for w in speech.WORDS] == list(range(20))
    assert [w.digit for w in speech.WORDS] == list(range(10)) * 2
    assert (
        speech.WORDS[7].latin == "seven" and speech.WORDS[17].latin == "qī" and speech.WORDS[17].text == "qi1"
    )
    assert set(speech.TEST_VOICES) < set(speech.VOICES) and len(set(speech.VOICES)) == len(speech.VOICES)


def test_held_out_voices_are_a_clean_split(data):
    held = data.held_out()
    test_voices = {speech.VOICES.index(v) for v in speech.TEST_VOICES}
    assert set(data.voice[held].tolist()) == test_voices
    assert not set(data.voice[~held].tolist()) & test_voices
    sub = data.subset(held)
    assert len(sub) == int(held.sum()) and sub.waves == {}
    torch.testing.assert_close(sub.features[0], data.features[int(torch.nonzero(held)[0])])


def test_features_range_and_shape(data):
    for f in data.features[::37]:
        assert f.dtype == torch.float32 and f.ndim == 2 and f.shape[1] == speech.N_MELS
        assert f.max() == 0.0 and f.min() >= -speech.DB_RANGE  # dB below the loudest value
        assert torch.allclose(f * speech.DB_STEPS, (f * speech.DB_STEPS).round(), atol=1e-4)  # 1/3 dB steps
    assert int(data.lengths.min()) >= 15 and int(data.lengths.max()) <= 150


@pytest.mark.parametrize("name", ["seven_en", "qi_zh"])
def test_stored_waveforms_give_the_stored_features(data, name):
    wave, stored = data.waves[name], data.features[data.wave_index[name]]
    assert wave.ndim == 1 and wave.abs().max() <= 1.0
    db = audio.log_mel(
        wave.double(),
        speech.SAMPLE_RATE,
        n_fft=speech.N_FFT,
        hop_length=speech.HOP_LENGTH,
        n_mels=speech.N_MELS,
        f_max=speech.F_MAX,
    )
    again = (db - db.max()).clamp(min=-speech.DB_RANGE).float()
    assert again.shape == stored.shape
    assert (again - stored).abs().max() <= 0.5 / speech.DB_STEPS + 1e-3  # quantization only
    word = speech.WORDS[int(data.word[data.wave_index[name]])]
    assert word.latin == {"seven_en": "seven", "qi_zh": "qī"}[name]


def test_scale_db_maps_the_range_to_about_plus_minus_two():
    x = torch.tensor([-speech.DB_RANGE, -speech.DB_RANGE / 2, 0.0])
    torch.testing.assert_close(speech.scale_db(x), torch.tensor([-2.0, 0.0, 2.0]))


def test_pad_batch():
    a, b = torch.zeros(3, 4), torch.ones(5, 4)
    x, lengths = speech.pad_batch([a, b])
    assert x.shape == (2, 5, 4) and lengths.tolist() == [3, 5]
    assert (x[0, 3:] == -speech.DB_RANGE).all() and (x[1] == 1).all()
    with pytest.raises(ValueError, match="empty"):
        speech.pad_batch([])
    with pytest.raises(ValueError, match="n_mels"):
        speech.pad_batch([a, torch.zeros(3, 5)])


def test_length_batches_cover_an_epoch_and_group_similar_lengths():
    lengths = torch.randint(10, 200, (103,), generator=torch.Generator().manual_seed(0))
    get = speech.length_batches(lengths, 10, seed=3)
    epoch = torch.cat([get(s) for s in range(10)])
    assert len(set(epoch.tolist())) == 100  # 10 batches of 10, no repeats; 3 left out
    spread = torch.stack([lengths[get(s)].float().std() for s in range(10)]).mean()
    assert spread < lengths.float().std() / 3  # batches of neighbours
    assert torch.equal(get(3), speech.length_batches(lengths, 10, seed=3)(3))  # depends on the step only
    assert not torch.equal(torch.cat([get(s) for s in range(10, 20)]), epoch)  # another epoch, other batches
    with pytest.raises(ValueError, match="batch_size"):
        speech.length_batches(lengths, 0)


def test_digit_sequences_join_words_of_one_voice(data):
    sub = data.subset(data.voice < 2)
    feats, digits = speech.digit_sequences(sub, 20, min_len=2, max_len=4, gap=(3, 3), seed=1)
    assert len(feats) == len(digits) == 20
    for f, ds in zip(feats, digits):
        assert 2 <= len(ds) <= 4 and all(0 <= d <= 9 for d in ds)
        silent = (f == -speech.DB_RANGE).all(dim=1)
        assert silent[:3].all() and silent[-3:].all()
        # the non-silent stretches are whole utterances from the pool: check the total length
        assert len(f) >= 3 * (len(ds) + 1) + len(ds) * int(sub.lengths.min())
    again, _ = speech.digit_sequences(sub, 20, min_len=2, max_len=4, gap=(3, 3), seed=1)
    assert all(torch.equal(a, b) for a, b in zip(feats, again))
    with pytest.raises(ValueError, match="min_len"):
        speech.digit_sequences(sub, 2, min_len=3, max_len=2)


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is needed only to regenerate the data"
)
def test_regeneration_reproduces_the_first_voice(tmp_path, monkeypatch, data):
    # Regenerate with the first voice only: the random draws of its utterances come first, so they match.
    monkeypatch.setattr(speech, "VOICES", speech.VOICES[:1])
    path = speech.regenerate(tmp_path / "one_voice.npz", verbose=False)
    with np.load(path) as z:
        info = z["info"].item()
    if data.info["synthesizer"] not in info:
        pytest.skip("another eSpeak NG version: its output may differ")
    again = speech.load_spoken_digits(path)
    first = data.subset(data.voice == 0)
    assert len(again) == len(first)
    for f, g in zip(again.features, first.features):
        torch.testing.assert_close(f, g)
