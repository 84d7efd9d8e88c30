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

from tfmcourse.data.corpus.text import (
    END_OF_TEXT,
    LICENSE,
    dedup_paragraphs,
    pydoc_corpus,
    pydoc_splits,
    pydoc_topics,
    python_source,
    split_documents,
    split_documents_three,
)
from tfmcourse.data.corpus.tokenizers import (
    CharTokenizer,
    bpe_merge_step,
    learn_bpe_merges,
    pretokenized_words,
    train_bpe,
)
from tfmcourse.data.corpus.windows import random_windows, repeated_passages, repeated_windows

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
