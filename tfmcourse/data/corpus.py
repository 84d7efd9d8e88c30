"""A real text corpus that needs no download, and the tokenizers (分词器) for it (chapters 9 and 10).

**The text.** Python ships its own documentation topics (the pages ``help("if")`` shows) in the
standard library module ``pydoc_data.topics``: about 80 topics and 465,000 characters of English prose
and code examples (the exact text depends on the Python version). :func:`pydoc_corpus` splits every
topic at a line boundary, the first 90% to training and the rest to validation, so both halves cover
every topic and the split is the same on every run. :func:`python_source` reads the source code of a
few standard-library modules: a different style of text, used for fine-tuning in chapter 10, split
the same way with :func:`split_documents`. Both are part of Python and covered by the PSF License
(:data:`LICENSE`).

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
    "pydoc_corpus",
    "split_documents",
    "python_source",
    "CharTokenizer",
    "train_bpe",
    "random_windows",
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
    if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)) or not 0.0 < valid_fraction < 1.0:
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


def pydoc_corpus(valid_fraction: float = 0.1) -> tuple[str, str]:
    """``(train_text, valid_text)`` from the documentation topics (in topic-name order), each topic
    split by :func:`split_documents`: its first ``1 - valid_fraction`` to training, the rest to
    validation. Deterministic for a given Python version."""
    return split_documents(pydoc_topics().values(), valid_fraction)


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
            raise ValueError(f"character {e.args[0]!r} is not in the tokenizer's {self.vocab_size} characters") from None

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
        raise ValueError(f"vocab_size must be an int >= 258 (1 special + 256 bytes + 1 merge), got {vocab_size!r}")
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
