"""Checkpoints (检查点): save the whole training state, and resume exactly where it stopped (chapter 7).

A checkpoint holds the model's, optimizer's and scheduler's ``state_dict``, the random-number-generator
states of torch, Python and NumPy (:func:`get_rng_state`), the step and any ``extra`` values (a loss
history), with a SHA-256 checksum of all of it. :func:`save_checkpoint` writes it atomically (a crash
while saving leaves the previous file as it was); :func:`load_checkpoint` reads it back with
``torch.load(weights_only=True)``, which cannot run code hidden in a file, and refuses a damaged one.

A file that :func:`save_checkpoint` wrote always loads: ``extra`` is stored as plain values and tensors
(NumPy numbers become Python numbers, NumPy arrays tensors, paths strings), and anything else is refused
when saving, with a ``TypeError`` that names its key. A load that fails changes nothing: the model,
optimizer and scheduler keep the states they had.
"""

from __future__ import annotations

import contextlib
import copy
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
    """Restore the states returned by :func:`get_rng_state` (torch wants them as CPU byte tensors, wherever
    a checkpoint's tensors were loaded to)."""
    torch.set_rng_state(state["torch"].cpu())
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _storable(value: Any, where: str) -> Any:
    """``value`` as what ``torch.load(weights_only=True)`` reads back: ``None``, bools, numbers, strings,
    tensors, and lists, tuples and dicts of them. NumPy numbers become Python numbers, NumPy arrays
    tensors, paths strings; anything else raises a ``TypeError`` naming ``where`` it is."""
    if isinstance(value, np.generic):  # before the plain types: np.float64 is also a float
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, Tensor)):
        return value
    if isinstance(value, np.ndarray) and value.dtype != object:
        return torch.from_numpy(value.copy())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, (str, int))]
        if bad:
            raise TypeError(f"{where} has the key {bad[0]!r}: a checkpoint stores dicts with str or int keys")
        return {k: _storable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_storable(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(
        f"{where} is a {type(value).__name__} ({value!r:.60}), which a checkpoint cannot store safely: store "
        "numbers, strings, tensors, NumPy values, or lists and dicts of them"
    )


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
    (:func:`get_rng_state`), ``step``, ``extra`` (e.g. a loss history: plain values, tensors and NumPy
    values, lists, tuples and dicts of them; anything else raises ``TypeError`` naming its key, before the
    file is touched) and a SHA-256 checksum of all of it. It is first written to a temporary file in the
    same folder, then renamed over ``path`` with ``os.replace``: a crash while saving leaves the previous
    checkpoint untouched and no temporary file behind.
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
        "extra": _storable(dict(extra) if extra is not None else {}, "extra"),
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
    ``ValueError`` that names the path, and so do states that do not fit the given model, optimizer or
    scheduler: then none of them is changed. The file is read on the CPU with
    ``torch.load(weights_only=True)``; the states go where the model and the optimizer are, the random
    states stay on the CPU, and the tensors of ``extra`` go to ``map_location``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, garbage bytes, unpickling errors: all mean "bad file"
        raise ValueError(
            f"cannot read the checkpoint {path}: the file is truncated or corrupted ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a tfmcourse checkpoint (no {CHECKPOINT_FORMAT!r} format tag)")
    stored = ckpt.pop("checksum", None)
    if stored != _checksum(ckpt):
        raise ValueError(f"the checkpoint {path} is corrupted: its checksum does not match its contents")
    targets = [
        (name, obj)
        for name, obj in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler))
        if obj is not None
    ]
    for name, _ in targets:
        if ckpt[name] is None:
            raise ValueError(f"the checkpoint {path} has no {name} state")
    before = {name: copy.deepcopy(obj.state_dict()) for name, obj in targets}
    for name, obj in targets:
        try:
            obj.load_state_dict(ckpt[name])
        except (RuntimeError, ValueError, KeyError) as e:
            for done, restored in targets:  # put back what was loaded before the failure
                restored.load_state_dict(before[done])
            raise ValueError(f"the {name} state in {path} does not fit the given {name}: {e}") from None
    if restore_rng:
        set_rng_state(ckpt["rng"])
    extra = ckpt["extra"] if map_location is None else _to(ckpt["extra"], map_location)
    return {"step": ckpt["step"], "extra": extra}


def _to(value: Any, device: str | torch.device) -> Any:
    """``value`` with its tensors moved to ``device``."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, Mapping):
        return {k: _to(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device) for v in value)
    return value
