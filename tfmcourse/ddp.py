"""Distributed data parallel (数据并行) training: one script, one process or many (chapter 8).

Run it as one process::

    python -m tfmcourse.ddp --steps 5 --global-batch 8

or as ``N`` processes, one per GPU (or ``N`` CPU processes on the gloo backend), with ``torchrun``::

    torchrun --nproc_per_node=N -m tfmcourse.ddp --steps 5 --global-batch 8

``torchrun`` starts ``N`` copies of the script and tells each its ``RANK`` and the ``WORLD_SIZE``
in environment variables. Each copy builds the same model (same seed), takes its own slice of every
global batch (``global_batch / N`` sequences), and wraps the model in
``torch.nn.parallel.DistributedDataParallel``. During ``backward`` DDP averages the gradients of all
processes (an *all-reduce*), bucket by bucket while the rest of the backward pass still runs, so that
every process applies the same update and the models stay identical. The mean of the per-process
mean losses is the mean loss of the global batch, and its gradient is the average of their
gradients: ``N`` processes on ``global_batch / N`` sequences each compute the same step as one
process on the whole global batch. ``tests/test_ddp.py`` checks exactly that, with two CPU processes.

The model is the GPT of :mod:`tfmcourse.models.gpt` (small), trained with
:class:`tfmcourse.train.Trainer` on a synthetic, seeded task (every sequence counts up by its own step
modulo the vocabulary, :func:`tfmcourse.data.progressions.counting_batch`), so the loss goes down and
every run sees the same data. Rank 0 prints the
losses and, with ``--out``, writes them as JSON together with the world size and a checksum of the
final weights.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from tfmcourse.data.progressions import counting_batch
from tfmcourse.models.gpt import GPT, GPTConfig, lm_loss
from tfmcourse.train import Trainer, pick_device

__all__ = ["counting_batch", "shard", "setup", "train", "main"]


def shard(batch: tuple[Tensor, ...], rank: int, world_size: int) -> tuple[Tensor, ...]:
    """The ``rank``-th of ``world_size`` equal, contiguous slices (along the batch axis) of each tensor."""
    n = batch[0].shape[0]
    if not 0 <= rank < world_size or n % world_size != 0:
        raise ValueError(
            f"the global batch ({n} rows) must split evenly over world_size={world_size} (rank {rank})"
        )
    per = n // world_size
    return tuple(t[rank * per : (rank + 1) * per] for t in batch)


def setup() -> tuple[int, int, torch.device]:
    """``(rank, world_size, device)``. Under ``torchrun`` (``WORLD_SIZE`` set), start the process
    group: NCCL on GPUs (one per process, ``cuda:LOCAL_RANK``), gloo on CPUs."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1 and "RANK" not in os.environ:
        return 0, 1, pick_device()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return rank, world_size, device


def train(
    steps: int = 5,
    global_batch: int = 8,
    seq: int = 16,
    vocab: int = 32,
    d_model: int = 32,
    layers: int = 2,
    heads: int = 2,
    lr: float = 3e-3,
    seed: int = 0,
    device: torch.device | None = None,
    rank: int = 0,
    world_size: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Train the small GPT for ``steps`` steps; return the global loss of every step and a weight checksum.

    In a process group of ``world_size`` processes, this process trains on its :func:`shard` of each
    global batch with the model wrapped in DistributedDataParallel; the returned losses are the
    averages over the processes, i.e. the losses of the global batches.
    """
    device = device if device is not None else pick_device()
    torch.manual_seed(seed)  # the same initial weights in every process (DDP also broadcasts rank 0's)
    config = GPTConfig(
        vocab_size=vocab, max_len=seq, d_model=d_model, num_layers=layers, num_heads=heads, dropout=0.0
    )
    model = GPT(config).to(device)
    if world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def get_batch(step: int) -> tuple[Tensor, ...]:
        return shard(counting_batch(step, global_batch, seq, vocab, seed), rank, world_size)

    trainer = Trainer(
        model,
        lm_loss,
        get_batch,
        lr=lr,
        schedule="constant",
        warmup=0,
        clip_norm=1.0,
        log_every=max(1, steps),
        progress=progress,
        device=device,
    )
    history = trainer.train(steps)
    losses = torch.tensor(history["loss"], dtype=torch.float64, device=device)
    if world_size > 1:
        dist.all_reduce(losses)  # sum over the processes ...
        losses /= world_size  # ... then the mean: the loss of the global batch
    weights = torch.cat([p.detach().double().flatten() for p in trainer.model.parameters()])
    return {
        "world_size": world_size,
        "losses": losses.cpu().tolist(),
        "weight_sum": float(weights.sum()),
        "weight_norm": float(weights.norm()),
        "device": str(device),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="python -m tfmcourse.ddp", description="Data-parallel training of a small GPT."
    )
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--global-batch", type=int, default=8, help="sequences per step, over all processes")
    p.add_argument("--seq", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="rank 0 writes the result here as JSON")
    args = p.parse_args(argv)
    rank, world_size, device = setup()
    try:
        result = train(
            args.steps,
            args.global_batch,
            args.seq,
            lr=args.lr,
            seed=args.seed,
            device=device,
            rank=rank,
            world_size=world_size,
            progress=False,
        )
        if rank == 0:
            print(
                f"world size {world_size}, device {device}: losses "
                + ", ".join(f"{x:.6f}" for x in result["losses"])
            )
            if args.out:
                Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main()
