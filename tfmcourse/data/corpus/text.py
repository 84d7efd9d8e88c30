"""The text of chapters 9 and 10, offline: Python's own documentation topics and standard-library source,
de-duplicated and split into training, validation and test parts at line boundaries."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

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
