"""What every part of the benchmark shares: the problem sizes (:class:`BenchSize`, :data:`SIZES`) and
the measurement of one case (median time, peak memory on CUDA, out-of-memory recorded as a row)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from tfmcourse import perf

__all__ = ["BenchSize", "SIZES", "pad_vocab"]

# torch.OutOfMemoryError is recent; older versions only have the CUDA one.
_OOM = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


@dataclass(frozen=True, kw_only=True)
class BenchSize:
    """The shapes of one benchmark size (see :data:`SIZES`).

    ``attn_*``: part (a), tensors ``(batch, heads, seq, d_head)`` for each ``seq`` of ``attn_seqs``.
    ``mha_*``: part (b), ``(batch, seq, d_model)``. ``gpt_*``: part (c), a GPT of ``gpt_layers``
    blocks of width ``gpt_d_model`` on ``gpt_batch`` sequences of ``gpt_seq`` tokens. ``steps`` timed
    repetitions (after ``warmup`` untimed ones) per measurement; the median is reported. Given by
    keyword: ``BenchSize(attn_batch=2, attn_heads=2, ...)``.
    """

    attn_batch: int
    attn_heads: int
    attn_d_head: int
    attn_seqs: tuple[int, ...]
    mha_batch: int
    mha_d_model: int
    mha_heads: int
    mha_seq: int
    gpt_vocab: int
    gpt_d_model: int
    gpt_layers: int
    gpt_heads: int
    gpt_seq: int
    gpt_batch: int
    steps: int
    warmup: int


def pad_vocab(vocab: int, multiple: int = 64) -> int:
    """``vocab`` rounded up to a multiple of ``multiple``: matrix sizes that are multiples of 64 map
    onto the GPU's tensor-core tiles (GPT-2's 50257 becomes 50304)."""
    return -(-vocab // multiple) * multiple


SIZES: dict[str, BenchSize] = {
    # For the tests: seconds.
    "tiny": BenchSize(
        attn_batch=2,
        attn_heads=2,
        attn_d_head=8,
        attn_seqs=(16, 32),
        mha_batch=2,
        mha_d_model=16,
        mha_heads=2,
        mha_seq=16,
        gpt_vocab=64,
        gpt_d_model=16,
        gpt_layers=1,
        gpt_heads=2,
        gpt_seq=16,
        gpt_batch=2,
        steps=2,
        warmup=1,
    ),
    # `make bench` on a laptop CPU: well under two minutes on two cores.
    "small": BenchSize(
        attn_batch=4,
        attn_heads=4,
        attn_d_head=32,
        attn_seqs=(64, 128, 256),
        mha_batch=4,
        mha_d_model=128,
        mha_heads=4,
        mha_seq=128,
        gpt_vocab=512,
        gpt_d_model=128,
        gpt_layers=4,
        gpt_heads=4,
        gpt_seq=128,
        gpt_batch=8,
        steps=3,
        warmup=1,
    ),
    # The GPU configuration: GPT-2 small's shape (12 layers, d_model 768, 12 heads, vocabulary padded
    # to a multiple of 64), batch 16, sequence 1024.
    "large": BenchSize(
        attn_batch=8,
        attn_heads=12,
        attn_d_head=64,
        attn_seqs=(512, 1024, 2048, 4096),
        mha_batch=16,
        mha_d_model=768,
        mha_heads=12,
        mha_seq=1024,
        gpt_vocab=pad_vocab(50257),
        gpt_d_model=768,
        gpt_layers=12,
        gpt_heads=12,
        gpt_seq=1024,
        gpt_batch=16,
        steps=10,
        warmup=3,
    ),
}


# ----------------------------------------------------------------------------- helpers


def _median_ms(seconds: list[float]) -> float:
    return 1000.0 * sorted(seconds)[len(seconds) // 2]


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, _OOM) or "out of memory" in str(e).lower()


def _measure(step: Callable[[], Any], size: BenchSize, device: torch.device) -> dict[str, Any]:
    """Time ``step`` (median of ``size.steps`` after ``size.warmup``) and, on CUDA, its peak memory.

    On other devices ``peak_bytes`` is None: a CPU process has no exact per-block peak of tensor
    memory (the resident-memory peak mostly shows what the allocator had cached before), so part (c)
    reports the activations saved for the backward pass instead, measured on every device.
    """
    if device.type != "cuda":
        seconds = perf.time_steps(step, size.steps, size.warmup, device)
        return {
            "ms": _median_ms(seconds),
            "peak_bytes": None,
            "memory_kind": f"not measured on {device.type}",
        }
    with perf.track_peak_memory(device) as mem:
        seconds = perf.time_steps(step, size.steps, size.warmup, device)
    return {"ms": _median_ms(seconds), "peak_bytes": mem["peak_bytes"], "memory_kind": mem["kind"]}


def _guarded(fn: Callable[[], dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """Run one measurement; an out-of-memory error becomes a row with ``status="oom"``."""
    try:
        return {"status": "ok", **fn()}
    except (RuntimeError, _OOM) as e:
        if not _is_oom(e):
            raise
        return {"status": "oom", "ms": None, "peak_bytes": None, "note": "out of memory"}
    finally:
        _free(device)
