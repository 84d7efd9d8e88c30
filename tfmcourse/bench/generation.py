"""Part (d) of the benchmark: greedy generation with and without the KV cache."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from tfmcourse.bench.common import BenchSize
from tfmcourse.bench.training import make_gpt
from tfmcourse.sampling import generate

__all__ = ["bench_kv_cache", "generation_speed"]


def bench_kv_cache(size: BenchSize, device: torch.device, seed: int = 0) -> list[dict[str, Any]]:
    """Part (d): greedy generation tokens/s with and without the KV cache, for lengths up to ``gpt_seq``."""
    model = make_gpt(size, "naive", device, seed).eval()
    lengths = tuple(n for n in (32, 64, 128, 256, 512, 1024) if n <= size.gpt_seq) or (size.gpt_seq,)
    return generation_speed(model, lengths)


def generation_speed(
    model: nn.Module, lengths: tuple[int, ...] = (64, 128, 256), batch: int = 1, repeats: int = 3
) -> list[dict[str, float]]:
    """Greedy generation speed with and without the KV cache, in new tokens per second.

    For each ``length``, generates ``length - 1`` tokens after a one-token prompt (``batch`` rows),
    ``repeats`` times each way, and keeps the fastest run (the least disturbed by other processes).
    Returns one dict per length: ``{"length", "cached", "uncached", "speedup"}`` (tokens/s and ratio).
    Each length must fit in ``model.config.max_len``.
    """
    if any(not isinstance(n, int) or not 2 <= n <= model.config.max_len for n in lengths):
        raise ValueError(f"lengths must be ints in [2, max_len={model.config.max_len}], got {lengths!r}")
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch and repeats must be positive ints, got batch={batch!r}, repeats={repeats!r}")
    device = next(model.parameters()).device
    prompt = torch.zeros(batch, 1, dtype=torch.long, device=device)
    rows = []
    for length in lengths:
        best = {True: float("inf"), False: float("inf")}
        for _ in range(repeats):
            for use_cache in (True, False):  # interleaved, so that a busy moment hits both
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                generate(model, prompt, length - 1, temperature=0, use_cache=use_cache)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best[use_cache] = min(best[use_cache], time.perf_counter() - start)
        cached, uncached = batch * (length - 1) / best[True], batch * (length - 1) / best[False]
        rows.append({"length": length, "cached": cached, "uncached": uncached, "speedup": cached / uncached})
    return rows
