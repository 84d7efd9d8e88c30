"""Checkpoints (检查点): save the whole training state, and resume exactly where it stopped (chapter 7).

A checkpoint holds the model's, optimizer's and scheduler's ``state_dict``, the random-number-generator
states of torch, Python and NumPy (:func:`get_rng_state`), the step and any ``extra`` values (a loss
history), with a SHA-256 checksum of all of it. :func:`save_checkpoint` writes it atomically (a crash
while saving leaves the previous file as it was); :func:`load_checkpoint` reads it back with
``torch.load(weights_only=True)``, which cannot run code hidden in a file, and refuses a damaged one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["save_checkpoint", "load_checkpoint", "get_rng_state", "set_rng_state", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "tfmcourse-checkpoint-v1"


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
