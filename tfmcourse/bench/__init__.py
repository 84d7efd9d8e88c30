"""``make bench``: how fast our attention and training step are, measured in one run (chapter 8).

Run ``python -m tfmcourse.bench`` (small, CPU-friendly, under two minutes on two cores) or
``python -m tfmcourse.bench --device cuda --size large`` (the GPU configuration: a GPT-2-small-shaped
model, ~124M parameters, sequences of 1024 tokens). It prints one table and writes it as JSON
(``--out``; by default ``bench-results/bench_<device>_<size>.json``) with the device name, date,
versions and command line. Three parts:

(a) **attention**, forward + backward, causal, over sequence lengths: our readable
    :func:`tfmcourse.attention.scaled_dot_product_attention` ("naive") against the ``impl="sdpa"``
    path of :class:`~tfmcourse.multihead.MultiHeadAttention` (torch's fused kernel with our boolean
    mask) and against ``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``.
(b) **multi-head attention**, forward + backward: our :class:`~tfmcourse.multihead.MultiHeadAttention`
    (both impls) against ``torch.nn.MultiheadAttention`` with the same weights.
(c) **one training step** of the GPT of :mod:`tfmcourse.models.gpt`, adding one optimization at a
    time: naive fp32 -> + SDPA -> + mixed precision -> + ``torch.compile`` -> + fused AdamW; tokens/s,
    peak memory and MFU (where the device's peak is known, see :mod:`tfmcourse.perf`; every row, the
    float32 ones included, is measured against the device's dense bf16 peak, or fp16 on GPUs without
    bf16, as MFU is usually quoted). The large
    configuration also times Hugging Face's ``GPT2LMHeadModel`` of the same shape with the same
    optimizations, when ``transformers`` is installed.

(d) **generation with and without the KV cache**: greedy generation with the same GPT, tokens/s at a few
    lengths (:func:`generation_speed`).

Every ratio compares numbers measured in the same run on the same machine. A step that does not apply
(``torch.compile`` on a CPU, where compiling takes longer than the whole benchmark) is recorded as
skipped, with the reason, never estimated.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib.metadata
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tfmcourse import perf
from tfmcourse.attention import causal_mask, fused_attention, scaled_dot_product_attention
from tfmcourse.multihead import MultiHeadAttention
from tfmcourse.plot import SCHEMA, attention_figure, load_results, train_step_figure
from tfmcourse.sampling import generate
from tfmcourse.speed import amp_dtype, autocast, compile_unsupported_reason, fused_supported, grad_scaler, pick_device

__all__ = [
    "SIZES", "BenchSize", "pad_vocab", "bench_attention", "bench_mha", "bench_train_step", "bench_kv_cache",
    "generation_speed", "run", "format_table", "main",
    # figures and stored results, in tfmcourse.plot (importable from here as before)
    "train_step_figure", "attention_figure", "load_results",
]

# torch.OutOfMemoryError is recent; older versions only have the CUDA one.
_OOM = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


@dataclass(frozen=True, kw_only=True)
class BenchSize:
    """The shapes of one benchmark size (see :data:`SIZES`).

    ``attn_*``: part (a), tensors ``(batch, heads, seq, d_head)`` for each ``seq`` of ``attn_seqs``.
    ``mha_*``: part (b), ``(batch, seq, d_model)``. ``gpt_*``: part (c), a GPT of ``gpt_layers``
    blocks of width ``gpt_d_model`` on ``gpt_batch`` sequences of ``gpt_seq`` tokens. ``steps`` timed
    repetitions (after ``warmup`` untimed ones) per measurement; the median is reported. Given by
    keyword: ``BenchSize(attn_batch=2, attn_heads=2, ...)``.
    """

    attn_batch: int
    attn_heads: int
    attn_d_head: int
    attn_seqs: tuple[int, ...]
    mha_batch: int
    mha_d_model: int
    mha_heads: int
    mha_seq: int
    gpt_vocab: int
    gpt_d_model: int
    gpt_layers: int
    gpt_heads: int
    gpt_seq: int
    gpt_batch: int
    steps: int
    warmup: int


def pad_vocab(vocab: int, multiple: int = 64) -> int:
    """``vocab`` rounded up to a multiple of ``multiple``: matrix sizes that are multiples of 64 map
    onto the GPU's tensor-core tiles (GPT-2's 50257 becomes 50304)."""
    return -(-vocab // multiple) * multiple


SIZES: dict[str, BenchSize] = {
    # For the tests: seconds.
    "tiny": BenchSize(
        attn_batch=2, attn_heads=2, attn_d_head=8, attn_seqs=(16, 32),
        mha_batch=2, mha_d_model=16, mha_heads=2, mha_seq=16,
        gpt_vocab=64, gpt_d_model=16, gpt_layers=1, gpt_heads=2, gpt_seq=16, gpt_batch=2, steps=2, warmup=1,
    ),
    # `make bench` on a laptop CPU: well under two minutes on two cores.
    "small": BenchSize(
        attn_batch=4, attn_heads=4, attn_d_head=32, attn_seqs=(64, 128, 256),
        mha_batch=4, mha_d_model=128, mha_heads=4, mha_seq=128,
        gpt_vocab=512, gpt_d_model=128, gpt_layers=4, gpt_heads=4, gpt_seq=128, gpt_batch=8, steps=3, warmup=1,
    ),
    # The GPU configuration: GPT-2 small's shape (12 layers, d_model 768, 12 heads, vocabulary padded
    # to a multiple of 64), batch 16, sequence 1024.
    "large": BenchSize(
        attn_batch=8, attn_heads=12, attn_d_head=64, attn_seqs=(512, 1024, 2048, 4096),
        mha_batch=16, mha_d_model=768, mha_heads=12, mha_seq=1024,
        gpt_vocab=pad_vocab(50257), gpt_d_model=768, gpt_layers=12, gpt_heads=12, gpt_seq=1024, gpt_batch=16,
        steps=10, warmup=3,
    ),
}


# ----------------------------------------------------------------------------- helpers


def _median_ms(seconds: list[float]) -> float:
    return 1000.0 * sorted(seconds)[len(seconds) // 2]


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, _OOM) or "out of memory" in str(e).lower()


def _measure(step: Callable[[], Any], size: BenchSize, device: torch.device) -> dict[str, Any]:
    """Time ``step`` (median of ``size.steps`` after ``size.warmup``) and, on CUDA, its peak memory.

    On other devices ``peak_bytes`` is None: a CPU process has no exact per-block peak of tensor
    memory (the resident-memory peak mostly shows what the allocator had cached before), so part (c)
    reports the activations saved for the backward pass instead, measured on every device.
    """
    if device.type != "cuda":
        seconds = perf.time_steps(step, size.steps, size.warmup, device)
        return {"ms": _median_ms(seconds), "peak_bytes": None, "memory_kind": f"not measured on {device.type}"}
    with perf.track_peak_memory(device) as mem:
        seconds = perf.time_steps(step, size.steps, size.warmup, device)
    return {"ms": _median_ms(seconds), "peak_bytes": mem["peak_bytes"], "memory_kind": mem["kind"]}


def _guarded(fn: Callable[[], dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """Run one measurement; an out-of-memory error becomes a row with ``status="oom"``."""
    try:
        return {"status": "ok", **fn()}
    except (RuntimeError, _OOM) as e:
        if not _is_oom(e):
            raise
        return {"status": "oom", "ms": None, "peak_bytes": None, "note": "out of memory"}
    finally:
        _free(device)


# ----------------------------------------------------------------------------- (a) attention


def bench_attention(size: BenchSize, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0) -> list[dict[str, Any]]:
    """Part (a): causal attention forward + backward, for each sequence length of ``size.attn_seqs``.

    Returns one row per length with the median milliseconds of ``naive`` (our einsum + masked
    softmax), ``ours_sdpa`` (the ``impl="sdpa"`` path of ``MultiHeadAttention``: torch's kernel with
    our boolean mask) and ``torch_sdpa`` (``F.scaled_dot_product_attention(is_causal=True)``), and
    the speed-ups of the last two over ``naive``.
    """
    g = torch.Generator(device="cpu").manual_seed(seed)
    rows = []
    for seq in size.attn_seqs:
        shape = (size.attn_batch, size.attn_heads, seq, size.attn_d_head)
        q, k, v = (torch.randn(shape, generator=g).to(device=device, dtype=dtype).requires_grad_() for _ in range(3))
        mask = causal_mask(seq, device=device)
        grad = torch.randn(shape, generator=g).to(device=device, dtype=dtype)
        fns = {
            "naive": lambda: scaled_dot_product_attention(q, k, v, mask=mask)[0],
            "ours_sdpa": lambda: fused_attention(q, k, v, mask),
            "torch_sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        }
        row: dict[str, Any] = {"seq": seq, "shape": list(shape)}
        try:
            with torch.no_grad():
                ref = fns["torch_sdpa"]()
                row["max_abs_diff"] = max(float((fns[n]() - ref).abs().max()) for n in ("naive", "ours_sdpa"))
        except (RuntimeError, _OOM) as e:
            if not _is_oom(e):
                raise
            row["max_abs_diff"] = None
        ref = None
        _free(device)
        for name, fn in fns.items():
            def step(fn: Callable[[], Tensor] = fn) -> None:
                q.grad = k.grad = v.grad = None
                fn().backward(grad)

            r = _guarded(lambda: _measure(step, size, device), device)
            row[f"{name}_ms"] = r["ms"]
            row[f"{name}_peak_bytes"] = r["peak_bytes"]
        for name in ("ours_sdpa", "torch_sdpa"):
            ok = row["naive_ms"] is not None and row[f"{name}_ms"] is not None
            row[f"{name}_speedup"] = row["naive_ms"] / row[f"{name}_ms"] if ok else None
        rows.append(row)
        del q, k, v, grad
        _free(device)
    return rows


# ----------------------------------------------------------------------------- (b) multi-head attention


def bench_mha(size: BenchSize, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0) -> list[dict[str, Any]]:
    """Part (b): causal multi-head self-attention, forward + backward.

    Rows ``torch`` (``nn.MultiheadAttention``, batch first, ``need_weights=False``), ``ours_naive``
    and ``ours_sdpa`` (copies of its weights): the median milliseconds, ``vs_torch`` = torch's time /
    ours (above 1: ours is faster) and the largest difference of the outputs from torch's.
    """
    torch.manual_seed(seed)
    torch_mha = nn.MultiheadAttention(size.mha_d_model, size.mha_heads, batch_first=True).to(device=device, dtype=dtype)
    g = torch.Generator(device="cpu").manual_seed(seed)
    shape = (size.mha_batch, size.mha_seq, size.mha_d_model)
    x = torch.randn(shape, generator=g).to(device=device, dtype=dtype).requires_grad_()
    grad = torch.randn(shape, generator=g).to(device=device, dtype=dtype)
    allowed = causal_mask(size.mha_seq, device=device)  # True = may attend (ours)
    modules: dict[str, Callable[[], Tensor]] = {
        # torch's boolean attn_mask means True = NOT allowed: the opposite sense.
        "torch": lambda: torch_mha(x, x, x, attn_mask=~allowed, need_weights=False)[0],
    }
    for impl in ("naive", "sdpa"):
        ours = MultiHeadAttention.from_torch(torch_mha, impl=impl)
        modules[f"ours_{impl}"] = lambda ours=ours: ours(x, x, x, mask=allowed)[0]
    with torch.no_grad():
        ref = modules["torch"]()
        diffs = {name: float((fn() - ref).abs().max()) for name, fn in modules.items()}
    rows = []
    for name, fn in modules.items():
        def step(fn: Callable[[], Tensor] = fn) -> None:
            x.grad = None
            fn().backward(grad)

        r = _guarded(lambda: _measure(step, size, device), device)
        rows.append({"impl": name, "shape": list(shape), "ms": r["ms"], "peak_bytes": r["peak_bytes"],
                     "max_abs_diff": diffs[name], "status": r["status"]})
    t_torch = rows[0]["ms"]
    for row in rows:
        row["vs_torch"] = t_torch / row["ms"] if t_torch and row["ms"] else None
    return rows


# ----------------------------------------------------------------------------- (c) a training step

#: The cumulative steps of part (c): each adds one option to the previous step that ran.
TRAIN_STEPS = (
    ("naive fp32", None),
    ("+ SDPA", "sdpa"),
    ("+ mixed precision", "mixed_precision"),
    ("+ compile", "compile"),
    ("+ fused AdamW", "fused"),
)


def _gpt(size: BenchSize, impl: str, device: torch.device | str, seed: int) -> nn.Module:
    """The GPT of part (c), built directly on ``device`` (``"meta"``: shapes only, no memory)."""
    from tfmcourse.models.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=size.gpt_vocab, max_len=size.gpt_seq, d_model=size.gpt_d_model,
                       num_layers=size.gpt_layers, num_heads=size.gpt_heads, dropout=0.0, impl=impl)
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


def _train_step(model: nn.Module, batch: tuple[Tensor, Tensor], device: torch.device, precision: torch.dtype | None,
                compiled: bool, fused: bool, logits_of: Callable[[nn.Module, Tensor], Tensor]) -> Callable[[], Tensor]:
    """One AdamW step of ``model`` on ``batch`` with the given options, as a function to time."""
    x, y = batch
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True if fused else None)
    scaler = grad_scaler(device, precision)
    forward = torch.compile(model) if compiled else model

    def step() -> Tensor:
        with autocast(device, precision):
            logits = logits_of(forward, x)
            loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.detach()

    return step


def bench_train_step(
    size: BenchSize, device: torch.device, seed: int = 0, compile_mode: str = "auto", peer: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Part (c): a training step of the GPT, one optimization added at a time (:data:`TRAIN_STEPS`).

    ``compile_mode``: ``"auto"`` compiles on CUDA only (on a CPU compiling takes minutes, longer than
    the benchmark, so the step is skipped with that reason), ``"on"`` wherever supported, ``"off"``
    never. Fused AdamW is used where the device has it; mixed precision is bf16 (fp16 with a gradient
    scaler on GPUs without bf16), also on the CPU, where autocast supports bf16. ``peer``: also time
    Hugging Face's ``GPT2LMHeadModel`` with the options of the last step that ran.

    Returns ``(rows, info)``: per row the name, the options used, ``ms`` per step, ``tokens_per_s``,
    ``peak_bytes``, ``mfu`` (a fraction, or ``"unknown"``), ``speedup`` over the first row, the first
    step's loss, and a ``note`` when the step was skipped; ``info`` holds the parameter counts and the
    FLOPs per token of the model.
    """
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    ids = torch.randint(0, size.gpt_vocab, (size.gpt_batch, size.gpt_seq + 1), generator=g)
    batch = (ids[:, :-1].to(device), ids[:, 1:].to(device))
    tokens = size.gpt_batch * size.gpt_seq
    name = perf.device_name(device)
    mixed = amp_dtype(device, "auto") if device.type != "cpu" else torch.bfloat16
    peak = perf.peak_flops(name, "bf16" if mixed in (None, torch.bfloat16) else "fp16")

    model = _gpt(size, "naive", "meta", seed)
    info = {"params": perf.count_parameters(model), "matmul_params": perf.matmul_parameters(model),
            "flops_per_token": perf.model_flops_per_token(model, size.gpt_seq), "tokens_per_step": tokens,
            "mixed_precision_dtype": str(mixed).replace("torch.", "") if mixed else None, "peak_flops": peak}
    del model

    compile_reason = compile_unsupported_reason(device)
    if compile_reason is None and compile_mode == "auto" and device.type != "cuda":
        compile_reason = (f"skipped on {device.type}: compiling takes minutes here, longer than the whole "
                          f"benchmark (run with --compile on to time it)")
    if compile_mode == "off":
        compile_reason = "turned off (--compile off)"
    fused_reason = None if fused_supported(device) else f"fused AdamW is not available on {device.type}"
    amp_reason = None if mixed is not None else f"no mixed-precision dtype on {device.type}"

    unavailable = {"sdpa": None, "mixed_precision": amp_reason, "compile": compile_reason, "fused": fused_reason}
    rows: list[dict[str, Any]] = []
    used = {"impl": "naive", "mixed_precision": False, "compile": False, "fused": False}
    for step_name, option in TRAIN_STEPS:
        if option is not None and unavailable[option] is not None:
            rows.append({"name": step_name, "status": "skipped", "note": unavailable[option], **used, "ms": None,
                         "tokens_per_s": None, "peak_bytes": None, "mfu": None, "speedup": None})
            continue
        if option == "sdpa":
            used = dict(used, impl="sdpa")
        elif option is not None:
            used = dict(used, **{option: True})
        rows.append(_time_config(step_name, used, size, device, batch, tokens, mixed, info, peak, seed, peer=False))

    if peer:
        rows.append(_time_config("HF GPT-2 peer, same options", dict(used, impl="sdpa"), size, device, batch,
                                 tokens, mixed, info, peak, seed, peer=True))
    base = rows[0]["ms"]
    for row in rows:
        row["speedup"] = base / row["ms"] if base and row.get("ms") else None
    return rows, info


def bench_kv_cache(size: BenchSize, device: torch.device, seed: int = 0) -> list[dict[str, Any]]:
    """Part (d): greedy generation tokens/s with and without the KV cache, for lengths up to ``gpt_seq``."""
    model = _gpt(size, "naive", device, seed).eval()
    lengths = tuple(n for n in (32, 64, 128, 256, 512, 1024) if n <= size.gpt_seq) or (size.gpt_seq,)
    return generation_speed(model, lengths)


def generation_speed(
    model: nn.Module, lengths: tuple[int, ...] = (64, 128, 256), batch: int = 1, repeats: int = 3
) -> list[dict[str, float]]:
    """Greedy generation speed with and without the KV cache, in new tokens per second.

    For each ``length``, generates ``length - 1`` tokens after a one-token prompt (``batch`` rows),
    ``repeats`` times each way, and keeps the fastest run (the least disturbed by other processes).
    Returns one dict per length: ``{"length", "cached", "uncached", "speedup"}`` (tokens/s and ratio).
    Each length must fit in ``model.config.max_len``.
    """
    if any(not isinstance(n, int) or not 2 <= n <= model.config.max_len for n in lengths):
        raise ValueError(f"lengths must be ints in [2, max_len={model.config.max_len}], got {lengths!r}")
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch and repeats must be positive ints, got batch={batch!r}, repeats={repeats!r}")
    device = next(model.parameters()).device
    prompt = torch.zeros(batch, 1, dtype=torch.long, device=device)
    rows = []
    for length in lengths:
        best = {True: float("inf"), False: float("inf")}
        for _ in range(repeats):
            for use_cache in (True, False):  # interleaved, so that a busy moment hits both
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                generate(model, prompt, length - 1, temperature=0, use_cache=use_cache)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best[use_cache] = min(best[use_cache], time.perf_counter() - start)
        cached, uncached = batch * (length - 1) / best[True], batch * (length - 1) / best[False]
        rows.append({"length": length, "cached": cached, "uncached": uncached, "speedup": cached / uncached})
    return rows


def _activation_bytes(model: nn.Module, batch: tuple[Tensor, Tensor], device: torch.device,
                      precision: torch.dtype | None, logits_of: Callable[[nn.Module, Tensor], Tensor]) -> int:
    """Bytes of the tensors autograd saves during one (eager) forward pass and loss."""
    x, y = batch

    def forward() -> Tensor:
        with autocast(device, precision):
            return F.cross_entropy(logits_of(model, x).flatten(0, 1).float(), y.flatten())

    loss, n_bytes = perf.saved_activation_bytes(forward, exclude=model)
    del loss
    return n_bytes


def _time_config(step_name: str, used: dict[str, Any], size: BenchSize, device: torch.device, batch: tuple[Tensor, Tensor],
                 tokens: int, mixed: torch.dtype | None, info: dict[str, Any], peak: float | str, seed: int,
                 peer: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"name": step_name, **used}
    try:
        model = _gpt(size, used["impl"], device, seed)
        if peer:
            model = _hf_gpt(model)
            logits_of = lambda m, x: m(input_ids=x).logits  # noqa: E731
        else:
            logits_of = lambda m, x: m(x)  # noqa: E731
        model.train()
        step = _train_step(model, batch, device, mixed if used["mixed_precision"] else None,
                           used["compile"], used["fused"], logits_of)
        first_loss = float(step())  # also the first warmup step (compilation happens here)
        row["activation_bytes"] = _activation_bytes(model, batch, device, mixed if used["mixed_precision"] else None,
                                                    logits_of)
        r = _guarded(lambda: _measure(step, size, device), device)
    except Exception as e:  # noqa: BLE001 -- one failing option (a compiler error, no memory) must not lose the run
        note = "out of memory" if _is_oom(e) else f"failed: {type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"
        r, first_loss = {"status": "oom" if _is_oom(e) else "error", "ms": None, "peak_bytes": None, "note": note}, None
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


# ----------------------------------------------------------------------------- the whole run


def run(
    size: str | BenchSize = "small",
    device: str | torch.device | None = None,
    parts: str = "abcd",
    seed: int = 0,
    compile_mode: str = "auto",
    peer: str = "auto",
    command: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the benchmark and return its results as a JSON-ready dict (see the module docstring).

    ``size``: a key of :data:`SIZES` or a :class:`BenchSize`. ``device``: as :func:`tfmcourse.train.pick_device`
    (default: CUDA, then MPS, then CPU). ``parts``: any of ``"a"``, ``"b"``, ``"c"``, ``"d"``. ``peer``:
    ``"auto"`` times the Hugging Face peer for the large size when ``transformers`` is installed,
    ``"on"`` / ``"off"`` force it.
    """
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
        size_name, spec = size, SIZES[size]
    elif isinstance(size, BenchSize):
        size_name, spec = "custom", size
    else:
        raise ValueError(f"size must be a name of SIZES or a BenchSize, got {type(size).__name__}")
    if not parts or set(parts) - set("abcd"):
        raise ValueError(f"parts must be made of the letters a, b, c, d, got {parts!r}")
    if compile_mode not in ("auto", "on", "off") or peer not in ("auto", "on", "off"):
        raise ValueError(f"compile_mode and peer must be 'auto', 'on' or 'off', got {compile_mode!r}, {peer!r}")
    dev = pick_device(device)
    try:  # the version only: importing transformers takes seconds
        hf_version = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        hf_version = None
    with_peer = peer == "on" or (peer == "auto" and size_name == "large" and hf_version is not None)
    if with_peer and hf_version is None:
        raise ValueError("peer='on' needs the transformers package")

    start = time.perf_counter()
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "device": {"type": dev.type, "name": perf.device_name(dev)},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "transformers": hf_version,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "command": command or "python -m tfmcourse.bench " + " ".join(sys.argv[1:]),
        "size": size_name,
        "config": asdict(spec),
    }
    say = print if progress else (lambda *a, **k: None)
    if "a" in parts:
        say("(a) attention ...", flush=True)
        result["attention"] = bench_attention(spec, dev, seed=seed)
    if "b" in parts:
        say("(b) multi-head attention ...", flush=True)
        result["mha"] = bench_mha(spec, dev, seed=seed)
    if "c" in parts:
        say("(c) training step ...", flush=True)
        rows, info = bench_train_step(spec, dev, seed=seed, compile_mode=compile_mode, peer=with_peer)
        result["train_step"], result["model"] = rows, info
    if "d" in parts:
        say("(d) generation with and without the KV cache ...", flush=True)
        result["kv_cache"] = bench_kv_cache(spec, dev, seed=seed)
    result["wall_seconds"] = time.perf_counter() - start
    return result


def _fmt(x: Any, spec: str = ".2f", none: str = "-") -> str:
    if x is None:
        return none
    if isinstance(x, str):
        return x
    return format(x, spec)


def _mb(b: Any) -> str:
    return "-" if b is None else f"{b / 2**20:.{1 if b < 100 * 2**20 else 0}f} MB"


def format_table(result: dict[str, Any]) -> str:
    """The results as one plain-text table: every ratio is against a baseline of the same run."""
    lines = [f"device: {result['device']['name']} ({result['device']['type']}), torch {result['torch']}, "
             f"{result['date']}, size {result['size']}",
             f"{'part':<5} {'case':<40} {'ms':>9} {'tokens/s':>10} {'peak mem':>10} {'act mem':>9} {'MFU':>7} {'ratio':>7}  note",
             "-" * 112]

    def add(part: str, case: str, ms: Any, tps: Any = None, mem: Any = None, mfu: Any = None, ratio: Any = None,
            note: str = "", act: Any = None) -> None:
        mfu_s = _fmt(mfu * 100, ".1f") + "%" if isinstance(mfu, float) else _fmt(mfu)
        lines.append(f"{part:<5} {case[:40]:<40} {_fmt(ms, '.2f'):>9} {_fmt(tps, ',.0f'):>10} {_mb(mem):>10} "
                     f"{_mb(act):>9} {mfu_s:>7} {_fmt(ratio, '.2f') + ('x' if ratio else ''):>7}  {note}")

    for row in result.get("attention", []):
        for name, label in (("naive", "naive"), ("ours_sdpa", "ours impl='sdpa'"), ("torch_sdpa", "torch SDPA is_causal")):
            ratio = 1.0 if name == "naive" and row["naive_ms"] else row.get(f"{name}_speedup")
            add("(a)", f"attention seq {row['seq']}: {label}", row[f"{name}_ms"], mem=row[f"{name}_peak_bytes"],
                ratio=ratio, note="ratio: speed-up over naive" if name == "naive" else "")
    for row in result.get("mha", []):
        add("(b)", f"multi-head: {row['impl']}", row["ms"], mem=row["peak_bytes"], ratio=row["vs_torch"],
            note="ratio: torch time / this time" if row["impl"] == "torch" else f"max |diff| {row['max_abs_diff']:.1e}")
    for row in result.get("train_step", []):
        note = row.get("note", "") or ("ratio: speed-up over naive fp32" if row is result["train_step"][0] else "")
        add("(c)", f"step: {row['name']}", row.get("ms"), row.get("tokens_per_s"), row.get("peak_bytes"),
            row.get("mfu"), row.get("speedup"), note, row.get("activation_bytes"))
    for row in result.get("kv_cache", []):
        add("(d)", f"generate {row['length']} tokens: with cache", None, row["cached"], ratio=row["speedup"],
            note="ratio: speed-up over no cache")
        add("(d)", f"generate {row['length']} tokens: no cache", None, row["uncached"])
    if "model" in result:
        m = result["model"]
        lines.append(f"(c) model: {m['params']:,} parameters, N = {m['matmul_params']:,} in matrix products, "
                     f"{m['flops_per_token']:.3g} training FLOPs per token, peak {_fmt(m['peak_flops'], '.3g')} FLOP/s")
    lines.append("peak mem: torch.cuda.max_memory_allocated (CUDA only); act mem: tensors saved for the backward "
                 "pass by one eager forward (every device)")
    lines.append(f"wall time {result['wall_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line: ``python -m tfmcourse.bench [--device D] [--size S] [--out PATH] ...``."""
    p = argparse.ArgumentParser(prog="python -m tfmcourse.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: CUDA, then MPS, then CPU)")
    p.add_argument("--size", default="small", choices=tuple(SIZES), help="problem sizes (default: small)")
    p.add_argument("--out", default=None, help="where to write the JSON (default: bench-results/bench_<device>_<size>.json)")
    p.add_argument("--parts", default="abcd", help="which parts to run: any of a, b, c, d (default: abcd)")
    p.add_argument("--compile", dest="compile_mode", default="auto", choices=("auto", "on", "off"),
                   help="time torch.compile: auto = on CUDA only")
    p.add_argument("--peer", default="auto", choices=("auto", "on", "off"),
                   help="time Hugging Face's GPT2LMHeadModel too: auto = for --size large")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            p.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    argv_used = sys.argv[1:] if argv is None else argv
    result = run(args.size, args.device, args.parts, args.seed, args.compile_mode, args.peer,
                 command="python -m tfmcourse.bench " + " ".join(argv_used), progress=True)
    out = Path(args.out) if args.out else Path("bench-results") / f"bench_{result['device']['type']}_{result['size']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(format_table(result))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
