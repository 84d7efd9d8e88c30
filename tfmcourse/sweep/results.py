"""The stored sweeps (``book/data/sweep_NN.json``) and what a chapter shows of them: ``sweep_table``,
``sweep_range``, ``sweep_values``; ``code_hash`` is the hash of a notebook's code a sweep measured.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["load_sweep", "sweep_values", "sweep_table", "sweep_range", "code_hash", "ROOT", "BOOK", "DATA"]

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
DATA = BOOK / "data"
SETUP_CELL_ID = "tfmcourse-setup"


# ------------------------------------------------------------------------------------- reading


def _measured(cell: dict) -> bool:
    """Whether a code cell counts for :func:`code_hash`: not the generated setup cell, and not a cell
    tagged ``explorer`` (an interactive view, see ``tfmcourse.explorer``) unless it records a number."""
    source = "".join(cell["source"])
    if cell["cell_type"] != "code" or cell.get("id") == SETUP_CELL_ID:
        return False
    return "explorer" not in cell.get("metadata", {}).get("tags", []) or "record(" in source


def code_hash(notebook: Path) -> str:
    """SHA-256 of the notebook's code cells (the generated setup cell and explorer cells excluded): what a
    sweep measured."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"] if _measured(c)]
    return hashlib.sha256("\n\0\n".join(sources).encode("utf-8")).hexdigest()


def _notebook(chapter: str, book: Path = BOOK) -> Path:
    found = sorted(Path(book).glob(f"{chapter}_*.ipynb"))
    if len(found) != 1:
        raise ValueError(
            f"chapter {chapter!r}: expected one notebook book/{chapter}_*.ipynb, found {len(found)}"
        )
    return found[0]


def load_sweep(chapter: str, data: Path | None = None) -> dict[str, Any]:
    """The stored sweep of ``chapter`` ("01", "07", ...) from ``book/data/sweep_NN.json``."""
    path = Path(data or DATA) / f"sweep_{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no sweep for chapter {chapter} at {path}: "
            f"run `python -m tfmcourse.sweep {chapter} --seeds 0-3` "
            "(on Colab the stored sweeps are not installed; the rendered book shows them)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def sweep_values(chapter: str, key: str, data: Path | None = None) -> list[Any]:
    """The values ``key`` took in the stored sweep of ``chapter``, one per seed (in ``sweep["seeds"]``
    order)."""
    sweep = load_sweep(chapter, data)
    if key not in sweep["values"]:
        raise KeyError(
            f"the sweep of chapter {chapter} has no value {key!r}; it has {sorted(sweep['values'])}"
        )
    return sweep["values"][key]


def _fmt(value: Any, fmt: str) -> str:
    if isinstance(value, list):
        return " / ".join(_fmt(v, fmt) for v in value)
    if isinstance(value, bool) or value is None:
        return str(value)
    return fmt.format(value)


def sweep_range(chapter: str, key: str, fmt: str = "{:.2f}", data: Path | None = None) -> str:
    """ "lo to hi" over the seeds of the stored sweep, for a scalar ``key`` (e.g. ``"0.13 to 0.15"``)."""
    values = sweep_values(chapter, key, data)
    lo, hi = min(values), max(values)
    return _fmt(lo, fmt) if _fmt(lo, fmt) == _fmt(hi, fmt) else f"{_fmt(lo, fmt)} to {_fmt(hi, fmt)}"


def sweep_table(
    chapter: str, keys: dict[str, str] | list[str], fmt: str = "{:.2f}", data: Path | None = None
):
    """The stored multi-seed numbers as a Markdown table (one row per key, one column per seed).

    ``keys`` maps a recorded key to the label shown in its row (a list uses the keys as labels). Below
    the table a line says how, when and where the numbers were measured. Where the sweep file is not
    available (a notebook opened alone on Colab) the output says so instead of failing.
    """
    from IPython.display import Markdown

    labels = dict(keys) if isinstance(keys, dict) else {k: k for k in keys}
    try:
        sweep = load_sweep(chapter, data)
    except FileNotFoundError as e:
        return Markdown(f"*Multi-seed results not available here: {e}*")
    seeds = sweep["seeds"]
    head = "| | " + " | ".join(f"seed {s}" for s in seeds) + " |"
    rule = "|---|" + "---|" * len(seeds)
    rows = []
    for key, label in labels.items():
        if key not in sweep["values"]:
            raise KeyError(f"the sweep of chapter {chapter} has no value {key!r}: rerun the sweep")
        rows.append(f"| {label} | " + " | ".join(_fmt(v, fmt) for v in sweep["values"][key]) + " |")
    m, v = sweep["machine"], sweep["versions"]
    note = (
        f"*Measured by `{sweep['command']}` on {sweep['date']}: {m['cpu']} ({m['cpus']} CPUs, "
        f"{m['system']}), Python {v['python']}, torch {v['torch']}.*"
    )
    return Markdown("\n".join([head, rule, *rows, "", note]))
