"""Checkers for the exercises of chapter 11 (BERT: the padding mask, 80/10/10 masking, the [CLS] classifier).

Each checker computes its references first, then runs the learner's function (with the built-in or
package function it re-implements forbidden) and, when the answer is wrong, names the likely mistake::

    from tfmcourse.exercises import ch11 as check
    check.masked_self_attention(masked_self_attention)
    check.bert_masking(bert_masking)
    check.cls_classifier(cls_classifier)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

# Imported here, before any checker patches a name: `forbidden` resolves its dotted paths one after the
# other, so a module first imported inside the block would bind the refusing stand-in for good.
import tfmcourse.data.mlm  # noqa: F401
import tfmcourse.models.bert  # noqa: F401
from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

__all__ = ["masked_self_attention", "bert_masking", "cls_classifier"]

PAD, CLS, SEP, MASK, NUM_SPECIAL, IGNORE = 0, 2, 3, 4, 5, -100

# ---------------------------------------------------------------------------------------- hints

HINT_NO_MASK = (
    "The padding is not masked: the real tokens also attend to the [PAD] positions. Build the mask "
    "ids != pad_id (True = a real key) and set the scores of the padding keys to -inf before the softmax."
)
HINT_MASK_INVERTED = (
    "The mask is inverted: a query may attend to the keys where ids != pad_id (the real tokens); the "
    "padding keys get -inf."
)
HINT_MASK_QUERIES = (
    "The mask hides padding *queries* (rows) instead of padding *keys* (columns): the mask has shape "
    "(batch, 1, seq_k) and broadcasts over the queries; every query, padding included, attends to the real "
    "keys."
)
HINT_ZERO_FILL = (
    "The padding scores are set to 0 instead of -inf: exp(0) is not 0, so the padding keys still get "
    "weight. Use masked_fill(~mask, float('-inf'))."
)
HINT_AFTER_SOFTMAX = (
    "The padding weights are zeroed after the softmax without renormalising: the remaining weights no "
    "longer sum to 1. Mask the scores with -inf *before* the softmax."
)
HINT_NO_SCALE = "The scores are not scaled: divide q @ k^T by sqrt(d)."
HINT_AXIS = "The softmax runs over the wrong axis: each query normalises over the keys, dim=-1."

HINT_STUB_GEN = (
    "Draw every random number from the `generator` argument (torch.rand(..., generator=generator), "
    "torch.randint(..., generator=generator)): called twice with generators seeded alike, the function "
    "must give the same result."
)
HINT_LABELS_EVERYWHERE = (
    "labels must be -100 (ignored by the loss) at every position that was not picked, and the original "
    "token at the picked ones: the loss is computed on the 15% picked tokens only."
)
HINT_LABELS_INPUTS = (
    "labels hold the *corrupted* inputs ([MASK] or the random token): they must hold the *original* ids "
    "at the picked positions, what the model has to recover."
)
HINT_SPECIALS = (
    "Special tokens were picked ([PAD], [CLS], [SEP], ids < 5): only ordinary tokens (id >= 5) may be "
    "masked, replaced or predicted."
)
HINT_UNPICKED_CHANGED = (
    "A token that was not picked (label -100) was changed: only the picked positions may differ from ids."
)
HINT_RATE = "About 15% of the ordinary tokens must be picked (each with probability p = 0.15)."
HINT_ALL_MASK = (
    "Every picked token became [MASK]: BERT replaces 80% of them with [MASK], 10% with a random token "
    "and keeps 10% unchanged, so the model cannot rely on seeing [MASK] where it must predict."
)
HINT_SPLIT = (
    "The 80/10/10 split is off: of the picked tokens, 80% become [MASK], 10% a random ordinary token and "
    "10% stay unchanged. (Draw one uniform number per token: < 0.8 mask, < 0.9 random, else keep.)"
)
HINT_RANDOM_SPECIAL = (
    "Some random replacements are special tokens: draw them from the ordinary tokens, "
    "torch.randint(5, vocab_size, ...)."
)

HINT_MEAN_POOL = (
    "You averaged the hidden states over the positions: BERT's classifier reads the vector of the first "
    "position, [CLS] (hidden[:, 0])."
)
HINT_LAST = "You used the last position: BERT's classifier reads the first position, [CLS] (hidden[:, 0])."
HINT_NO_TANH = "The pooler's tanh is missing: logits = classifier(tanh(pooler(hidden[:, 0])))."
HINT_RELU = "The pooler uses tanh, not ReLU: logits = classifier(tanh(pooler(hidden[:, 0])))."
HINT_NO_ATTN_MASK = (
    "The attention_mask is not passed to bert: the [CLS] vector then depends on the padding. Call "
    "bert(ids, attention_mask)."
)
HINT_PROBS = "You returned probabilities (softmax): return the logits; the loss applies the softmax itself."
HINT_NO_POOLER = "The pooler is skipped: apply pooler and tanh to the [CLS] vector before the classifier."


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


@contextmanager
def _forbidden_method(fn: Callable[..., Any], cls: type, name: str) -> Iterator[None]:
    """Within the block, calling ``cls.name`` raises the hint of :func:`tfmcourse.exercises.forbidden`
    (that helper takes module-level names; this one a method of a class)."""
    original = getattr(cls, name)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ExerciseError(
            f"Write it yourself, without {cls.__module__}.{cls.__name__}.{name}: this exercise "
            f"builds what that method does. (`{getattr(fn, '__name__', 'your function')}` called it.)"
        )

    setattr(cls, name, refuse)
    try:
        yield
    finally:
        setattr(cls, name, original)


# --------------------------------------------------------------- 1. attention with a padding mask


def _attention_variant(
    x: Tensor,
    ids: Tensor,
    pad_id: int,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    mistake: str = "",
    keep_nan: bool = False,
) -> Tensor:
    """Single-head self-attention with the padding keys masked, written with one ``mistake``."""
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scale = 1.0 if mistake == "no_scale" else 1 / math.sqrt(x.shape[-1])
    scores = q @ k.transpose(-2, -1) * scale
    real = ids != pad_id  # (batch, seq)
    keys = {"inverted": ~real}.get(mistake, real)[:, None, :]  # (batch, 1, seq_k)
    if mistake == "queries":
        keys = real[:, :, None]  # (batch, seq_q, 1)
    if mistake == "no_mask":
        weights = torch.softmax(scores, dim=-1)
    elif mistake == "zero_fill":
        weights = torch.softmax(scores.masked_fill(~keys, 0.0), dim=-1)
    elif mistake == "after_softmax":
        weights = torch.softmax(scores, dim=-1) * keys
    else:
        weights = torch.softmax(scores.masked_fill(~keys, float("-inf")), dim=-2 if mistake == "axis" else -1)
    return (weights if keep_nan else torch.nan_to_num(weights)) @ v


_ATTENTION_MISTAKES = {
    "no_mask": HINT_NO_MASK,
    "inverted": HINT_MASK_INVERTED,
    "queries": HINT_MASK_QUERIES,
    "zero_fill": HINT_ZERO_FILL,
    "after_softmax": HINT_AFTER_SOFTMAX,
    "no_scale": HINT_NO_SCALE,
    "axis": HINT_AXIS,
}

_ATTENTION_FORBIDDEN = (
    "torch.nn.functional.scaled_dot_product_attention",
    "tfmcourse.attention.scaled_dot_product_attention",
    "tfmcourse.attention.masked_softmax",
    "tfmcourse.models.bert.attention_mask_from_padding",
)


@checker
def masked_self_attention(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, ids, pad_id, w_q, w_k, w_v) -> (batch, seq, d)``: single-head self-attention in
    which no query attends to a padding key (``ids == pad_id``), scores scaled by ``1/sqrt(d)``."""
    g = _gen(2111)
    cases = []
    for b, s, d, pad_id, lengths in [(3, 6, 8, 0, [6, 4, 2]), (2, 5, 4, 0, [3, 5]), (2, 7, 6, 9, [1, 5])]:
        ids = torch.randint(pad_id + 1, pad_id + 50, (b, s), generator=g)
        for i, n in enumerate(lengths):
            ids[i, n:] = pad_id
        x = _randn(b, s, d, g=g)
        ws = [_randn(d, d, g=g, scale=1.5 / math.sqrt(d)) for _ in range(3)]
        cases.append((x, ids, pad_id, *ws))
    wants = [_attention_variant(*c) for c in cases]  # references first
    for case, want in zip(cases, wants):
        x, ids, pad_id = case[:3]
        where = f"masked_self_attention(x {tuple(x.shape)}, ids {tuple(ids.shape)}, pad_id={pad_id}, ...)"
        with forbidden(fn, *_ATTENTION_FORBIDDEN):
            got = run(fn, *case)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return only the output tensor.")
        if isinstance(got, Tensor) and got.shape == want.shape and torch.isnan(got).any():
            hint = HINT_MASK_INVERTED
            for m in ("queries", "axis", "inverted"):
                if torch.equal(
                    torch.isnan(got), torch.isnan(_attention_variant(*case, mistake=m, keep_nan=True))
                ):
                    hint = _ATTENTION_MISTAKES[m]
            raise ExerciseError(
                f"{where} contains NaN: a query row whose keys are all -inf gives "
                f"softmax(-inf, ..., -inf) = NaN. {hint}"
            )
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _ATTENTION_MISTAKES, lambda m: _attention_variant(*case, mistake=m))
        _fail(
            got,
            want,
            where,
            hint
            or "Compute q, k, v; scores = q @ k^T / sqrt(d); set the scores of the "
            "padding keys to -inf; softmax over the keys; multiply by v.",
        )
    passed("masked_self_attention", f"{len(cases)} padded batches")


# ------------------------------------------------------------------------- 2. 80/10/10 masking


def _ids_batch(g: torch.Generator, vocab_size: int, batch: int = 64, seq: int = 512) -> Tensor:
    """``[CLS] tokens [SEP] [PAD]...`` rows of ordinary ids, each with its own length."""
    ids = torch.randint(NUM_SPECIAL, vocab_size, (batch, seq), generator=g)
    lengths = torch.randint(seq // 2, seq + 1, (batch,), generator=g)
    for i, n in enumerate(lengths.tolist()):
        ids[i, 0] = CLS
        ids[i, n - 1] = SEP
        ids[i, n:] = PAD
    return ids


def _as_pair(got: Any, where: str) -> tuple[Tensor, Tensor]:
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(t, Tensor) for t in got)):
        raise ExerciseError(
            f"{where} must return a pair of tensors (inputs, labels), got {type(got).__name__}."
        )
    return got[0], got[1]


@checker
def bert_masking(fn: Callable[[Tensor, int, torch.Generator], tuple[Tensor, Tensor]]) -> None:
    """Check ``fn(ids, vocab_size, generator) -> (inputs, labels)``: BERT's masking of the ordinary
    tokens (id >= 5): each picked with probability 0.15; a picked token becomes ``[MASK]`` (id 4) with
    probability 0.8, a random ordinary token with probability 0.1, stays itself with probability 0.1;
    ``labels`` are the original ids at the picked positions and -100 elsewhere. Checked statistically
    on about 25,000 tokens per vocabulary size."""
    for vocab_size, seed in ((30, 2112), (1000, 2113)):
        ids = _ids_batch(_gen(seed), vocab_size)
        original = ids.clone()
        where = f"bert_masking(ids {tuple(ids.shape)}, vocab_size={vocab_size}, generator)"
        with forbidden(fn, "tfmcourse.data.mlm.mask_tokens"):
            first = _as_pair(run(fn, ids, vocab_size, _gen(seed + 7)), where)
            torch.manual_seed(seed + 99)  # another global state: a correct function does not care
            second = _as_pair(run(fn, ids, vocab_size, _gen(seed + 7)), where)
        inputs, labels = first
        for name, t in (("inputs", inputs), ("labels", labels)):
            if tuple(t.shape) != tuple(ids.shape):
                raise ExerciseError(
                    f"{where}: {name} has shape {tuple(t.shape)}, expected {tuple(ids.shape)}."
                )
            if t.is_floating_point() or t.dtype == torch.bool:
                raise ExerciseError(
                    f"{where}: {name} has dtype {t.dtype}; token ids are integers (torch.long)."
                )
        if not (torch.equal(inputs, second[0]) and torch.equal(labels, second[1])):
            raise ExerciseError(f"{where}: {HINT_STUB_GEN}")
        picked = labels != IGNORE
        special = original < NUM_SPECIAL
        if picked.all() or (~picked & ~special).sum() == 0:
            raise ExerciseError(f"{where}: {HINT_LABELS_EVERYWHERE}")
        if (picked & special).any() or not torch.equal(inputs[special], original[special]):
            raise ExerciseError(f"{where}: {HINT_SPECIALS}")
        if not torch.equal(inputs[~picked], original[~picked]):
            raise ExerciseError(f"{where}: {HINT_UNPICKED_CHANGED}")
        if not torch.equal(labels[picked], original[picked]):
            hint = (
                HINT_LABELS_INPUTS if torch.equal(labels[picked], inputs[picked]) else HINT_LABELS_EVERYWHERE
            )
            raise ExerciseError(f"{where}: {hint}")
        rate = picked.sum().item() / (~special).sum().item()
        if abs(rate - 0.15) > 0.015:
            raise ExerciseError(f"{where}: {rate:.1%} of the ordinary tokens were picked. {HINT_RATE}")
        n = picked.sum().item()
        masked = (inputs[picked] == MASK).sum().item() / n
        kept = (inputs[picked] == original[picked]).sum().item() / n
        changed = inputs[picked] != original[picked]
        random_ids = inputs[picked][changed & (inputs[picked] != MASK)]
        if masked > 0.97:
            raise ExerciseError(f"{where}: {masked:.0%} of the picked tokens became [MASK]. {HINT_ALL_MASK}")
        if (random_ids < NUM_SPECIAL).any():
            raise ExerciseError(f"{where}: {HINT_RANDOM_SPECIAL}")
        # A random draw equals the original with probability 1 / (vocab_size - 5): count it as a random one.
        p_same = 1 / (vocab_size - NUM_SPECIAL)
        want_random, want_kept = 0.1 * (1 - p_same), 0.1 + 0.1 * p_same
        got_random = random_ids.numel() / n
        if abs(masked - 0.8) > 0.04 or abs(got_random - want_random) > 0.03 or abs(kept - want_kept) > 0.03:
            raise ExerciseError(
                f"{where}: of the picked tokens {masked:.0%} became [MASK], {got_random:.0%} a random "
                "token and "
                f"{kept:.0%} stayed. {HINT_SPLIT}"
            )
    passed("bert_masking", "15% picked, 80/10/10, labels and specials checked on two vocabularies")


# ------------------------------------------------------------------------- 3. [CLS] classifier


def _classify_variant(
    bert: nn.Module, ids: Tensor, mask: Tensor, pooler: nn.Linear, classifier: nn.Linear, mistake: str = ""
) -> Tensor:
    hidden = bert(ids) if mistake == "no_attn_mask" else bert(ids, mask)
    if mistake == "mean":
        vec = hidden.mean(dim=1)
    elif mistake == "last":
        vec = hidden[:, -1]
    else:
        vec = hidden[:, 0]
    act = {"no_tanh": lambda t: t, "relu": torch.relu}.get(mistake, torch.tanh)
    logits = classifier(vec) if mistake == "no_pooler" else classifier(act(pooler(vec)))
    return torch.softmax(logits, dim=-1) if mistake == "probs" else logits


_CLASSIFY_MISTAKES = {
    "mean": HINT_MEAN_POOL,
    "last": HINT_LAST,
    "no_tanh": HINT_NO_TANH,
    "relu": HINT_RELU,
    "no_attn_mask": HINT_NO_ATTN_MASK,
    "probs": HINT_PROBS,
    "no_pooler": HINT_NO_POOLER,
}


@checker
def cls_classifier(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(bert, ids, attention_mask, pooler, classifier) -> (batch, num_labels)``:
    ``classifier(tanh(pooler(bert(ids, attention_mask)[:, 0])))``, the logits of BERT's sequence
    classifier read from the ``[CLS]`` position."""
    from tfmcourse.models.bert import BERT, BertClassifier, BertConfig

    torch.manual_seed(2114)
    config = BertConfig(vocab_size=40, max_len=16, d_model=16, num_layers=2, num_heads=2, dropout=0.0)
    bert = BERT(config).double().eval()
    pooler, classifier = nn.Linear(16, 16).double(), nn.Linear(16, 3).double()
    with torch.no_grad():
        for lin in (pooler, classifier):
            lin.weight.normal_(0, 0.5)
            lin.bias.normal_(0, 0.5)
    g = _gen(2115)
    ids = torch.randint(NUM_SPECIAL, 40, (4, 9), generator=g)
    ids[:, 0] = CLS
    for i, n in enumerate([9, 6, 4, 2]):
        ids[i, n - 1] = SEP
        ids[i, n:] = PAD
    mask = (ids != PAD).long()
    parts = (bert, pooler, classifier)
    with torch.no_grad():
        want = _classify_variant(bert, ids, mask, pooler, classifier)
        mutants = {m: _classify_variant(bert, ids, mask, pooler, classifier, m) for m in _CLASSIFY_MISTAKES}
    copies = [copy.deepcopy(p) for p in parts]  # the learner gets copies: ours stay untouched
    where = "cls_classifier(bert, ids (4, 9) with padding, attention_mask, pooler, classifier)"
    with torch.no_grad(), _forbidden_method(fn, BertClassifier, "forward"):
        got = run(fn, copies[0], ids, mask, copies[1], copies[2])
    if isinstance(got, Tensor) and is_close(got, want):
        passed("cls_classifier", "a padded batch through a 2-layer BERT")
        return
    hint = ""
    if isinstance(got, Tensor):
        for m, h in _CLASSIFY_MISTAKES.items():
            if is_close(got, mutants[m]):
                hint = h
                break
    _fail(
        got,
        want,
        where,
        hint or "Run bert(ids, attention_mask), take position 0 ([CLS]), then pooler, tanh and classifier.",
    )
