"""Part (c) of the benchmark: one training step of the GPT, one optimization added at a time.

The ladder (:data:`TRAIN_STEPS`): naive fp32 -> + TF32 matmuls -> + SDPA -> + mixed precision -> + fused
AdamW -> + ``torch.compile``, each row measured in the same run, then Hugging Face's ``GPT2LMHeadModel``
with the options of the last row. Which rows run and with which options is decided by :func:`ladder`
alone (tested on the CPU); a row that runs out of memory is measured again at half the batch
(:func:`with_oom_retry`), and says so.

The ladder and the retry are in :mod:`tfmcourse.bench.ladder` (re-exported here); this module builds the
models and measures the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse import perf
from tfmcourse.bench.common import BenchSize, _free, _guarded, _is_oom, _measure
from tfmcourse.bench.ladder import (
    NO_OPTIONS,
    TRAIN_STEPS,
    float32_matmuls,
    ladder,
    tf32_unsupported_reason,
    with_oom_retry,
)
from tfmcourse.speed import amp_dtype, autocast, compile_unsupported_reason, fused_supported, grad_scaler

__all__ = [
    "TRAIN_STEPS",
    "ladder",
    "tf32_unsupported_reason",
    "float32_matmuls",
    "with_oom_retry",
    "bench_train_step",
    "make_gpt",
]


# ----------------------------------------------------------------------------- (c) a training step


def make_gpt(size: BenchSize, impl: str, device: torch.device | str, seed: int) -> nn.Module:
    """The GPT of part (c), built directly on ``device`` (``"meta"``: shapes only, no memory)."""
    from tfmcourse.models.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    config = GPTConfig(
        vocab_size=size.gpt_vocab,
        max_len=size.gpt_seq,
        d_model=size.gpt_d_model,
        num_layers=size.gpt_layers,
        num_heads=size.gpt_heads,
        dropout=0.0,
        impl=impl,
    )
    with torch.device(device):
        return GPT(config)


def _hf_gpt(ours: nn.Module) -> nn.Module:
    """Hugging Face's GPT2LMHeadModel with our model's shape and weights, on SDPA attention."""
    hf = ours.to_hf()
    if hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("sdpa")  # torch's fused attention, as our "+ SDPA" step
    else:  # older transformers
        hf.config._attn_implementation = "sdpa"
    return hf


def _train_step(
    model: nn.Module,
    batch: tuple[Tensor, Tensor],
    device: torch.device,
    precision: torch.dtype | None,
    compiled: bool,
    fused: bool,
    logits_of: Callable[[nn.Module, Tensor], Tensor],
    tf32: bool = False,
) -> Callable[[], Tensor]:
    """One AdamW step of ``model`` on ``batch`` with the given options, as a function to time."""
    x, y = batch
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True if fused else None)
    scaler = grad_scaler(device, precision)
    forward = torch.compile(model) if compiled else model

    def step() -> Tensor:
        with float32_matmuls(tf32), autocast(device, precision):
            logits = logits_of(forward, x)
            loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.detach()

    return step


def bench_train_step(
    size: BenchSize,
    device: torch.device,
    seed: int = 0,
    compile_mode: str = "auto",
    peer: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Part (c): a training step of the GPT, one optimization added at a time (:data:`TRAIN_STEPS`).

    ``compile_mode``: ``"auto"`` compiles on CUDA only (on a CPU compiling takes minutes, longer than
    the benchmark, so the step is skipped with that reason), ``"on"`` wherever supported, ``"off"``
    never. Fused AdamW is used where the device has it; mixed precision is bf16 (fp16 with a gradient
    scaler on GPUs without bf16), also on the CPU, where autocast supports bf16. ``peer``: also time
    Hugging Face's ``GPT2LMHeadModel`` with the options of the last step that ran.

    Returns ``(rows, info)``: per row the name, the options used, the ``batch`` it ran at, ``ms`` per
    step, ``tokens_per_s``, ``peak_bytes``, ``mfu`` (a fraction, or ``"unknown"``), ``speedup`` (tokens/s
    over the first row's), the first step's loss, ``first_step_s`` (the first call, which compiles),
    ``compile_s`` for the compiled rows (the first call less one timed step: not in ``ms``), and a
    ``note`` when the step was skipped or retried at a smaller batch; ``info`` holds the parameter
    counts and the FLOPs per token of the model. TF32 stays on in the rows after ``+ TF32``; the rows
    before it run in full float32 whatever the process's setting.
    """
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    ids = torch.randint(0, size.gpt_vocab, (size.gpt_batch, size.gpt_seq + 1), generator=g)
    batch = (ids[:, :-1].to(device), ids[:, 1:].to(device))
    tokens = size.gpt_batch * size.gpt_seq
    name = perf.device_name(device)
    mixed = amp_dtype(device, "auto") if device.type != "cpu" else torch.bfloat16
    peak = perf.peak_flops(name, "bf16" if mixed in (None, torch.bfloat16) else "fp16")

    model = make_gpt(size, "naive", "meta", seed)
    info = {
        "params": perf.count_parameters(model),
        "matmul_params": perf.matmul_parameters(model),
        "flops_per_token": perf.model_flops_per_token(model, size.gpt_seq),
        "tokens_per_step": tokens,
        "mixed_precision_dtype": str(mixed).replace("torch.", "") if mixed else None,
        "peak_flops": peak,
    }
    del model

    compile_reason = compile_unsupported_reason(device)
    if compile_reason is None and compile_mode == "auto" and device.type != "cuda":
        compile_reason = (
            f"skipped on {device.type}: compiling takes minutes here, longer than the whole "
            f"benchmark (run with --compile on to time it)"
        )
    if compile_mode == "off":
        compile_reason = "turned off (--compile off)"
    fused_reason = None if fused_supported(device) else f"fused AdamW is not available on {device.type}"
    amp_reason = None if mixed is not None else f"no mixed-precision dtype on {device.type}"

    unavailable = {
        "tf32": tf32_unsupported_reason(device),
        "sdpa": None,
        "mixed_precision": amp_reason,
        "fused": fused_reason,
        "compile": compile_reason,
    }
    plan = ladder(unavailable)
    if peer:
        last = [r for r in plan if r["status"] == "run"][-1]
        options = {k: last[k] for k in NO_OPTIONS} | {"impl": "sdpa"}
        plan.append({"name": "HF GPT-2 peer, same options", "status": "run", **options, "peer": True})

    def measure(entry: dict[str, Any], b: int) -> dict[str, Any]:
        used = {k: entry[k] for k in NO_OPTIONS}
        part = (batch[0][:b], batch[1][:b])
        return _time_config(
            entry["name"],
            used,
            size,
            device,
            part,
            b * size.gpt_seq,
            mixed,
            info,
            peak,
            seed,
            peer=entry.get("peer", False),
        )

    rows: list[dict[str, Any]] = []
    for entry in plan:
        if entry["status"] == "skipped":
            empty = {"ms": None, "tokens_per_s": None, "peak_bytes": None, "mfu": None, "batch": None}
            rows.append(dict(entry, **empty))
        else:
            rows.append(with_oom_retry(lambda b, entry=entry: measure(entry, b), size.gpt_batch))
    base = rows[0].get("tokens_per_s")
    for row in rows:
        row["speedup"] = row["tokens_per_s"] / base if base and row.get("tokens_per_s") else None
    return rows, info


def _activation_bytes(
    model: nn.Module,
    batch: tuple[Tensor, Tensor],
    device: torch.device,
    precision: torch.dtype | None,
    logits_of: Callable[[nn.Module, Tensor], Tensor],
) -> int:
    """Bytes of the tensors autograd saves during one (eager) forward pass and loss."""
    x, y = batch

    def forward() -> Tensor:
        with autocast(device, precision):
            return F.cross_entropy(logits_of(model, x).flatten(0, 1).float(), y.flatten())

    loss, n_bytes = perf.saved_activation_bytes(forward, exclude=model)
    del loss
    return n_bytes


def _time_config(
    step_name: str,
    used: dict[str, Any],
    size: BenchSize,
    device: torch.device,
    batch: tuple[Tensor, Tensor],
    tokens: int,
    mixed: torch.dtype | None,
    info: dict[str, Any],
    peak: float | str,
    seed: int,
    peer: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = {"name": step_name, **used}
    try:
        model = make_gpt(size, used["impl"], device, seed)
        if peer:
            model = _hf_gpt(model)
            logits_of = lambda m, x: m(input_ids=x).logits  # noqa: E731
        else:
            logits_of = lambda m, x: m(x)  # noqa: E731
        model.train()
        step = _train_step(
            model,
            batch,
            device,
            mixed if used["mixed_precision"] else None,
            used["compile"],
            used["fused"],
            logits_of,
            tf32=used["tf32"],
        )
        start = time.perf_counter()
        first_loss = float(step())  # also the first warmup step (compilation happens here); float() syncs
        first_step_s = time.perf_counter() - start
        with float32_matmuls(used["tf32"]):
            row["activation_bytes"] = _activation_bytes(
                model, batch, device, mixed if used["mixed_precision"] else None, logits_of
            )
        r = _guarded(lambda: _measure(step, size, device), device)
        r["first_step_s"] = first_step_s
        if used["compile"] and r.get("ms"):
            r["compile_s"] = max(0.0, first_step_s - r["ms"] / 1000.0)
    except Exception as e:  # noqa: BLE001 -- one failing option (a compiler error, no memory) must not lose the run
        note = (
            "out of memory"
            if _is_oom(e)
            else f"failed: {type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"
        )
        r, first_loss = (
            {"status": "oom" if _is_oom(e) else "error", "ms": None, "peak_bytes": None, "note": note},
            None,
        )
        row.pop("activation_bytes", None)
    finally:
        model = step = None  # noqa: F841
        _free(device)
    row.update(r)
    row["first_loss"] = first_loss
    if row["ms"]:
        row["tokens_per_s"] = tokens / (row["ms"] / 1000.0)
        row["mfu"] = perf.mfu(info["flops_per_token"], row["tokens_per_s"], peak)
    else:
        row["tokens_per_s"], row["mfu"] = None, None
    return row
