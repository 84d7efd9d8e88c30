"""The tokenizers of chapters 9 and 10: characters (:class:`CharTokenizer`) and byte-level BPE
(:func:`train_bpe`, and the merge step written out by hand: :func:`bpe_merge_step`,
:func:`learn_bpe_merges`)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from jaxtyping import Int
from torch import Tensor

from tfmcourse.data.corpus.text import END_OF_TEXT

__all__ = ["CharTokenizer", "train_bpe", "pretokenized_words", "bpe_merge_step", "learn_bpe_merges"]


class CharTokenizer:
    """Character-level tokenizer: one id per distinct character of ``text`` (sorted by code point).

    ``encode(str) -> (n,) long tensor``, ``decode(ids) -> str``, ``vocab_size``, ``chars`` (the list
    of characters, id = index). Encoding a character that was not in ``text`` raises ValueError.
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        self.chars = sorted(set(text))
        self._id = {ch: i for i, ch in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Int[Tensor, " n"]:
        """``str`` -> ``(len(text),)`` long tensor of ids."""
        try:
            return torch.tensor([self._id[ch] for ch in text], dtype=torch.long)
        except KeyError as e:
            raise ValueError(
                f"character {e.args[0]!r} is not in the tokenizer's {self.vocab_size} characters"
            ) from None

    def decode(self, ids: Int[Tensor, " n"] | Iterable[int]) -> str:
        """ids (a 1-D tensor or a list) -> ``str``."""
        ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
        if any(not 0 <= i < self.vocab_size for i in ids):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got min {min(ids)}, max {max(ids)}")
        return "".join(self.chars[i] for i in ids)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def train_bpe(texts: Iterable[str], vocab_size: int = 512, min_frequency: int = 2):
    """Train a byte-level BPE tokenizer (a ``tokenizers.Tokenizer``) on ``texts``, offline.

    The vocabulary holds :data:`END_OF_TEXT` (id 0), the 256 byte tokens, then merges, up to
    ``vocab_size`` entries. As in GPT-2, the text is first split into words and punctuation (a space
    stays attached to the word after it) and no merge crosses those boundaries. Any text can be
    encoded (no unknown token) and ``decode(encode(text)) == text``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if not isinstance(vocab_size, int) or vocab_size < 258:
        raise ValueError(
            f"vocab_size must be an int >= 258 (1 special + 256 bytes + 1 merge), got {vocab_size!r}"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def pretokenized_words(tokenizer, text: str) -> dict[tuple[str, ...], int]:
    """How often each word of ``text`` occurs, as ``train_bpe`` sees it before any merge.

    The tokenizer's pre-tokenizer cuts the text into words (a space stays attached to the word after
    it) and writes each byte as one character (a space as ``"Ġ"``); a word is returned as the tuple of
    those characters, the symbols BPE starts from. ``tokenizer`` is a ``tokenizers.Tokenizer`` (from
    :func:`train_bpe`)."""
    counts: dict[tuple[str, ...], int] = {}
    for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(text):
        key = tuple(word)
        counts[key] = counts.get(key, 0) + 1
    return counts


def bpe_merge_step(
    words: dict[tuple[str, ...], int], rank: dict[str, int] | None = None
) -> tuple[tuple[str, str], dict[tuple[str, ...], int]]:
    """One step of training a BPE tokenizer: ``(pair, new_words)``.

    ``words`` maps each word, a tuple of symbols, to how often it occurs. The pairs of adjacent symbols
    are counted, each word's pairs weighted by the word's count; the most frequent pair is merged into
    one symbol everywhere, left to right (``("a", "a", "a")`` becomes ``("aa", "a")``), and words that
    become equal have their counts added. Ties go to the pair whose symbols come first: by ``rank``
    (symbol -> its id in the vocabulary, as Hugging Face's trainer does) when given, otherwise in
    Python's order of the string pairs. ``words`` is not modified."""
    pairs: dict[tuple[str, str], int] = {}
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            pairs[pair] = pairs.get(pair, 0) + count
    if not pairs:
        raise ValueError("no word has two symbols left: there is no pair to merge")
    order = (lambda p: (rank[p[0]], rank[p[1]])) if rank is not None else (lambda p: p)
    best = min(pairs, key=lambda p: (-pairs[p], order(p)))
    merged = best[0] + best[1]
    new_words: dict[tuple[str, ...], int] = {}
    for word, count in words.items():
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(merged)
                i += 2
            else:
                out.append(word[i])
                i += 1
        new_words[tuple(out)] = new_words.get(tuple(out), 0) + count
    return best, new_words


def learn_bpe_merges(
    words: dict[tuple[str, ...], int], num_merges: int, rank: dict[str, int] | None = None
) -> list[tuple[str, str]]:
    """The first ``num_merges`` merges of BPE training on ``words`` (see :func:`bpe_merge_step`), in
    order. With ``rank`` (the initial vocabulary, symbol -> id), each new symbol gets the next id, so
    ties are broken as Hugging Face's ``tokenizers`` trainer breaks them; a plain Python loop, slow but
    readable (about 40 merges a second on the documentation's words)."""
    if isinstance(num_merges, bool) or not isinstance(num_merges, int) or num_merges < 0:
        raise ValueError(f"num_merges must be a non-negative int, got {num_merges!r}")
    rank = dict(rank) if rank is not None else None
    merges = []
    for _ in range(num_merges):
        pair, words = bpe_merge_step(words, rank)
        merges.append(pair)
        if rank is not None:
            rank.setdefault(pair[0] + pair[1], len(rank))
    return merges
