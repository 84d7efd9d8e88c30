"""Beam search (chapter 7): the ``beam_size`` best partial outputs per source, scored with the length
penalty of Wu et al. (2016); its outputs are :class:`Hypothesis` tuples.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from jaxtyping import Int
from torch import Tensor, nn

from tfmcourse.checks import entry_point
from tfmcourse.decode.greedy import _check_max_len, _check_src, _never, _src_mask

__all__ = ["beam_search", "Hypothesis", "length_penalty"]


class Hypothesis(NamedTuple):
    """One output of :func:`beam_search`.

    ``tokens``: generated ids (no ``<bos>``; ending with ``<eos>`` when ``finished``);
    ``log_prob``: their total log-probability; ``score``: ``log_prob / length_penalty(len(tokens))``;
    ``finished``: whether it ended with ``<eos>`` (else it was cut at ``max_len``).
    """

    tokens: list[int]
    score: float
    log_prob: float
    finished: bool


def length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    """The length normaliser of Wu et al. (2016): ``((5 + length) / 6) ** alpha`` (1 when ``alpha = 0``).

    A hypothesis is scored ``log_prob / length_penalty(len, alpha)``. Log-probabilities only go down
    as tokens are added, so with ``alpha = 0`` beam search prefers short outputs; ``alpha > 0``
    divides long ones by more, which evens this out.
    """
    return ((5 + length) / 6) ** alpha


def _check_beam(
    model: object,
    src: object,
    *,
    bos_id: object,
    eos_id: object,
    pad_id: object = 0,
    beam_size: object = 4,
    max_len: object = 32,
    alpha: object = 0.0,
    n_best: object = None,
) -> None:
    _check_src(src, pad_id)
    _check_max_len(max_len)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
    if n_best is not None and not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must be in [1, beam_size={beam_size}], got {n_best}")


@entry_point(_check_beam)
@torch.no_grad()
def beam_search(
    model: nn.Module,
    src: Int[Tensor, "batch seq_s"],
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int = 0,
    beam_size: int = 4,
    max_len: int = 32,
    alpha: float = 0.0,
    n_best: int | None = None,
) -> list[list[Hypothesis]]:
    """Beam search (束搜索): keep the ``beam_size`` best prefixes of every source at each step.

    At each step every live prefix is extended by every token; of the ``beam_size * vocab``
    extensions the best ``2 * beam_size`` are looked at: those ending in ``<eos>`` (among the top
    ``beam_size``) become finished hypotheses, the best ``beam_size`` others live on. A source is done
    once it has ``beam_size`` finished hypotheses and no live prefix can still beat the worst of them;
    at ``max_len`` the live prefixes are added as unfinished hypotheses.

    Args:
        model, src, bos_id, eos_id, pad_id, max_len: as in :func:`greedy_decode`.
        beam_size: prefixes kept per source; 1 gives greedy decoding (with ``alpha = 0``).
        alpha: length-penalty exponent (see :func:`length_penalty`); 0 = raw log-probability.
        n_best: hypotheses returned per source (default ``beam_size``).

    Returns:
        For each source, a list of :class:`Hypothesis`, best score first.
    """
    n_best = beam_size if n_best is None else n_best
    batch, k = src.shape[0], beam_size
    device = src.device
    src_mask = _src_mask(src, pad_id)
    memory = model.encode(src, src_mask)
    # Every source gets k rows: (batch * k, ...), source b's beams at rows b*k .. b*k + k - 1.
    memory = memory.repeat_interleave(k, dim=0)
    src_mask = src_mask.repeat_interleave(k, dim=0)
    cache = model.new_cache()
    tokens = torch.full((batch * k, 1), bos_id, dtype=torch.long, device=device)
    # Only the first beam is live at the start (the others would be copies of it).
    lp_dtype = torch.promote_types(memory.dtype, torch.float32)  # sum log-probs in float32 or better
    beam_lp = torch.full((batch, k), -math.inf, dtype=lp_dtype, device=device)
    beam_lp[:, 0] = 0.0
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    done = [False] * batch
    for step in range(1, max_len + 1):
        logits = model.decode(tokens[:, -1:], memory, None, src_mask, cache=cache)[:, -1]
        log_p = _never(logits.to(lp_dtype), pad_id, bos_id).log_softmax(dim=-1)  # (batch * k, vocab)
        vocab = log_p.shape[-1]
        cand = (beam_lp[:, :, None] + log_p.view(batch, k, vocab)).view(batch, k * vocab)
        top_lp, top_idx = cand.topk(min(2 * k, k * vocab), dim=1)  # (batch, 2k), best first
        origin, token = top_idx // vocab, top_idx % vocab
        is_eos = token == eos_id
        # 1. finished hypotheses: <eos> among the best k candidates
        rank = torch.arange(top_idx.shape[1], device=device)
        new_finished = (is_eos & (rank < k) & top_lp.isfinite()).nonzero().tolist()
        for b, j in new_finished:
            if done[b]:
                continue
            rows = tokens[b * k + origin[b, j], 1:].tolist() + [eos_id]
            lp = top_lp[b, j].item()
            finished[b].append(Hypothesis(rows, lp / length_penalty(step, alpha), lp, True))
        # 2. the next beams: the best k candidates that do not end in <eos>
        order = (rank + is_eos * top_idx.shape[1]).argsort(dim=1)[:, :k]  # non-eos first, by rank
        keep_origin = origin.gather(1, order)
        beam_lp = top_lp.gather(1, order).masked_fill(is_eos.gather(1, order), -math.inf)
        rows = (torch.arange(batch, device=device)[:, None] * k + keep_origin).reshape(-1)
        tokens = torch.cat([tokens[rows], token.gather(1, order).reshape(-1, 1)], dim=1)
        cache.reorder(rows)
        # 3. which sources are done: k finished, and no live beam can still beat the k-th best of them.
        #    Future log-probs only go down, so the best a live beam can reach is its log-prob divided by
        #    the largest penalty it could get (at max_len when alpha > 0, now when alpha <= 0).
        best_len = max_len if alpha > 0 else step
        bound = beam_lp.max(dim=1).values / length_penalty(best_len, alpha)
        for b in range(batch):
            if not done[b] and len(finished[b]) >= k:
                kth = sorted(h.score for h in finished[b])[-k]
                done[b] = bound[b].item() <= kth
        if all(done):
            break
    results = []
    for b in range(batch):
        hyps = list(finished[b])
        if not done[b]:  # cut at max_len: the live beams compete as unfinished hypotheses
            for j in range(k):
                lp = beam_lp[b, j].item()
                if math.isfinite(lp):
                    seq = tokens[b * k + j, 1:].tolist()
                    hyps.append(Hypothesis(seq, lp / length_penalty(len(seq), alpha), lp, False))
        hyps.sort(key=lambda h: h.score, reverse=True)
        results.append(hyps[:n_best])
    return results
