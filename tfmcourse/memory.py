"""Measuring memory during training (chapter 8): peaks, the training state, the saved activations.

:func:`track_peak_memory` measures the peak of a block of code: on CUDA the peak of
``torch.cuda.max_memory_allocated`` (tensors only, exact); on CPU the growth of the process's peak
resident memory (``VmHWM`` in ``/proc/self/status``, Linux only; it includes the allocator's caches,
so it is approximate) or ``None`` where that cannot be read. :func:`memory_breakdown` computes the
bytes of weights, gradients and optimizer state, and :func:`saved_activation_bytes` measures the
activations that autograd keeps for the backward pass.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["track_peak_memory", "memory_breakdown", "saved_activation_bytes"]


def _vm_hwm_bytes() -> int | None:
    """The process's peak resident memory (Linux ``VmHWM``) in bytes, or None."""
    status = "/proc/self/status"
    with contextlib.suppress(OSError, ValueError, IndexError), open(status, encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def _reset_vm_hwm() -> bool:
    """Reset the peak resident memory to the current one (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


@contextlib.contextmanager
def track_peak_memory(device: torch.device | str | None = None) -> Iterator[dict[str, Any]]:
    """Measure the peak memory of the code in the ``with`` block.

    Yields a dict that is filled on exit with ``"peak_bytes"`` (int or None) and ``"kind"``:

    - ``"cuda_max_allocated"``: ``torch.cuda.max_memory_allocated`` over the block (its statistics
      are reset on entry); the bytes of live tensors at their peak, exact.
    - ``"cpu_rss_peak_delta"``: on CPU under Linux, the peak resident memory of the whole process
      during the block minus the resident memory at its start. It counts what the allocator keeps
      cached, so it is an approximation, and 0 when the block reused memory already held.
    - ``"unavailable"`` (``peak_bytes`` None): anywhere else (MPS, CPU without ``/proc``).
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    result: dict[str, Any] = {"peak_bytes": None, "kind": "unavailable"}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        yield result
        torch.cuda.synchronize(device)
        result.update(peak_bytes=int(torch.cuda.max_memory_allocated(device)), kind="cuda_max_allocated")
        return
    start = None
    if device.type == "cpu" and sys.platform.startswith("linux") and _reset_vm_hwm():
        start = _vm_hwm_bytes()
    yield result
    end = _vm_hwm_bytes() if start is not None else None
    if start is not None and end is not None:
        result.update(peak_bytes=max(0, end - start), kind="cpu_rss_peak_delta")


def _tensor_bytes(tensors: Iterator[Tensor]) -> int:
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if isinstance(t, Tensor) and id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def memory_breakdown(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, int]:
    """Bytes held by ``model``'s weights, their gradients (where already allocated) and the optimizer's
    state (Adam: two tensors per parameter, ``exp_avg`` and ``exp_avg_sq``, created by its first step).

    Returns ``{"weights": ..., "grads": ..., "optimizer": ...}``. Activations are not here: they
    exist only between a forward pass and its backward (see :func:`saved_activation_bytes`).
    """
    params = list(model.parameters())
    state: list[Tensor] = []
    if optimizer is not None:
        for s in optimizer.state.values():
            state += [v for v in s.values() if isinstance(v, Tensor) and v.ndim > 0]
    return {
        "weights": _tensor_bytes(iter(params)),
        "grads": _tensor_bytes(p.grad for p in params if p.grad is not None),
        "optimizer": _tensor_bytes(iter(state)),
    }


def saved_activation_bytes(fn: Callable[[], Any], exclude: nn.Module | None = None) -> tuple[Any, int]:
    """Run ``fn()`` and measure the tensors autograd saves for the backward pass.

    Returns ``(fn's result, bytes)``. Every tensor that autograd keeps (the inputs of a matrix
    product, the output of a softmax, ...) passes through a ``torch.autograd.graph.saved_tensors_hooks``
    pack hook; we add up the sizes of the distinct storages, skipping the parameters of ``exclude``
    (weights are counted separately, by :func:`memory_breakdown`). This is the activation memory that
    activation checkpointing and mixed precision reduce.
    """
    skip = {p.untyped_storage().data_ptr() for p in exclude.parameters()} if exclude is not None else set()
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        with contextlib.suppress(RuntimeError, NotImplementedError):  # tensors without a storage
            s = t.untyped_storage()
            if s.data_ptr() not in skip:
                storages[s.data_ptr()] = max(storages.get(s.data_ptr(), 0), s.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(storages.values())
