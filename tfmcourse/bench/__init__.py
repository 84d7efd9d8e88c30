"""``make bench``: how fast our attention and training step are, measured in one run (chapter 8).

Run ``python -m tfmcourse.bench`` (small, CPU-friendly, under two minutes on two cores) or
``python -m tfmcourse.bench --device cuda --size large`` (the GPU configuration: a GPT-2-small-shaped
model, ~124M parameters, sequences of 1024 tokens), or ``--size auto``: GPT-2 small at the batch and
length that fit the GPU's memory (:mod:`tfmcourse.bench.sizing`; ``--memory-gib 15`` sizes for, and limits
the process to, 15 GiB, as on a T4). It prints one table and writes it as JSON
(``--out``; by default ``bench-results/bench_<device>_<size>.json``) with the device name, date,
versions and command line. Three parts:

(a) **attention**, forward + backward, causal, over sequence lengths: our readable
    :func:`tfmcourse.attention.scaled_dot_product_attention` ("naive") against the ``impl="sdpa"``
    path of :class:`~tfmcourse.multihead.MultiHeadAttention` (torch's fused kernel with our boolean
    mask) and against ``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``.
(b) **multi-head attention**, forward + backward: our :class:`~tfmcourse.multihead.MultiHeadAttention`
    (both impls) against ``torch.nn.MultiheadAttention`` with the same weights.
(c) **one training step** of the GPT of :mod:`tfmcourse.models.gpt`, adding one optimization at a
    time: naive fp32 -> + TF32 matmuls -> + SDPA -> + mixed precision -> + fused AdamW -> +
    ``torch.compile`` (its compile time reported apart from the step time); tokens/s,
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

The parts live in :mod:`tfmcourse.bench.attention` (a, b), :mod:`tfmcourse.bench.training` (c) and
:mod:`tfmcourse.bench.generation` (d); the sizes in :mod:`tfmcourse.bench.common`; the table in
:mod:`tfmcourse.bench.report`; this module runs them and holds the command line. The figures of the
results are in :mod:`tfmcourse.plot`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from tfmcourse import perf
from tfmcourse.bench import sizing
from tfmcourse.bench.attention import bench_attention, bench_mha
from tfmcourse.bench.common import SIZES, BenchSize, pad_vocab
from tfmcourse.bench.generation import bench_kv_cache, generation_speed
from tfmcourse.bench.report import format_table
from tfmcourse.bench.training import TRAIN_STEPS, bench_train_step
from tfmcourse.plot import SCHEMA, attention_figure, load_results, train_step_figure
from tfmcourse.speed import pick_device

__all__ = [
    "SIZES",
    "BenchSize",
    "pad_vocab",
    "bench_attention",
    "bench_mha",
    "bench_train_step",
    "TRAIN_STEPS",
    "bench_kv_cache",
    "generation_speed",
    "run",
    "format_table",
    "main",
    "SCHEMA",
    # figures and stored results, in tfmcourse.plot (importable from here as before)
    "train_step_figure",
    "attention_figure",
    "load_results",
]


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
    memory_gib: float | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its results as a JSON-ready dict (see the module docstring).

    ``size``: a key of :data:`SIZES`, ``"auto"`` or a :class:`BenchSize`. ``"auto"``: on CUDA, GPT-2
    small at the batch and length that fit the device's memory (:func:`tfmcourse.bench.sizing.auto_size`;
    the choice is recorded as ``result["auto_size"]``); elsewhere the ``"small"`` size. ``memory_gib``:
    size for this much memory instead, and on CUDA limit the process to it
    (``torch.cuda.set_per_process_memory_fraction``), e.g. 15 to prove the T4 path on a bigger GPU.
    ``device``: as :func:`tfmcourse.speed.pick_device` (default: CUDA, then MPS, then CPU). ``parts``:
    any of ``"a"``, ``"b"``, ``"c"``, ``"d"``. ``peer``: ``"auto"`` times the Hugging Face peer for the
    large and auto sizes when ``transformers`` is installed, ``"on"`` / ``"off"`` force it.
    """
    auto = None
    if isinstance(size, str):
        if size not in SIZES and size != "auto":
            raise ValueError(f"size must be one of {(*SIZES, 'auto')}, got {size!r}")
        size_name, spec = size, SIZES.get(size)
    elif isinstance(size, BenchSize):
        size_name, spec = "custom", size
    else:
        raise ValueError(f"size must be a name of SIZES or a BenchSize, got {type(size).__name__}")
    if not parts or set(parts) - set("abcd"):
        raise ValueError(f"parts must be made of the letters a, b, c, d, got {parts!r}")
    if compile_mode not in ("auto", "on", "off") or peer not in ("auto", "on", "off"):
        raise ValueError(
            f"compile_mode and peer must be 'auto', 'on' or 'off', got {compile_mode!r}, {peer!r}"
        )
    if memory_gib is not None and not (isinstance(memory_gib, (int, float)) and memory_gib > 0):
        raise ValueError(f"memory_gib must be a positive number, got {memory_gib!r}")
    dev = pick_device(device)
    if memory_gib is not None and dev.type == "cuda":
        total = sizing.device_memory(dev)
        torch.cuda.set_per_process_memory_fraction(min(1.0, memory_gib * sizing.GIB / total), dev)
    if size_name == "auto":
        memory = int(memory_gib * sizing.GIB) if memory_gib is not None else sizing.device_memory(dev)
        if memory is None:
            spec, auto = SIZES["small"], {"note": f"no GPU memory to size from on {dev.type}: the small size"}
        else:
            spec, auto = sizing.auto_size(memory)
    try:  # the version only: importing transformers takes seconds
        hf_version = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        hf_version = None
    big = size_name == "large" or (size_name == "auto" and spec is not SIZES["small"])
    with_peer = peer == "on" or (peer == "auto" and big and hf_version is not None)
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
    if auto is not None:
        result["auto_size"] = auto
    result.update(_run_parts(spec, dev, parts, seed, compile_mode, with_peer, progress))
    result["wall_seconds"] = time.perf_counter() - start
    return result


def _run_parts(
    spec: BenchSize,
    dev: torch.device,
    parts: str,
    seed: int,
    compile_mode: str,
    with_peer: bool,
    progress: bool,
) -> dict[str, Any]:
    """The measured parts of :func:`run`, by their keys in the result."""
    result: dict[str, Any] = {}
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
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line: ``python -m tfmcourse.bench [--device D] [--size S] [--out PATH] ...``."""
    p = argparse.ArgumentParser(prog="python -m tfmcourse.bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1, mps (default: CUDA, then MPS, then CPU)"
    )
    p.add_argument(
        "--size",
        default="small",
        choices=(*SIZES, "auto"),
        help="problem sizes (default: small); auto: GPT-2 small at the batch and length that fit the GPU",
    )
    p.add_argument(
        "--memory-gib",
        type=float,
        default=None,
        help="with --size auto: size for this much memory (and on CUDA limit the process to it)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="where to write the JSON (default: bench-results/bench_<device>_<size>.json)",
    )
    p.add_argument("--parts", default="abcd", help="which parts to run: any of a, b, c, d (default: abcd)")
    p.add_argument(
        "--compile",
        dest="compile_mode",
        default="auto",
        choices=("auto", "on", "off"),
        help="time torch.compile: auto = on CUDA only",
    )
    p.add_argument(
        "--peer",
        default="auto",
        choices=("auto", "on", "off"),
        help="time Hugging Face's GPT2LMHeadModel too: auto = for --size large",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)"
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            p.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    argv_used = sys.argv[1:] if argv is None else argv
    result = run(
        args.size,
        args.device,
        args.parts,
        args.seed,
        args.compile_mode,
        args.peer,
        command="python -m tfmcourse.bench " + " ".join(argv_used),
        progress=True,
        memory_gib=args.memory_gib,
    )
    out = (
        Path(args.out)
        if args.out
        else Path("bench-results") / f"bench_{result['device']['type']}_{result['size']}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(format_table(result))
    print(f"wrote {out}")
    return result
