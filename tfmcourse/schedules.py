"""Learning-rate schedules (chapter 7): warmup, then a decay.

- :func:`noam_lr`: the schedule of Vaswani et al. (2017),
  ``lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)``;
- :func:`cosine_lr`: linear warmup, then a half cosine down to a floor;
- :func:`constant_lr`: linear warmup, then constant;
- :func:`make_schedule`: one of them by name, as a function ``step -> learning rate``.

Steps count from 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["noam_lr", "cosine_lr", "constant_lr", "make_schedule", "SCHEDULES"]

SCHEDULES = ("noam", "cosine", "constant")


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
    schedule: str,
    *,
    lr: float,
    warmup: int,
    d_model: int | None = None,
    total_steps: int | None = None,
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
