"""Parts (a) and (b) of the benchmark: attention, and multi-head attention, forward + backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse.attention import causal_mask, fused_attention, scaled_dot_product_attention
from tfmcourse.bench.common import _OOM, BenchSize, _free, _guarded, _is_oom, _measure
from tfmcourse.multihead import MultiHeadAttention

__all__ = ["bench_attention", "bench_mha"]


# ----------------------------------------------------------------------------- (a) attention


def bench_attention(
    size: BenchSize, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0
) -> list[dict[str, Any]]:
    """Part (a): causal attention forward + backward, for each sequence length of ``size.attn_seqs``.

    Returns one row per length with the median milliseconds of ``naive`` (our einsum + masked
    softmax), ``ours_sdpa`` (the ``impl="sdpa"`` path of ``MultiHeadAttention``: torch's kernel with
    our boolean mask) and ``torch_sdpa`` (``F.scaled_dot_product_attention(is_causal=True)``), and
    the speed-ups of the last two over ``naive``.
    """
    g = torch.Generator(device="cpu").manual_seed(seed)
    rows = []
    for seq in size.attn_seqs:
        rows.append(_attention_row(seq, size, device, dtype, g))
        _free(device)
    return rows


def _attention_row(
    seq: int, size: BenchSize, device: torch.device, dtype: torch.dtype, g: torch.Generator
) -> dict[str, Any]:
    """One row of part (a): the three attentions at one sequence length."""
    shape = (size.attn_batch, size.attn_heads, seq, size.attn_d_head)
    q, k, v = (
        torch.randn(shape, generator=g).to(device=device, dtype=dtype).requires_grad_() for _ in range(3)
    )
    mask = causal_mask(seq, device=device)
    grad = torch.randn(shape, generator=g).to(device=device, dtype=dtype)
    fns = {
        "naive": lambda: scaled_dot_product_attention(q, k, v, mask=mask)[0],
        "ours_sdpa": lambda: fused_attention(q, k, v, mask),
        "torch_sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    }
    row: dict[str, Any] = {"seq": seq, "shape": list(shape)}
    try:
        with torch.no_grad():
            ref = fns["torch_sdpa"]()
            row["max_abs_diff"] = max(float((fns[n]() - ref).abs().max()) for n in ("naive", "ours_sdpa"))
    except (RuntimeError, _OOM) as e:
        if not _is_oom(e):
            raise
        row["max_abs_diff"] = None
    ref = None
    _free(device)
    for name, fn in fns.items():

        def step(fn: Callable[[], Tensor] = fn) -> None:
            q.grad = k.grad = v.grad = None
            fn().backward(grad)

        r = _guarded(lambda step=step: _measure(step, size, device), device)
        row[f"{name}_ms"] = r["ms"]
        row[f"{name}_peak_bytes"] = r["peak_bytes"]
    for name in ("ours_sdpa", "torch_sdpa"):
        ok = row["naive_ms"] is not None and row[f"{name}_ms"] is not None
        row[f"{name}_speedup"] = row["naive_ms"] / row[f"{name}_ms"] if ok else None
    return row


# ----------------------------------------------------------------------------- (b) multi-head attention


def bench_mha(
    size: BenchSize, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0
) -> list[dict[str, Any]]:
    """Part (b): causal multi-head self-attention, forward + backward.

    Rows ``torch`` (``nn.MultiheadAttention``, batch first, ``need_weights=False``), ``ours_naive``
    and ``ours_sdpa`` (copies of its weights): the median milliseconds, ``vs_torch`` = torch's time /
    ours (above 1: ours is faster) and the largest difference of the outputs from torch's.
    """
    torch.manual_seed(seed)
    torch_mha = nn.MultiheadAttention(size.mha_d_model, size.mha_heads, batch_first=True).to(
        device=device, dtype=dtype
    )
    g = torch.Generator(device="cpu").manual_seed(seed)
    shape = (size.mha_batch, size.mha_seq, size.mha_d_model)
    x = torch.randn(shape, generator=g).to(device=device, dtype=dtype).requires_grad_()
    grad = torch.randn(shape, generator=g).to(device=device, dtype=dtype)
    allowed = causal_mask(size.mha_seq, device=device)  # True = may attend (ours)
    modules: dict[str, Callable[[], Tensor]] = {
        # torch's boolean attn_mask means True = NOT allowed: the opposite sense.
        "torch": lambda: torch_mha(x, x, x, attn_mask=~allowed, need_weights=False)[0],
    }
    for impl in ("naive", "sdpa"):
        ours = MultiHeadAttention.from_torch(torch_mha, impl=impl)
        modules[f"ours_{impl}"] = lambda ours=ours: ours(x, x, x, mask=allowed)[0]
    with torch.no_grad():
        ref = modules["torch"]()
        diffs = {name: float((fn() - ref).abs().max()) for name, fn in modules.items()}
    rows = []
    for name, fn in modules.items():

        def step(fn: Callable[[], Tensor] = fn) -> None:
            x.grad = None
            fn().backward(grad)

        r = _guarded(lambda: _measure(step, size, device), device)
        rows.append(
            {
                "impl": name,
                "shape": list(shape),
                "ms": r["ms"],
                "peak_bytes": r["peak_bytes"],
                "max_abs_diff": diffs[name],
                "status": r["status"],
            }
        )
    t_torch = rows[0]["ms"]
    for row in rows:
        row["vs_torch"] = t_torch / row["ms"] if t_torch and row["ms"] else None
    return rows
