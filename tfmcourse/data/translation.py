"""A small translation task: English number phrases to Chinese numerals (chapter 7).

``"four thousand and twelve"`` becomes ``"四千零一十二"``. The two languages disagree in ways a
translator has to learn, not copy:

- **regrouping and reordering**: English groups digits by thousands, Chinese by ten-thousands (万), so
  ``"one hundred and five thousand"`` (105 × 1000) is ``"十万五千"`` (10 × 万 + 5 × 千);
- **words that vanish**: English ``"and"`` has no Chinese counterpart;
- **words that appear**: Chinese writes 零 ("zero") for a gap in the digits
  (``"one thousand and five"`` → ``"一千零五"``), which English never says;
- **different lengths**: ``"ninety"`` is one English word and two characters ``"九十"``;
  ``"one hundred thousand"`` is three words and two characters ``"十万"``.

The English side is British style ("one hundred and five"), written without hyphens ("twenty one") so
that it splits into words on spaces. The Chinese side uses the plain numerals 零一二三四五六七八九 and the
units 十百千万亿; it writes 二 everywhere (everyday Chinese often says 两千 for 2000). A leading 一十 is
written 十 (``10`` → 十, ``100000`` → 十万) but kept inside a number (``110`` → 一百一十).

:func:`number_translation` draws a seeded, deterministic data set with train / valid / test splits that
share no number, plus a ``hard`` split of numbers whose English phrase is longer than any in the other
splits. :class:`Vocab` turns text into token ids and back.
"""

from __future__ import annotations

import json
import operator
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = [
    "english",
    "chinese",
    "number_translation",
    "more_numbers",
    "english_vocab",
    "chinese_vocab",
    "Vocab",
    "PAD",
    "BOS",
    "EOS",
    "UNK",
]

# ----------------------------------------------------------------------------- the two languages

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES_EN = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_DIGITS_ZH = "零一二三四五六七八九"
_SCALES_ZH = ((10**8, "亿"), (10**4, "万"), (1, ""))
MAX_NUMBER = 10**12 - 1


def _check_number(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"n must be an int in [0, {MAX_NUMBER}], got {n!r}")


def _english_below_100(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    tens, ones = divmod(n, 10)
    return [_TENS[tens]] + ([_ONES[ones]] if ones else [])


def _english_below_1000(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [_ONES[hundreds], "hundred"] if hundreds else []
    if rest:
        words += (["and"] if hundreds else []) + _english_below_100(rest)
    return words


def english(n: int) -> str:
    """The English (British) phrase for ``0 <= n < 10**12``: ``1012`` → ``"one thousand and twelve"``.

    Digits are read in groups of three (thousand, million, billion). ``"and"`` comes before the tens
    and units of a group that has hundreds (``"one hundred and five"``), and before a last group
    below 100 that follows a larger one (``"one million and five"``).
    """
    _check_number(n)
    if n == 0:
        return "zero"
    words: list[str] = []
    for value, name in _SCALES_EN:
        count, n = divmod(n, value)
        if count:
            words += _english_below_1000(count) + [name]
    if n:
        if words and n < 100:
            words.append("and")
        words += _english_below_1000(n)
    return " ".join(words)


def _chinese_below_10000(n: int) -> str:
    """Chinese for ``0 < n < 10000``: one 零 for each run of zeros between two non-zero digits."""
    out, gap = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            gap = gap or bool(out)  # a zero after a non-zero digit: a 零 if another digit follows
        else:
            out += ("零" if gap else "") + _DIGITS_ZH[digit] + unit
            gap = False
    return out


def chinese(n: int) -> str:
    """The Chinese numeral for ``0 <= n < 10**12``: ``4012`` → ``"四千零一十二"``, ``100000`` → ``"十万"``.

    Digits are read in groups of four (万 = 10^4, 亿 = 10^8). Inside a group, a run of zeros between
    two digits is one 零 (``1005`` → 一千零五); a group below 1000 that follows a larger group starts
    with 零 (``10500`` → 一万零五百), and so does a group that follows an all-zero group
    (``100000001`` → 一亿零一). A number that starts with 一十 drops the 一 (``12`` → 十二).
    """
    _check_number(n)
    if n == 0:
        return _DIGITS_ZH[0]
    out, gap = "", False
    for value, unit in _SCALES_ZH:
        group = n // value % 10000
        if group == 0:
            gap = gap or bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out += _chinese_below_10000(group) + unit
        gap = False
    return out[1:] if out.startswith("一十") else out


# ----------------------------------------------------------------------------- the data set


def _sample_number(rng: random.Random, max_digits: int, p_zero: float) -> int:
    """A number with a uniform number of digits in [1, max_digits]; each digit after the first is 0
    with probability ``p_zero`` (so that gaps, and 零, are common), else uniform in 1..9."""
    digits = 1 + int(rng.random() * max_digits)
    n = 1 + int(rng.random() * 9) if digits > 1 else int(rng.random() * 10)
    for _ in range(digits - 1):
        n = 10 * n + (0 if rng.random() < p_zero else 1 + int(rng.random() * 9))
    return n


def number_translation(
    n_train: int = 20000,
    n_valid: int = 500,
    n_test: int = 1000,
    n_hard: int = 1000,
    *,
    max_digits: int = 6,
    max_words: int = 8,
    p_zero: float = 0.35,
    seed: int = 0,
) -> dict[str, list[tuple[str, str]]]:
    """A seeded English → Chinese number-translation data set.

    Numbers below ``10**max_digits`` are drawn (number of digits uniform, many zero digits); each is
    kept once. Those whose English phrase has at most ``max_words`` words are shuffled and cut into the
    ``train``, ``valid`` and ``test`` splits (no number is in two of them); those with more words form
    the ``hard`` split, which tests generalisation to inputs longer than any seen in training.

    Returns:
        ``{"train": [(english, chinese), ...], "valid": ..., "test": ..., "hard": ...}``; the same
        lists for the same arguments.
    """
    sizes = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test, "n_hard": n_hard}
    for name, size in sizes.items():
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"{name} must be a non-negative int, got {size!r}")
    if not 1 <= max_digits <= 12:
        raise ValueError(f"max_digits must be in [1, 12], got {max_digits}")
    if not 0.0 <= p_zero < 1.0:
        raise ValueError(f"p_zero must be in [0, 1), got {p_zero}")
    rng = random.Random(seed)
    want_easy, want_hard = n_train + n_valid + n_test, n_hard
    easy: list[int] = []
    hard: list[int] = []
    seen: dict[int, str] = {}  # number -> its English phrase
    misses = 0
    while len(easy) < want_easy or len(hard) < want_hard:
        n = _sample_number(rng, max_digits, p_zero)
        if n in seen:
            misses += 1
            if misses > 50 * (want_easy + want_hard) + 10000:
                raise ValueError(
                    f"cannot draw {want_easy} distinct numbers with at most {max_words} words and "
                    f"{want_hard} with more below 10**{max_digits} "
                    f"(got {min(len(easy), want_easy)} of them and {len(hard)}): "
                    "ask for fewer, or raise max_digits"
                )
            continue
        seen[n] = english(n)
        bucket = easy if len(seen[n].split()) <= max_words else hard
        if bucket is easy or len(hard) < want_hard:
            bucket.append(n)
    rng.shuffle(easy)
    bounds = {
        "train": (0, n_train),
        "valid": (n_train, n_train + n_valid),
        "test": (n_train + n_valid, want_easy),
    }
    splits = {name: easy[a:b] for name, (a, b) in bounds.items()}
    splits["hard"] = hard[:want_hard]
    return {name: [(seen[n], chinese(n)) for n in numbers] for name, numbers in splits.items()}


def more_numbers(
    n: int,
    *,
    min_words: int = 1,
    max_words: int | None = None,
    exclude: Iterable[str] = (),
    max_digits: int = 6,
    p_zero: float = 0.35,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """``n`` more (English, Chinese) pairs whose English phrase has ``min_words`` to ``max_words`` words,
    none of them in ``exclude`` (English phrases, e.g. every phrase of a :func:`number_translation` data
    set) and none twice; numbers are drawn as in :func:`number_translation`.

    Chapter 7 uses it to add long numbers to a training set without touching its test or hard splits.
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if max_words is not None and max_words < min_words:
        raise ValueError(f"need min_words <= max_words, got {min_words} and {max_words}")
    if not 1 <= max_digits <= 12 or not 0.0 <= p_zero < 1.0:
        raise ValueError(f"need 1 <= max_digits <= 12 and 0 <= p_zero < 1, got {max_digits} and {p_zero}")
    rng = random.Random(seed)
    used = set(exclude)
    pairs: list[tuple[str, str]] = []
    misses = 0
    while len(pairs) < n:
        number = _sample_number(rng, max_digits, p_zero)
        phrase = english(number)
        words = len(phrase.split())
        if phrase in used or words < min_words or (max_words is not None and words > max_words):
            misses += 1
            if misses > 200 * n + 10000:
                raise ValueError(
                    f"cannot draw {n} new numbers of {min_words} to {max_words} words below "
                    f"10**{max_digits} (got {len(pairs)})"
                )
            continue
        used.add(phrase)
        pairs.append((phrase, chinese(number)))
    return pairs


# ----------------------------------------------------------------------------- vocabularies

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
LEVELS = ("word", "char")


class Vocab:
    """A table between symbols and integer ids, with ``<pad> <bos> <eos> <unk>`` first (ids 0 to 3).

    ``level="word"`` splits text on whitespace and joins with one space; ``level="char"`` takes every
    character as a symbol (spaces included) and joins with nothing.

    >>> v = Vocab(["一", "二", "十"], level="char")
    >>> v.encode("十二", bos=True, eos=True)
    [1, 6, 5, 2]
    >>> v.decode([1, 6, 5, 2])
    '十二'
    """

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, symbols: Iterable[str], level: str = "word"):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.level = level
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise ValueError(f"symbols must be non-empty strings, got {s!r}")
            if level == "word" and s != s.strip() or level == "word" and len(s.split()) != 1:
                raise ValueError(f"a word-level symbol cannot contain whitespace, got {s!r}")
            if level == "char" and len(s) != 1 and s not in SPECIALS:
                raise ValueError(f"a char-level symbol must be one character, got {s!r}")
            if s not in self.stoi:
                self.stoi[s] = len(self.itos)
                self.itos.append(s)

    @classmethod
    def build(cls, texts: Iterable[str], level: str = "word") -> Vocab:
        """The vocabulary of every symbol in ``texts``, in order of first appearance."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        symbols: dict[str, None] = {}
        for text in texts:
            symbols.update(dict.fromkeys(text.split() if level == "word" else text))
        return cls(symbols, level)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.level == other.level and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocab(level={self.level!r}, size={len(self)})"

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into symbols (words or characters)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return text.split() if self.level == "word" else list(text)

    def encode(self, text: str, *, bos: bool = False, eos: bool = False, strict: bool = False) -> list[int]:
        """The ids of ``text``'s symbols, optionally wrapped in ``<bos>`` ... ``<eos>``.

        An unknown symbol becomes ``<unk>``; with ``strict=True`` it raises a ``ValueError`` that
        names the symbol and its position (0-based, counted in symbols).
        """
        ids = [self.bos_id] if bos else []
        for pos, symbol in enumerate(self.tokenize(text)):
            i = self.stoi.get(symbol)
            if i is None or symbol in SPECIALS:
                if strict:
                    raise ValueError(
                        f"unknown {self.level} {symbol!r} at position {pos} of {text!r} "
                        f"(this vocabulary has {len(self)} symbols)"
                    )
                i = self.unk_id
            ids.append(i)
        return ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int] | Tensor, *, keep_special: bool = False) -> str:
        """The text of ``ids``. By default ``<bos>`` and ``<pad>`` are dropped and decoding stops at
        the first ``<eos>``; ``<unk>`` is kept as ``<unk>``. ``keep_special=True`` writes every id."""
        if isinstance(ids, Tensor):
            if ids.ndim != 1:
                raise ValueError(f"ids must be 1-D (seq,), got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        symbols = []
        for i in ids:
            try:
                i = operator.index(i)  # an int, NumPy integer or integer tensor; never a float cut short
            except TypeError:
                raise ValueError(f"ids must be integers, got {i!r} ({type(i).__name__})") from None
            if not 0 <= i < len(self):
                raise ValueError(f"id {i} is out of range for a vocabulary of {len(self)} symbols")
            if not keep_special:
                if i == self.eos_id:
                    break
                if i in (self.bos_id, self.pad_id):
                    continue
            symbols.append(self.itos[i])
        return (" " if self.level == "word" else "").join(symbols)

    def encode_batch(
        self, texts: Sequence[str], *, bos: bool = False, eos: bool = False, strict: bool = False
    ) -> Int[Tensor, "batch seq"]:
        """Encode several texts into one ``(batch, seq)`` long tensor, padded with ``<pad>`` (id 0)
        on the right to the longest."""
        rows = [self.encode(t, bos=bos, eos=eos, strict=strict) for t in texts]
        out = torch.full((len(rows), max((len(r) for r in rows), default=0)), self.pad_id, dtype=torch.long)
        for b, row in enumerate(rows):
            out[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out

    def decode_batch(self, ids: Int[Tensor, "batch seq"]) -> list[str]:
        """:meth:`decode` of every row of a ``(batch, seq)`` tensor."""
        if not isinstance(ids, Tensor) or ids.ndim != 2:
            raise ValueError(f"ids must be a (batch, seq) tensor, got {getattr(ids, 'shape', type(ids))}")
        return [self.decode(row) for row in ids]

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON: ``{"level": ..., "symbols": [...]}`` (specials included)."""
        Path(path).write_text(
            json.dumps({"level": self.level, "symbols": self.itos}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            level, symbols = data["level"], data["symbols"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path} is not a vocabulary file written by Vocab.save: {e}") from None
        if list(symbols[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"{path}: the first symbols must be {list(SPECIALS)}, got {symbols[:4]}")
        return cls(symbols[len(SPECIALS) :], level)


def english_vocab() -> Vocab:
    """Word-level vocabulary of every word :func:`english` can write (33 words + 4 specials)."""
    words = (
        _ONES
        + [t for t in _TENS if t != "_"]
        + ["hundred", "and"]
        + [name for _, name in reversed(_SCALES_EN)]
    )
    return Vocab(words, level="word")


def chinese_vocab() -> Vocab:
    """Character-level vocabulary of every character :func:`chinese` can write (15 + 4 specials)."""
    return Vocab(list(_DIGITS_ZH + "十百千万亿"), level="char")
