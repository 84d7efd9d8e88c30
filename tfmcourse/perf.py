"""Measuring training speed: parameters, FLOPs, tokens per second, memory and MFU (chapter 8).

**FLOPs per token.** A matrix product of an ``(m, k)`` by a ``(k, n)`` matrix costs ``2 m k n``
floating-point operations (one multiply and one add per term). A weight matrix with ``N_w`` entries
therefore costs ``2 N_w`` FLOPs per token in the forward pass, and twice that in the backward pass
(one product for the gradient of the input, one for the gradient of the weight). Summed over all the
weights that multiply activations, ``N``, training costs ``2N + 4N = 6N`` FLOPs per token: the
**6N rule** (Kaplan et al., 2020). Attention adds products that involve no weights: in each layer a
query is compared with ``seq`` keys (``q @ k^T``, ``2 * seq * d_model`` FLOPs) and mixes ``seq``
values (``weights @ v``, the same again). Per token, for a model of ``n_layer`` layers of width
``d_model`` trained on sequences of length ``seq``::

    training:  flops_per_token = 6 * N + 12 * n_layer * d_model * seq
    inference: flops_per_token = 2 * N +  4 * n_layer * d_model * seq

This is the count of Chowdhery et al. (2022, appendix B) used for MFU. The attention term counts the
full ``seq x seq`` score matrix, as most implementations compute it; a causal kernel that skips the
masked half does less work, but the useful-work convention keeps the same formula. Element-wise work
(softmax, LayerNorm, GELU, the optimizer) is not counted: it is small next to the matrix products.

``N`` here is :func:`matmul_parameters`: the weights of every ``nn.Linear`` (the output projection
included, even when it is tied to the token embedding) and not the lookup tables (token and position
embeddings), which cost no FLOPs. :func:`count_parameters` is the plain number of trainable numbers.

**MFU** (model FLOPs utilisation, 算力利用率) is the fraction of the device's peak that the model's
FLOPs use: ``mfu = flops_per_token * tokens_per_second / peak_flops``. The peak is the dense (no
sparsity) bf16/fp16 tensor-core rate from the vendor's data sheet, looked up by device name in
:data:`PEAK_FLOPS`. A device that is not in the table gets ``"unknown"``, never a number borrowed
from another device.

**Memory** (the peak of a block of code, the bytes of weights, gradients and optimizer state, the saved
activations) is measured by :mod:`tfmcourse.memory`; its functions can be imported from here too.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tfmcourse.memory import memory_breakdown, saved_activation_bytes, track_peak_memory

__all__ = [
    "count_parameters",
    "matmul_parameters",
    "flops_per_token",
    "model_flops_per_token",
    "tokens_per_second",
    "time_steps",
    "PeakSpec",
    "PEAK_FLOPS",
    "device_name",
    "peak_flops",
    "mfu",
    # from tfmcourse.memory, importable from here as before
    "track_peak_memory",
    "memory_breakdown",
    "saved_activation_bytes",
]


# ----------------------------------------------------------------------------- parameters and FLOPs


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of numbers in ``model``'s parameters (a tied matrix counts once).

    ``trainable_only``: count only the parameters with ``requires_grad``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def matmul_parameters(model: nn.Module) -> int:
    """``N`` of the 6N rule: the entries of the weight matrices that multiply activations.

    The sum of ``weight.numel()`` over every ``nn.Linear`` module of ``model``. A weight shared by
    two modules counts once per module, because each one multiplies (a tied output projection costs
    FLOPs though its matrix is the embedding's). Embedding tables are lookups and count zero; biases
    and norms are element-wise and are not counted.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))


def flops_per_token(n_params: int, n_layer: int, d_model: int, seq_len: int, training: bool = True) -> float:
    """FLOPs per token of a decoder-only Transformer (see the module docstring).

    ``training``: ``6 * n_params + 12 * n_layer * d_model * seq_len`` (forward and backward);
    otherwise ``2 * n_params + 4 * n_layer * d_model * seq_len`` (forward only). ``n_params`` is
    :func:`matmul_parameters` of the model.
    """
    for name, n in (("n_params", n_params), ("n_layer", n_layer), ("d_model", d_model), ("seq_len", seq_len)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{name} must be a non-negative int, got {n!r}")
    if training:
        return float(6 * n_params + 12 * n_layer * d_model * seq_len)
    return float(2 * n_params + 4 * n_layer * d_model * seq_len)


def model_flops_per_token(model: nn.Module, seq_len: int, training: bool = True) -> float:
    """:func:`flops_per_token` of a model whose ``config`` has ``num_layers`` and ``d_model``
    (:class:`tfmcourse.models.GPT`), with ``N = matmul_parameters(model)``."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_layers") or not hasattr(config, "d_model"):
        raise ValueError(f"model must have a config with num_layers and d_model, got {type(model).__name__}")
    return flops_per_token(matmul_parameters(model), config.num_layers, config.d_model, seq_len, training)


# ----------------------------------------------------------------------------- time


def _sync(device: torch.device | str | None) -> None:
    device = torch.device(device) if device is not None else None
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device is not None and device.type == "mps":
        torch.mps.synchronize()


def time_steps(
    step: Callable[[], Any], steps: int, warmup: int = 1, device: torch.device | str | None = None
) -> list[float]:
    """Run ``step()`` ``warmup`` times untimed, then ``steps`` times; return the seconds of each.

    GPUs run asynchronously: without a synchronisation the clock would stop when the work is queued,
    not when it is done. On ``device`` CUDA or MPS, each timed step ends with a synchronisation.
    """
    if not isinstance(steps, int) or steps < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0 (ints), got steps={steps!r}, warmup={warmup!r}")
    for _ in range(warmup):
        step()
    _sync(device)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def tokens_per_second(tokens_per_step: int, seconds: list[float] | float) -> float:
    """Throughput: ``tokens_per_step`` divided by the median of ``seconds`` (one number or a list).

    The median ignores the odd slow step (a garbage collection, another process).
    """
    times = [seconds] if isinstance(seconds, (int, float)) else list(seconds)
    if not times or any(t <= 0 for t in times):
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    return tokens_per_step / statistics.median(times)


# ----------------------------------------------------------------------------- device peaks and MFU


@dataclass(frozen=True)
class PeakSpec:
    """One row of :data:`PEAK_FLOPS`: a device, how its name is recognised, its dense peaks.

    ``pattern`` is a regular expression searched (case-insensitive) in the name that
    ``torch.cuda.get_device_name()`` returns; ``bf16`` and ``fp16`` are dense tensor-core FLOP/s
    (``None`` where the device has no such tensor cores); ``source`` is where the number comes from.
    """

    name: str
    pattern: str
    bf16: float | None
    fp16: float
    source: str


TFLOPS = 1e12
_DS = "NVIDIA data sheet"
#: Dense (no sparsity) tensor-core peaks. Data sheets often print the "with sparsity" number, twice
#: the dense one: the values below are the dense ones. More specific patterns come first.
PEAK_FLOPS: tuple[PeakSpec, ...] = (
    # NVIDIA T4 data sheet: "Mixed Precision (FP16/FP32) 65 TFLOPS"; Turing has no bf16.
    PeakSpec("T4", r"\bT4\b", None, 65 * TFLOPS, f"{_DS} T4: FP16 tensor 65 TFLOPS"),
    # NVIDIA L4 data sheet: BF16 and FP16 tensor 242 TFLOPS *with sparsity* -> 121 dense.
    PeakSpec(
        "L4", r"\bL4\b", 121 * TFLOPS, 121 * TFLOPS, f"{_DS} L4: BF16/FP16 242 TFLOPS sparse, 121 dense"
    ),
    # NVIDIA V100 data sheet: tensor performance 125 TFLOPS (SXM2), 112 (PCIe), 130 (V100S PCIe); no bf16.
    PeakSpec("V100S PCIe", r"\bV100S\b", None, 130 * TFLOPS, f"{_DS} V100S: 130 TFLOPS tensor"),
    PeakSpec("V100 SXM2", r"\bV100-SXM", None, 125 * TFLOPS, f"{_DS} V100 SXM2: 125 TFLOPS tensor"),
    PeakSpec("V100 PCIe", r"\bV100-PCIE", None, 112 * TFLOPS, f"{_DS} V100 PCIe: 112 TFLOPS tensor"),
    # NVIDIA A100 data sheet: BF16/FP16 tensor 312 TFLOPS dense (624 sparse), for the 40GB and 80GB
    # cards, SXM4 and PCIe alike.
    PeakSpec(
        "A100 80GB", r"\bA100\b.*80\s*GB", 312 * TFLOPS, 312 * TFLOPS, f"{_DS} A100 80GB: 312 TFLOPS dense"
    ),
    PeakSpec(
        "A100 40GB", r"\bA100\b.*40\s*GB", 312 * TFLOPS, 312 * TFLOPS, f"{_DS} A100 40GB: 312 TFLOPS dense"
    ),
    # NVIDIA H100 data sheet: BF16/FP16 tensor 1,979 TFLOPS sparse (SXM) -> 989.4 dense; the SXM card
    # reports itself as "NVIDIA H100 80GB HBM3". PCIe: 1,513 sparse -> 756.5 dense. (H100 NVL: not listed.)
    PeakSpec(
        "H100 PCIe",
        r"\bH100\b.*\bPCIe\b",
        756.5 * TFLOPS,
        756.5 * TFLOPS,
        f"{_DS} H100 PCIe: 1,513 TFLOPS sparse, 756.5 dense",
    ),
    PeakSpec(
        "H100 SXM",
        r"\bH100\b(?!.*\b(?:PCIe|NVL)\b).*\b(?:SXM\d?|HBM3)\b",
        989.4 * TFLOPS,
        989.4 * TFLOPS,
        f"{_DS} H100 SXM: 1,979 TFLOPS sparse, 989.4 dense",
    ),
    # NVIDIA H200 data sheet: H200 SXM BF16/FP16 1,979 TFLOPS sparse -> 989.4 dense (same GPU die as
    # H100 SXM, more memory). (H200 NVL: not listed.)
    PeakSpec(
        "H200 SXM",
        r"\bH200\b(?!.*\bNVL\b)",
        989.4 * TFLOPS,
        989.4 * TFLOPS,
        f"{_DS} H200 SXM: 1,979 TFLOPS sparse, 989.4 dense",
    ),
)


def device_name(device: torch.device | str | None = None) -> str:
    """A readable name of ``device``: ``torch.cuda.get_device_name`` for CUDA, ``"Apple MPS"`` for
    MPS, and the processor for CPU (``"cpu"`` when unknown)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return "CPU: " + line.split(":", 1)[1].strip()
    return "cpu"


def _lookup(name: str) -> PeakSpec | None:
    if not isinstance(name, str):
        raise ValueError(f"name must be a str, got {type(name).__name__}")
    for spec in PEAK_FLOPS:
        if re.search(spec.pattern, name, flags=re.IGNORECASE):
            return spec
    return None


def peak_flops(name: str, dtype: str = "bf16") -> float | str:
    """The dense peak FLOP/s of the device called ``name`` for ``dtype`` (``"bf16"`` or ``"fp16"``).

    ``"bf16"`` falls back to the fp16 peak on devices without bf16 tensor cores (T4, V100), which
    train in fp16 instead. Returns ``"unknown"`` for a device that is not in :data:`PEAK_FLOPS` (a
    CPU, an unlisted GPU).
    """
    if dtype not in ("bf16", "fp16"):
        raise ValueError(f"dtype must be 'bf16' or 'fp16', got {dtype!r}")
    spec = _lookup(name)
    if spec is None:
        return "unknown"
    if dtype == "bf16" and spec.bf16 is not None:
        return spec.bf16
    return spec.fp16


def mfu(flops_per_token: float, tokens_per_second: float, peak: float | str) -> float | str:
    """Model FLOPs utilisation: ``flops_per_token * tokens_per_second / peak``, a fraction in [0, 1].

    ``peak`` is from :func:`peak_flops`; when it is ``"unknown"`` so is the MFU.
    """
    if peak == "unknown":
        return "unknown"
    if not isinstance(peak, (int, float)) or peak <= 0:
        raise ValueError(f"peak must be a positive FLOP/s number or 'unknown', got {peak!r}")
    if flops_per_token < 0 or tokens_per_second < 0:
        raise ValueError(
            f"need non-negative flops_per_token and tokens_per_second, "
            f"got {flops_per_token}, {tokens_per_second}"
        )
    return flops_per_token * tokens_per_second / peak
