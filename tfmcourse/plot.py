"""Figures the chapters share: attention heatmaps (chapter 2 onwards) and the benchmark results of
chapter 8 (:func:`train_step_figure`, :func:`attention_figure`, read with :func:`load_results` from the
JSON files ``python -m tfmcourse.bench`` writes).

Every function takes an optional matplotlib ``ax`` to draw into (a new figure is made when it is
``None``) and returns the ``Axes`` it drew on, so a chapter can put several heatmaps side by side::

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    attention_heatmap(w_dot, ax=axes[0], title="dot product")
    attention_heatmap(w_add, ax=axes[1], title="additive")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from jaxtyping import Float
from matplotlib.axes import Axes
from torch import Tensor

Weights = Float[Tensor, "seq_q seq_k"] | Float[np.ndarray, "seq_q seq_k"]

__all__ = [
    "attention_heatmap",
    "annotate_heatmap",
    "train_step_figure",
    "attention_figure",
    "load_results",
    "SCHEMA",
]

#: The format tag of the benchmark results (``tfmcourse.bench``).
SCHEMA = "tfmcourse-bench-v1"


def _to_2d_array(weights, name: str = "weights") -> np.ndarray:
    """A float numpy copy of a 2-D tensor or array; ValueError naming the shape otherwise."""
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(weights, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (seq_q, seq_k), got shape {tuple(arr.shape)}; "
            f"pick one batch element / head first, e.g. {name}[0]"
        )
    return arr


def _check_labels(labels: Sequence[str] | None, n: int, name: str, axis: str) -> None:
    if labels is not None and len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels but the weights have {n} {axis}")


def attention_heatmap(
    weights: Weights,
    *,
    q_labels: Sequence[str] | None = None,
    k_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "viridis",
) -> Axes:
    """Draw attention weights as a heatmap: one row per query, one column per key.

    Args:
        weights: a 2-D tensor or array ``(seq_q, seq_k)``; row ``i`` holds the weights query ``i``
            gives to each key (a batch or head must be selected first).
        q_labels: ``seq_q`` tick labels for the rows (the queries, y axis); positions if ``None``.
        k_labels: ``seq_k`` tick labels for the columns (the keys, x axis); positions if ``None``.
        ax: where to draw; a new figure is made if ``None``.
        title: the axes title.
        cmap: a matplotlib colour map name.

    Returns:
        The ``Axes`` drawn on. It has a colour bar labelled "attention weight". When every value lies in
        ``[0, 1]`` (true of attention weights) the colour scale is fixed to ``[0, 1]``, so the same colour
        means the same weight in every heatmap of the book; other values (raw scores) use their range.
    """
    arr = _to_2d_array(weights)
    seq_q, seq_k = arr.shape
    _check_labels(q_labels, seq_q, "q_labels", "query rows")
    _check_labels(k_labels, seq_k, "k_labels", "key columns")
    if ax is None:
        _, ax = plt.subplots(
            figsize=(1.0 + 0.45 * max(seq_k, 4), 0.8 + 0.4 * max(seq_q, 4)), layout="constrained"
        )
    finite = arr[np.isfinite(arr)]
    is_prob = finite.size > 0 and finite.min() >= 0.0 and finite.max() <= 1.0
    image = ax.imshow(
        arr,
        cmap=cmap,
        vmin=0.0 if is_prob else None,
        vmax=1.0 if is_prob else None,
        aspect="auto",
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label="attention weight")
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if k_labels is not None:
        ax.set_xticks(
            range(seq_k),
            labels=[str(s) for s in k_labels],
            rotation=45 if max(len(str(s)) for s in k_labels) > 3 else 0,
            ha="right" if max(len(str(s)) for s in k_labels) > 3 else "center",
        )
    elif seq_k <= 16:
        ax.set_xticks(range(seq_k))
    if q_labels is not None:
        ax.set_yticks(range(seq_q), labels=[str(s) for s in q_labels])
    elif seq_q <= 16:
        ax.set_yticks(range(seq_q))
    if title is not None:
        ax.set_title(title)
    return ax


def annotate_heatmap(ax: Axes, weights: Weights, fmt: str = "{:.2f}", fontsize: float = 8) -> Axes:
    """Write each value of a 2-D ``weights`` ``(seq_q, seq_k)`` in its cell of a heatmap drawn on ``ax``.

    For small examples whose numbers the reader should be able to check by hand. The text is dark on
    light cells and light on dark ones. Returns ``ax``.
    """
    arr = _to_2d_array(weights)
    images = ax.get_images()
    norm = images[-1].norm if images else plt.Normalize(np.nanmin(arr), np.nanmax(arr))
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            light = norm(arr[i, j]) > 0.6 if np.isfinite(arr[i, j]) else False
            ax.text(
                j,
                i,
                fmt.format(arr[i, j]),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="black" if light else "white",
            )
    return ax


# ----------------------------------------------------------------------------- benchmark results (chapter 8)


def _caption(result: dict[str, Any]) -> str:
    return f"{result['device']['name']}, torch {result['torch']}, {result['date'][:10]}"


def train_step_figure(result: dict[str, Any]) -> Any:
    """A bar chart of part (c): tokens per second of each training-step configuration that ran, with
    its speed-up over the naive fp32 step (and MFU where known). Returns the matplotlib figure."""
    rows = result.get("train_step")
    if not rows:
        raise ValueError("result has no part (c) rows (run with parts containing 'c')")
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    names = [r["name"] for r in rows][::-1]
    values = [r["tokens_per_s"] or 0.0 for r in rows][::-1]
    colors = ["tab:orange" if r["name"].startswith("HF") else "tab:blue" for r in rows][::-1]
    bars = ax.barh(names, values, color=colors)
    for bar, r in zip(bars, rows[::-1]):
        if r["tokens_per_s"]:
            label = f" {r['speedup']:.2f}x" + (
                f", MFU {100 * r['mfu']:.0f}%" if isinstance(r.get("mfu"), float) else ""
            )
        else:
            label = f" {r['status']}"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=9)
    ax.set_xlabel("training throughput (tokens per second)")
    ax.set_title(f"One training step, one optimization at a time\n{_caption(result)}", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color="tab:blue")]
    labels = ["our GPT (tfmcourse.models.gpt)"]
    if any(r["name"].startswith("HF") for r in rows):
        handles.append(plt.Rectangle((0, 0), 1, 1, color="tab:orange"))
        labels.append("Hugging Face GPT2LMHeadModel")
    ax.legend(handles, labels, loc="lower right", fontsize=8)
    ax.set_xlim(0, max(values + [1.0]) * 1.35)
    fig.tight_layout()
    return fig


def attention_figure(result: dict[str, Any]) -> Any:
    """Part (a) as a plot: milliseconds of forward + backward against the sequence length, for the three
    attention implementations (log-log axes). Returns the matplotlib figure."""
    rows = result.get("attention")
    if not rows:
        raise ValueError("result has no part (a) rows (run with parts containing 'a')")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, label, style in (
        ("naive", "naive (ours, einsum + softmax)", "o-"),
        ("ours_sdpa", "ours, impl='sdpa' (boolean mask)", "s-"),
        ("torch_sdpa", "torch SDPA, is_causal=True", "^-"),
    ):
        pts = [(r["seq"], r[f"{name}_ms"]) for r in rows if r[f"{name}_ms"] is not None]
        if pts:
            ax.plot(*zip(*pts), style, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("forward + backward (ms)")
    ax.set_title(f"Causal attention, forward + backward\n{_caption(result)}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def load_results(folder: str | Path, device_type: str | None = "cuda") -> list[dict[str, Any]]:
    """The stored benchmark results (``bench_*.json``) in ``folder``, those of ``device_type`` only
    (``None``: all), oldest first; an empty list when there are none."""
    folder = Path(folder)
    results = []
    for path in sorted(folder.glob("bench_*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"{path} is not a {SCHEMA} file")
        if device_type is None or data["device"]["type"] == device_type:
            data["path"] = str(path)
            results.append(data)
    return sorted(results, key=lambda r: r["date"])
