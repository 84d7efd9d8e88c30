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

from tfmcourse.data.translation.numbers import MAX_NUMBER, chinese, english, more_numbers, number_translation
from tfmcourse.data.translation.vocab import (
    BOS,
    EOS,
    LEVELS,
    PAD,
    SPECIALS,
    UNK,
    Vocab,
    chinese_vocab,
    english_vocab,
)

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
    "SPECIALS",
    "LEVELS",
    "MAX_NUMBER",
]
