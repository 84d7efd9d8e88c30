"""A real text corpus that needs no download, and the tokenizers (分词器) for it (chapters 9 and 10).

**The text.** Python ships its own documentation topics (the pages ``help("if")`` shows) in the
standard library module ``pydoc_data.topics``: about 80 topics and 465,000 characters of English prose
and code examples (the exact text depends on the Python version). Some topics repeat whole paragraphs
of others (``augassign`` is part of ``assignment``), so a tail held out from one topic may sit, word
for word, in the training part of another: :func:`dedup_paragraphs` keeps the first copy of every
paragraph only. :func:`pydoc_corpus` splits every (de-duplicated) topic at a line boundary, the first
90% to training and the rest to validation, so both halves cover every topic and the split is the same
on every run; :func:`pydoc_splits` cuts a validation and a test part. :func:`python_source` reads the
source code of a few standard-library modules: a different style of text, used for fine-tuning in
chapter 10, split the same way with :func:`split_documents`. Both are part of Python and covered by the
PSF License (:data:`LICENSE`).

**Tokenizers.** :class:`CharTokenizer` maps each character to an id. :func:`train_bpe` trains a
byte-level BPE tokenizer (byte-pair encoding, as in GPT-2) with the ``tokenizers`` library, offline:
it starts from the 256 byte values and repeatedly merges the most frequent adjacent pair into a new
token until the vocabulary has ``vocab_size`` entries.

**Batches.** :func:`random_windows` gives ``get_batch(step) -> (x, y)`` for
:class:`tfmcourse.train.Trainer`: random windows of the token stream, ``y`` being ``x`` shifted by one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = [
    "LICENSE",
    "END_OF_TEXT",
    "pydoc_topics",
    "dedup_paragraphs",
    "pydoc_corpus",
    "pydoc_splits",
    "split_documents",
    "split_documents_three",
    "python_source",
    "CharTokenizer",
    "train_bpe",
    "pretokenized_words",
    "bpe_merge_step",
    "learn_bpe_merges",
    "random_windows",
    "repeated_windows",
    "repeated_passages",
]

#: Where the texts come from and under which licence.
LICENSE = (
    "The Python documentation topics (pydoc_data.topics) and the standard-library source code ship with "
    "Python; they are Copyright (c) Python Software Foundation and distributed under the PSF License "
    "Agreement (https://docs.python.org/3/license.html)."
)

#: The special token that separates documents in the BPE vocabulary (id 0), as in GPT-2.
END_OF_TEXT = "<|endoftext|>"


def pydoc_topics() -> dict[str, str]:
    """The documentation topics of the running Python, ``{name: text}``, sorted by name."""
    from pydoc_data.topics import topics

    return {name: topics[name] for name in sorted(topics)}


def _split_at_line(text: str, fraction: float) -> tuple[str, str]:
    """Cut ``text`` at the first line break after ``fraction`` of its characters."""
    cut = text.find("\n", int(len(text) * fraction))
    cut = len(text) if cut < 0 else cut + 1
    return text[:cut], text[cut:]


def split_documents(documents: Iterable[str], valid_fraction: float = 0.1) -> tuple[str, str]:
    """``(train_text, valid_text)``: every document cut at a line break, head to training, tail to validation.

    Each document is cut at the first line break after ``1 - valid_fraction`` of its characters, so
    both halves cover every document and no line is split. The heads are joined in the given order,
    separated by a blank line, and so are the tails. Deterministic.
    """
    if (
        isinstance(valid_fraction, bool)
        or not isinstance(valid_fraction, (int, float))
        or not 0.0 < valid_fraction < 1.0
    ):
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction!r}")
    train, valid = [], []
    for text in documents:
        head, tail = _split_at_line(text.strip("\n") + "\n", 1.0 - valid_fraction)
        train.append(head)
        if tail:
            valid.append(tail)
    if not train:
        raise ValueError("documents is empty")
    return "\n".join(train), "\n".join(valid)


def split_documents_three(
    documents: Iterable[str], valid_fraction: float = 0.05, test_fraction: float = 0.05
) -> tuple[str, str, str]:
    """``(train_text, valid_text, test_text)``: every document cut twice at line breaks, its head to
    training, the next ``valid_fraction`` of its characters to validation and its last
    ``test_fraction`` to test. Like :func:`split_documents`, every part covers every document and no
    line is split; the parts of the documents are joined in order, separated by a blank line."""
    for name, f in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {f!r}")
    if valid_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"valid_fraction + test_fraction must be < 1, got {valid_fraction} + {test_fraction}"
        )
    train, valid, test = [], [], []
    for text in documents:
        text = text.strip("\n") + "\n"
        head, _ = _split_at_line(text, 1.0 - (valid_fraction + test_fraction))  # the cut of split_documents
        rest, tail = _split_at_line(text, 1.0 - test_fraction)
        head = head if len(head) <= len(rest) else rest
        middle = rest[len(head) :]
        train.append(head)
        for part, out in ((middle, valid), (tail, test)):
            if part:
                out.append(part)
    if not train:
        raise ValueError("documents is empty")
    return "\n".join(train), "\n".join(valid), "\n".join(test)


def _normalised(paragraph: str) -> str:
    return " ".join(paragraph.split())


def dedup_paragraphs(documents: Iterable[str], min_chars: int = 40) -> list[str]:
    """The documents with every repeated paragraph removed after its first occurrence.

    A paragraph is the text between blank lines; two paragraphs are the same when they are equal up to
    whitespace. Paragraphs shorter than ``min_chars`` (after normalising the whitespace) are always
    kept: short lines such as ``"Note:"`` or a one-line code example recur naturally. The documents are
    visited in the given order, so the first copy stays where it was. Without this, a text held out
    from one document can appear word for word in another document's training part, and a model that
    memorises (an n-gram table does) gets credit for text it has already seen.
    """
    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 0:
        raise ValueError(f"min_chars must be a non-negative int, got {min_chars!r}")
    seen: set[str] = set()
    out = []
    for text in documents:
        kept = []
        for paragraph in text.split("\n\n"):
            key = _normalised(paragraph)
            if len(key) >= min_chars and key in seen:
                continue
            seen.add(key)
            kept.append(paragraph)
        out.append("\n\n".join(kept))
    return out


def pydoc_corpus(valid_fraction: float = 0.1, dedup: bool = True) -> tuple[str, str]:
    """``(train_text, valid_text)`` from the documentation topics (in topic-name order), each topic
    split by :func:`split_documents`: its first ``1 - valid_fraction`` to training, the rest to
    validation. With ``dedup`` (the default) repeated paragraphs are removed first
    (:func:`dedup_paragraphs`), so that no validation paragraph is a copy of a training one.
    Deterministic for a given Python version."""
    topics = pydoc_topics().values()
    return split_documents(dedup_paragraphs(topics) if dedup else topics, valid_fraction)


def pydoc_splits(
    valid_fraction: float = 0.05, test_fraction: float = 0.05, dedup: bool = True
) -> tuple[str, str, str]:
    """``(train_text, valid_text, test_text)`` from the documentation topics, each topic cut by
    :func:`split_documents_three` (by default 90% / 5% / 5%), repeated paragraphs removed first when
    ``dedup``. The training part is the same text as :func:`pydoc_corpus`'s (with the same total held
    out); the held-out tail is cut in two: one part to choose settings on, one to report."""
    topics = pydoc_topics().values()
    return split_documents_three(dedup_paragraphs(topics) if dedup else topics, valid_fraction, test_fraction)


def python_source(modules: Iterable[str]) -> dict[str, str]:
    """``{module: source code}`` of the named pure-Python standard-library modules, in the order given.

    A module without a ``.py`` file (built into the interpreter, or frozen) raises ValueError.
    """
    sources = {}
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = getattr(spec, "origin", None)
        if origin is None or not origin.endswith(".py"):
            raise ValueError(f"module {name!r} has no Python source file (origin {origin!r})")
        sources[name] = Path(origin).read_text(encoding="utf-8")
    if not sources:
        raise ValueError("modules is empty: name at least one module")
    return sources


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


def random_windows(
    tokens: Int[Tensor, " n"], context: int, batch_size: int, seed: int = 0
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """``get_batch(step) -> (x, y)``, both ``(batch_size, context)``: windows of ``tokens`` at random
    starts, ``y`` being ``x`` shifted left by one (the next tokens).

    The starts of step ``s`` come from a generator seeded with ``(seed, s)``, so a batch depends only
    on the step (what :class:`tfmcourse.train.Trainer` needs to resume exactly).
    """
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    for name, n in (("context", context), ("batch_size", batch_size)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if tokens.numel() < context + 1:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}: too short for context={context} + 1")
    offsets = torch.arange(context + 1)

    def get_batch(step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, tokens.numel() - context, (batch_size,), generator=gen)
        w = tokens[starts[:, None] + offsets]
        return w[:, :-1], w[:, 1:]

    return get_batch


def _check_period(period: object, repeats: object) -> None:
    for name, n in (("period", period), ("repeats", repeats)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if period * repeats < 2:
        raise ValueError(
            f"period * repeats must be at least 2 (one token and the next), got {period} * {repeats}"
        )


def repeated_passages(tokens: Int[Tensor, " n"], period: int, repeats: int) -> Int[Tensor, "rows width"]:
    """Consecutive passages of ``period`` tokens, each written ``repeats`` times in a row:
    ``(len(tokens) // period, period * repeats)``. Row ``r`` is ``tokens[r * period : (r + 1) * period]``
    repeated; the last partial passage is dropped. A text that refers back to itself, in the extreme:
    from the second copy on, every next token is in the row already, ``period`` positions back."""
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    _check_period(period, repeats)
    n = tokens.numel() // period
    if n < 1:
        raise ValueError(
            f"tokens has shape {tuple(tokens.shape)}: too short for one passage of period={period}"
        )
    return tokens[: n * period].reshape(n, period).repeat(1, repeats)


def repeated_windows(
    tokens: Int[Tensor, " n"], period: int, repeats: int, batch_size: int, seed: int = 0
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """Like :func:`random_windows`, for repeated passages: ``get_batch(step) -> (x, y)``, both
    ``(batch_size, period * repeats - 1)``. Each row is a passage of ``period`` tokens at a random start,
    written ``repeats`` times (see :func:`repeated_passages`); ``y`` is ``x`` shifted by one. The starts
    of step ``s`` depend only on ``(seed, s)``."""
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens))}")
    _check_period(period, repeats)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if tokens.numel() < period:
        raise ValueError(f"tokens has shape {tuple(tokens.shape)}: too short for period={period}")
    offsets = torch.arange(period)

    def get_batch(step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, tokens.numel() - period + 1, (batch_size,), generator=gen)
        w = tokens[starts[:, None] + offsets].repeat(1, repeats)
        return w[:, :-1], w[:, 1:]

    return get_batch
