"""One seed from outside and the numbers a chapter records (every chapter): ``SEED = course_seed()`` reads
``$TFMCOURSE_SEED``; ``record(key, value)`` remembers a number for a sweep and returns it unchanged.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["course_seed", "seed_everything", "record", "recorded", "ENV_SEED", "ENV_RECORD"]

ENV_SEED = "TFMCOURSE_SEED"
ENV_RECORD = "TFMCOURSE_RECORD"


# ------------------------------------------------------------------------------------------ seeds


def course_seed() -> int:
    """The chapter's base seed: ``int($TFMCOURSE_SEED)``, 0 when the variable is not set.

    Every seed in a chapter is derived from it (``SEED + 1000`` for a test set, ...), so changing the
    variable changes every random draw of the chapter at once.
    """
    raw = os.environ.get(ENV_SEED, "").strip() or "0"
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_SEED} must be a non-negative integer, got {raw!r}") from None
    if seed < 0:
        raise ValueError(f"{ENV_SEED} must be a non-negative integer, got {seed}")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------------- recording

_RECORDED: dict[str, Any] = {}


def _plain(value: Any, key: str) -> Any:
    """``value`` as a JSON value: a number, a bool, or a (nested) list of them."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().tolist()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    raise TypeError(
        f"record({key!r}, ...) takes a number, a bool or a list of numbers, got {type(value).__name__}"
    )


def record(key: str, value: Any) -> Any:
    """Remember ``value`` under ``key`` for a sweep, and return it unchanged.

    ``value`` is a number, a bool, a scalar tensor or array, or a list of numbers (an accuracy per
    distance, say). When ``$TFMCOURSE_RECORD`` names a file (a sweep sets it), everything recorded so far
    is written there as JSON; otherwise nothing leaves the process.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"record: key must be a non-empty string, got {key!r}")
    _RECORDED[key] = _plain(value, key)
    path = os.environ.get(ENV_RECORD)
    if path:
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(_RECORDED), encoding="utf-8")
        tmp.replace(path)
    return value


def recorded() -> dict[str, Any]:
    """A copy of everything recorded in this process so far."""
    return dict(_RECORDED)
