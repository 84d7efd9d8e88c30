"""Tests of tfmcourse.data.corpus: the offline corpus, its split, the tokenizers and the batches."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.data.corpus import (
    END_OF_TEXT,
    LICENSE,
    CharTokenizer,
    pydoc_corpus,
    pydoc_topics,
    python_source,
    random_windows,
    split_documents,
    train_bpe,
)


@pytest.fixture(scope="module")
def corpus():
    return pydoc_corpus()


def test_the_corpus_is_real_text_and_deterministic(corpus):
    train, valid = corpus
    topics = pydoc_topics()
    assert len(topics) > 50 and list(topics) == sorted(topics)
    total = sum(len(t) for t in topics.values())
    assert total > 200_000  # ~465k characters in Python 3.11
    assert 0.85 * total < len(train) + len(valid) < 1.05 * total
    assert 0.07 < len(valid) / (len(train) + len(valid)) < 0.13
    assert "assert" in train and "statement" in valid
    assert pydoc_corpus() == corpus
    assert "PSF License" in LICENSE


def test_every_topic_is_split_at_a_line_boundary(corpus):
    train, valid = corpus
    for name, text in list(pydoc_topics().items())[:20]:
        text = text.strip("\n") + "\n"
        cut = text.find("\n", int(len(text) * 0.9)) + 1
        assert text[:cut] in train and text[:cut].endswith("\n")
        if text[cut:]:
            assert text[cut:] in valid, name


def test_valid_fraction_is_checked():
    for bad in (0, 1, -0.1, "0.1"):
        with pytest.raises(ValueError, match="valid_fraction"):
            pydoc_corpus(bad)


def test_char_tokenizer_round_trip(corpus):
    train, valid = corpus
    tok = CharTokenizer(train + valid)
    assert 60 < tok.vocab_size < 200 and tok.chars == sorted(tok.chars)
    ids = tok.encode(valid[:500])
    assert ids.dtype == torch.long and ids.shape == (500,)
    assert tok.decode(ids) == valid[:500] == tok.decode(ids.tolist())
    with pytest.raises(ValueError, match="not in"):
        tok.encode("日本")
    with pytest.raises(ValueError):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError):
        CharTokenizer("")


def test_bpe_round_trip_compression_and_determinism(corpus):
    train, valid = corpus
    sample = train[:60_000]
    tok = train_bpe([sample], vocab_size=300)
    assert tok.get_vocab_size() == 300 and tok.token_to_id(END_OF_TEXT) == 0
    ids = tok.encode(valid[:5000]).ids
    assert tok.decode(ids) == valid[:5000]
    assert len(ids) < 0.8 * 5000  # merges make the sequence shorter than its bytes
    assert tok.decode(tok.encode("日本 ünïcode").ids) == "日本 ünïcode"  # byte level: nothing is unknown
    again = train_bpe([sample], vocab_size=300)
    assert again.to_str() == tok.to_str()
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe([sample], vocab_size=100)


def test_random_windows():
    tokens = torch.arange(1000)
    get_batch = random_windows(tokens, context=16, batch_size=8, seed=3)
    x, y = get_batch(5)
    assert x.shape == y.shape == (8, 16)
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)
    assert torch.equal(get_batch(5)[0], x) and not torch.equal(get_batch(6)[0], x)
    assert not torch.equal(random_windows(tokens, 16, 8, seed=4)(5)[0], x)
    assert int(y.max()) <= 999
    with pytest.raises(ValueError, match="context"):
        random_windows(tokens, 0, 8)
    with pytest.raises(ValueError, match="too short"):
        random_windows(tokens[:10], 16, 8)
    with pytest.raises(ValueError, match="tokens"):
        random_windows(tokens.float(), 16, 8)


def test_python_source_and_split_documents():
    src = python_source(["textwrap", "heapq"])
    assert list(src) == ["textwrap", "heapq"]
    assert "def dedent" in src["textwrap"] and "def heappush" in src["heapq"]
    train, valid = split_documents(src.values(), 0.2)
    assert "class TextWrapper" in train and "def dedent" in valid and 0.1 < len(valid) / (len(train) + len(valid)) < 0.3
    assert split_documents(["a\nb\nc\nd\n"], 0.5) == ("a\nb\nc\n", "d\n")
    with pytest.raises(ValueError, match="empty"):
        split_documents([], 0.1)
    with pytest.raises(ValueError, match="source"):
        python_source(["sys"])
    with pytest.raises(ValueError, match="empty"):
        python_source([])
