"""One training loop for every model of the book (chapter 7, reused by the GPT and GPU chapters).

:class:`Trainer` minimises ``loss_fn(model, get_batch(step))`` with Adam(W), a learning-rate schedule,
gradient clipping, evaluation every N steps and a progress bar. Its options come in two groups:
:class:`OptimizerConfig` (how it optimizes) and :class:`~tfmcourse.speed.SpeedConfig` (the speed options
of chapter 8); each field can also be given by name, ``Trainer(model, loss_fn, get_batch, lr=1e-3,
precision="bf16")``.

The trainer knows nothing about the model: it calls ``loss_fn(model, batch) -> loss`` on
``batch = get_batch(step)``. Because the batch depends only on the step number, and the random states
are saved, training ``2N`` steps in one go or ``N`` steps, a checkpoint, and ``N`` more gives the same
parameters bit for bit on CPU.

The pieces it is made of have their own modules, and can be imported from here as before:
:mod:`tfmcourse.schedules` (``noam_lr``, ``cosine_lr``, ...), :mod:`tfmcourse.losses`
(``label_smoothed_cross_entropy``), :mod:`tfmcourse.checkpoint` (``save_checkpoint``,
``load_checkpoint``, the random states) and :mod:`tfmcourse.speed` (device, mixed precision, compile, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from tfmcourse.checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from tfmcourse.losses import label_smoothed_cross_entropy
from tfmcourse.schedules import SCHEDULES, constant_lr, cosine_lr, make_schedule, noam_lr
from tfmcourse.speed import (
    PRECISIONS,
    SpeedConfig,
    amp_dtype,
    autocast,
    checkpoint_modules,
    compile_unsupported_reason,
    fused_supported,
    grad_scaler,
    make_adamw,
    maybe_compile,
    pick_device,
    pin_batch,
)

__all__ = [
    "Trainer",
    "OptimizerConfig",
    "SpeedConfig",
    "shuffled_batches",
    # from the modules the trainer is made of, importable from here as before
    "noam_lr",
    "cosine_lr",
    "constant_lr",
    "make_schedule",
    "SCHEDULES",
    "label_smoothed_cross_entropy",
    "save_checkpoint",
    "load_checkpoint",
    "get_rng_state",
    "set_rng_state",
    "pick_device",
    "PRECISIONS",
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


@dataclass
class OptimizerConfig:
    """How :class:`Trainer` optimizes.

    Args:
        lr: the schedule's scale: the noam ``factor``, or the peak learning rate of the others.
        schedule: ``"noam"`` (default), ``"cosine"`` or ``"constant"``
            (see :func:`~tfmcourse.schedules.make_schedule`).
        warmup: warmup steps. ``d_model``: for noam. ``total_steps``, ``min_lr``: for cosine.
        betas, eps, weight_decay: Adam's (defaults of Vaswani et al.: ``(0.9, 0.98)``, ``1e-9``, 0).
            ``weight_decay > 0`` uses AdamW. ``foreach``: passed to the optimizer (``True`` updates all
            parameters in a few batched operations, faster for small models on CPU too).
        clip_norm: clip the gradients' global norm to this (``None`` = no clipping).
    """

    lr: float = 1.0
    schedule: str = "noam"
    warmup: int = 400
    d_model: int | None = None
    total_steps: int | None = None
    min_lr: float = 0.0
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-9
    weight_decay: float = 0.0
    foreach: bool | None = None
    clip_norm: float | None = 1.0


def _split_options(
    optim: OptimizerConfig | None, speed: SpeedConfig | None, options: dict[str, Any]
) -> tuple[OptimizerConfig, SpeedConfig]:
    """The two option groups, with the fields given by name (``lr=...``, ``precision=...``) filled in."""
    groups = {}
    for name, config, cls in (("optim", optim, OptimizerConfig), ("speed", speed, SpeedConfig)):
        fields = {f.name for f in dataclasses.fields(cls)}
        mine = {k: options.pop(k) for k in list(options) if k in fields}
        groups[name] = dataclasses.replace(config or cls(), **mine)
    if options:
        raise TypeError(
            f"Trainer() got unknown options {sorted(options)}: see OptimizerConfig and SpeedConfig"
        )
    return groups["optim"], groups["speed"]


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
        optim: an :class:`OptimizerConfig` (learning rate, schedule, Adam, clipping).
        speed: a :class:`~tfmcourse.speed.SpeedConfig` (device, mixed precision, compile, fused Adam,
            accumulation, activation checkpointing, pinned memory).
        eval_fn: ``model -> float or dict of floats``, run every ``eval_every`` steps in eval mode
            under ``torch.no_grad()``; it does not touch the training's random state.
        log_every: record losses and refresh the progress bar every this many steps.
        progress: show a ``tqdm`` progress bar with the loss and the learning rate.
        **options: any field of either config by name, e.g. ``lr=1e-3, schedule="constant"``.

    After :meth:`train`, ``history`` holds per-step ``"loss"``, ``"lr"``, ``"grad_norm"`` and the
    evaluations (``"eval_step"``, ``"eval"``); ``train_seconds`` the wall time spent in training steps.
    A NaN or infinite loss or gradient norm stops training with a ``FloatingPointError`` naming the step,
    before it reaches the weights or the optimizer state.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[nn.Module, Any], Tensor],
        get_batch: Callable[[int], Any],
        optim: OptimizerConfig | None = None,
        speed: SpeedConfig | None = None,
        *,
        eval_fn: Callable[[nn.Module], Any] | None = None,
        eval_every: int = 0,
        log_every: int = 10,
        progress: bool = True,
        **options: Any,
    ):
        o, s = self.optim, self.speed = _split_options(optim, speed, options)
        if log_every < 1 or eval_every < 0:
            raise ValueError(f"need log_every >= 1 and eval_every >= 0, got {log_every}, {eval_every}")
        device = pick_device() if s.device == "auto" else s.device
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.amp_dtype = amp_dtype(self.device, s.precision)
        self.scaler = grad_scaler(self.device, self.amp_dtype)
        self.accum_steps = s.accum_steps
        self.pin_memory = s.pin_memory and self.device.type == "cuda"
        if s.checkpointing is not False:
            inner = getattr(model, "module", model)  # a DistributedDataParallel wrapper holds the model
            if s.checkpointing is True and not hasattr(inner, "blocks"):
                raise ValueError(
                    f"checkpointing=True needs a model with .blocks, {type(inner).__name__} has "
                    "none: pass the list of modules to checkpoint instead"
                )
            checkpoint_modules(inner.blocks if s.checkpointing is True else s.checkpointing)
        self.forward_model = maybe_compile(self.model, self.device) if s.compile else self.model
        fused = s.fused
        if fused and not fused_supported(self.device):
            print(f"fused Adam skipped: not available on {self.device.type} in torch {torch.__version__}.")
            fused = False
        self.loss_fn, self.get_batch = loss_fn, get_batch
        self.lr_at = make_schedule(
            o.schedule,
            lr=o.lr,
            warmup=o.warmup,
            d_model=o.d_model,
            total_steps=o.total_steps,
            min_lr=o.min_lr,
        )
        opt = torch.optim.AdamW if o.weight_decay > 0 else torch.optim.Adam
        # The optimizer's base lr is 1, so the scheduler's factor *is* the learning rate.
        self.optimizer = opt(
            model.parameters(),
            lr=1.0,
            betas=o.betas,
            eps=o.eps,
            weight_decay=o.weight_decay,
            **({"fused": True} if fused else {"foreach": o.foreach}),
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: self.lr_at(s + 1))
        # Skip a non-finite step on the device instead of reading the loss on the host (see _update).
        self._skip_on_device = (
            self.device.type != "cpu"
            and getattr(self.optimizer, "_step_supports_amp_scaling", False)
            and not self.scaler.is_enabled()
        )
        self.clip_norm, self.eval_fn, self.eval_every = o.clip_norm, eval_fn, eval_every
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
                try:
                    self._update(loss, norm)
                except FloatingPointError:
                    self._flush(losses, norms, bar)  # keep the history of the steps that were made
                    raise
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
                    raise ValueError(
                        f"loss_fn must return a scalar tensor, got {getattr(loss, 'shape', loss)!r}"
                    )
                self.scaler.scale(loss / k if k > 1 else loss).backward()
            total = loss.detach() if total is None else total + loss.detach()
        return total / k if k > 1 else total

    def _finite(self, loss: Tensor, norm: Tensor) -> Tensor:
        """Whether a step may update the weights: a finite loss, and a finite gradient norm (under fp16
        the gradient scaler skips the steps whose gradients overflowed and lowers its scale: its business)."""
        return (
            torch.isfinite(loss) if self.scaler.is_enabled() else torch.isfinite(loss) & torch.isfinite(norm)
        )

    def _update(self, loss: Tensor, norm: Tensor) -> None:
        """The optimizer step, made only when :meth:`_finite`: no NaN or inf ever reaches the weights or
        the optimizer state, and training stops with a ``FloatingPointError`` that names the step.

        Reading the answer on the host is free on the CPU, where the error comes at once. On a GPU it
        would wait for the device at every step: an optimizer that can skip its update on the device
        (the fused Adam kernels, as for ``torch.amp.GradScaler``) does so, and the error comes when the
        losses are next read (every ``log_every`` steps); other optimizers are checked at every step.
        """
        self.history["lr"].append(self.scheduler.get_last_lr()[0])
        finite = self._finite(loss, norm)
        if self._skip_on_device:
            self.optimizer.grad_scale, self.optimizer.found_inf = None, (~finite).float()
            try:
                self.optimizer.step()
            finally:
                del self.optimizer.grad_scale, self.optimizer.found_inf
            return
        if not finite:
            self.history["lr"].pop()
            raise FloatingPointError(
                f"step {self.step}: the loss is {loss.item()} and the gradient norm {norm.item()}; training "
                f"stopped before the update (the weights and the optimizer state are those after step "
                f"{self.step - 1})"
            )
        self.scaler.step(self.optimizer)  # = optimizer.step(), unless fp16 gradients overflowed
        self.scaler.update()

    def _flush(self, losses: list[Tensor], norms: list[Tensor], bar: Any) -> None:
        """Move the buffered losses to the history (one device sync per ``log_every`` steps)."""
        if not losses:
            return
        loss, norm = torch.stack(losses).float().cpu(), torch.stack(norms).float().cpu()
        bad = (~self._finite(loss, norm)).nonzero()
        first = len(losses) if len(bad) == 0 else int(bad[0])
        self.history["loss"] += loss[:first].tolist()
        self.history["grad_norm"] += norm[:first].tolist()
        if first < len(losses):  # a step skipped on the device (see _update)
            step = self.step - len(losses) + first
            raise FloatingPointError(
                f"step {step}: the loss is {loss[first].item()} and the gradient norm {norm[first].item()}; "
                f"its update was skipped, and training stopped at step {self.step}"
            )
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
    tensors = (
        list(data.values())
        if isinstance(data, Mapping)
        else [data]
        if isinstance(data, Tensor)
        else list(data)
    )
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(
            f"every tensor of data needs the same first axis, got {[tuple(t.shape) for t in tensors]}"
        )
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
