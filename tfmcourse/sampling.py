"""Generating text with a language model: sampling (采样) and the KV cache (键值缓存) (chapter 9).

A language model gives, after a prefix, logits for the next token. Generation is a loop: turn the last
position's logits into one token, append it, repeat (autoregressive, 自回归). :func:`sample_next` picks
the token:

- ``temperature`` (温度) divides the logits before the softmax: below 1 it sharpens the distribution,
  above 1 it flattens it; ``temperature=0`` means greedy (always the most likely token);
- ``top_k`` keeps only the ``k`` most likely tokens;
- ``top_p`` (nucleus sampling) keeps the smallest set of most likely tokens whose probabilities add
  up to at least ``p``;

then samples from what is left, renormalised, with an optional seeded ``torch.Generator``. The filters
apply in that order (temperature, top-k, top-p), as in Hugging Face's ``generate``.

:func:`generate` runs the loop. With ``use_cache=True`` it feeds the prompt once and then one token per
step, the model keeping the keys and values of the past in its KV cache; with ``use_cache=False`` it
re-runs the model on the whole sequence at every step. Both give the same tokens.

The model needs ``model(ids, cache=None) -> logits (batch, seq, vocab)``, ``model.new_cache()`` and
``model.config.max_len`` (:class:`tfmcourse.models.gpt.GPT` has them).
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.checks import entry_point

__all__ = ["filter_logits", "sample_next", "generate"]


def _shape(x: Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_sampling_args(temperature: object, top_k: object, top_p: object, generator: object) -> None:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0.0 <= temperature < math.inf
    ):
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0
    ):
        raise ValueError(f"top_p must be None or a number in (0, 1], got {top_p!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")


def _check_logits(logits: object) -> None:
    if not isinstance(logits, Tensor) or logits.ndim != 2 or not logits.is_floating_point():
        what = (
            f"dtype {logits.dtype}, shape {_shape(logits)}"
            if isinstance(logits, Tensor)
            else type(logits).__name__
        )
        raise ValueError(f"logits must be a floating-point (batch, vocab) tensor, got {what}")
    if logits.shape[1] == 0:
        raise ValueError(f"logits has shape {_shape(logits)}: the vocabulary is empty")


def _check_finite(logits: Tensor) -> None:
    """Every row needs finite logits, at least one of them (``-inf`` marks an impossible token): NaN or
    ``+inf`` have no probability to give, and a row of ``-inf`` has no token to pick."""
    bad = (torch.isnan(logits) | (logits == math.inf)).any(dim=-1)
    if bad.any():
        row = int(bad.nonzero()[0])
        raise ValueError(
            f"logits row {row} contains NaN or +inf ({logits[row].tolist()!r:.80}): nothing to sample"
        )
    empty = (logits == -math.inf).all(dim=-1)
    if empty.any():
        row = int(empty.nonzero()[0])
        raise ValueError(f"logits row {row} is -inf everywhere: no token can be sampled")


def _check_filter(
    logits: object, temperature: object = 1.0, top_k: object = None, top_p: object = None
) -> None:
    _check_logits(logits)
    _check_sampling_args(temperature, top_k, top_p, None)
    if temperature == 0:
        raise ValueError("temperature must be > 0 for filter_logits (temperature=0 is greedy: use argmax)")
    _check_finite(logits)


@entry_point(_check_filter)
def filter_logits(
    logits: Float[Tensor, "batch vocab"],
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Float[Tensor, "batch vocab"]:
    """The logits :func:`sample_next` samples from: divided by ``temperature``, with ``-inf`` on the
    tokens that top-k and top-p remove. ``temperature`` must be > 0 here.

    - ``top_k``: keep the ``k`` largest logits of each row (all of them when ``k >= vocab``).
    - ``top_p``: sort the remaining tokens by probability, keep the smallest prefix whose
      probabilities sum to at least ``p`` (the most likely token is always kept).

    Among equal logits the lowest id comes first (a stable sort), as in greedy decoding: ``top_k=1`` keeps
    the token ``argmax`` picks. A temperature so small that the division overflows keeps the row's largest
    logits only (the limit of a vanishing temperature); elsewhere the result is ``logits / temperature``.
    """
    scaled = logits / temperature
    overflow = (~torch.isfinite(scaled) & torch.isfinite(logits)).any(dim=-1, keepdim=True)
    # Where the division overflowed, its limit: 0 for the row's largest logits, -inf for the others.
    limit = torch.where(logits == logits.max(dim=-1, keepdim=True).values, 0.0, -math.inf).to(logits.dtype)
    logits = torch.where(overflow, limit, scaled)
    if top_k is not None and top_k < logits.shape[-1]:
        kept = torch.sort(logits, dim=-1, descending=True, stable=True).indices[:, :top_k]
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, kept, True)
        logits = logits.masked_fill(~keep, float("-inf"))
    if top_p is not None and top_p < 1.0:
        probs, order = torch.sort(torch.softmax(logits, dim=-1), dim=-1, descending=True, stable=True)
        before = torch.cumsum(probs, dim=-1) - probs  # probability mass of the more likely tokens
        drop_sorted = before >= top_p  # the set already reached p without this token
        drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _check_sample(
    logits: object,
    temperature: object = 1.0,
    top_k: object = None,
    top_p: object = None,
    generator: object = None,
) -> None:
    _check_logits(logits)
    _check_sampling_args(temperature, top_k, top_p, generator)


@entry_point(_check_sample)
def sample_next(
    logits: Float[Tensor, "batch vocab"],
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Int[Tensor, " batch"]:
    """Pick one next token per row of ``logits`` ``(batch, vocab)``; returns ``(batch,)`` token ids.

    ``temperature=0`` is greedy (``argmax``, ties to the lowest id); otherwise the logits go through
    :func:`filter_logits` and one token is drawn from their softmax with ``generator``. The same
    generator state gives the same tokens. Bad arguments raise ``ValueError``, and so do NaN or ``+inf``
    logits and a row of ``-inf`` (naming the row).
    """
    _check_finite(logits)  # here, not at the entry: generate() hands over the model's logits
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


def _check_generate(
    model: object,
    idx: object,
    max_new_tokens: object,
    temperature: object = 1.0,
    top_k: object = None,
    top_p: object = None,
    use_cache: object = True,
    generator: object = None,
) -> None:
    if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.is_floating_point() or idx.shape[1] == 0:
        what = f"dtype {idx.dtype}, shape {_shape(idx)}" if isinstance(idx, Tensor) else type(idx).__name__
        raise ValueError(f"idx must be a (batch, seq) integer tensor with seq >= 1, got {what}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    _check_sampling_args(temperature, top_k, top_p, generator)


@entry_point(_check_generate)
@torch.no_grad()
def generate(
    model: nn.Module,
    idx: Int[Tensor, "batch seq"],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> Int[Tensor, "batch seq_plus_new"]:
    """Append ``max_new_tokens`` tokens to the prompts ``idx`` ``(batch, seq)``, one at a time.

    Each step picks a token with :func:`sample_next` from the logits of the last position. With
    ``use_cache`` the prompt is fed once and each new token alone, through the model's KV cache;
    without it the model re-reads the whole sequence every step. The model is used as is: call
    ``model.eval()`` first (dropout would otherwise add noise).

    When the sequence outgrows ``model.config.max_len``, only its last ``max_len`` tokens are read
    (a sliding window); with the cache this means re-filling the cache from that window at each such
    step, so both settings still give the same tokens.

    Returns ``(batch, seq + max_new_tokens)``: the prompts followed by the new tokens.
    """
    max_len = model.config.max_len
    out = idx
    cache = None
    for _ in range(max_new_tokens):
        if not use_cache:
            logits = model(out[:, -max_len:])
        elif cache is not None and out.shape[1] <= max_len:
            logits = model(out[:, -1:], cache=cache)  # the new token only; the past is in the cache
        else:  # first step, or the window slid: fill a fresh cache with the (last max_len) tokens
            cache = model.new_cache()
            logits = model(out[:, -max_len:], cache=cache)
        next_id = sample_next(logits[:, -1], temperature, top_k, top_p, generator)
        out = torch.cat([out, next_id[:, None].to(out.dtype)], dim=1)
    return out


def __getattr__(name: str):
    """``generation_speed``, a benchmark, moved to :mod:`tfmcourse.bench`; it is still importable from
    here (loaded on first use: the benchmark sits above this module)."""
    if name == "generation_speed":
        from tfmcourse.bench import generation_speed

        return generation_speed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
