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

The parts live in :mod:`tfmcourse.bench.attention` (a, b), :mod:`tfmcourse.bench.training` (c) and
:mod:`tfmcourse.bench.generation` (d); the sizes in :mod:`tfmcourse.bench.common`; this module runs them,
prints the table and holds the command line. The figures of the results are in :mod:`tfmcourse.plot`.
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
from tfmcourse.bench.attention import bench_attention, bench_mha
from tfmcourse.bench.common import SIZES, BenchSize, pad_vocab
from tfmcourse.bench.generation import bench_kv_cache, generation_speed
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
) -> dict[str, Any]:
    """Run the benchmark and return its results as a JSON-ready dict (see the module docstring).

    ``size``: a key of :data:`SIZES` or a :class:`BenchSize`. ``device``: as
    :func:`tfmcourse.speed.pick_device`
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
        raise ValueError(
            f"compile_mode and peer must be 'auto', 'on' or 'off', got {compile_mode!r}, {peer!r}"
        )
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
    lines = [
        f"device: {result['device']['name']} ({result['device']['type']}), torch {result['torch']}, "
        f"{result['date']}, size {result['size']}",
        f"{'part':<5} {'case':<40} {'ms':>9} {'tokens/s':>10} {'peak mem':>10} {'act mem':>9} {'MFU':>7} "
        f"{'ratio':>7}  note",
        "-" * 112,
    ]

    def add(
        part: str,
        case: str,
        ms: Any,
        tps: Any = None,
        mem: Any = None,
        mfu: Any = None,
        ratio: Any = None,
        note: str = "",
        act: Any = None,
    ) -> None:
        mfu_s = _fmt(mfu * 100, ".1f") + "%" if isinstance(mfu, float) else _fmt(mfu)
        lines.append(
            f"{part:<5} {case[:40]:<40} {_fmt(ms, '.2f'):>9} {_fmt(tps, ',.0f'):>10} {_mb(mem):>10} "
            f"{_mb(act):>9} {mfu_s:>7} {_fmt(ratio, '.2f') + ('x' if ratio else ''):>7}  {note}"
        )

    for row in result.get("attention", []):
        for name, label in (
            ("naive", "naive"),
            ("ours_sdpa", "ours impl='sdpa'"),
            ("torch_sdpa", "torch SDPA is_causal"),
        ):
            ratio = 1.0 if name == "naive" and row["naive_ms"] else row.get(f"{name}_speedup")
            add(
                "(a)",
                f"attention seq {row['seq']}: {label}",
                row[f"{name}_ms"],
                mem=row[f"{name}_peak_bytes"],
                ratio=ratio,
                note="ratio: speed-up over naive" if name == "naive" else "",
            )
    for row in result.get("mha", []):
        add(
            "(b)",
            f"multi-head: {row['impl']}",
            row["ms"],
            mem=row["peak_bytes"],
            ratio=row["vs_torch"],
            note="ratio: torch time / this time"
            if row["impl"] == "torch"
            else f"max |diff| {row['max_abs_diff']:.1e}",
        )
    for row in result.get("train_step", []):
        note = row.get("note", "") or (
            "ratio: speed-up over naive fp32" if row is result["train_step"][0] else ""
        )
        add(
            "(c)",
            f"step: {row['name']}",
            row.get("ms"),
            row.get("tokens_per_s"),
            row.get("peak_bytes"),
            row.get("mfu"),
            row.get("speedup"),
            note,
            row.get("activation_bytes"),
        )
    for row in result.get("kv_cache", []):
        add(
            "(d)",
            f"generate {row['length']} tokens: with cache",
            None,
            row["cached"],
            ratio=row["speedup"],
            note="ratio: speed-up over no cache",
        )
        add("(d)", f"generate {row['length']} tokens: no cache", None, row["uncached"])
    if "model" in result:
        m = result["model"]
        lines.append(
            f"(c) model: {m['params']:,} parameters, N = {m['matmul_params']:,} in matrix products, "
            f"{m['flops_per_token']:.3g} training FLOPs per token, peak {_fmt(m['peak_flops'], '.3g')} FLOP/s"
        )
    lines.append(
        "peak mem: torch.cuda.max_memory_allocated (CUDA only); act mem: tensors saved for the backward "
        "pass by one eager forward (every device)"
    )
    lines.append(f"wall time {result['wall_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line: ``python -m tfmcourse.bench [--device D] [--size S] [--out PATH] ...``."""
    p = argparse.ArgumentParser(prog="python -m tfmcourse.bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1, mps (default: CUDA, then MPS, then CPU)"
    )
    p.add_argument("--size", default="small", choices=tuple(SIZES), help="problem sizes (default: small)")
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
