"""Checkers for the exercises of chapter 7 (training a translator).

Each checker runs the learner's function on small seeded cases and compares it with the package's
reference; when the answer is wrong it compares it with what each common mistake would give and names
the mistake::

    from tfmcourse.exercises import ch07 as check
    check.label_smoothed_loss(label_smoothed_loss)
    check.warmup_lr(warmup_lr)
    check.greedy(greedy)
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse.decode import greedy_decode as _ref_greedy
from tfmcourse.exercises import ExerciseError, expect_shape, is_close, passed, run
from tfmcourse.train import noam_lr as _ref_noam

__all__ = ["label_smoothed_loss", "warmup_lr", "greedy"]

# ------------------------------------------------------------------------------ label smoothing

HINT_NO_SMOOTHING = (
    "Your loss is the plain cross entropy: the smoothing is not applied. Mix the two terms: "
    "(1 - smoothing) * (-log p[target]) + smoothing * (mean over the vocabulary of -log p)."
)
HINT_PAD_COUNTED = (
    "Padding positions are counted: positions whose target is pad_id must contribute nothing. Zero their "
    "loss and average over the other positions only."
)
HINT_PAD_DENOMINATOR = (
    "You zeroed the padding positions but divided by the number of all positions: divide by the number "
    "of non-padding targets, (target != pad_id).sum()."
)
HINT_V_MINUS_1 = (
    "You spread the smoothing over the vocab - 1 wrong tokens only. In this book (and in PyTorch's "
    "label_smoothing) it is spread over all vocab tokens, the right one included: the smoothing term is "
    "-log_probs.mean(dim=-1)."
)
HINT_SUM_VOCAB = (
    "The smoothing term sums -log p over the vocabulary; it should average it (mean over the last axis), "
    "since each token gets smoothing / vocab of the target probability."
)
HINT_SWAPPED = "The two weights are swapped: the right token gets 1 - smoothing, the uniform part gets smoothing."
HINT_PROBS = "Use log-probabilities (logits.log_softmax(dim=-1)), not probabilities, in the cross entropy."
HINT_NOT_SCALAR = "Return one number for the whole batch: a 0-dimensional tensor (the mean over the kept positions)."
HINT_NO_GRAD = (
    "Your loss does not carry gradients back to the logits (did you call .item(), .detach() or build a new "
    "tensor?). Keep it a tensor computed from the logits."
)


def _loss_variant(logits: Tensor, target: Tensor, smoothing: float, pad_id: int, mistake: str = "") -> Tensor:
    """The label-smoothed loss written with one plausible ``mistake`` ("" gives the right answer)."""
    vocab = logits.shape[-1]
    log_p = logits.softmax(-1) if mistake == "probs" else logits.log_softmax(-1)
    keep = target != pad_id
    nll = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    if mistake == "v_minus_1":
        uniform = (-log_p.sum(-1) - nll) / (vocab - 1)
    elif mistake == "sum_vocab":
        uniform = -log_p.sum(-1)
    else:
        uniform = -log_p.mean(-1)
    eps = 0.0 if mistake == "no_smoothing" else smoothing
    loss = eps * nll + (1 - eps) * uniform if mistake == "swapped" else (1 - eps) * nll + eps * uniform
    if mistake == "pad_counted":
        return loss.mean()
    loss = loss * keep
    if mistake == "pad_denominator":
        return loss.sum() / loss.numel()
    return loss.sum() / keep.sum()


_LOSS_MISTAKES = {
    "no_smoothing": HINT_NO_SMOOTHING,
    "pad_counted": HINT_PAD_COUNTED,
    "pad_denominator": HINT_PAD_DENOMINATOR,
    "v_minus_1": HINT_V_MINUS_1,
    "sum_vocab": HINT_SUM_VOCAB,
    "swapped": HINT_SWAPPED,
    "probs": HINT_PROBS,
}


def label_smoothed_loss(fn: Callable[[Tensor, Tensor, float, int], Tensor]) -> None:
    """Check ``fn(logits (batch, seq, vocab), target (batch, seq), smoothing, pad_id) -> scalar``: the
    label-smoothed cross entropy averaged over the non-padding positions."""
    g = torch.Generator().manual_seed(707)
    cases = []
    for batch, seq, vocab, smoothing, pad_id in ((2, 5, 7, 0.1, 0), (3, 4, 11, 0.3, 0), (2, 6, 5, 0.2, 4)):
        logits = (torch.randn(batch, seq, vocab, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
        target = torch.randint(0, vocab, (batch, seq), generator=g)
        target[target == pad_id] = (pad_id + 1) % vocab  # padding only where we put it
        target[0, seq - 2 :] = pad_id
        target[-1, -1] = pad_id
        cases.append((logits, target, smoothing, pad_id))
    for logits, target, smoothing, pad_id in cases:
        what = (f"label_smoothed_loss(logits {tuple(logits.shape)}, target {tuple(target.shape)}, "
                f"smoothing={smoothing}, pad_id={pad_id})")
        got = run(fn, logits, target, smoothing, pad_id)
        want = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                               label_smoothing=smoothing, ignore_index=pad_id)
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{what} returned a {type(got).__name__}. {HINT_NOT_SCALAR}")
        if got.numel() != 1 or got.ndim != 0:
            raise ExerciseError(f"{what} has shape {tuple(got.shape)}. {HINT_NOT_SCALAR}")
        if is_close(got, want, atol=1e-8):
            if not got.requires_grad:
                raise ExerciseError(f"{what}: {HINT_NO_GRAD}")
            continue
        hint = next((h for m, h in _LOSS_MISTAKES.items()
                     if is_close(got, _loss_variant(logits.detach(), target, smoothing, pad_id, m), atol=1e-8)), "")
        raise ExerciseError(
            f"{what} is {got.item():.6f} but should be {want.item():.6f}. "
            f"{hint or 'Per position: (1 - smoothing) * -log p[target] + smoothing * mean(-log p); then average over the non-padding positions.'}"
        )
    passed("label_smoothed_loss", f"{len(cases)} cases, equal to F.cross_entropy(label_smoothing=...)")


# ------------------------------------------------------------------------------ warmup schedule

HINT_NO_DMODEL = "Missing the factor d_model ** -0.5 in front of the min(...)."
HINT_MAX = "Use min(...), not max(...): the schedule is the smaller of the two curves (a rise, then a decay)."
HINT_WARMUP_BRANCH = (
    "The values after the warmup are right but not during it: the rising part is step * warmup ** -1.5 "
    "(so that both parts meet at step = warmup)."
)
HINT_DECAY_BRANCH = "The values during warmup are right but not after: the decay is step ** -0.5 (1 / sqrt(step))."
HINT_NOT_NUMBER = "Return a number (a Python float): the learning rate at this step."


def _noam_variant(step: int, d_model: int, warmup: int, mistake: str) -> float:
    rise, decay = step * warmup**-1.5, step**-0.5
    if mistake == "warmup_branch":
        rise = step * warmup**-0.5
    if mistake == "warmup_branch_2":
        rise = step / warmup
    if mistake == "decay_branch":
        decay = step**-1.0
    scale = 1.0 if mistake == "no_dmodel" else d_model**-0.5
    return scale * (max(rise, decay) if mistake == "max" else min(rise, decay))


_NOAM_MISTAKES = {
    "no_dmodel": HINT_NO_DMODEL,
    "max": HINT_MAX,
    "warmup_branch": HINT_WARMUP_BRANCH,
    "warmup_branch_2": HINT_WARMUP_BRANCH,
    "decay_branch": HINT_DECAY_BRANCH,
}


def warmup_lr(fn: Callable[[int, int, int], float]) -> None:
    """Check ``fn(step, d_model, warmup) -> lr``, the schedule of Vaswani et al. (2017), step from 1."""
    configs = [(512, 4000), (64, 100), (128, 10)]
    count = 0
    for d_model, warmup in configs:
        steps = [1, 2, warmup // 2, warmup - 1, warmup, warmup + 1, 3 * warmup, 50 * warmup]
        got_all, want_all = [], []
        for step in steps:
            got = run(fn, step, d_model, warmup)
            if isinstance(got, Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                raise ExerciseError(f"warmup_lr({step}, {d_model}, {warmup}) returned a {type(got).__name__}. {HINT_NOT_NUMBER}")
            got_all.append(float(got))
            want_all.append(_ref_noam(step, d_model, warmup))
            count += 1
        if all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got_all, want_all)):
            continue
        hint = next((h for m, h in _NOAM_MISTAKES.items()
                     if all(math.isclose(a, _noam_variant(s, d_model, warmup, m), rel_tol=1e-9)
                            for a, s in zip(got_all, steps))), "")
        bad = next(i for i, (a, b) in enumerate(zip(got_all, want_all)) if not math.isclose(a, b, rel_tol=1e-9))
        raise ExerciseError(
            f"warmup_lr({steps[bad]}, d_model={d_model}, warmup={warmup}) is {got_all[bad]:.6g} but should be "
            f"{want_all[bad]:.6g}. {hint or 'The rate is d_model**-0.5 * min(step**-0.5, step * warmup**-1.5).'}"
        )
    passed("warmup_lr", f"{count} steps in {len(configs)} settings")


# ------------------------------------------------------------------------------ greedy decoding

HINT_BOS = "Your output starts with <bos>: return only the generated tokens (drop the <bos> you started with)."
HINT_AFTER_EOS = (
    "A row goes on after its <eos>: once a row has produced <eos>, every later position of that row must be "
    "pad_id (keep a `done` mask and fill the finished rows' new tokens with pad_id)."
)
HINT_MAX_LEN = "Your output is longer than max_len tokens: generate at most max_len tokens per row."
HINT_EARLY = (
    "You stopped before every row had produced <eos> (or reached max_len): stop only when all rows are done."
)
HINT_NOT_TENSOR = "Return a (batch, out) tensor of token ids (torch.long)."
HINT_WRONG_ARGMAX = (
    "The tokens are not the most probable ones: take the argmax of the *last* position's logits over the "
    "vocabulary, logits[:, -1].argmax(dim=-1)."
)


class _ReverseModel(nn.Module):
    """A made-up "trained" encoder-decoder for the checker: it translates a source by writing its tokens
    in reverse order, then ``<eos>``. It has the interface of :class:`tfmcourse.transformer.Transformer`
    (``encode``, ``decode`` with or without a cache, ``new_cache``), and checks the shapes it gets."""

    def __init__(self, vocab: int = 9, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2):
        super().__init__()
        self.vocab, self.pad_id, self.bos_id, self.eos_id = vocab, pad_id, bos_id, eos_id
        self.anchor = nn.Parameter(torch.zeros(()))

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        if not isinstance(src, Tensor) or src.ndim != 2:
            raise ValueError(f"encode expects src of shape (batch, seq_s), got {getattr(src, 'shape', src)}")
        return src.to(torch.float64)[:, :, None]  # the "memory": the source ids themselves

    def new_cache(self) -> list[dict]:
        return [{}]

    def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
               memory_mask: Tensor | None = None, cache: list[dict] | None = None) -> Tensor:
        if not isinstance(tgt, Tensor) or tgt.ndim != 2 or tgt.shape[0] != memory.shape[0]:
            raise ValueError(f"decode expects tgt of shape (batch, seq_t) with the memory's batch "
                             f"{memory.shape[0]}, got {getattr(tgt, 'shape', tgt)}")
        offset = 0
        if cache is not None:
            offset = cache[0].get("n", 0)
            cache[0]["n"] = offset + tgt.shape[1]
        src = memory[:, :, 0].long()
        lengths = (src != self.pad_id).sum(1)
        batch, seq_t = tgt.shape
        logits = torch.zeros(batch, seq_t, self.vocab, dtype=torch.float64)
        logits[:, :, self.pad_id] = logits[:, :, self.bos_id] = -10.0
        for b in range(batch):
            for i in range(seq_t):
                p = offset + i  # the output position this step predicts
                token = src[b, lengths[b] - 1 - p] if p < lengths[b] else self.eos_id
                logits[b, i, token] += 5.0
                logits[b, i, (token + 1) % self.vocab] += 1.0  # a runner-up, so the scores are not flat
        return logits


def _trim(x: Tensor, pad_id: int) -> Tensor:
    """Drop trailing columns that are all padding (an output may be padded to max_len or not)."""
    keep = x.shape[1]
    while keep > 0 and (x[:, keep - 1] == pad_id).all():
        keep -= 1
    return x[:, :keep]


def greedy(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(model, src, bos_id, eos_id, pad_id, max_len) -> (batch, out)``: greedy decoding that
    returns the generated ids (no ``<bos>``), ``<eos>`` then ``pad_id`` in finished rows, at most
    ``max_len`` tokens."""
    model = _ReverseModel()
    cases = [
        ("one source", torch.tensor([[3, 4, 5]]), 10),
        ("sources of different lengths", torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [5, 0, 0, 0]]), 10),
        ("max_len shorter than the output", torch.tensor([[3, 4, 5, 6, 7], [8, 3, 0, 0, 0]]), 3),
    ]
    for name, src, max_len in cases:
        what = f"greedy on {name} (src {tuple(src.shape)}, max_len={max_len})"
        got = run(fn, model, src, model.bos_id, model.eos_id, model.pad_id, max_len)
        want = _ref_greedy(model, src, bos_id=model.bos_id, eos_id=model.eos_id, pad_id=model.pad_id, max_len=max_len)
        if not isinstance(got, Tensor) or got.dtype in (torch.float16, torch.float32, torch.float64) or got.ndim != 2:
            raise ExerciseError(f"{what} returned {type(got).__name__} "
                                f"{tuple(got.shape) if isinstance(got, Tensor) else ''}. {HINT_NOT_TENSOR}")
        got = got.long()
        if got.shape[0] != src.shape[0]:
            expect_shape(got, (src.shape[0], want.shape[1]), what)
        if torch.equal(_trim(got, model.pad_id), want):
            continue
        if got.shape[1] > 0 and (got[:, 0] == model.bos_id).all():
            hint = HINT_BOS
        elif got.shape[1] > max_len:
            hint = HINT_MAX_LEN
        elif _eos_then_more(got, model.eos_id, model.pad_id):
            hint = HINT_AFTER_EOS
        elif got.shape[1] < want.shape[1] and torch.equal(got, want[:, : got.shape[1]]):
            hint = HINT_EARLY
        else:
            hint = HINT_WRONG_ARGMAX
        raise ExerciseError(f"{what} gave {got.tolist()} but should give {want.tolist()}. {hint}")
    passed("greedy", f"{len(cases)} cases: stops at <eos>, pads finished rows, respects max_len")


def _eos_then_more(x: Tensor, eos_id: int, pad_id: int) -> bool:
    """True when some row has a non-padding token after its first <eos>."""
    for row in x.tolist():
        if eos_id in row and any(t != pad_id for t in row[row.index(eos_id) + 1 :]):
            return True
    return False
