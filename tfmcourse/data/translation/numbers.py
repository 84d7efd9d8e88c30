"""The two languages of the chapter-7 translation task: English number phrases and Chinese numerals, and
the seeded data sets drawn from them (:func:`number_translation`, :func:`more_numbers`)."""

from __future__ import annotations

import random
from collections.abc import Iterable

__all__ = ["english", "chinese", "number_translation", "more_numbers", "MAX_NUMBER"]

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
