"""Regenerating chapter 14's spoken digits with the speech synthesizer eSpeak NG (``espeak-ng``):
:func:`synthesize` one word, :func:`regenerate` the whole feature file. Only this needs ``espeak-ng``;
reading the stored data (:mod:`tfmcourse.data.speech`) needs nothing but NumPy. The constants (voices,
words, ranges, the seed) are read from :mod:`tfmcourse.data.speech` when a function runs."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import torch

from tfmcourse.data import speech

__all__ = ["synthesize", "regenerate"]


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(
            "espeak-ng is not installed: it is needed only to regenerate the stored features "
            "(Debian/Ubuntu: apt-get install espeak-ng)"
        )
    return exe


def synthesize(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Speak ``text`` with eSpeak NG: ``espeak-ng -v voice -s speed -p pitch --stdout``; returns float32
    samples in [-1, 1] at :data:`~tfmcourse.data.speech.SAMPLE_RATE` (leading and trailing silence
    removed)."""
    out = subprocess.run(
        [_espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(out)) as w:
        if w.getframerate() != speech.SAMPLE_RATE or w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(
                f"unexpected espeak-ng output: {w.getframerate()} Hz, {w.getsampwidth()} bytes, "
                f"{w.getnchannels()} channels"
            )
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
    loud = np.nonzero(np.abs(samples) > 0.01 * np.abs(samples).max())[0]
    if len(loud) == 0:
        raise RuntimeError(f"espeak-ng produced silence for {text!r} with voice {voice}")
    return samples[loud[0] : loud[-1] + 1]


def _features(samples: np.ndarray) -> np.ndarray:
    """Stored codes of one waveform: uint8 ``(frames, N_MELS)``, ``-dB * DB_STEPS`` below the maximum."""
    from tfmcourse.audio import log_mel

    db = log_mel(
        torch.from_numpy(samples).double(),
        speech.SAMPLE_RATE,
        n_fft=speech.N_FFT,
        hop_length=speech.HOP_LENGTH,
        n_mels=speech.N_MELS,
        f_max=speech.F_MAX,
    )
    rel = (db - db.max()).clamp(min=-speech.DB_RANGE)
    return np.round(-rel.numpy() * speech.DB_STEPS).astype(np.uint8)


def _espeak_version() -> str:
    """``"eSpeak NG text-to-speech: 1.51"`` (without the data path that ``--version`` also prints)."""
    out = subprocess.run([_espeak(), "--version"], check=True, capture_output=True, text=True).stdout
    return out.split("Data at")[0].strip()


def regenerate(path: Path | str | None = None, verbose: bool = True) -> Path:
    """Synthesize every utterance again with espeak-ng and write the feature file (see the module
    docstring)."""
    path = Path(path or speech.DATA_FILE)
    rng = np.random.default_rng(speech.GENERATION_SEED)
    codes, offsets, meta = [], [0], {k: [] for k in ("word", "voice", "speed", "pitch", "snr", "accent")}
    keep = {"seven_en": ("f2", 7), "qi_zh": ("f2", 17)}  # raw waveforms stored: (voice, word)
    waves: dict[str, np.ndarray] = {}
    wave_index: dict[str, int] = {}
    from tqdm.auto import tqdm

    for v, variant in enumerate(tqdm(speech.VOICES, desc="voices", disable=not verbose)):
        for word in speech.WORDS:
            for _repeat in range(speech.REPEATS):
                speed = int(rng.integers(speech.SPEED_RANGE[0], speech.SPEED_RANGE[1] + 1))
                pitch = int(rng.integers(speech.PITCH_RANGE[0], speech.PITCH_RANGE[1] + 1))
                snr = float(rng.uniform(*speech.SNR_RANGE))
                base = (
                    speech.EN_ACCENTS[int(rng.integers(len(speech.EN_ACCENTS)))]
                    if word.language == "en"
                    else speech.ZH_VOICE
                )
                clean = synthesize(word.text, f"{base}+{variant}", speed, pitch)
                # a short silence before and after (0 to 100 ms), then white noise at the drawn SNR
                pad = rng.integers(0, speech.SAMPLE_RATE // 10, size=2)
                clean = np.concatenate([np.zeros(pad[0], np.float32), clean, np.zeros(pad[1], np.float32)])
                power = float(np.mean(clean**2))
                noise = rng.standard_normal(len(clean)).astype(np.float32) * np.sqrt(power / 10 ** (snr / 10))
                samples = np.clip(clean + noise, -1.0, 1.0)
                # as stored, so that the features can be recomputed
                samples = np.round(samples * 32767).astype(np.int16)
                for name, (kv, kw) in keep.items():
                    if name not in waves and variant == kv and word.index == kw:
                        waves[name], wave_index[name] = samples, len(offsets) - 1
                c = _features(samples.astype(np.float32) / 32768.0)
                codes.append(c)
                offsets.append(offsets[-1] + len(c))
                for k, val in (
                    ("word", word.index),
                    ("voice", v),
                    ("speed", speed),
                    ("pitch", pitch),
                    ("snr", snr),
                    ("accent", base),
                ):
                    meta[k].append(val)
    info = {
        "synthesizer": _espeak_version(),
        "sample_rate": speech.SAMPLE_RATE,
        "n_fft": speech.N_FFT,
        "hop_length": speech.HOP_LENGTH,
        "n_mels": speech.N_MELS,
        "f_max": speech.F_MAX,
        "mel_scale": "htk",
        "db_range": speech.DB_RANGE,
        "db_steps": speech.DB_STEPS,
        "repeats": speech.REPEATS,
        "generation_seed": speech.GENERATION_SEED,
        "voices": list(speech.VOICES),
        "words": [w.text for w in speech.WORDS],
        "waves": wave_index,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        codes=np.concatenate(codes),
        offsets=np.array(offsets, dtype=np.int64),
        word=np.array(meta["word"], np.int8),
        voice=np.array(meta["voice"], np.int8),
        speed=np.array(meta["speed"], np.int16),
        pitch=np.array(meta["pitch"], np.int16),
        snr=np.array(meta["snr"], np.float32),
        accent=np.array(meta["accent"]),
        info=np.array(json.dumps(info)),
        **{f"wave_{k}": w for k, w in waves.items()},
    )
    if verbose:
        print(
            f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {len(offsets) - 1} utterances, "
            f"{len(speech.VOICES)} voices, {info['synthesizer']}"
        )
    return path
