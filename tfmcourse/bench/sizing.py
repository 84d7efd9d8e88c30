"""Sizes that fit the GPU: ``--size auto`` picks part (c)'s batch and length from the device's memory.

A free-tier T4 has 15 GiB; the GPT-2-small step of ``--size large`` (batch 16 x 1024 tokens) needs about
40 GiB in its hungriest row (naive attention in fp32), so on a T4 every row would end "out of memory".
:func:`choose_gpt_shape` keeps GPT-2's length (1024) and takes the largest batch (a power of two, at most
16) whose estimated peak memory, :func:`train_step_bytes`, fits in 90% of the device's memory less 1 GiB
(the CUDA context and the allocator's fragmentation); when not even one sequence fits, it halves the
length. Every row of the ladder runs at that one shape, so their tokens/s compare. The estimate is checked
against the activations autograd really saves (``tests/test_bench_sizing.py``, on the CPU); a row that
still runs out of memory is retried at half the batch (:func:`tfmcourse.bench.training.with_oom_retry`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from tfmcourse import perf
from tfmcourse.bench.common import SIZES, BenchSize
from tfmcourse.bench.training import make_gpt

__all__ = [
    "GIB",
    "GPU_MEMORY_GIB",
    "saved_activations_estimate",
    "train_step_bytes",
    "choose_gpt_shape",
    "auto_size",
    "device_memory",
]

GIB = 2**30

#: The memory of the GPUs a learner meets (GiB, as ``torch.cuda.get_device_properties`` reports about).
GPU_MEMORY_GIB = {"T4": 15, "L4": 24, "A100 40GB": 40, "A100 80GB": 80, "H100": 80, "H200": 141}

_MAX_BATCH, _MIN_SEQ = 16, 128


def saved_activations_estimate(size: BenchSize, batch: int, seq: int) -> int:
    """Bytes of the tensors autograd saves in one forward pass of part (c)'s GPT with naive attention in
    float32, at ``(batch, seq)``: per token ``17 d_model + 2 heads seq`` float32 numbers per block (the
    inputs of the six matrix products, the layer norms, GELU, the residual stream; naive attention keeps
    the softmax's input and output, ``(heads, seq, seq)`` per sequence), then ``4 d_model + vocab`` (the
    final layer norm, the head's input, the log-softmax the loss keeps). An upper estimate: within 20% of
    what :func:`tfmcourse.memory.saved_activation_bytes` measures (``tests/test_bench_sizing.py``)."""
    if batch < 1 or seq < 1:
        raise ValueError(f"batch and seq must be >= 1, got batch={batch}, seq={seq}")
    d, heads, layers, vocab = size.gpt_d_model, size.gpt_heads, size.gpt_layers, size.gpt_vocab
    return 4 * batch * seq * (layers * (17 * d + 2 * heads * seq) + 4 * d + vocab)


def train_step_bytes(size: BenchSize, batch: int, seq: int) -> int:
    """Estimated peak memory (bytes) of one AdamW step of part (c)'s GPT at ``(batch, seq)`` in its
    hungriest row: naive attention, fp32 activations.

    - weights, gradients and Adam's two moments: 16 bytes per parameter;
    - the activations autograd saves (:func:`saved_activations_estimate`);
    - the largest transients of the backward pass: two ``(batch, seq, vocab)`` gradients of the logits and
      two of one block's attention scores, ``(batch, heads, seq, seq)``, in float32.
    """
    saved = saved_activations_estimate(size, batch, seq)
    # the parameters of the model on "meta": shapes only, nothing allocated
    params = perf.count_parameters(make_gpt(replace(size, gpt_seq=seq), "naive", "meta", 0))
    vocab, heads = size.gpt_vocab, size.gpt_heads
    transient = 4 * (2 * batch * seq * vocab + 2 * batch * heads * seq * seq)
    return 16 * params + saved + transient


def choose_gpt_shape(memory_bytes: int, size: BenchSize | None = None) -> dict[str, Any]:
    """``{"batch", "seq", "estimate_bytes", "budget_bytes", "memory_bytes"}`` for a device with
    ``memory_bytes`` of memory: the longest length up to ``size.gpt_seq`` (default: ``--size large``,
    GPT-2 small at 1024) at which one sequence fits, then the largest power-of-two batch up to
    ``size.gpt_batch`` (at most 16) that fits (see the module docstring)."""
    size = SIZES["large"] if size is None else size
    if not isinstance(memory_bytes, int) or isinstance(memory_bytes, bool) or memory_bytes <= 0:
        raise ValueError(f"memory_bytes must be a positive int, got {memory_bytes!r}")
    budget = int(0.9 * memory_bytes) - GIB
    seq = size.gpt_seq
    while seq > _MIN_SEQ and train_step_bytes(size, 1, seq) > budget:
        seq //= 2
    if train_step_bytes(size, 1, seq) > budget:
        raise ValueError(
            f"{memory_bytes / GIB:.1f} GiB is too little for one sequence of {seq} tokens of this model "
            f"(needs about {train_step_bytes(size, 1, seq) / GIB:.1f} GiB)"
        )
    batch = 1
    while batch * 2 <= min(size.gpt_batch, _MAX_BATCH) and train_step_bytes(size, batch * 2, seq) <= budget:
        batch *= 2
    return {
        "batch": batch,
        "seq": seq,
        "estimate_bytes": train_step_bytes(size, batch, seq),
        "budget_bytes": budget,
        "memory_bytes": memory_bytes,
    }


def auto_size(memory_bytes: int) -> tuple[BenchSize, dict[str, Any]]:
    """``--size auto`` for a device with ``memory_bytes``: ``--size large`` with part (c)'s batch and
    length from :func:`choose_gpt_shape`, part (b) at the same batch and length, and part (a)'s lengths
    limited to those whose naive attention (four ``(batch, heads, seq, seq)`` fp32 tensors forward and
    backward) fits the same budget. Returns ``(size, choice)``."""
    large = SIZES["large"]
    choice = choose_gpt_shape(memory_bytes, large)
    b = large.attn_batch * large.attn_heads
    seqs = tuple(s for s in large.attn_seqs if 4 * 4 * b * s * s <= choice["budget_bytes"])
    size = replace(
        large,
        gpt_batch=choice["batch"],
        gpt_seq=choice["seq"],
        mha_batch=choice["batch"],
        mha_seq=choice["seq"],
        attn_seqs=seqs or large.attn_seqs[:1],
    )
    return size, choice


def device_memory(device: torch.device) -> int | None:
    """The total memory of a CUDA device in bytes (None on other devices)."""
    if device.type != "cuda":
        return None
    return torch.cuda.get_device_properties(device).total_memory
