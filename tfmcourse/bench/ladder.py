"""Which rows part (c) of the benchmark runs (chapter 8): the ladder of optimizations
(:data:`TRAIN_STEPS`, :func:`ladder`), the TF32 switch (:func:`float32_matmuls`) and the retry at half the
batch of a row that runs out of memory (:func:`with_oom_retry`). Decided without measuring anything, so
it is tested on the CPU; :mod:`tfmcourse.bench.training` measures the rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

__all__ = [
    "TRAIN_STEPS",
    "NO_OPTIONS",
    "ladder",
    "tf32_unsupported_reason",
    "float32_matmuls",
    "with_oom_retry",
]


#: The cumulative steps of part (c): each adds one option to the previous step that ran.
TRAIN_STEPS = (
    ("naive fp32", None),
    ("+ TF32", "tf32"),
    ("+ SDPA", "sdpa"),
    ("+ mixed precision", "mixed_precision"),
    ("+ fused AdamW", "fused"),
    ("+ compile", "compile"),
)

#: The options of a row, all off in the first one.
NO_OPTIONS = {"impl": "naive", "tf32": False, "mixed_precision": False, "fused": False, "compile": False}


def ladder(unavailable: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The rows of part (c), before any measurement: per step of :data:`TRAIN_STEPS` its ``name``, its
    ``status`` (``"run"``, or ``"skipped"`` with the reason as ``note``) and the options it runs with
    (``impl``, ``tf32``, ``mixed_precision``, ``fused``, ``compile``).

    ``unavailable`` maps each option (``"tf32"``, ``"sdpa"``, ``"mixed_precision"``, ``"fused"``,
    ``"compile"``) to ``None`` where the device has it, or to the reason why not. Each row adds its
    option to the previous row's options; a skipped option is not carried into the rows after it.
    """
    options = [option for _, option in TRAIN_STEPS if option is not None]
    if set(unavailable) != set(options):
        raise ValueError(f"unavailable must have exactly the keys {options}, got {sorted(unavailable)}")
    rows: list[dict[str, Any]] = []
    used = dict(NO_OPTIONS)
    for name, option in TRAIN_STEPS:
        if option is not None and unavailable[option] is not None:
            rows.append({"name": name, "status": "skipped", "note": unavailable[option], **used})
            continue
        if option == "sdpa":
            used = dict(used, impl="sdpa")
        elif option is not None:
            used = dict(used, **{option: True})
        rows.append({"name": name, "status": "run", **used})
    return rows


def tf32_unsupported_reason(device: torch.device) -> str | None:
    """``None`` where float32 matrix products can run on TF32 tensor cores (NVIDIA Ampere, compute
    capability 8.0, or newer), else the reason."""
    if device.type != "cuda":
        return f"TF32 matmuls exist on NVIDIA GPUs (Ampere or newer) only, not on {device.type}"
    major, minor = torch.cuda.get_device_capability(device)
    if major < 8:
        return f"TF32 needs an Ampere or newer GPU (compute capability 8.0), this one has {major}.{minor}"
    return None


@contextlib.contextmanager
def float32_matmuls(tf32: bool) -> Iterator[None]:
    """Inside: float32 matrix products on TF32 tensor cores (``tf32=True``, i.e.
    ``torch.set_float32_matmul_precision("high")``, which sets ``torch.backends.cuda.matmul.allow_tf32``)
    or in full float32 (``"highest"``); the previous setting is restored on exit."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def with_oom_retry(measure: Callable[[int], dict[str, Any]], batch: int) -> dict[str, Any]:
    """``measure(batch)``; while its row says ``status="oom"``, measure again at half the batch (down to
    1). The row returned has the ``batch`` it was measured at, and a ``note`` naming the batches that ran
    out of memory."""
    failed: list[int] = []
    while True:
        row = measure(batch)
        if row.get("status") != "oom" or batch == 1:
            break
        failed.append(batch)
        batch //= 2
    row["batch"] = batch
    if failed:
        what = f"measured at batch {batch}" if row.get("status") == "ok" else f"also at batch {batch}"
        row["note"] = f"out of memory at batch {', '.join(map(str, failed))}; {what}"
    return row
