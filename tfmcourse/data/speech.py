"""Spoken digits in English and Chinese, as log-mel features stored in the package (chapter 14).

**What it is.** The twenty words "zero" ... "nine" and 零 líng ... 九 jiǔ, each spoken by every one of
:data:`VOICES` (voice variants of the speech synthesizer eSpeak NG) several times, each time at a
random speed and pitch, English in a random one of six accents, with a little background noise at a
random signal-to-noise ratio. Each utterance is stored as its log-mel spectrogram
(:func:`tfmcourse.audio.log_mel`: 40 mel bands up to 8 kHz, one frame every 10 ms), in decibels below the
loudest value of the utterance, clipped at -80 dB and quantized to 1/3 dB (one byte per value), in
``spoken_digits/spoken_digits.npz`` beside this module: a few MB. Two raw waveforms are kept too, so
that a chapter can recompute their features from the samples and compare.

**Held-out voices.** :data:`TEST_VOICES` are never used for training in the book: accuracy on them
says how well a model recognises a voice it has never heard.

**Reading it needs nothing but NumPy**: :func:`load_spoken_digits`. **Regenerating it** needs the
``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``; GPL-3.0-or-later, see
``spoken_digits/LICENSE-espeak-ng.txt``)::

    python -m tfmcourse.data.speech --regenerate

which synthesizes every utterance again (about a minute, :mod:`tfmcourse.data.speech_synthesis`) and
rewrites the file; with the same eSpeak NG version (recorded in the file, 1.51 here) it gives the same
features.

Chinese is synthesized from tone-numbered pinyin (``qi1``) with the voice ``cmn-latn-pinyin``: Debian's
``cmn`` dictionary turns the characters into pinyin whose tone digits are then read aloud in English.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

__all__ = [
    "DATA_DIR",
    "DATA_FILE",
    "SAMPLE_RATE",
    "N_FFT",
    "HOP_LENGTH",
    "N_MELS",
    "F_MAX",
    "DB_RANGE",
    "LANGUAGES",
    "WORDS",
    "VOICES",
    "TEST_VOICES",
    "EN_ACCENTS",
    "ZH_VOICE",
    "Word",
    "SpokenDigits",
    "load_spoken_digits",
    "scale_db",
    "pad_batch",
    "length_batches",
    "digit_sequences",
    "synthesize",  # noqa: F822 -- loaded on first use by __getattr__ below
    "regenerate",  # noqa: F822
]

DATA_DIR = Path(__file__).resolve().parent / "spoken_digits"
DATA_FILE = DATA_DIR / "spoken_digits.npz"

#: eSpeak NG writes 22,050 samples per second.
SAMPLE_RATE = 22050
#: Features: a 512-sample (23 ms) Hann window every 220 samples (10 ms), 40 HTK mel bands from 0 to 8 kHz.
N_FFT, HOP_LENGTH, N_MELS, F_MAX = 512, 220, 40, 8000.0
#: Stored values lie in [-DB_RANGE, 0] dB relative to the loudest value of the utterance, in 1/3 dB steps.
DB_RANGE, DB_STEPS = 80.0, 3

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Word:
    """One of the twenty words: its class id (``index``), language, digit, what the synthesizer reads
    (``text``) and how the book shows it (``label``)."""

    index: int
    language: str
    digit: int
    text: str
    label: str

    @property
    def latin(self) -> str:
        """The word in Latin letters: the English word, or the pinyin with tone marks (``qī``), for plots
        whose font has no Chinese characters."""
        return self.label.split()[-1]


_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ZH_PINYIN = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
_ZH_LABEL = ("零 líng", "一 yī", "二 èr", "三 sān", "四 sì", "五 wǔ", "六 liù", "七 qī", "八 bā", "九 jiǔ")

#: The twenty classes: 0-9 are English "zero".."nine", 10-19 Chinese 零..九.
WORDS: tuple[Word, ...] = tuple(
    [Word(d, "en", d, w, w) for d, w in enumerate(_EN)]
    + [Word(10 + d, "zh", d, p, lab) for d, (p, lab) in enumerate(zip(_ZH_PINYIN, _ZH_LABEL))]
)

#: eSpeak NG voice variants (files in espeak-ng-data/voices/!v): each one is a "speaker".
VOICES = (
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "Andy",
    "Annie",
    "adam",
    "aunty",
    "boris",
    "david",
    "edward",
    "iven",
    "linda",
    "max",
    "michel",
    "paul",
    "robert",
    "steph",
    "klatt",
    "klatt3",
)
#: Voices held out for testing: female and male, formant and Klatt synthesis.
TEST_VOICES = ("f2", "m4", "Annie", "david", "michel", "klatt3")
#: English is spoken in one of these accents (chosen at random per utterance).
EN_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
#: Chinese (Mandarin) voice that reads tone-numbered pinyin.
ZH_VOICE = "cmn-latn-pinyin"
#: Utterances of each word per voice, and the ranges of speed (words per minute), pitch (0-99) and
#: signal-to-noise ratio (dB) drawn for each.
REPEATS = 3
SPEED_RANGE, PITCH_RANGE, SNR_RANGE = (110, 230), (15, 85), (15.0, 40.0)
#: The seed of the regeneration (speeds, pitches, accents, noise).
GENERATION_SEED = 2024


@dataclass
class SpokenDigits:
    """The stored utterances.

    Attributes:
        features: one float32 tensor ``(frames, N_MELS)`` per utterance, in dB (-80 to 0).
        word: ``(n,)`` class ids (indices into :data:`WORDS`).
        voice: ``(n,)`` indices into :data:`VOICES`.
        speed, pitch: ``(n,)`` the synthesizer's settings; ``snr``: the noise level in dB.
        accent: per utterance, the eSpeak NG base voice (an English accent or :data:`ZH_VOICE`).
        waves: a few raw waveforms ``{name: (samples,) float32 in [-1, 1]}``, with ``wave_index``
            ``{name: utterance index}`` (their features are ``features[wave_index[name]]``).
        info: how the file was made (eSpeak NG version, feature settings).
    """

    features: list[Tensor]
    word: Tensor
    voice: Tensor
    speed: Tensor
    pitch: Tensor
    snr: Tensor
    accent: list[str]
    waves: dict[str, Tensor]
    wave_index: dict[str, int]
    info: dict

    def __len__(self) -> int:
        return len(self.features)

    @property
    def lengths(self) -> Tensor:
        """``(n,)`` number of frames of each utterance."""
        return torch.tensor([f.shape[0] for f in self.features])

    @property
    def language(self) -> list[str]:
        """Per utterance, ``"en"`` or ``"zh"``."""
        return [WORDS[int(w)].language for w in self.word]

    def held_out(self) -> Tensor:
        """``(n,)`` bool: the utterance is spoken by one of :data:`TEST_VOICES`."""
        test = torch.tensor([VOICES.index(v) for v in TEST_VOICES])
        return torch.isin(self.voice, test)

    def subset(self, index: Tensor) -> SpokenDigits:
        """The utterances selected by ``index`` (a bool mask or integer indices); the raw waveforms are kept
        only in the full set."""
        idx = torch.arange(len(self))[index].tolist()
        return SpokenDigits(
            features=[self.features[i] for i in idx],
            word=self.word[idx],
            voice=self.voice[idx],
            speed=self.speed[idx],
            pitch=self.pitch[idx],
            snr=self.snr[idx],
            accent=[self.accent[i] for i in idx],
            waves={},
            wave_index={},
            info=self.info,
        )


def load_spoken_digits(path: Path | str | None = None) -> SpokenDigits:
    """Read the stored spoken digits (no synthesizer needed); see the module docstring."""
    path = Path(path or DATA_FILE)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: it ships with the package; rebuild it with "
            "`python -m tfmcourse.data.speech --regenerate` (needs espeak-ng)"
        )
    with np.load(path, allow_pickle=False) as z:
        codes, offsets = z["codes"], z["offsets"]
        db = -codes.astype(np.float32) / DB_STEPS
        features = [torch.from_numpy(db[offsets[i] : offsets[i + 1]].copy()) for i in range(len(offsets) - 1)]
        info = json.loads(str(z["info"]))
        names = info["waves"]
        waves = {name: torch.from_numpy(z[f"wave_{name}"].astype(np.float32) / 32768.0) for name in names}
        return SpokenDigits(
            features=features,
            word=torch.from_numpy(z["word"].astype(np.int64)),
            voice=torch.from_numpy(z["voice"].astype(np.int64)),
            speed=torch.from_numpy(z["speed"].astype(np.int64)),
            pitch=torch.from_numpy(z["pitch"].astype(np.int64)),
            snr=torch.from_numpy(z["snr"].astype(np.float32)),
            accent=[str(a) for a in z["accent"]],
            waves=waves,
            wave_index={k: int(v) for k, v in names.items()},
            info=info,
        )


def scale_db(x: Tensor) -> Tensor:
    """Map stored decibels, -80 to 0, to about -2 to 2 (``(x + 40) / 20``): a range networks train well on."""
    return (x + DB_RANGE / 2) / (DB_RANGE / 4)


def pad_batch(
    features: list[Tensor], pad_value: float = -DB_RANGE
) -> tuple[Float[Tensor, "batch frames n_mels"], Int[Tensor, " batch"]]:
    """Stack sequences of different lengths: ``(batch, max_frames, n_mels)`` padded with ``pad_value``
    (silence, -80 dB) at the end, and their lengths ``(batch,)``."""
    if not features:
        raise ValueError("features is empty: pad_batch needs at least one (frames, n_mels) tensor")
    widths = {f.shape[1:] for f in features}
    if len(widths) != 1 or any(f.ndim != 2 for f in features):
        raise ValueError(
            f"features must all have shape (frames, n_mels) with one n_mels, got shapes "
            f"{sorted({tuple(f.shape) for f in features})[:4]}"
        )
    lengths = torch.tensor([f.shape[0] for f in features])
    out = features[0].new_full((len(features), int(lengths.max()), features[0].shape[1]), pad_value)
    for i, f in enumerate(features):
        out[i, : f.shape[0]] = f
    return out, lengths


def length_batches(lengths: Tensor, batch_size: int, seed: int = 0) -> Callable[[int], Tensor]:
    """``get_batch_indices(step) -> (batch_size,) indices`` that group sequences of similar length.

    Every epoch (``len(lengths) // batch_size`` steps) sorts the sequences by their length plus a
    little noise, cuts the order into batches of neighbours, and visits the batches in a random order:
    little padding, yet different batches every epoch. Depends on ``step`` only (each epoch seeded by
    ``seed`` and its number), as :class:`tfmcourse.train.Trainer` wants. The last, incomplete batch
    of an epoch is dropped.
    """
    lengths = torch.as_tensor(lengths)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= len(lengths):
        raise ValueError(f"batch_size must be an int in [1, {len(lengths)}], got {batch_size!r}")
    per_epoch = len(lengths) // batch_size
    spread = float(lengths.float().std()) / 4 if len(lengths) > 1 else 0.0
    cache: dict[int, list[Tensor]] = {}

    def get(step: int) -> Tensor:
        epoch, i = divmod(step, per_epoch)
        if epoch not in cache:
            cache.clear()
            g = torch.Generator().manual_seed(seed * 100_003 + epoch)
            order = (lengths.float() + spread * torch.rand(len(lengths), generator=g)).argsort()
            chunks = list(order[: per_epoch * batch_size].split(batch_size))
            cache[epoch] = [chunks[j] for j in torch.randperm(per_epoch, generator=g).tolist()]
        return cache[epoch][i]

    return get


def digit_sequences(
    data: SpokenDigits,
    n: int,
    min_len: int = 2,
    max_len: int = 4,
    gap: tuple[int, int] = (3, 12),
    seed: int = 0,
) -> tuple[list[Tensor], list[list[int]]]:
    """``n`` sequences of spoken digits, made by joining single words of ``data`` in time.

    Each sequence takes one voice and one language at random, ``min_len`` to ``max_len`` random
    digits, one random utterance of that voice for each, and puts them one after the other with a
    silence of ``gap`` frames (-80 dB) between them. Returns the feature sequences ``(frames, n_mels)``
    and the digits (0-9, whatever the language). The joins are cut-and-paste, without the
    coarticulation of real continuous speech.
    """
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    g = torch.Generator().manual_seed(seed)
    lang = torch.tensor([1 if WORDS[int(w)].language == "zh" else 0 for w in data.word])
    digit = torch.tensor([WORDS[int(w)].digit for w in data.word])
    voices = data.voice.unique()
    feats, labels = [], []
    silence = data.features[0].new_full((1, data.features[0].shape[1]), -DB_RANGE)
    for _ in range(n):
        v = voices[torch.randint(len(voices), (1,), generator=g)].item()
        language = torch.randint(2, (1,), generator=g).item()
        length = torch.randint(min_len, max_len + 1, (1,), generator=g).item()
        digits = torch.randint(10, (length,), generator=g).tolist()
        parts = [silence.expand(int(torch.randint(gap[0], gap[1] + 1, (1,), generator=g)), -1)]
        for d in digits:
            pool = torch.nonzero((data.voice == v) & (lang == language) & (digit == d)).flatten()
            if len(pool) == 0:
                raise ValueError(f"voice {VOICES[v]} has no utterance of digit {d} in {LANGUAGES[language]}")
            parts.append(data.features[pool[torch.randint(len(pool), (1,), generator=g)].item()])
            parts.append(silence.expand(int(torch.randint(gap[0], gap[1] + 1, (1,), generator=g)), -1))
        feats.append(torch.cat(parts))
        labels.append(digits)
    return feats, labels


def __getattr__(name: str):
    """:func:`synthesize` and :func:`regenerate` live in :mod:`tfmcourse.data.speech_synthesis` (it imports
    this module): loaded on first use."""
    if name in ("synthesize", "regenerate"):
        from tfmcourse.data import speech_synthesis

        return getattr(speech_synthesis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tfmcourse.data.speech", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="synthesize again with espeak-ng and rewrite the stored features",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"where to write (default {DATA_FILE})")
    args = parser.parse_args(argv)
    if args.regenerate:
        from tfmcourse.data.speech_synthesis import regenerate

        regenerate(args.out)
    else:
        data = load_spoken_digits(args.out)
        print(
            f"{len(data)} utterances, {len(VOICES)} voices ({len(TEST_VOICES)} held out), "
            f"{int(data.lengths.sum())} frames; made with {data.info['synthesizer']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
