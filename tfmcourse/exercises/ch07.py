"""Checkers for the exercises of chapter 7 (training a translator).

Each checker runs the learner's function on small seeded cases and compares it with the package's
reference; when the answer is wrong it compares it with what each common mistake would give and names
the mistake::

    from tfmcourse.exercises import ch07 as check
    check.label_smoothed_loss(label_smoothed_loss)
    check.warmup_lr(warmup_lr)
    check.greedy(greedy)
    check.beam_step(beam_step)

Every checker computes its references first (on its own copy of a model), keeps the learner's random
state, and refuses the function the exercise re-implements (``F.cross_entropy``, the package's
``label_smoothed_cross_entropy``, ``noam_lr``, ``greedy_decode``, ``beam_search``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.decode import greedy_decode as _ref_greedy
from tfmcourse.exercises import ExerciseError, checker, expect_shape, forbidden, is_close, passed, run
from tfmcourse.exercises._aliases import aliases
from tfmcourse.train import noam_lr as _ref_noam

__all__ = ["label_smoothed_loss", "warmup_lr", "greedy", "beam_step"]

_DECODERS = ("tfmcourse.decode.greedy_decode", "tfmcourse.decode.beam_search", "tfmcourse.decode.translate")


def _refused(*paths: str) -> list[str]:
    """Every name of the package functions at ``paths`` (see :func:`tfmcourse.exercises._aliases.aliases`)."""
    return [name for path in paths for name in aliases(path)]


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
HINT_SWAPPED = (
    "The two weights are swapped: the right token gets 1 - smoothing, the uniform part gets smoothing."
)
HINT_PROBS = "Use log-probabilities (logits.log_softmax(dim=-1)), not probabilities, in the cross entropy."
HINT_NOT_SCALAR = (
    "Return one number for the whole batch: a 0-dimensional tensor (the mean over the kept positions)."
)
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


@checker
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
        what = (
            f"label_smoothed_loss(logits {tuple(logits.shape)}, target {tuple(target.shape)}, "
            f"smoothing={smoothing}, pad_id={pad_id})"
        )
        want = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            target.reshape(-1),
            label_smoothing=smoothing,
            ignore_index=pad_id,
        )
        with forbidden(
            fn, "torch.nn.functional.cross_entropy", *_refused("tfmcourse.train.label_smoothed_cross_entropy")
        ):
            got = run(fn, logits, target, smoothing, pad_id)
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{what} returned a {type(got).__name__}. {HINT_NOT_SCALAR}")
        if got.numel() != 1 or got.ndim != 0:
            raise ExerciseError(f"{what} has shape {tuple(got.shape)}. {HINT_NOT_SCALAR}")
        if is_close(got, want, atol=1e-8):
            if not got.requires_grad:
                raise ExerciseError(f"{what}: {HINT_NO_GRAD}")
            continue
        hint = next(
            (
                h
                for m, h in _LOSS_MISTAKES.items()
                if is_close(got, _loss_variant(logits.detach(), target, smoothing, pad_id, m), atol=1e-8)
            ),
            "",
        )
        raise ExerciseError(
            f"{what} is {got.item():.6f} but should be {want.item():.6f}. "
            + (
                hint
                or "Per position: (1 - smoothing) * -log p[target] + smoothing * mean(-log p); then average "
                "over the non-padding positions."
            )
        )
    passed("label_smoothed_loss", f"{len(cases)} cases, equal to F.cross_entropy(label_smoothing=...)")


# ------------------------------------------------------------------------------ warmup schedule

HINT_NO_DMODEL = "Missing the factor d_model ** -0.5 in front of the min(...)."
HINT_MAX = "Use min(...), not max(...): the schedule is the smaller of the two curves (a rise, then a decay)."
HINT_WARMUP_BRANCH = (
    "The values after the warmup are right but not during it: the rising part is step * warmup ** -1.5 "
    "(so that both parts meet at step = warmup)."
)
HINT_DECAY_BRANCH = (
    "The values during warmup are right but not after: the decay is step ** -0.5 (1 / sqrt(step))."
)
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


@checker
def warmup_lr(fn: Callable[[int, int, int], float]) -> None:
    """Check ``fn(step, d_model, warmup) -> lr``, the schedule of Vaswani et al. (2017), step from 1."""
    configs = [(512, 4000), (64, 100), (128, 10)]
    count = 0
    for d_model, warmup in configs:
        steps = [1, 2, warmup // 2, warmup - 1, warmup, warmup + 1, 3 * warmup, 50 * warmup]
        got_all, want_all = [], []
        for step in steps:
            with forbidden(fn, *_refused("tfmcourse.train.noam_lr")):
                got = run(fn, step, d_model, warmup)
            if isinstance(got, Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                raise ExerciseError(
                    f"warmup_lr({step}, {d_model}, {warmup}) returned a {type(got).__name__}. "
                    f"{HINT_NOT_NUMBER}"
                )
            got_all.append(float(got))
            want_all.append(_ref_noam(step, d_model, warmup))
            count += 1
        if all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got_all, want_all)):
            continue
        hint = next(
            (
                h
                for m, h in _NOAM_MISTAKES.items()
                if all(
                    math.isclose(a, _noam_variant(s, d_model, warmup, m), rel_tol=1e-9)
                    for a, s in zip(got_all, steps)
                )
            ),
            "",
        )
        bad = next(
            i for i, (a, b) in enumerate(zip(got_all, want_all)) if not math.isclose(a, b, rel_tol=1e-9)
        )
        raise ExerciseError(
            f"warmup_lr({steps[bad]}, d_model={d_model}, warmup={warmup}) is {got_all[bad]:.6g} but should "
            "be "
            f"{want_all[bad]:.6g}. "
            f"{hint or 'The rate is d_model**-0.5 * min(step**-0.5, step * warmup**-1.5).'}"
        )
    passed("warmup_lr", f"{count} steps in {len(configs)} settings")


# ------------------------------------------------------------------------------ greedy decoding

HINT_BOS = (
    "Your output starts with <bos>: return only the generated tokens (drop the <bos> you started with)."
)
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


HINT_NO_CAUSAL = (
    "The decoder ran on the prefix without the causal mask: its earlier positions then see the later tokens, "
    "which changes what the last position computes in a decoder of several layers. Pass "
    "causal_mask(ys.shape[1]) as tgt_mask when you feed the whole prefix."
)
HINT_NO_MEMORY_MASK = (
    "The cross-attention sees the source padding: pass the source padding mask "
    "(src != pad_id)[:, None, None, :] as memory_mask to model.decode (and as src_mask to model.encode)."
)
HINT_NO_ENCODER_MASK = (
    "The encoder sees the source padding: pass src_mask = (src != pad_id)[:, None, None, :] to model.encode "
    "too (you passed it only as memory_mask)."
)


def _triangle(n: Tensor) -> Tensor:
    return n * (n + 1) / 2


class _ReverseModel(nn.Module):
    """A made-up "trained" encoder-decoder for the checker: it translates a source by writing its tokens
    in reverse order, then ``<eos>``. It has the interface of :class:`tfmcourse.transformer.Transformer`
    (``encode``, ``decode`` with or without a cache, ``new_cache``), checks the shapes it gets, and, like a
    real model, depends on the masks it is given:

    - the source it reverses is what the cross-attention may see (``memory_mask``: without it, padding
      counts as source); and if the encoder saw a different number of positions (its ``src_mask``) than the
      cross-attention does, the memory does not match and the model loses its place (it skips a token);
    - like a decoder of two layers, the output at a position depends on what the *earlier* positions saw:
      position ``j`` sees ``s_j`` keys (``tgt_mask``), and position ``i`` adds up the ``s_j`` of the keys it
      sees. Under a causal mask (or with the KV cache, one new position at a time) that sum is the
      triangular number ``(i + 1)(i + 2) / 2``; otherwise the model loses its place and skips a token.
    """

    def __init__(self, vocab: int = 9, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2):
        super().__init__()
        self.vocab, self.pad_id, self.bos_id, self.eos_id = vocab, pad_id, bos_id, eos_id
        self.anchor = nn.Parameter(torch.zeros(()))

    @staticmethod
    def _visible(mask: Tensor | None, batch: int, seq_q: int, seq_k: int) -> Tensor:
        """``(batch, seq_q, seq_k)`` bool: what each query may see (all when ``mask`` is None; head 0)."""
        if mask is None:
            return torch.ones(batch, seq_q, seq_k, dtype=torch.bool)
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.ndim not in (2, 4):
            raise ValueError(
                f"masks must be boolean (seq_q, seq_k) or (batch, heads, seq_q, seq_k) tensors, got "
                f"{getattr(mask, 'dtype', type(mask))} {tuple(getattr(mask, 'shape', ()))}"
            )
        m = mask if mask.ndim == 4 else mask[None, None]
        try:
            return m.expand(batch, m.shape[1], seq_q, seq_k)[:, 0]
        except RuntimeError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to "
                f"(batch={batch}, heads, seq_q={seq_q}, seq_k={seq_k})"
            ) from None

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        if not isinstance(src, Tensor) or src.ndim != 2:
            raise ValueError(f"encode expects src of shape (batch, seq_s), got {getattr(src, 'shape', src)}")
        batch, seq_s = src.shape
        seen = self._visible(src_mask, batch, seq_s, seq_s)[:, 0].sum(-1)  # source positions the encoder sees
        # the "memory": the source ids, and how many positions the encoder took as real
        return torch.stack(
            [src.to(torch.float64), seen[:, None].expand(batch, seq_s).to(torch.float64)], dim=-1
        )

    def new_cache(self) -> list[dict]:
        return [{}]

    def decode(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        cache: list[dict] | None = None,
    ) -> Tensor:
        if not isinstance(tgt, Tensor) or tgt.ndim != 2 or tgt.shape[0] != memory.shape[0]:
            raise ValueError(
                f"decode expects tgt of shape (batch, seq_t) with the memory's batch "
                f"{memory.shape[0]}, got {getattr(tgt, 'shape', tgt)}"
            )
        batch, seq_t = tgt.shape
        seq_s = memory.shape[1]
        past = (
            cache[0].get("seen") if cache is not None else None
        )  # (batch, cached) keys seen by earlier positions
        cached = 0 if past is None else past.shape[1]
        visible = self._visible(tgt_mask, batch, seq_t, cached + seq_t)
        if cache is None and tgt_mask is not None and cached + seq_t != visible.shape[-1]:
            raise ValueError(f"tgt_mask has {visible.shape[-1]} keys but tgt has {seq_t} positions")
        seen_new = visible.sum(-1).to(torch.float64)  # "layer 1": keys each new position sees
        seen_all = seen_new if past is None else torch.cat([past, seen_new], dim=1)
        gathered = (visible * seen_all[:, None, :]).sum(-1)  # "layer 2": what the visible positions saw
        if cache is not None:
            cache[0]["seen"] = seen_all
        src = memory[:, :, 0].long()
        enc_seen = memory[:, 0, 1].long()
        mem_seen = self._visible(memory_mask, batch, 1, seq_s)[:, 0].sum(-1)
        confused = enc_seen != mem_seen  # the encoder and the cross-attention disagree about the padding
        logits = torch.zeros(batch, seq_t, self.vocab, dtype=torch.float64)
        logits[:, :, self.pad_id] = logits[:, :, self.bos_id] = -10.0
        for b in range(batch):
            for i in range(seq_t):
                p = cached + i  # the output position this step predicts
                if gathered[b, i] != _triangle(torch.tensor(p + 1.0)) or confused[b]:
                    p += 1  # lost its place: it skips a token
                token = src[b, mem_seen[b] - 1 - p] if p < mem_seen[b] else self.eos_id
                logits[b, i, token] += 5.0
                logits[b, i, (token + 1) % self.vocab] += 1.0  # a runner-up, so the scores are not flat
        return logits


def _greedy_variant(model: nn.Module, src: Tensor, max_len: int, mistake: str) -> Tensor:
    """Greedy decoding on the whole prefix with one of the mask mistakes (for the hints)."""
    src_mask = (src != model.pad_id)[:, None, None, :]
    memory = model.encode(src, None if mistake in ("no_masks", "no_encoder_mask") else src_mask)
    memory_mask = None if mistake in ("no_masks", "no_memory_mask") else src_mask
    ys = torch.full((src.shape[0], 1), model.bos_id)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        tgt_mask = None if mistake == "no_causal" else causal_mask(ys.shape[1])
        token = (
            model.decode(ys, memory, tgt_mask, memory_mask)[:, -1].argmax(-1).masked_fill(done, model.pad_id)
        )
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == model.eos_id
        if done.all():
            break
    return ys[:, 1:]


# Without the memory mask the model reads padding whether the encoder was masked or not: one hint for both.
_GREEDY_MISTAKES = {
    "no_causal": HINT_NO_CAUSAL,
    "no_encoder_mask": HINT_NO_ENCODER_MASK,
    "no_memory_mask": HINT_NO_MEMORY_MASK,
    "no_masks": HINT_NO_MEMORY_MASK,
}


def _trim(x: Tensor, pad_id: int) -> Tensor:
    """Drop trailing columns that are all padding (an output may be padded to max_len or not)."""
    keep = x.shape[1]
    while keep > 0 and (x[:, keep - 1] == pad_id).all():
        keep -= 1
    return x[:, :keep]


@checker
def greedy(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(model, src, bos_id, eos_id, pad_id, max_len) -> (batch, out)``: greedy decoding that
    returns the generated ids (no ``<bos>``), ``<eos>`` then ``pad_id`` in finished rows, at most
    ``max_len`` tokens. The reference is computed first, on the checker's own model; the learner's
    function gets a model of its own."""
    cases = [
        ("one source", torch.tensor([[3, 4, 5]]), 10),
        ("sources of different lengths", torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [5, 0, 0, 0]]), 10),
        ("max_len shorter than the output", torch.tensor([[3, 4, 5, 6, 7], [8, 3, 0, 0, 0]]), 3),
    ]
    for name, src, max_len in cases:
        what = f"greedy on {name} (src {tuple(src.shape)}, max_len={max_len})"
        ref_model = _ReverseModel()
        want = _ref_greedy(
            ref_model,
            src,
            bos_id=ref_model.bos_id,
            eos_id=ref_model.eos_id,
            pad_id=ref_model.pad_id,
            max_len=max_len,
        )
        model = _ReverseModel()  # the learner's own: whatever happens to it cannot change `want`
        with forbidden(fn, *_refused(*_DECODERS)):
            got = run(fn, model, src, model.bos_id, model.eos_id, model.pad_id, max_len)
        if (
            not isinstance(got, Tensor)
            or got.dtype in (torch.float16, torch.float32, torch.float64)
            or got.ndim != 2
        ):
            raise ExerciseError(
                f"{what} returned {type(got).__name__} "
                f"{tuple(got.shape) if isinstance(got, Tensor) else ''}. {HINT_NOT_TENSOR}"
            )
        got = got.long()
        if got.shape[0] != src.shape[0]:
            expect_shape(got, (src.shape[0], want.shape[1]), what)
        if torch.equal(_trim(got, ref_model.pad_id), want):
            continue
        hint = ""
        for mistake, mistake_hint in _GREEDY_MISTAKES.items():
            variant = _trim(_greedy_variant(_ReverseModel(), src, max_len, mistake), ref_model.pad_id)
            if torch.equal(_trim(got, ref_model.pad_id), variant):
                hint = mistake_hint
                break
        if hint:
            pass
        elif got.shape[1] > 0 and (got[:, 0] == ref_model.bos_id).all():
            hint = HINT_BOS
        elif got.shape[1] > max_len:
            hint = HINT_MAX_LEN
        elif _eos_then_more(got, ref_model.eos_id, ref_model.pad_id):
            hint = HINT_AFTER_EOS
        elif got.shape[1] < want.shape[1] and torch.equal(got, want[:, : got.shape[1]]):
            hint = HINT_EARLY
        else:
            hint = HINT_WRONG_ARGMAX
        raise ExerciseError(f"{what} gave {got.tolist()} but should give {want.tolist()}. {hint}")
    passed(
        "greedy", f"{len(cases)} cases: stops at <eos>, pads finished rows, respects max_len, uses the masks"
    )


def _eos_then_more(x: Tensor, eos_id: int, pad_id: int) -> bool:
    """True when some row has a non-padding token after its first <eos>."""
    return any(eos_id in row and any(t != pad_id for t in row[row.index(eos_id) + 1 :]) for row in x.tolist())


# ------------------------------------------------------------------------------ beam search step

HINT_BEAM_PER_PREFIX = (
    "You picked the best tokens of each prefix separately. Beam search ranks ALL the extensions together: "
    "scores[:, None] + log_probs is a (k, vocab) table; flatten it and take the beam_size best of the k * "
    "vocab "
    "candidates (a good prefix may have several of the best extensions, a bad one none)."
)
HINT_BEAM_NO_PREFIX_SCORE = (
    "The candidates are ranked by the next token's log-probability alone: a candidate's score is its "
    "prefix's "
    "score plus that log-probability, scores[i] + log_probs[i, token] (the log of the product of the "
    "probabilities)."
)
HINT_BEAM_EOS_LIVE = (
    "A candidate that ends in <eos> is finished: it goes to `finished` and is NOT extended further. The "
    "new beams "
    "are the beam_size best candidates that do not end in <eos>."
)
HINT_BEAM_EOS_DROPPED = (
    "A candidate that ends in <eos> among the beam_size best candidates must be returned in `finished` (with "
    "its score), as (prefix + [eos_id], score)."
)
HINT_BEAM_ALL_EOS = (
    "Only the <eos> candidates among the beam_size best of all candidates are finished; an <eos> candidate "
    "ranked lower is dropped like any other."
)
HINT_BEAM_ORIGIN = (
    "The new beams continue the wrong prefixes: in the flattened (k * vocab) table, index // vocab is the "
    "prefix (the row) and index % vocab the token (the column)."
)
HINT_BEAM_ORDER = "Return the new beams best first (highest score first), as topk does."
HINT_BEAM_OLD_SCORES = (
    "The new scores must be the candidates' scores, prefix score + token log-probability, not the old prefix "
    "scores."
)
HINT_BEAM_TYPES = (
    "Return (new_prefixes, new_scores, finished): a list of beam_size token lists, a (beam_size,) tensor (or "
    "list) of floats, and a list of (tokens, score) pairs."
)


def _beam_step_ref(
    prefixes: list[list[int]],
    scores: Tensor,
    log_probs: Tensor,
    beam_size: int,
    eos_id: int,
    mistake: str = "",
) -> tuple[list[list[int]], list[float], list[tuple[list[int], float]]]:
    """One beam-search step for one source, or the step with one plausible ``mistake``."""
    vocab = log_probs.shape[-1]
    total = log_probs if mistake == "no_prefix_score" else scores[:, None] + log_probs  # (k, vocab)
    if mistake == "per_prefix":  # every prefix keeps its own best extensions (beam_size // k of them)
        per = max(1, beam_size // len(prefixes))
        top = total.topk(min(per, vocab), dim=-1)
        cands = sorted(
            (
                (top.values[i, j].item(), i * vocab + top.indices[i, j].item())
                for i in range(len(prefixes))
                for j in range(top.values.shape[1])
            ),
            reverse=True,
        )
    else:
        values, indices = total.flatten().sort(descending=True)
        cands = list(zip(values.tolist(), indices.tolist()))
    if mistake == "no_prefix_score":  # ranked by the token alone, but reported with the true score
        full = (scores[:, None] + log_probs).flatten()
        cands = [(full[i].item(), i) for _, i in cands]
    finished, beams, beam_scores = [], [], []
    for rank, (score, index) in enumerate(cands):
        origin, token = (
            (index % len(prefixes), index // len(prefixes)) if mistake == "origin" else divmod(index, vocab)
        )
        if origin >= len(prefixes) or token >= vocab:
            continue
        if token == eos_id and mistake != "eos_live":
            if (rank < beam_size or mistake == "all_eos") and mistake != "eos_dropped":
                finished.append((prefixes[origin] + [token], score))
            continue
        if len(beams) < beam_size:
            beams.append(prefixes[origin] + [token])
            beam_scores.append(scores[origin].item() if mistake == "old_scores" else score)
    if mistake == "ascending":
        beams, beam_scores = beams[::-1], beam_scores[::-1]
    return beams, beam_scores, finished


_BEAM_MISTAKES = {
    "per_prefix": HINT_BEAM_PER_PREFIX,
    "no_prefix_score": HINT_BEAM_NO_PREFIX_SCORE,
    "eos_live": HINT_BEAM_EOS_LIVE,
    "eos_dropped": HINT_BEAM_EOS_DROPPED,
    "all_eos": HINT_BEAM_ALL_EOS,
    "origin": HINT_BEAM_ORIGIN,
    "ascending": HINT_BEAM_ORDER,
    "old_scores": HINT_BEAM_OLD_SCORES,
}


def _as_step(got: object) -> tuple[list[list[int]], list[float], list[tuple[list[int], float]]] | None:
    """The learner's result as plain lists, or None when it does not have the asked form."""
    try:
        beams, beam_scores, finished = got  # type: ignore[misc]
        beams = [[int(t) for t in (b.tolist() if isinstance(b, Tensor) else b)] for b in beams]
        beam_scores = [
            float(x) for x in (beam_scores.tolist() if isinstance(beam_scores, Tensor) else beam_scores)
        ]
        finished = [
            ([int(t) for t in (tok.tolist() if isinstance(tok, Tensor) else tok)], float(sc))
            for tok, sc in finished
        ]
    except (TypeError, ValueError):
        return None
    return beams, beam_scores, finished


def _same_step(a: tuple, b: tuple) -> bool:
    """Same beams (in order) and the same finished hypotheses (in any order), scores to float32 tolerance."""
    beams_a, scores_a, fin_a = a
    beams_b, scores_b, fin_b = b
    if beams_a != beams_b or len(scores_a) != len(scores_b):
        return False
    if not all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-5) for x, y in zip(scores_a, scores_b)):
        return False
    fin_a, fin_b = sorted(fin_a, key=lambda h: -h[1]), sorted(fin_b, key=lambda h: -h[1])
    return len(fin_a) == len(fin_b) and all(
        ta == tb and math.isclose(sa, sb, rel_tol=1e-5, abs_tol=1e-5)
        for (ta, sa), (tb, sb) in zip(fin_a, fin_b)
    )


def _beam_cases() -> list[tuple[str, list[list[int]], Tensor, Tensor, int, int]]:
    """(description, prefixes, scores, log_probs, beam_size, eos_id): a first step, a step where <eos> is
    among the best, a step where one prefix owns most of the best extensions, and one with fewer prefixes
    than beams."""
    g = torch.Generator().manual_seed(7070)
    vocab, eos = 7, 2

    def log_probs(k: int, sharp: float = 2.0) -> Tensor:
        return (torch.randn(k, vocab, generator=g, dtype=torch.float64) * sharp).log_softmax(-1)

    first = log_probs(1)
    with_eos = log_probs(3)
    with_eos[1] = torch.tensor(
        [-9.0, -8.0, -0.05, -4.0, -5.0, -6.0, -7.0], dtype=torch.float64
    )  # <eos> very likely
    lopsided = log_probs(3, sharp=0.5)
    lopsided_scores = torch.tensor(
        [-0.2, -3.0, -3.5], dtype=torch.float64
    )  # prefix 0 far ahead of the others
    return [
        ("the first step (one empty prefix)", [[]], torch.zeros(1, dtype=torch.float64), first, 3, eos),
        (
            "a step where an <eos> is among the best",
            [[3, 4], [5, 3], [6, 6]],
            torch.tensor([-1.0, -1.3, -2.0], dtype=torch.float64),
            with_eos,
            3,
            eos,
        ),
        ("a step where one prefix is far ahead", [[4], [5], [6]], lopsided_scores, lopsided, 3, eos),
        (
            "two prefixes, beam_size 4",
            [[3], [6]],
            torch.tensor([-0.4, -1.1], dtype=torch.float64),
            log_probs(2),
            4,
            eos,
        ),
    ]


@checker
def beam_step(fn: Callable[..., Any]) -> None:
    """Check ``fn(prefixes, scores, log_probs, beam_size, eos_id) -> (new_prefixes, new_scores, finished)``:
    one step of beam search for one source (see the chapter's exercise)."""
    for name, prefixes, scores, log_probs, beam_size, eos_id in _beam_cases():
        want = _beam_step_ref(prefixes, scores, log_probs, beam_size, eos_id)
        what = f"beam_step on {name} (beam_size={beam_size})"
        with forbidden(fn, *_refused("tfmcourse.decode.beam_search")):
            got = run(fn, [list(p) for p in prefixes], scores, log_probs, beam_size, eos_id)
        plain = _as_step(got)
        if plain is None:
            raise ExerciseError(f"{what} returned {type(got).__name__}. {HINT_BEAM_TYPES}")
        if _same_step(plain, want):
            continue
        hint = next(
            (
                h
                for m, h in _BEAM_MISTAKES.items()
                if _same_step(plain, _beam_step_ref(prefixes, scores, log_probs, beam_size, eos_id, m))
            ),
            "",
        )
        beams, beam_scores, finished = plain
        if (
            not hint
            and sorted(zip(beam_scores, map(tuple, beams)), reverse=True)
            == sorted(zip(want[1], map(tuple, want[0])), reverse=True)
            and beams != want[0]
        ):
            hint = HINT_BEAM_ORDER
        raise ExerciseError(
            f"{what} gave beams {beams} with scores {[round(s, 4) for s in beam_scores]} and finished "
            f"{[(t, round(s, 4)) for t, s in finished]}, but should give beams {want[0]} with scores "
            f"{[round(s, 4) for s in want[1]]} and finished {[(t, round(s, 4)) for t, s in want[2]]}. "
            + (
                hint
                or "Rank all k * vocab extensions by prefix score + token log-probability; the beam_size "
                "best that end in <eos> are finished, the beam_size best others are the new beams, best "
                "first."
            )
        )
    passed(
        "beam_step",
        f"{len(_beam_cases())} steps: all extensions ranked together, <eos> finishes a hypothesis",
    )
