"""Data for encoder pre-training (chapter 11): a WordPiece tokenizer, BERT's masking, T5's span corruption.

**Tokenizer.** :func:`train_wordpiece` builds BERT's kind of tokenizer offline with the ``tokenizers``
library: lower-cased text, split into words and punctuation, each word cut into the longest pieces of
the vocabulary (``"##"`` marks a piece that continues a word); the vocabulary (frequent words and every
character) is chosen deterministically. The special tokens come first, with
the ids of :data:`SPECIAL_TOKENS`: ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4.

**Masked language modelling.** :func:`mask_tokens` picks 15% of the ordinary tokens of a batch; of
those, 80% become ``[MASK]``, 10% a random token and 10% stay as they are. The labels are the original
ids at the picked positions and ``-100`` elsewhere (``F.cross_entropy`` ignores ``-100``).
:func:`mlm_batches` draws training windows from a token stream and wraps them as ``[CLS] ... [SEP]``.

**Span corruption.** :func:`span_corruption` is T5's objective: whole spans of tokens are replaced by
one sentinel each (``<X>``, ``<Y>``, ...) in the input, and the target lists the sentinels followed by
the tokens they hid.

**Classification batches.** :func:`encode_texts` turns texts into ``[CLS] text [SEP]`` id rows, padded
with ``[PAD]``, and the matching ``attention_mask``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from jaxtyping import Int
from torch import Tensor

__all__ = [
    "SPECIAL_TOKENS",
    "PAD",
    "UNK",
    "CLS",
    "SEP",
    "MASK",
    "IGNORE",
    "train_wordpiece",
    "mask_tokens",
    "mlm_batches",
    "encode_texts",
    "span_corruption",
]

#: BERT's special tokens, in id order.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = range(5)
#: The label of a position that is not predicted (``F.cross_entropy``'s ``ignore_index``).
IGNORE = -100


def train_wordpiece(texts: Iterable[str], vocab_size: int = 2000, min_frequency: int = 2):
    """A BERT-style WordPiece tokenizer (a ``tokenizers.Tokenizer``) for ``texts``, built offline and
    deterministically.

    The text is lower-cased and split into words and punctuation as BERT does; each word is then cut
    into the longest pieces of the vocabulary, left to right, ``"##"`` marking a piece that continues a
    word. The vocabulary is :data:`SPECIAL_TOKENS` (ids 0 to 4), every character of the text alone and
    as a continuation (``"e"``, ``"##e"``: any word can be spelled), then the most frequent words (seen
    at least ``min_frequency`` times; ties in alphabetical order) up to ``vocab_size`` entries.

    (Real WordPiece also learns frequent word *pieces*; the ``tokenizers`` library's trainer does, but
    its result changes from one process to the next when counts tie, and a chapter's numbers must not.)
    ``tok.encode(text).ids`` gives the ids without ``[CLS]`` and ``[SEP]`` (we add them ourselves).
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 100:
        raise ValueError(f"vocab_size must be an int >= 100, got {vocab_size!r}")
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for word in words for c in word})
    vocab = [*SPECIAL_TOKENS, *chars, *("##" + c for c in chars)]
    if len(vocab) > vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} is too small for the {len(chars)} characters of the text "
            f"(needs at least {len(vocab)})"
        )
    frequent = sorted(
        (w for w, n in words.items() if n >= min_frequency and len(w) > 1), key=lambda w: (-words[w], w)
    )
    vocab += frequent[: vocab_size - len(vocab)]
    tok = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer, tok.decoder = normalizer, pre_tokenizer, decoders.WordPiece()
    return tok


def mask_tokens(
    ids: Int[Tensor, "batch seq"],
    vocab_size: int,
    generator: torch.Generator | None = None,
    p: float = 0.15,
    num_special: int = len(SPECIAL_TOKENS),
    mask_id: int = MASK,
) -> tuple[Int[Tensor, "batch seq"], Int[Tensor, "batch seq"]]:
    """BERT's masking: ``(inputs, labels)``, both ``(batch, seq)``.

    Each ordinary token (id ``>= num_special``: never ``[PAD]``, ``[CLS]``, ``[SEP]``) is picked with
    probability ``p``. A picked token becomes ``mask_id`` with probability 0.8, a random ordinary
    token with probability 0.1, and stays itself with probability 0.1. ``labels`` holds the original
    id at every picked position and :data:`IGNORE` (``-100``) elsewhere. ``ids`` is not modified.
    """
    if not isinstance(ids, Tensor) or ids.ndim != 2 or ids.is_floating_point():
        raise ValueError(
            f"ids must be a (batch, seq) integer tensor, got {getattr(ids, 'shape', type(ids).__name__)}"
        )
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    if not num_special < vocab_size:
        raise ValueError(f"vocab_size={vocab_size} must be larger than num_special={num_special}")
    u = torch.rand(ids.shape, generator=generator)
    picked = (u < p) & (ids >= num_special)
    how = torch.rand(ids.shape, generator=generator)  # < 0.8: [MASK]; 0.8-0.9: random; >= 0.9: kept
    random_ids = torch.randint(num_special, vocab_size, ids.shape, generator=generator)
    inputs = torch.where(picked & (how < 0.8), torch.full_like(ids, mask_id), ids)
    inputs = torch.where(picked & (how >= 0.8) & (how < 0.9), random_ids, inputs)
    labels = torch.where(picked, ids, torch.full_like(ids, IGNORE))
    return inputs, labels


def mlm_batches(
    tokens: Int[Tensor, " n"], seq_len: int, batch_size: int, vocab_size: int, seed: int = 0, p: float = 0.15
) -> Callable[[int], tuple[Tensor, Tensor]]:
    """``get_batch(step) -> (inputs, labels)``, both ``(batch_size, seq_len)``: random windows of
    ``seq_len - 2`` tokens of the stream ``tokens``, written ``[CLS] window [SEP]``, masked by
    :func:`mask_tokens`. Step ``s`` uses a generator seeded with ``(seed, s)``: a batch depends only on
    the step."""
    if not isinstance(tokens, Tensor) or tokens.ndim != 1 or tokens.is_floating_point():
        raise ValueError(
            f"tokens must be a 1-D integer tensor, got {getattr(tokens, 'shape', type(tokens).__name__)}"
        )
    if not isinstance(seq_len, int) or seq_len < 3 or tokens.numel() < seq_len:
        raise ValueError(
            f"seq_len must be an int in [3, {tokens.numel()}] (the stream's length), got {seq_len!r}"
        )
    window = seq_len - 2
    offsets = torch.arange(window)

    def get_batch(step: int) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, tokens.numel() - window + 1, (batch_size,), generator=gen)
        body = tokens[starts[:, None] + offsets]
        ids = torch.cat([torch.full((batch_size, 1), CLS), body, torch.full((batch_size, 1), SEP)], dim=1)
        return mask_tokens(ids, vocab_size, generator=gen, p=p)

    return get_batch


def encode_texts(
    tokenizer, texts: list[str], max_len: int
) -> tuple[Int[Tensor, "n seq"], Int[Tensor, "n seq"]]:
    """``(ids, attention_mask)`` of shape ``(len(texts), max_len)``: each text as ``[CLS] pieces [SEP]``,
    cut to ``max_len`` tokens and padded with ``[PAD]`` (mask 0) on the right."""
    if not isinstance(max_len, int) or max_len < 3:
        raise ValueError(f"max_len must be an int >= 3, got {max_len!r}")
    ids = torch.full((len(texts), max_len), PAD, dtype=torch.long)
    for i, text in enumerate(texts):
        pieces = [CLS, *tokenizer.encode(text).ids[: max_len - 2], SEP]
        ids[i, : len(pieces)] = torch.tensor(pieces)
    return ids, (ids != PAD).long()


def span_corruption(
    ids: Int[Tensor, " seq"],
    sentinels: list[int],
    generator: torch.Generator | None = None,
    noise_density: float = 0.15,
    mean_span: float = 3.0,
) -> tuple[Int[Tensor, " n_in"], Int[Tensor, " n_out"], list[tuple[int, int]]]:
    """T5's span corruption of one sequence: ``(inputs, targets, spans)``.

    About ``noise_density * seq`` tokens, in ``round(noise_density * seq / mean_span)`` (at least 1)
    spans that do not touch each other, are hidden. In ``inputs`` every span is replaced by one
    sentinel id (``sentinels[0]`` for the first span, ``sentinels[1]`` for the second, ...);
    ``targets`` is each sentinel followed by the tokens it hid, and a last sentinel to close.
    ``spans`` lists the ``(start, end)`` (end exclusive) positions hidden, in order.
    """
    if not isinstance(ids, Tensor) or ids.ndim != 1:
        raise ValueError(
            f"ids must be a 1-D tensor of token ids, got {getattr(ids, 'shape', type(ids).__name__)}"
        )
    n = ids.numel()
    num_noise = max(1, round(noise_density * n))
    num_spans = max(1, round(num_noise / mean_span))
    if len(sentinels) < num_spans + 1:
        raise ValueError(f"{num_spans} spans need {num_spans + 1} sentinel ids, got {len(sentinels)}")
    if n < num_noise + num_spans + 1:
        raise ValueError(
            f"ids has {n} tokens: too short to hide {num_noise} of them in {num_spans} separate spans"
        )

    # Cut the noise tokens into num_spans non-empty lengths, and the kept tokens into num_spans + 1
    # pieces (the first and last may be empty, the ones between spans not): spans never touch.
    def cut(total: int, parts: int, first_last_may_be_empty: bool) -> list[int]:
        if first_last_may_be_empty:
            lengths = cut(total + 2, parts, False)
            lengths[0] -= 1
            lengths[-1] -= 1
            return lengths
        bars = torch.randperm(total - 1, generator=generator)[: parts - 1].sort().values + 1
        edges = [0, *bars.tolist(), total]
        return [b - a for a, b in zip(edges, edges[1:])]

    noise_lengths = cut(num_noise, num_spans, False)
    keep_lengths = cut(n - num_noise, num_spans + 1, True)
    spans, pos = [], 0
    for k in range(num_spans):
        pos += keep_lengths[k]
        spans.append((pos, pos + noise_lengths[k]))
        pos += noise_lengths[k]
    inputs, targets, last = [], [], 0
    for k, (a, b) in enumerate(spans):
        inputs += [*ids[last:a].tolist(), sentinels[k]]
        targets += [sentinels[k], *ids[a:b].tolist()]
        last = b
    inputs += ids[last:].tolist()
    targets.append(sentinels[num_spans])
    return torch.tensor(inputs, dtype=ids.dtype), torch.tensor(targets, dtype=ids.dtype), spans
