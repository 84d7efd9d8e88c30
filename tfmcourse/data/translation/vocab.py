"""Token ids for the chapter-7 translation task: :class:`Vocab` (symbols <-> ids, with ``<pad> <bos> <eos>
<unk>`` first) and the two vocabularies of the task, :func:`english_vocab` and :func:`chinese_vocab`."""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from tfmcourse.data.translation.numbers import _DIGITS_ZH, _ONES, _SCALES_EN, _TENS

__all__ = ["Vocab", "english_vocab", "chinese_vocab", "PAD", "BOS", "EOS", "UNK", "SPECIALS", "LEVELS"]

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
