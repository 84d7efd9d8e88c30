"""Greedy decoding (chapter 7): always the most probable next token, one token per step through the KV
cache; and the checks and masks both decoders share (the source, ``max_len``, ``<pad>`` and ``<bos>``
never produced).
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Int
from torch import Tensor, nn

from tfmcourse.attention import causal_mask
from tfmcourse.checks import entry_point

__all__ = ["greedy_decode"]


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
