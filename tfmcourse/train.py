"""One training loop for every model of the book (chapter 7, reused by the GPT and GPU chapters).

The pieces, each usable on its own:

- learning-rate schedules: :func:`noam_lr`, the warmup schedule of Vaswani et al. (2017),
  ``lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)``, and :func:`cosine_lr`,
  linear warmup then a cosine decay;
- :func:`label_smoothed_cross_entropy`: cross entropy against a target distribution that puts
  ``1 - smoothing`` on the right token and spreads ``smoothing`` evenly over the whole vocabulary,
  ignoring padding positions;
- :func:`save_checkpoint` / :func:`load_checkpoint`: model, optimizer, scheduler, random-number-generator
  states and step in one file, written atomically and read back with ``torch.load(weights_only=True)``;
- :class:`Trainer`: Adam + schedule + gradient clipping + evaluation every N steps + a progress bar.

The trainer knows nothing about the model: it calls ``loss_fn(model, batch) -> loss`` on
``batch = get_batch(step)``. Because the batch depends only on the step number, and the random states
are saved, training ``2N`` steps in one go or ``N`` steps, a checkpoint, and ``N`` more gives the same
parameters bit for bit on CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import random
import tempfile
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn
from tqdm.auto import tqdm

__all__ = [
    "noam_lr",
    "cosine_lr",
    "constant_lr",
    "make_schedule",
    "label_smoothed_cross_entropy",
    "save_checkpoint",
    "load_checkpoint",
    "get_rng_state",
    "set_rng_state",
    "Trainer",
    "shuffled_batches",
    "SCHEDULES",
    "pick_device",
    "amp_dtype",
    "autocast",
    "grad_scaler",
    "compile_unsupported_reason",
    "maybe_compile",
    "fused_supported",
    "make_adamw",
    "checkpoint_modules",
    "pin_batch",
]

SCHEDULES = ("noam", "cosine", "constant")
CHECKPOINT_FORMAT = "tfmcourse-checkpoint-v1"


# ----------------------------------------------------------------------------- schedules


def _check_step(step: int) -> None:
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"step counts from 1, got {step!r}")


def noam_lr(step: int, d_model: int, warmup: int, factor: float = 1.0) -> float:
    """The learning rate of Vaswani et al. (2017) at ``step`` (counted from 1).

    ``factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)``: it grows linearly for ``warmup``
    steps, peaks at ``factor / sqrt(d_model * warmup)``, then decays like ``1 / sqrt(step)``.
    """
    _check_step(step)
    if d_model <= 0 or warmup <= 0:
        raise ValueError(f"d_model and warmup must be positive, got d_model={d_model}, warmup={warmup}")
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def cosine_lr(step: int, peak_lr: float, warmup: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Linear warmup to ``peak_lr`` over ``warmup`` steps, then a half cosine down to ``min_lr`` at
    ``total_steps`` (and ``min_lr`` after it). ``step`` counts from 1."""
    _check_step(step)
    if warmup < 0 or total_steps <= warmup:
        raise ValueError(f"need 0 <= warmup < total_steps, got warmup={warmup}, total_steps={total_steps}")
    if step <= warmup:
        return peak_lr * step / warmup
    progress = min(1.0, (step - warmup) / (total_steps - warmup))
    return min_lr + 0.5 * (peak_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def constant_lr(step: int, lr: float, warmup: int = 0) -> float:
    """``lr`` after a linear warmup of ``warmup`` steps (none when 0). ``step`` counts from 1."""
    _check_step(step)
    return lr * min(1.0, step / warmup) if warmup > 0 else lr


def make_schedule(
    schedule: str, *, lr: float, warmup: int, d_model: int | None = None, total_steps: int | None = None,
    min_lr: float = 0.0,
) -> Callable[[int], float]:
    """The function ``step -> learning rate`` of a named schedule.

    ``"noam"``: :func:`noam_lr` with ``factor=lr`` (needs ``d_model``); ``"cosine"``: :func:`cosine_lr`
    with ``peak_lr=lr`` (needs ``total_steps``); ``"constant"``: :func:`constant_lr`.
    """
    if schedule == "noam":
        if d_model is None:
            raise ValueError("the noam schedule needs d_model")
        return lambda step: noam_lr(step, d_model, warmup, factor=lr)
    if schedule == "cosine":
        if total_steps is None:
            raise ValueError("the cosine schedule needs total_steps")
        cosine_lr(1, lr, warmup, total_steps, min_lr)  # validates the arguments now, not mid-training
        return lambda step: cosine_lr(step, lr, warmup, total_steps, min_lr)
    if schedule == "constant":
        return lambda step: constant_lr(step, lr, warmup)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


# ----------------------------------------------------------------------------- loss


def label_smoothed_cross_entropy(
    logits: Float[Tensor, "... vocab"],
    target: Int[Tensor, "..."],
    smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Float[Tensor, ""] | Float[Tensor, "..."]:
    """Cross entropy with label smoothing (Szegedy et al., 2016), skipping ``ignore_index`` targets.

    The target distribution puts ``1 - smoothing`` on the right token and ``smoothing / vocab`` on
    every token (the right one included), so per position the loss is
    ``(1 - smoothing) * -log p[target] + smoothing * mean_v(-log p[v])``. This is what
    ``torch.nn.functional.cross_entropy(..., label_smoothing=smoothing, ignore_index=...)`` computes.

    Args:
        logits: unnormalised scores ``(..., vocab)``.
        target: token ids ``(...)`` (``logits``' shape without the last axis); positions equal to
            ``ignore_index`` (padding) contribute nothing.
        smoothing: in ``[0, 1)``; 0 gives the plain cross entropy.
        reduction: ``"mean"`` over the kept positions (0 when none is kept), ``"sum"``, or ``"none"``
            (per-position losses, 0 at ignored positions).
    """
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.ndim < 1:
        raise ValueError(f"logits must be a float tensor (..., vocab), got {getattr(logits, 'shape', type(logits))}")
    if not isinstance(target, Tensor) or target.dtype != torch.long:
        raise ValueError(f"target must be a long tensor, got {getattr(target, 'dtype', type(target))}")
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"target has shape {tuple(target.shape)} but logits has shape {tuple(logits.shape)}: target must "
            "be logits' shape without the last (vocab) axis"
        )
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    keep = target != ignore_index
    vocab = logits.shape[-1]
    if keep.any() and (target[keep].min() < 0 or target[keep].max() >= vocab):
        raise ValueError(f"target ids must lie in [0, {vocab}) (or equal ignore_index={ignore_index})")
    log_p = logits.log_softmax(dim=-1)
    nll = -log_p.gather(-1, target.masked_fill(~keep, 0).unsqueeze(-1)).squeeze(-1)
    uniform = -log_p.mean(dim=-1)
    loss = ((1.0 - smoothing) * nll + smoothing * uniform).masked_fill(~keep, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum().clamp(min=1)


# ----------------------------------------------------------------------------- random states


def get_rng_state() -> dict[str, Any]:
    """The states of torch's CPU (and CUDA) generators, Python's ``random`` and NumPy's global generator,
    as tensors and plain Python values (so that ``torch.load(weights_only=True)`` can read them)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the states returned by :func:`get_rng_state`."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- checkpoints


def _checksum(obj: Any) -> str:
    """SHA-256 of every tensor's bytes and every plain value in ``obj`` (nested dicts, lists, tuples)."""
    h = hashlib.sha256()

    def visit(x: Any) -> None:
        if isinstance(x, Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(x, Mapping):
            h.update(b"{")
            for k, v in x.items():
                h.update(repr(k).encode())
                visit(v)
            h.update(b"}")
        elif isinstance(x, (list, tuple)):
            h.update(b"[" if isinstance(x, list) else b"(")
            for v in x:
                visit(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    visit(obj)
    return h.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    step: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save the training state to ``path`` atomically; return the path.

    The file holds the model's, optimizer's and scheduler's ``state_dict``, the random states
    (:func:`get_rng_state`), ``step``, ``extra`` (plain values and tensors only, e.g. a loss history)
    and a SHA-256 checksum of all of it. It is first written to a temporary file in the same folder,
    then renamed over ``path`` with ``os.replace``: a crash while saving leaves the previous checkpoint
    untouched and no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": get_rng_state(),
        "extra": dict(extra) if extra is not None else {},
    }
    payload["checksum"] = _checksum(payload)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    *,
    restore_rng: bool = True,
    map_location: str | torch.device | None = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``,
    ``scheduler``), restore the random states, and return ``{"step": ..., "extra": ...}``.

    A missing file raises ``FileNotFoundError``; a truncated, corrupted or foreign file raises a
    ``ValueError`` that names the path. The file is read with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, garbage bytes, unpickling errors: all mean "bad file"
        raise ValueError(
            f"cannot read the checkpoint {path}: the file is truncated or corrupted ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a tfmcourse checkpoint (no {CHECKPOINT_FORMAT!r} format tag)")
    stored = ckpt.pop("checksum", None)
    if stored != _checksum(ckpt):
        raise ValueError(f"the checkpoint {path} is corrupted: its checksum does not match its contents")
    for name, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if ckpt[name] is None:
            raise ValueError(f"the checkpoint {path} has no {name} state")
        try:
            obj.load_state_dict(ckpt[name])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(f"the {name} state in {path} does not fit the given {name}: {e}") from None
    if restore_rng:
        set_rng_state(ckpt["rng"])
    return {"step": ckpt["step"], "extra": ckpt["extra"]}


# ----------------------------------------------------------------------------- the trainer


def _to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device, non_blocking) for v in batch)
    return batch


class Trainer:
    """Train ``model`` by minimising ``loss_fn(model, get_batch(step))`` with Adam and a schedule.

    Args:
        model: any ``nn.Module``.
        loss_fn: ``(model, batch) -> scalar loss tensor``.
        get_batch: ``step -> batch`` (tensors, or dicts/tuples of tensors), for ``step = 0, 1, ...``.
            It must depend on the step only (e.g. a per-epoch permutation seeded by the epoch) so that
            a resumed run sees the same batches.
        lr: the schedule's scale: the noam ``factor``, or the peak learning rate of the others.
        schedule: ``"noam"`` (default), ``"cosine"`` or ``"constant"`` (see :func:`make_schedule`).
        warmup: warmup steps. ``d_model``: for noam. ``total_steps``, ``min_lr``: for cosine.
        betas, eps, weight_decay: Adam's (defaults of Vaswani et al.: ``(0.9, 0.98)``, ``1e-9``, 0).
            ``weight_decay > 0`` uses AdamW. ``foreach``: passed to the optimizer (``True`` updates all
            parameters in a few batched operations, faster for small models on CPU too).
        clip_norm: clip the gradients' global norm to this (``None`` = no clipping).
        eval_fn: ``model -> float or dict of floats``, run every ``eval_every`` steps in eval mode
            under ``torch.no_grad()``; it does not touch the training's random state.
        log_every: record losses and refresh the progress bar every this many steps.
        progress: show a ``tqdm`` progress bar with the loss and the learning rate.
        device: where the model and batches go (default: the model's device; ``"auto"``: CUDA, then
            Apple MPS, then the CPU, see :func:`pick_device`).

    Speed options of chapter 8, each off by default:
        precision: mixed precision, ``None`` (off), ``"auto"``, ``"bf16"`` or ``"fp16"`` (see
            :func:`amp_dtype`; ``"auto"`` is bf16 or fp16 on a GPU and off on a CPU). The forward pass
            and the loss run under ``torch.autocast``; fp16 adds a gradient scaler (:func:`grad_scaler`).
        compile: run the forward pass through ``torch.compile`` (:func:`maybe_compile`: skipped with
            a one-line message where unsupported). ``self.model`` stays the uncompiled module.
        fused: the fused Adam/AdamW kernel (skipped with a message where the device has none).
        accum_steps: gradient accumulation (梯度累积): each optimizer step sums the gradients of
            ``accum_steps`` micro-batches, ``get_batch(step * accum_steps + i)``, each loss divided by
            ``accum_steps``: the step of one batch ``accum_steps`` times larger, in the memory of one.
        checkpointing: activation checkpointing of ``model.blocks`` (or of the modules given),
            see :func:`checkpoint_modules`.
        pin_memory: put each CPU batch in pinned memory and copy it with ``non_blocking=True`` (CUDA
            only; nothing changes elsewhere).

    After :meth:`train`, ``history`` holds per-step ``"loss"``, ``"lr"``, ``"grad_norm"`` and the
    evaluations (``"eval_step"``, ``"eval"``); ``train_seconds`` the wall time spent in training steps.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[nn.Module, Any], Tensor],
        get_batch: Callable[[int], Any],
        *,
        lr: float = 1.0,
        schedule: str = "noam",
        warmup: int = 400,
        d_model: int | None = None,
        total_steps: int | None = None,
        min_lr: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.98),
        eps: float = 1e-9,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        clip_norm: float | None = 1.0,
        eval_fn: Callable[[nn.Module], Any] | None = None,
        eval_every: int = 0,
        log_every: int = 10,
        progress: bool = True,
        device: str | torch.device | None = None,
        precision: str | None = None,
        compile: bool = False,
        fused: bool = False,
        accum_steps: int = 1,
        checkpointing: bool | list[nn.Module] = False,
        pin_memory: bool = False,
    ):
        if log_every < 1 or eval_every < 0:
            raise ValueError(f"need log_every >= 1 and eval_every >= 0, got {log_every}, {eval_every}")
        if not isinstance(accum_steps, int) or isinstance(accum_steps, bool) or accum_steps < 1:
            raise ValueError(f"accum_steps must be a positive int, got {accum_steps!r}")
        if device == "auto":
            device = pick_device()
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.amp_dtype = amp_dtype(self.device, precision)
        self.scaler = grad_scaler(self.device, self.amp_dtype)
        self.accum_steps = accum_steps
        self.pin_memory = pin_memory and self.device.type == "cuda"
        if checkpointing is not False:
            inner = getattr(model, "module", model)  # a DistributedDataParallel wrapper holds the model
            if checkpointing is True and not hasattr(inner, "blocks"):
                raise ValueError(f"checkpointing=True needs a model with .blocks, {type(inner).__name__} has "
                                 "none: pass the list of modules to checkpoint instead")
            checkpoint_modules(inner.blocks if checkpointing is True else checkpointing)
        self.forward_model = maybe_compile(self.model, self.device) if compile else self.model
        if fused and not fused_supported(self.device):
            print(f"fused Adam skipped: not available on {self.device.type} in torch {torch.__version__}.")
            fused = False
        self.loss_fn, self.get_batch = loss_fn, get_batch
        self.lr_at = make_schedule(schedule, lr=lr, warmup=warmup, d_model=d_model,
                                   total_steps=total_steps, min_lr=min_lr)
        opt = torch.optim.AdamW if weight_decay > 0 else torch.optim.Adam
        # The optimizer's base lr is 1, so the scheduler's factor *is* the learning rate.
        self.optimizer = opt(model.parameters(), lr=1.0, betas=betas, eps=eps, weight_decay=weight_decay,
                             **({"fused": True} if fused else {"foreach": foreach}))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: self.lr_at(s + 1))
        self.clip_norm, self.eval_fn, self.eval_every = clip_norm, eval_fn, eval_every
        self.log_every, self.progress = log_every, progress
        self.step = 0
        self.train_seconds = 0.0
        self.history: dict[str, list] = {"loss": [], "lr": [], "grad_norm": [], "eval_step": [], "eval": []}

    def evaluate(self) -> Any:
        """Run ``eval_fn`` in eval mode without gradients, leaving the random state as it was."""
        if self.eval_fn is None:
            raise ValueError("this Trainer has no eval_fn")
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                return self.eval_fn(self.model)
        finally:
            self.model.train(was_training)

    def train(self, steps: int) -> dict[str, list]:
        """Run ``steps`` more training steps and return the history (all steps so far)."""
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        self.model.train()
        losses: list[Tensor] = []
        norms: list[Tensor] = []
        bar = tqdm(total=steps, desc="training", disable=not self.progress, leave=True)
        try:
            for _ in range(steps):
                start = time.perf_counter()
                self.optimizer.zero_grad(set_to_none=True)
                loss = self._forward_backward()
                self.scaler.unscale_(self.optimizer)  # no-op unless fp16: clip the true gradients
                # With max_norm=inf this only measures the norm (the gradients are multiplied by 1).
                max_norm = self.clip_norm if self.clip_norm is not None else float("inf")
                norm = nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
                self.history["lr"].append(self.scheduler.get_last_lr()[0])
                self.scaler.step(self.optimizer)  # = optimizer.step(), unless fp16 gradients overflowed
                self.scaler.update()
                self.scheduler.step()
                self.step += 1
                losses.append(loss.detach())
                norms.append(norm.detach())
                self.train_seconds += time.perf_counter() - start
                if self.step % self.log_every == 0:
                    self._flush(losses, norms, bar)
                if self.eval_fn is not None and self.eval_every and self.step % self.eval_every == 0:
                    result = self.evaluate()
                    self.history["eval_step"].append(self.step)
                    self.history["eval"].append(result)
                    if self.progress:
                        bar.write(f"step {self.step}: eval {result}")
            self._flush(losses, norms, bar)
        finally:
            bar.close()
        return self.history

    def _forward_backward(self) -> Tensor:
        """The losses and gradients of step ``self.step``'s ``accum_steps`` micro-batches; returns
        their mean loss (detached)."""
        k, total = self.accum_steps, None
        for i in range(k):
            batch = self.get_batch(self.step * k + i)
            if self.pin_memory:
                batch = pin_batch(batch)
            batch = _to_device(batch, self.device, non_blocking=self.pin_memory)
            # Under DDP, average the gradients across processes only after the last micro-batch.
            sync = i == k - 1 or not hasattr(self.model, "no_sync")
            with contextlib.nullcontext() if sync else self.model.no_sync():
                with autocast(self.device, self.amp_dtype):
                    loss = self.loss_fn(self.forward_model, batch)
                if not isinstance(loss, Tensor) or loss.ndim != 0:
                    raise ValueError(f"loss_fn must return a scalar tensor, got {getattr(loss, 'shape', loss)!r}")
                self.scaler.scale(loss / k if k > 1 else loss).backward()
            total = loss.detach() if total is None else total + loss.detach()
        return total / k if k > 1 else total

    def _flush(self, losses: list[Tensor], norms: list[Tensor], bar: Any) -> None:
        """Move the buffered losses to the history (one device sync per ``log_every`` steps)."""
        if not losses:
            return
        self.history["loss"] += torch.stack(losses).float().cpu().tolist()
        self.history["grad_norm"] += torch.stack(norms).float().cpu().tolist()
        bar.update(len(losses))
        bar.set_postfix(loss=f"{self.history['loss'][-1]:.3f}", lr=f"{self.history['lr'][-1]:.2e}")
        losses.clear()
        norms.clear()

    def save(self, path: str | os.PathLike) -> Path:
        """Checkpoint everything needed to resume exactly (see :func:`save_checkpoint`)."""
        extra: dict[str, Any] = {"history": self.history}
        if self.scaler.is_enabled():
            extra["grad_scaler"] = self.scaler.state_dict()
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler, self.step, extra=extra)

    def load(self, path: str | os.PathLike) -> None:
        """Resume from a checkpoint written by :meth:`save`."""
        state = load_checkpoint(path, self.model, self.optimizer, self.scheduler, map_location=self.device)
        self.step = state["step"]
        self.history = state["extra"].get("history", self.history)
        if self.scaler.is_enabled() and "grad_scaler" in state["extra"]:
            self.scaler.load_state_dict(state["extra"]["grad_scaler"])


def shuffled_batches(data: Any, batch_size: int, seed: int = 0) -> Callable[[int], Any]:
    """``get_batch(step)`` for :class:`Trainer`: minibatches of ``data`` in a new random order each epoch.

    ``data`` is a tensor, or a tuple/dict of tensors with the same first axis (``n`` examples). Epoch
    ``e`` uses the permutation of a generator seeded with ``(seed, e)``, so the batch of a step depends
    on the step only; the last ``n % batch_size`` examples of each epoch's order are dropped.
    """
    tensors = list(data.values()) if isinstance(data, Mapping) else [data] if isinstance(data, Tensor) else list(data)
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(f"every tensor of data needs the same first axis, got {[tuple(t.shape) for t in tensors]}")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, {n}] (the number of examples), got {batch_size}")
    per_epoch = n // batch_size
    cached: dict[int, Tensor] = {}

    def get_batch(step: int) -> Any:
        epoch, i = divmod(step, per_epoch)
        if epoch not in cached:
            cached.clear()
            gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            cached[epoch] = torch.randperm(n, generator=gen)
        idx = cached[epoch][i * batch_size : (i + 1) * batch_size]
        if isinstance(data, Mapping):
            return {k: v[idx] for k, v in data.items()}
        if isinstance(data, Tensor):
            return data[idx]
        return type(data)(t[idx] for t in data)

    return get_batch


# ----------------------------------------------------------------------------- speed options (chapter 8)
# Each is off by default. Chapter 8 explains and measures them; tfmcourse.bench times them together.


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given, else CUDA, then Apple's MPS, then the CPU."""
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} was asked for but torch.cuda.is_available() is False")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device {prefer!r} was asked for but torch.backends.mps.is_available() is False")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISIONS = (None, "fp32", "auto", "bf16", "fp16")


def amp_dtype(device: str | torch.device, precision: str | None = "auto") -> torch.dtype | None:
    """The autocast dtype of mixed precision (混合精度) on ``device``, or ``None`` for plain float32.

    ``precision``: ``None`` or ``"fp32"``: off. ``"bf16"`` / ``"fp16"``: that dtype. ``"auto"``: on
    CUDA bf16 where the GPU supports it (Ampere and newer), else fp16; on MPS fp16; on the CPU
    ``None`` (mixed precision on a CPU must be asked for by name: ``"bf16"``).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = torch.device(device)
    if precision in (None, "fp32"):
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None


def autocast(device: str | torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` on ``device`` with ``dtype`` (matrix products in ``dtype``, reductions such
    as softmax and LayerNorm kept in float32); a context that does nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def grad_scaler(device: str | torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16: fp16's smallest positive number is about 6e-8, so
    small gradients would round to zero; the scaler multiplies the loss by a large factor before
    ``backward`` and divides the gradients by it before the optimizer step (skipping steps whose
    gradients overflowed). bf16 has float32's range and needs none: the scaler is then a no-op."""
    return torch.amp.GradScaler(torch.device(device).type, enabled=dtype == torch.float16)


def compile_unsupported_reason(device: str | torch.device) -> str | None:
    """Why ``torch.compile`` cannot run for ``device`` here, or None when it can."""
    device = torch.device(device)
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile"
    if device.type == "mps":
        return "torch.compile does not support the MPS device well yet"
    if device.type == "cuda":
        import importlib.util

        if importlib.util.find_spec("triton") is None:
            return "torch.compile on CUDA needs the triton package, which is not installed"
        return None
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None and shutil.which("clang") is None:
        return "torch.compile on the CPU needs a C compiler (cc, gcc or clang), none was found"
    return None


def maybe_compile(model: nn.Module, device: str | torch.device | None = None, **kwargs: Any) -> nn.Module:
    """``torch.compile(model, **kwargs)``, or ``model`` itself with a one-line message where
    ``torch.compile`` is not supported (see :func:`compile_unsupported_reason`).

    The compiled module shares its parameters with ``model`` (save and load ``model``, not it).
    """
    if device is None:
        device = next(model.parameters()).device
    reason = compile_unsupported_reason(device)
    if reason is not None:
        print(f"torch.compile skipped: {reason}.")
        return model
    return torch.compile(model, **kwargs)


def fused_supported(device: str | torch.device) -> bool:
    """Whether ``torch.optim.AdamW(..., fused=True)`` runs on ``device`` (CUDA; recent torch also has
    CPU and MPS versions)."""
    device = torch.device(device)
    if device.type == "cuda":
        return True
    try:
        p = nn.Parameter(torch.zeros(1, device=device))
        p.grad = torch.zeros(1, device=device)
        torch.optim.AdamW([p], fused=True).step()
        return True
    except (RuntimeError, TypeError, ValueError):
        return False


def make_adamw(params: Any, *, fused: bool = False, device: str | torch.device | None = None, **kwargs: Any) -> torch.optim.AdamW:
    """``torch.optim.AdamW(params, **kwargs)``; with ``fused=True`` the fused version, one kernel that
    updates every parameter at once instead of a few kernels per parameter tensor (skipped with a
    one-line message where the device has none)."""
    params = list(params)
    if fused:
        if device is None:
            first = params[0]["params"][0] if isinstance(params[0], dict) else params[0]
            device = first.device
        if fused_supported(device):
            return torch.optim.AdamW(params, fused=True, **kwargs)
        print(f"fused AdamW skipped: not available on {torch.device(device).type} in torch {torch.__version__}.")
    return torch.optim.AdamW(params, **kwargs)


def checkpoint_modules(modules: Any, enabled: bool = True) -> None:
    """Activation checkpointing (激活检查点) of each module of ``modules`` (e.g. ``model.blocks``).

    A checkpointed module keeps only its input during the forward pass and recomputes its internal
    activations during the backward pass: activation memory drops from all the layers' internals to
    one tensor per layer, for the cost of one more forward pass. Implemented with
    ``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)`` wrapped around each module's own
    ``forward``: the parameters, ``state_dict`` and outputs are unchanged. ``enabled=False`` undoes it.
    Checkpointing is applied only in training mode with gradients on; eval and ``no_grad`` calls run
    as usual.
    """
    for module in modules:
        if not isinstance(module, nn.Module):
            raise ValueError(f"modules must hold nn.Module objects, got {type(module).__name__}")
        module.__dict__.pop("forward", None)  # back to the class's forward
        if enabled:
            module.forward = types.MethodType(_checkpointed_forward, module)


def _checkpointed_forward(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
    """The forward of a module under :func:`checkpoint_modules` (a method, so ``copy.deepcopy`` works)."""
    from torch.utils.checkpoint import checkpoint

    forward = type(self).forward.__get__(self)
    if self.training and torch.is_grad_enabled():
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)
    return forward(*args, **kwargs)


def pin_batch(batch: Any) -> Any:
    """``batch`` (tensors, or dicts/lists/tuples of them) in page-locked ("pinned") CPU memory, from
    which a GPU copies directly and asynchronously; unchanged when no CUDA device exists."""
    if not torch.cuda.is_available():
        return batch
    if isinstance(batch, Tensor):
        return batch.pin_memory() if batch.device.type == "cpu" else batch
    if isinstance(batch, Mapping):
        return {k: pin_batch(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(pin_batch(v) for v in batch)
    return batch
