"""From a waveform to log-mel features, the input of speech models (chapter 14).

A speech model does not read the raw samples (22,050 numbers per second here). Like Whisper and the
Conformer, it reads a **log-mel spectrogram**: a sequence of short-time spectra, one every 10 ms, each
summarised by the energy in a few dozen frequency bands spaced like human pitch perception, on a
logarithmic (decibel) scale. Three steps:

1. :func:`power_spectrogram`: the short-time Fourier transform (``torch.stft``, a Hann window of
   ``n_fft`` samples moved by ``hop_length``), squared magnitude: ``(..., frames, n_fft // 2 + 1)``.
2. :func:`mel_filterbank`: ``n_mels`` triangular filters, equally spaced on the **mel scale**
   (``mel = 2595 log10(1 + f / 700)``, the HTK formula, or Slaney's variant, linear below 1 kHz),
   as a matrix ``(n_freqs, n_mels)``; the spectrum times this matrix is the mel spectrum.
3. :func:`log_mel`: both, then ``10 log10`` of the mel energies (decibels), floored.

Shapes put time first, as everywhere in the course: a batch of spectrograms is
``(batch, frames, n_mels)``, a sequence of ``frames`` vectors of width ``n_mels``.
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Float
from torch import Tensor

__all__ = [
    "MEL_SCALES",
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "power_spectrogram",
    "log_mel",
    "num_frames",
]

MEL_SCALES = ("htk", "slaney")

# Slaney's mel scale: linear below 1 kHz (3 mels per 200/3 Hz), logarithmic above.
_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def _check_scale(scale: object) -> None:
    if scale not in MEL_SCALES:
        raise ValueError(f"scale must be one of {MEL_SCALES}, got {scale!r}")


def _positive_int(name: str, n: object) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


def hz_to_mel(f: Tensor | float, scale: str = "htk") -> Tensor:
    """Frequency in Hz -> mels (elementwise, float64 for a Python number).

    ``"htk"``: ``2595 log10(1 + f / 700)``. ``"slaney"``: ``3 f / 200`` below 1 kHz, then
    logarithmic (the formula of Slaney's Auditory Toolbox, librosa's default, used by Whisper).
    """
    _check_scale(scale)
    f = torch.as_tensor(f, dtype=torch.float64) if not isinstance(f, Tensor) else f
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    linear = f / _SLANEY_F_SP
    log = (
        _SLANEY_MIN_LOG_MEL
        + torch.log(f.clamp(min=_SLANEY_MIN_LOG_HZ) / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
    )
    return torch.where(f >= _SLANEY_MIN_LOG_HZ, log, linear)


def mel_to_hz(m: Tensor | float, scale: str = "htk") -> Tensor:
    """Mels -> frequency in Hz, the inverse of :func:`hz_to_mel`."""
    _check_scale(scale)
    m = torch.as_tensor(m, dtype=torch.float64) if not isinstance(m, Tensor) else m
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    linear = m * _SLANEY_F_SP
    log = _SLANEY_MIN_LOG_HZ * torch.exp(
        _SLANEY_LOGSTEP * (m.clamp(min=_SLANEY_MIN_LOG_MEL) - _SLANEY_MIN_LOG_MEL)
    )
    return torch.where(m >= _SLANEY_MIN_LOG_MEL, log, linear)


def mel_filterbank(
    n_freqs: int,
    n_mels: int,
    sample_rate: float,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    norm: str | None = None,
    dtype: torch.dtype | None = None,
) -> Float[Tensor, "n_freqs n_mels"]:
    """Triangular mel filters as a matrix ``(n_freqs, n_mels)``: ``spectrum @ fbank`` is the mel spectrum.

    Args:
        n_freqs: frequency bins of the spectrum, ``n_fft // 2 + 1``; bin ``k`` is at
            ``k * sample_rate / n_fft`` Hz, from 0 to the Nyquist frequency ``sample_rate / 2``.
        n_mels: number of filters.
        sample_rate: in Hz.
        f_min, f_max: the lowest and highest frequency covered (``f_max`` defaults to ``sample_rate / 2``).
        scale: ``"htk"`` or ``"slaney"``, see :func:`hz_to_mel`.
        norm: ``None`` (every triangle peaks at 1) or ``"slaney"`` (every triangle has area 1 in Hz:
            scaled by ``2 / (upper edge - lower edge)``, as librosa and Whisper do).

    ``n_mels + 2`` points are spaced evenly in mels between ``f_min`` and ``f_max``; filter ``m`` rises
    linearly (in Hz) from point ``m`` to 1 at point ``m + 1`` and falls back to 0 at point ``m + 2``.
    This is the construction of ``torchaudio.functional.melscale_fbanks`` and of
    ``transformers.audio_utils.mel_filter_bank`` (a test checks the latter). Computed in float64,
    returned in ``dtype`` (default: torch's default dtype).
    """
    _positive_int("n_freqs", n_freqs)
    _positive_int("n_mels", n_mels)
    _check_scale(scale)
    if not isinstance(sample_rate, (int, float)) or isinstance(sample_rate, bool) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
    nyquist = sample_rate / 2
    f_max = nyquist if f_max is None else f_max
    if not 0 <= f_min < f_max <= nyquist:
        raise ValueError(
            f"need 0 <= f_min < f_max <= sample_rate / 2 = {nyquist:g} Hz, "
            f"got f_min={f_min!r}, f_max={f_max!r}"
        )
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    freqs = torch.linspace(0, nyquist, n_freqs, dtype=torch.float64)  # (n_freqs,)
    mels = torch.linspace(
        hz_to_mel(f_min, scale).item(), hz_to_mel(f_max, scale).item(), n_mels + 2, dtype=torch.float64
    )
    points = mel_to_hz(mels, scale)  # (n_mels + 2,) edges and centres in Hz
    lower, centre, upper = points[:-2], points[1:-1], points[2:]
    rising = (freqs[:, None] - lower) / (centre - lower)  # (n_freqs, n_mels)
    falling = (upper - freqs[:, None]) / (upper - centre)
    fbank = torch.minimum(rising, falling).clamp(min=0.0)
    if norm == "slaney":
        fbank = fbank * (2.0 / (upper - lower))
    return fbank.to(dtype or torch.get_default_dtype())


def num_frames(num_samples: int, hop_length: int, center: bool = True, n_fft: int | None = None) -> int:
    """How many frames :func:`power_spectrogram` gives for a signal of ``num_samples`` samples.

    With ``center=True`` (the default) the signal is padded by ``n_fft // 2`` on both sides and there is
    one frame every ``hop_length`` samples: ``1 + num_samples // hop_length``. Without centering,
    ``1 + (num_samples - n_fft) // hop_length`` (``n_fft`` needed).
    """
    if center:
        return 1 + num_samples // hop_length
    if n_fft is None:
        raise ValueError("num_frames(center=False) needs n_fft")
    return 1 + (num_samples - n_fft) // hop_length


def power_spectrogram(
    wave: Float[Tensor, "*batch samples"],
    n_fft: int = 512,
    hop_length: int = 220,
    center: bool = True,
) -> Float[Tensor, "*batch frames n_freqs"]:
    """``|STFT|^2`` of ``wave`` with a periodic Hann window of ``n_fft`` samples, one frame every
    ``hop_length``.

    ``wave``: ``(samples,)`` or ``(batch, samples)``, float. Returns ``(..., frames, n_fft // 2 + 1)``:
    time first, frequency last. ``center=True`` pads the signal by ``n_fft // 2`` on both sides with its
    reflection, so frame ``t`` is centred on sample ``t * hop_length``.
    """
    _positive_int("n_fft", n_fft)
    _positive_int("hop_length", hop_length)
    if not isinstance(wave, Tensor) or not wave.is_floating_point() or wave.ndim not in (1, 2):
        what = (
            f"shape {tuple(wave.shape)} dtype {wave.dtype}"
            if isinstance(wave, Tensor)
            else type(wave).__name__
        )
        raise ValueError(f"wave must be a float tensor (samples,) or (batch, samples), got {what}")
    need = n_fft // 2 + 1 if center else n_fft
    if wave.shape[-1] < need:
        raise ValueError(
            f"wave has {wave.shape[-1]} samples (shape {tuple(wave.shape)}); n_fft={n_fft} needs "
            f"at least {need}"
        )
    window = torch.hann_window(n_fft, periodic=True, dtype=wave.dtype, device=wave.device)
    spec = torch.stft(
        wave,
        n_fft,
        hop_length=hop_length,
        window=window,
        center=center,
        pad_mode="reflect",
        return_complex=True,
    )  # (..., n_freqs, frames)
    return spec.abs().pow(2).transpose(-1, -2)


def log_mel(
    wave: Float[Tensor, "*batch samples"],
    sample_rate: float,
    n_fft: int = 512,
    hop_length: int = 220,
    n_mels: int = 40,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: str = "htk",
    floor: float = 1e-10,
) -> Float[Tensor, "*batch frames n_mels"]:
    """Log-mel spectrogram in decibels: ``10 log10(max(power_spectrogram(wave) @ fbank, floor))``.

    ``wave``: ``(samples,)`` or ``(batch, samples)``. Returns ``(..., frames, n_mels)`` with
    ``frames = 1 + samples // hop_length`` (:func:`num_frames`). The defaults are those of the
    spoken-digit data of chapter 14 at 22,050 Hz: a 23 ms window, a 10 ms hop, 40 mel bands.
    """
    if not isinstance(floor, (int, float)) or not floor > 0:
        raise ValueError(f"floor must be a positive number, got {floor!r}")
    power = power_spectrogram(wave, n_fft=n_fft, hop_length=hop_length)
    fbank = mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, f_min, f_max, scale=scale, dtype=power.dtype)
    return 10.0 * torch.log10((power @ fbank).clamp(min=floor))
