"""Batches on their way to the GPU (chapter 8, section 8.3): :func:`pin_batch` puts them in page-locked
memory, :func:`to_device` moves them, and :class:`Prefetcher` starts the copy of the next batch on a side
stream while the current step computes. :class:`tfmcourse.train.Trainer` uses them through
:mod:`tfmcourse.speed`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["pin_batch", "to_device", "Prefetcher"]


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


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """``batch`` (tensors, or dicts/lists/tuples of them) moved to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def _tensors(batch: Any) -> Iterator[Tensor]:
    if isinstance(batch, Tensor):
        yield batch
    elif isinstance(batch, Mapping):
        for v in batch.values():
            yield from _tensors(v)
    elif isinstance(batch, (list, tuple)):
        for v in batch:
            yield from _tensors(v)


class Prefetcher:
    """Batches by index, with the copy of the next batch started before the current one is handed out.

    ``fetch(i, last)`` returns batch ``i`` (``get_batch(i)``) on the device, after starting the copy of
    batch ``i + 1`` (unless ``i + 1 > last``): on a GPU that copy runs on a side stream while step ``i``
    computes (chapter 8, section 8.3), instead of at the start of step ``i + 1``. A call for another index
    than the one prefetched (after a checkpoint is loaded, say) fetches it directly.

    :meth:`for_cuda` builds the GPU version: ``start`` puts the CPU batch in pinned memory and copies it
    with ``non_blocking=True`` on a side stream, recording an event; ``finish`` makes the compute stream
    wait for that event (the host does not wait) and tells the caching allocator the compute stream uses
    the tensors (``record_stream``). Any other pair of ``start(batch) -> handle`` and
    ``finish(handle) -> batch`` works too (the tests record the order on the CPU).
    """

    def __init__(
        self,
        get_batch: Callable[[int], Any],
        start: Callable[[Any], Any],
        finish: Callable[[Any], Any],
    ):
        self.get_batch, self._start, self._finish = get_batch, start, finish
        self._next: tuple[int, Any] | None = None

    @classmethod
    def for_cuda(cls, get_batch: Callable[[int], Any], device: torch.device) -> Prefetcher:
        """Pinned memory and a side stream on the CUDA ``device`` (see the class docstring)."""
        side = torch.cuda.Stream(device)

        def start(batch: Any) -> tuple[Any, Any, torch.cuda.Event]:
            pinned = pin_batch(batch)
            with torch.cuda.stream(side):
                on_device = to_device(pinned, device, non_blocking=True)
                copied = torch.cuda.Event()
                copied.record(side)
            return pinned, on_device, copied  # the pinned batch lives until its copy is consumed

        def finish(handle: tuple[Any, Any, torch.cuda.Event]) -> Any:
            _, on_device, copied = handle
            compute = torch.cuda.current_stream(device)
            compute.wait_event(copied)
            for t in _tensors(on_device):
                if t.device.type == "cuda":
                    t.record_stream(compute)
            return on_device

        return cls(get_batch, start, finish)

    def fetch(self, index: int, last: int | None = None) -> Any:
        """Batch ``index`` on the device; the copy of batch ``index + 1`` is started first, unless
        ``index + 1 > last``."""
        if self._next is not None and self._next[0] == index:
            handle = self._next[1]
        else:
            handle = self._start(self.get_batch(index))
        self._next = None
        if last is None or index + 1 <= last:
            self._next = (index + 1, self._start(self.get_batch(index + 1)))
        return self._finish(handle)

    def reset(self) -> None:
        """Drop the prefetched batch (the next :meth:`fetch` fetches directly)."""
        self._next = None
