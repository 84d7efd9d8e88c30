"""Turning a trained encoder-decoder into output sequences: greedy decoding and beam search (chapter 7).

Both decoders work on a batch of sources at once and feed the decoder one new token per step through
its KV cache (so a step costs one position, not the whole prefix). Both stop a sequence at ``<eos>``,
never produce more than ``max_len`` tokens, and never produce ``<pad>`` or ``<bos>`` (their scores are
set to ``-inf``, so the probabilities are renormalised over the other tokens).

The model needs the interface of :class:`tfmcourse.models.transformer.Transformer`:

- ``encode(src, src_mask) -> memory (batch, seq_s, d_model)``;
- ``decode(tgt, memory, tgt_mask, memory_mask, cache=None) -> logits (batch, seq_t, vocab)``;
- ``new_cache() -> cache`` (a :class:`~tfmcourse.cache.KVCache`; beam search reorders its batch rows with
  ``cache.reorder(rows)``).

Masks are boolean, ``True`` = may attend; the source padding mask is ``(batch, 1, 1, seq_s)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.checks import entry_point

__all__ = [
    "greedy_decode",
    "beam_search",
    "Hypothesis",
    "length_penalty",
    "translate",
    "cross_attention_weights",
]


def _check_src(src: object, pad_id: int) -> None:
    if not isinstance(src, Tensor) or src.ndim != 2 or src.dtype != torch.long or src.shape[1] == 0:
        raise ValueError(
            f"src must be a (batch, seq_s) long tensor of token ids, got {getattr(src, 'shape', type(src))}"
        )
    if (src == pad_id).all(dim=1).any():
        raise ValueError(
            f"some rows of src {tuple(src.shape)} are all padding (pad_id={pad_id}): nothing to translate"
        )


def _check_max_len(max_len: object) -> None:
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")


def _src_mask(src: Tensor, pad_id: int) -> Tensor:
    return (src != pad_id)[:, None, None, :]


def _never(logits: Tensor, *ids: int) -> Tensor:
    """``logits`` with the given ids made impossible (``-inf``): ``<pad>`` and ``<bos>`` are never outputs."""
    logits = logits.clone()
    logits[..., list(ids)] = -math.inf
    return logits


def _check_greedy(
    model: object,
    src: object,
    *,
    bos_id: object,
    eos_id: object,
    pad_id: object = 0,
    max_len: object = 32,
    use_cache: object = True,
) -> None:
    _check_src(src, pad_id)
    _check_max_len(max_len)


@entry_point(_check_greedy)
@torch.no_grad()
def greedy_decode(
    model: nn.Module,
    src: Int[Tensor, "batch seq_s"],
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int = 0,
    max_len: int = 32,
    use_cache: bool = True,
) -> Int[Tensor, "batch out"]:
    """Decode a batch by always taking the most probable next token (贪心解码).

    Args:
        model: an encoder-decoder (see the module docstring); it is used as is (call ``model.eval()``).
        src: source token ids ``(batch, seq_s)``, padded with ``pad_id``.
        bos_id, eos_id, pad_id: the special ids of the target vocabulary (``pad_id`` also pads ``src``).
        max_len: the most tokens to generate per sequence (``<eos>`` included).
        use_cache: feed one token per step through the KV cache (``True``) or re-run the decoder on
            the whole prefix every step (``False``, slower, the same result).

    Returns:
        ``(batch, out)`` generated ids without ``<bos>``: each row ends at its ``<eos>`` (included),
        then ``pad_id``; a row without ``<eos>`` was cut at ``max_len``. ``out <= max_len``; decoding
        stops as soon as every row has produced ``<eos>``.
    """
    src_mask = _src_mask(src, pad_id)
    memory = model.encode(src, src_mask)
    batch = src.shape[0]
    ys = torch.full((batch, 1), bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    cache = model.new_cache() if use_cache else None
    for _ in range(max_len):
        if use_cache:
            logits = model.decode(ys[:, -1:], memory, None, src_mask, cache=cache)
        else:
            tgt_mask = causal_mask(ys.shape[1], device=src.device)
            logits = model.decode(ys, memory, tgt_mask, src_mask)
        next_token = _never(logits[:, -1], pad_id, bos_id).argmax(dim=-1).masked_fill(done, pad_id)
        ys = torch.cat([ys, next_token[:, None]], dim=1)
        done |= next_token == eos_id
        if done.all():
            break
    return ys[:, 1:]


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


def translate(
    model: nn.Module,
    texts: Sequence[str],
    src_vocab: Any,
    tgt_vocab: Any,
    *,
    method: str = "greedy",
    beam_size: int = 4,
    alpha: float = 0.0,
    max_len: int = 32,
    batch_size: int = 256,
) -> list[str]:
    """Translate ``texts`` with ``model`` in eval mode: encode with ``src_vocab``, decode greedily
    (``method="greedy"``) or with beam search (``"beam"``), and turn the best output into text with
    ``tgt_vocab`` (:class:`tfmcourse.data.translation.Vocab` objects)."""
    if method not in ("greedy", "beam"):
        raise ValueError(f"method must be 'greedy' or 'beam', got {method!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    specials = dict(
        bos_id=tgt_vocab.bos_id, eos_id=tgt_vocab.eos_id, pad_id=tgt_vocab.pad_id, max_len=max_len
    )
    out: list[str] = []
    try:
        for start in range(0, len(texts), batch_size):
            src = src_vocab.encode_batch(texts[start : start + batch_size]).to(device)
            if method == "greedy":
                out += tgt_vocab.decode_batch(greedy_decode(model, src, **specials).cpu())
            else:
                hyps = beam_search(model, src, beam_size=beam_size, alpha=alpha, n_best=1, **specials)
                out += [tgt_vocab.decode(h[0].tokens) for h in hyps]
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def cross_attention_weights(
    model: nn.Module, src: Int[Tensor, "batch seq_s"], tgt: Int[Tensor, "batch seq_t"], *, pad_id: int = 0
) -> list[Float[Tensor, "batch heads seq_t seq_s"]]:
    """The cross-attention weights of every decoder layer when ``model`` reads ``tgt`` (teacher forcing).

    ``tgt`` is the decoder input (``<bos>`` first). Row ``i`` of a layer's weights says how much the
    decoder, when predicting the token after ``tgt[:, i]``, looks at each source position. Works with
    :class:`tfmcourse.models.transformer.Transformer` (it asks each ``decoder.layers[i].cross_attn`` for its
    weights with a forward hook). Returns one ``(batch, heads, seq_t, seq_s)`` tensor per layer.
    """
    captured: list[Tensor] = []

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True}

    def keep_weights(module, args, kwargs, output):
        captured.append(output[1])

    handles = []
    for layer in model.decoder.layers:
        handles.append(layer.cross_attn.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(layer.cross_attn.register_forward_hook(keep_weights, with_kwargs=True))
    was_training = model.training
    model.eval()
    try:
        src_mask = _src_mask(src, pad_id)
        tgt_mask = (
            causal_mask(tgt.shape[1], device=tgt.device)[None, None] & (tgt != pad_id)[:, None, None, :]
        )
        model(src, tgt, src_mask, tgt_mask, src_mask)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return captured
