"""Log-mel features (tfmcourse.audio) against references: an independent NumPy implementation of the mel
formulas written here, Hugging Face's ``transformers.audio_utils`` (installed with the course), and
librosa / torchaudio where they happen to be installed (they are not course dependencies)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tfmcourse import audio

# --------------------------------------------------------------- an independent NumPy reference


def np_hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    # Slaney (Auditory Toolbox): 3 mels per 200/3 Hz below 1 kHz, then 27 steps per factor 6.4
    return np.where(
        f < 1000.0, 3.0 * f / 200.0, 15.0 + 27.0 * np.log(np.maximum(f, 1e-9) / 1000.0) / np.log(6.4)
    )


def np_mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp(np.log(6.4) * (m - 15.0) / 27.0))


def np_filterbank(n_freqs, n_mels, sr, f_min, f_max, scale="htk", norm=None):
    """Loops, not broadcasting: filter m is the triangle over edge points m, m + 1, m + 2 (in Hz)."""
    freqs = np.linspace(0.0, sr / 2.0, n_freqs)
    edges = np_mel_to_hz(
        np.linspace(np_hz_to_mel(f_min, scale), np_hz_to_mel(f_max, scale), n_mels + 2), scale
    )
    fb = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(freqs):
            if lo < f <= c:
                fb[k, m] = (f - lo) / (c - lo)
            elif c < f < hi:
                fb[k, m] = (hi - f) / (hi - c)
        if norm == "slaney":
            fb[:, m] *= 2.0 / (hi - lo)
    return fb


def np_power_spectrogram(x, n_fft, hop):
    """Centred frames (reflect padding), periodic Hann window, |rfft|^2; (frames, n_freqs)."""
    pad = n_fft // 2
    xp = np.pad(x, pad, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = [xp[t * hop : t * hop + n_fft] * window for t in range(1 + len(x) // hop)]
    return np.abs(np.fft.rfft(np.stack(frames), axis=-1)) ** 2


def _signal(n=6000, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    return (
        np.sin(2 * np.pi * (300 + 2000 * t) * t)
        + 0.3 * np.sin(2 * np.pi * 2500 * t)
        + 0.05 * rng.standard_normal(n)
    )


# ------------------------------------------------------------------------------ mel scale


@pytest.mark.parametrize("scale", audio.MEL_SCALES)
def test_mel_scale_matches_the_formula_and_inverts(scale):
    f = torch.tensor([0.0, 100.0, 700.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0], dtype=torch.float64)
    m = audio.hz_to_mel(f, scale)
    np.testing.assert_allclose(m.numpy(), np_hz_to_mel(f.numpy(), scale), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(audio.mel_to_hz(m, scale), f, rtol=1e-12, atol=1e-9)


def test_mel_scale_landmarks():
    assert audio.hz_to_mel(700.0).item() == pytest.approx(2595 * math.log10(2))  # HTK: 700 Hz -> 781.2 mels
    assert audio.hz_to_mel(1000.0, "slaney").item() == pytest.approx(15.0)  # Slaney: 1 kHz -> 15 mels
    assert audio.hz_to_mel(500.0, "slaney").item() == pytest.approx(7.5)  # linear below 1 kHz


# ----------------------------------------------------------------------------- filterbank


CASES = [(257, 40, 22050, 0.0, 8000.0), (201, 80, 16000, 0.0, 8000.0), (129, 23, 8000, 133.0, 3800.0)]


@pytest.mark.parametrize("scale", audio.MEL_SCALES)
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("case", CASES)
def test_filterbank_equals_an_independent_numpy_implementation(case, scale, norm):
    got = audio.mel_filterbank(*case, scale=scale, norm=norm, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, np_filterbank(*case, scale=scale, norm=norm), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("scale", audio.MEL_SCALES)
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("case", CASES)
def test_filterbank_equals_transformers(case, scale, norm):
    audio_utils = pytest.importorskip("transformers.audio_utils")
    n_freqs, n_mels, sr, f_min, f_max = case
    want = audio_utils.mel_filter_bank(n_freqs, n_mels, f_min, f_max, sr, norm=norm, mel_scale=scale)
    got = audio.mel_filterbank(*case, scale=scale, norm=norm, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_filterbank_equals_librosa_where_installed():
    librosa = pytest.importorskip("librosa")  # not a course dependency: runs only where someone installed it
    for n_freqs, n_mels, sr, f_min, f_max in CASES:
        n_fft = 2 * (n_freqs - 1)
        for htk, scale in ((True, "htk"), (False, "slaney")):
            want = librosa.filters.mel(
                sr=sr,
                n_fft=n_fft,
                n_mels=n_mels,
                fmin=f_min,
                fmax=f_max,
                htk=htk,
                norm=None,
                dtype=np.float64,
            )
            got = audio.mel_filterbank(
                n_freqs, n_mels, sr, f_min, f_max, scale=scale, dtype=torch.float64
            ).numpy()
            np.testing.assert_allclose(got, want.T, rtol=1e-7, atol=1e-9)


def test_filterbank_equals_torchaudio_where_installed():
    F = pytest.importorskip("torchaudio.functional")  # not installable beside torch 2.13: usually skipped
    for n_freqs, n_mels, sr, f_min, f_max in CASES:
        want = F.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm=None, mel_scale="htk").double()
        torch.testing.assert_close(
            audio.mel_filterbank(n_freqs, n_mels, sr, f_min, f_max, dtype=torch.float64),
            want,
            rtol=1e-5,
            atol=1e-6,
        )


def test_filterbank_shape_peaks_and_widths():
    fb = audio.mel_filterbank(257, 40, 22050, f_max=8000.0, dtype=torch.float64)
    assert fb.shape == (257, 40) and fb.dtype == torch.float64
    assert (fb >= 0).all() and (fb <= 1 + 1e-12).all()
    assert (fb.amax(dim=0) > 0.4).all()  # every filter catches at least one bin
    freqs = torch.linspace(0, 11025, 257, dtype=torch.float64)
    centres = (fb * freqs[:, None]).sum(0) / fb.sum(0)
    assert (centres.diff() > 0).all()  # filters go up in frequency
    widths = (fb > 0).sum(0)
    assert widths[-1] > 8 * widths[0]  # and get wider: equal steps in mels are wider steps in Hz
    assert (fb[freqs > 8000.0 + 1e-9] == 0).all()  # nothing above f_max


def test_filterbank_default_dtype_and_f_max():
    fb = audio.mel_filterbank(65, 10, 8000)
    assert fb.dtype == torch.get_default_dtype() and fb.shape == (65, 10)
    assert fb[-1].sum() == 0  # the Nyquist bin is the last edge point: no filter covers it


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_freqs=0), "n_freqs"),
        (dict(n_mels=2.5), "n_mels"),
        (dict(sample_rate=-1), "sample_rate"),
        (dict(f_max=9000.0), "f_max"),
        (dict(f_min=500.0, f_max=400.0), "f_min"),
        (dict(scale="bark"), "scale"),
        (dict(norm="area"), "norm"),
    ],
)
def test_filterbank_rejects_bad_arguments(kwargs, match, no_type_checks):
    args = dict(n_freqs=129, n_mels=20, sample_rate=16000)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        audio.mel_filterbank(**args)


# ---------------------------------------------------------------------------- spectrograms


def test_power_spectrogram_equals_numpy_frames():
    x = _signal()
    got = audio.power_spectrogram(torch.from_numpy(x), n_fft=400, hop_length=160)
    want = np_power_spectrogram(x, 400, 160)
    assert got.shape == want.shape == (audio.num_frames(len(x), 160), 201)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-9)


def test_power_spectrogram_batches():
    x = torch.from_numpy(np.stack([_signal(seed=1), _signal(seed=2)]))
    batch = audio.power_spectrogram(x, n_fft=256, hop_length=100)
    assert batch.shape == (2, 61, 129)
    torch.testing.assert_close(batch[1], audio.power_spectrogram(x[1], n_fft=256, hop_length=100))


def test_power_spectrogram_finds_a_tone():
    sr, n_fft = 8000, 256
    t = torch.arange(4000, dtype=torch.float64) / sr
    spec = audio.power_spectrogram(torch.sin(2 * math.pi * 1000.0 * t), n_fft=n_fft, hop_length=128)
    assert (spec[2:-2].argmax(dim=-1) == 1000 * n_fft // sr).all()  # bin 32 = 1000 Hz


def test_log_mel_equals_transformers_spectrogram():
    audio_utils = pytest.importorskip("transformers.audio_utils")
    x = _signal(n=8000, sr=16000)
    fb = audio.mel_filterbank(201, 40, 16000, dtype=torch.float64).numpy()
    want = audio_utils.spectrogram(
        x,
        audio_utils.window_function(400, "hann"),
        frame_length=400,
        hop_length=160,
        power=2.0,
        center=True,
        pad_mode="reflect",
        mel_filters=fb,
        mel_floor=1e-10,
        log_mel="dB",
        dtype=np.float64,
    )  # (n_mels, frames)
    got = audio.log_mel(torch.from_numpy(x), 16000, n_fft=400, hop_length=160, n_mels=40)
    assert got.shape == want.T.shape
    np.testing.assert_allclose(got.numpy(), want.T, rtol=1e-7, atol=1e-6)


def test_log_mel_equals_the_numpy_pipeline_with_the_course_defaults():
    x = _signal(n=11025, sr=22050, seed=3)
    fb = np_filterbank(257, 40, 22050, 0.0, 11025.0)
    want = 10 * np.log10(np.maximum(np_power_spectrogram(x, 512, 220) @ fb, 1e-10))
    got = audio.log_mel(torch.from_numpy(x), 22050)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-7)


def test_log_mel_floors_silence_instead_of_minus_infinity():
    x = torch.zeros(2000, dtype=torch.float64)
    x[:500] = torch.randn(500, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    got = audio.log_mel(x, 16000, n_fft=256, hop_length=128, n_mels=20, floor=1e-10)
    assert torch.isfinite(got).all() and got.min() == pytest.approx(-100.0)


def test_log_mel_shapes_and_dtype():
    x = torch.randn(3, 4410)
    got = audio.log_mel(x, 22050)
    assert got.shape == (3, 1 + 4410 // 220, 40) and got.dtype == torch.float32


@pytest.mark.parametrize(
    "wave, match",
    [
        (np.zeros(1000), "wave"),
        (torch.zeros(1000, dtype=torch.int16), "wave"),
        (torch.zeros(2, 3, 1000), "wave"),
        (torch.zeros(100), "n_fft"),
    ],
)
def test_bad_waves_are_refused(wave, match, no_type_checks):
    with pytest.raises(ValueError, match=match):
        audio.power_spectrogram(wave, n_fft=512)


def test_num_frames():
    assert audio.num_frames(22050, 220) == 101
    assert audio.num_frames(1000, 100, center=False, n_fft=400) == 7
    with pytest.raises(ValueError, match="n_fft"):
        audio.num_frames(1000, 100, center=False)
