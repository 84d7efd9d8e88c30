"""The speed options of training (chapter 8), each off by default, grouped in :class:`SpeedConfig`.

- the device (:func:`pick_device`): CUDA, then Apple's MPS, then the CPU;
- mixed precision (混合精度, :func:`amp_dtype`, :func:`autocast`, :func:`grad_scaler`): matrix products in
  bf16 or fp16, with a gradient scaler for fp16;
- ``torch.compile`` (:func:`maybe_compile`) and the fused AdamW kernel (:func:`make_adamw`), skipped with a
  one-line message where the machine has none;
- gradient accumulation (梯度累积) and activation checkpointing (激活检查点, :func:`checkpoint_modules`):
  a large batch, or a deep model, in the memory of a small one;
- pinned memory (:func:`pin_batch`) for asynchronous copies to the GPU, and the prefetch of the next
  batch on a side stream while the current step computes (:class:`Prefetcher`); these three live in
  :mod:`tfmcourse.prefetch` and are re-exported here.

:class:`tfmcourse.train.Trainer` applies them; :mod:`tfmcourse.bench` times them one by one.
"""

from __future__ import annotations

import contextlib
import types
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tfmcourse.prefetch import Prefetcher, pin_batch, to_device

__all__ = [
    "SpeedConfig",
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
    "to_device",
    "Prefetcher",
]


@dataclass
class SpeedConfig:
    """The speed options of :class:`tfmcourse.train.Trainer` (chapter 8), each off by default.

    Args:
        device: where the model and batches go (default: the model's device; ``"auto"``: CUDA, then
            Apple MPS, then the CPU, see :func:`pick_device`).
        precision: mixed precision, ``None`` (off), ``"auto"``, ``"bf16"`` or ``"fp16"`` (see
            :func:`amp_dtype`; ``"auto"`` is bf16 or fp16 on a GPU and off on a CPU). The forward pass
            and the loss run under ``torch.autocast``; fp16 adds a gradient scaler (:func:`grad_scaler`).
        compile: run the forward pass through ``torch.compile`` (:func:`maybe_compile`: skipped with
            a one-line message where unsupported). ``trainer.model`` stays the uncompiled module.
        fused: the fused Adam/AdamW kernel (skipped with a message where the device has none).
        accum_steps: gradient accumulation: each optimizer step sums the gradients of ``accum_steps``
            micro-batches, ``get_batch(step * accum_steps + i)``, each loss divided by ``accum_steps``:
            the step of one batch ``accum_steps`` times larger, in the memory of one.
        checkpointing: activation checkpointing of ``model.blocks`` (or of the modules given),
            see :func:`checkpoint_modules`.
        pin_memory: put each CPU batch in pinned memory and copy it with ``non_blocking=True`` on a side
            stream, the next batch while the current step computes (:class:`Prefetcher`; CUDA only,
            nothing changes elsewhere). ``get_batch`` must then be a function of the index alone (as
            :func:`tfmcourse.train.shuffled_batches`): it is called one batch ahead.
    """

    device: str | torch.device | None = None
    precision: str | None = None
    compile: bool = False
    fused: bool = False
    accum_steps: int = 1
    checkpointing: bool | list[nn.Module] = False
    pin_memory: bool = False

    def __post_init__(self) -> None:
        if (
            not isinstance(self.accum_steps, int)
            or isinstance(self.accum_steps, bool)
            or self.accum_steps < 1
        ):
            raise ValueError(f"accum_steps must be a positive int, got {self.accum_steps!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given, else CUDA, then Apple's MPS, then the CPU."""
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} was asked for but torch.cuda.is_available() is False")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(
                f"device {prefer!r} was asked for but torch.backends.mps.is_available() is False"
            )
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


def make_adamw(
    params: Any, *, fused: bool = False, device: str | torch.device | None = None, **kwargs: Any
) -> torch.optim.AdamW:
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
        print(
            f"fused AdamW skipped: not available on {torch.device(device).type} in torch {torch.__version__}."
        )
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
