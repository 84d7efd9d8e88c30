"""The benchmark's results as one plain-text table (chapter 8): :func:`format_table` prints what
:func:`tfmcourse.bench.run` measured, every ratio against a baseline of the same run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["format_table"]


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
            "ratio: tokens/s over naive fp32" if row is result["train_step"][0] else ""
        )
        if row.get("compile_s") is not None:
            note = (note + "; " if note else "") + f"compiling took {row['compile_s']:.1f} s (not in ms)"
        if row.get("batch") not in (None, result["config"]["gpt_batch"]) and "batch" not in note:
            note = (note + "; " if note else "") + f"batch {row['batch']}"
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
    if "auto_size" in result:
        a = result["auto_size"]
        gib = {k: a[k] / 2**30 for k in ("memory_bytes", "estimate_bytes", "budget_bytes") if k in a}
        lines.append(
            f"size auto: {a['note']}"
            if "note" in a
            else f"size auto: batch {a['batch']} x {a['seq']} tokens for {gib['memory_bytes']:.0f} GiB "
            f"(estimated peak {gib['estimate_bytes']:.1f} GiB of a {gib['budget_bytes']:.1f} GiB budget)"
        )
    lines.append(
        "peak mem: torch.cuda.max_memory_allocated (CUDA only); act mem: tensors saved for the backward "
        "pass by one eager forward (every device)"
    )
    lines.append(f"wall time {result['wall_seconds']:.1f} s")
    return "\n".join(lines)
