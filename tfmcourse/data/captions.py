"""Captions for handwritten digits, in English and Chinese, and a tokenizer for them (chapter 13).

CLIP learns from images paired with texts that describe them. Our images are scikit-learn's 8x8 digits;
their texts are generated from the labels with varied **templates** in two languages: ``"a handwritten
seven"``, ``"the digit seven"``, ``"手写的数字七"``, ``"这是七"``, ... Some templates are kept for
testing only (:data:`HELD_OUT_TEMPLATES`), so that a test caption can be phrased in a way training
never saw.

:class:`CaptionTokenizer` cuts an English text into lower-case words and a Chinese text into single
characters (Chinese is written without spaces, and one character is already a unit of meaning); each
becomes one token. Texts are wrapped as ``[SOT] tokens [EOT]`` and padded with ``[PAD]``; CLIP reads a
text at its ``[EOT]`` token. Everything is deterministic: the vocabulary is sorted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

__all__ = ["DIGIT_WORDS", "TEMPLATES", "HELD_OUT_TEMPLATES", "caption", "CaptionTokenizer"]

#: The ten digits as words, per language.
DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
}

#: Caption templates used for training, per language; ``{}`` is the digit's word.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "a handwritten {}",
        "the digit {}",
        "a picture of the number {}",
        "{}, written by hand",
        "a small image of a handwritten {}",
    ),
    "zh": ("手写的数字{}", "数字{}", "一张{}的图片", "这是{}", "手写的{}"),
}

#: Templates kept out of training: the same words as the training templates, put together differently.
HELD_OUT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": ("a picture of a handwritten {}", "the number {}, written by hand"),
    "zh": ("一张手写的数字{}的图片", "这是数字{}"),
}


def caption(label: int, language: str, template: str) -> str:
    """The caption of digit ``label`` (0-9) in ``language`` (``"en"`` or ``"zh"``) with ``template``."""
    if language not in DIGIT_WORDS:
        raise ValueError(f"language must be one of {tuple(DIGIT_WORDS)}, got {language!r}")
    if not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"label must be an int digit 0-9, got {label!r}")
    if "{}" not in template:
        raise ValueError(f"template must contain '{{}}' where the digit goes, got {template!r}")
    return template.format(DIGIT_WORDS[language][label])


_TOKEN = re.compile(r"[\u4e00-\u9fff]|[a-z]+|[0-9]|[^\sa-z0-9\u4e00-\u9fff]")


class CaptionTokenizer:
    """Word-level tokens for English, character-level for Chinese, with ``[PAD] [UNK] [SOT] [EOT]``.

    ``CaptionTokenizer(texts)`` builds the vocabulary from ``texts`` (sorted, so the same texts always give
    the same ids); ids 0 to 3 are ``[PAD]``, ``[UNK]``, ``[SOT]``, ``[EOT]``. A word never seen becomes
    ``[UNK]``.
    """

    SPECIALS = ("[PAD]", "[UNK]", "[SOT]", "[EOT]")

    def __init__(self, texts: Iterable[str]):
        words = sorted({w for t in texts for w in self.split(t)})
        self.vocab: list[str] = list(self.SPECIALS) + words
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id, self.unk_id, self.sot_id, self.eot_id = range(4)

    def __len__(self) -> int:
        return len(self.vocab)

    @staticmethod
    def split(text: str) -> list[str]:
        """``"a handwritten seven"`` -> ``["a", "handwritten", "seven"]``;
        ``"手写的七"`` -> ``["手", "写", "的", "七"]``."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return _TOKEN.findall(text.lower())

    def encode(self, texts: Sequence[str], max_len: int | None = None) -> tuple[Tensor, Tensor]:
        """Texts -> ``(ids, attention_mask)``, both ``(batch, seq)``: ``[SOT] tokens [EOT]`` then
        ``[PAD]``; the mask is 1 at the tokens and 0 at the padding. ``seq`` is the longest text, or
        ``max_len`` (a longer text is an error)."""
        if isinstance(texts, str) or not len(texts):
            raise ValueError("texts must be a non-empty list of strings")
        rows = [
            [self.sot_id] + [self.index.get(w, self.unk_id) for w in self.split(t)] + [self.eot_id]
            for t in texts
        ]
        longest = max(len(r) for r in rows)
        seq = longest if max_len is None else max_len
        if longest > seq:
            raise ValueError(
                f"a text has {longest} tokens with [SOT] and [EOT], more than max_len={max_len}: "
                f"{texts[max(range(len(rows)), key=lambda i: len(rows[i]))]!r}"
            )
        ids = torch.full((len(rows), seq), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return ids, (ids != self.pad_id).long()

    def decode(self, ids: Sequence[int] | Tensor) -> str:
        """Ids -> the tokens joined by spaces, padding left out (for looking at what the model read)."""
        ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        return " ".join(self.vocab[i] for i in ids if i != self.pad_id)
