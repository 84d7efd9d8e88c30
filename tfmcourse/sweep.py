"""Seeds and multi-seed results: how a chapter knows its numbers hold on any machine.

A learner's laptop, Colab and CI round floats differently, and training amplifies the difference. A
different seed perturbs a run far more than another CPU's rounding does, so a claim that holds for
several seeds is one that will hold on the reader's machine. This module gives every chapter three
things:

1. **One seed from outside.** A chapter seeds once, at the top, with ``SEED = course_seed()``; the
   environment variable ``TFMCOURSE_SEED`` (default 0) shifts every seed the chapter uses
   (``make notebooks-run SEED=2`` runs the whole book with it).
2. **Recorded numbers.** ``record("lstm_acc_d128", acc)`` remembers a number the chapter computed and
   returns it unchanged. It costs nothing in a normal run.
3. **Sweeps.** ``python -m tfmcourse.sweep 01 --seeds 0-3`` executes ``book/01_*.ipynb`` once per seed
   (every assertion in it must pass for every seed), collects the recorded numbers and writes
   ``book/data/sweep_01.json`` with the date, the versions, the machine and a hash of the notebook's
   code. The chapter renders them with ``sweep_table("01", {...})``: the multi-seed numbers that the
   prose talks about are produced by code, never typed in. A test fails when the notebook's code
   changed after its sweep, so a stale sweep cannot be published.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "course_seed",
    "seed_everything",
    "record",
    "recorded",
    "load_sweep",
    "sweep_values",
    "sweep_table",
    "sweep_range",
    "code_hash",
    "run_sweep",
]

ENV_SEED = "TFMCOURSE_SEED"
ENV_RECORD = "TFMCOURSE_RECORD"
ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
DATA = BOOK / "data"
SETUP_CELL_ID = "tfmcourse-setup"


# ------------------------------------------------------------------------------------------ seeds


def course_seed() -> int:
    """The chapter's base seed: ``int($TFMCOURSE_SEED)``, 0 when the variable is not set.

    Every seed in a chapter is derived from it (``SEED + 1000`` for a test set, ...), so changing the
    variable changes every random draw of the chapter at once.
    """
    raw = os.environ.get(ENV_SEED, "").strip() or "0"
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_SEED} must be a non-negative integer, got {raw!r}") from None
    if seed < 0:
        raise ValueError(f"{ENV_SEED} must be a non-negative integer, got {seed}")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------------- recording

_RECORDED: dict[str, Any] = {}


def _plain(value: Any, key: str) -> Any:
    """``value`` as a JSON value: a number, a bool, or a (nested) list of them."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().tolist()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    raise TypeError(
        f"record({key!r}, ...) takes a number, a bool or a list of numbers, got {type(value).__name__}"
    )


def record(key: str, value: Any) -> Any:
    """Remember ``value`` under ``key`` for a sweep, and return it unchanged.

    ``value`` is a number, a bool, a scalar tensor or array, or a list of numbers (an accuracy per
    distance, say). When ``$TFMCOURSE_RECORD`` names a file (a sweep sets it), everything recorded so far
    is written there as JSON; otherwise nothing leaves the process.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"record: key must be a non-empty string, got {key!r}")
    _RECORDED[key] = _plain(value, key)
    path = os.environ.get(ENV_RECORD)
    if path:
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(_RECORDED), encoding="utf-8")
        tmp.replace(path)
    return value


def recorded() -> dict[str, Any]:
    """A copy of everything recorded in this process so far."""
    return dict(_RECORDED)


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
            f"no sweep for chapter {chapter} at {path}: run `python -m tfmcourse.sweep {chapter} --seeds 0-3` "
            "(on Colab the stored sweeps are not installed; the rendered book shows them)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def sweep_values(chapter: str, key: str, data: Path | None = None) -> list[Any]:
    """The values ``key`` took in the stored sweep of ``chapter``, one per seed (in ``sweep["seeds"]`` order)."""
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


# ------------------------------------------------------------------------------------- running


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "system": f"{platform.system()} {platform.machine()}"}


def _versions() -> dict[str, str]:
    import numpy

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


def _run_one(notebook: str, seed: int, timeout: int) -> tuple[int, dict[str, Any] | None, str, float]:
    """Execute ``notebook`` with ``$TFMCOURSE_SEED=seed``; (seed, recorded values or None, error, seconds)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "recorded.json"
        os.environ[ENV_SEED] = str(seed)
        os.environ[ENV_RECORD] = str(out)
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(Path(notebook).parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as e:
            return seed, None, str(e)[-3000:], time.perf_counter() - start
        seconds = time.perf_counter() - start
        values = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
        return seed, values, "", seconds


def _parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    return seeds


def run_sweep(
    chapter: str,
    seeds: list[int],
    jobs: int = 1,
    timeout: int = 1200,
    data: Path | None = None,
    command: str | None = None,
    book: Path = BOOK,
) -> Path:
    """Execute chapter ``chapter`` once per seed and write its sweep file; raise if any seed fails.

    Returns the path written. Seeds 0 to 3 must be among ``seeds``: they are the seeds the book promises.
    """
    if not {0, 1, 2, 3} <= set(seeds):
        raise ValueError(f"seeds must include 0, 1, 2 and 3, got {seeds}")
    notebook = _notebook(chapter, book)
    results: dict[int, dict[str, Any]] = {}
    seconds: dict[int, float] = {}
    failures = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_run_one, str(notebook), s, timeout) for s in seeds]
        for f in futures:
            seed, values, error, took = f.result()
            print(
                f"chapter {chapter} seed {seed}: {'ok' if values is not None else 'FAILED'} in {took:.0f} s",
                flush=True,
            )
            if values is None:
                failures.append(f"seed {seed}:\n{error}")
            else:
                results[seed], seconds[seed] = values, took
    if failures:
        raise RuntimeError(f"{notebook.name} failed for " + "\n\n".join(failures))
    keys = sorted(results[seeds[0]])
    for s in seeds:
        if sorted(results[s]) != keys:
            raise RuntimeError(
                f"{notebook.name}: seed {s} recorded {sorted(results[s])}, seed {seeds[0]} {keys}"
            )
    sweep = {
        "chapter": chapter,
        "notebook": f"{Path(book).name}/{notebook.name}",
        "code_sha256": code_hash(notebook),
        "command": command or f"python -m tfmcourse.sweep {chapter} --seeds {seeds[0]}-{seeds[-1]}",
        "date": _dt.date.today().isoformat(),
        "machine": _machine(),
        "versions": _versions(),
        "seeds": seeds,
        "seconds": [round(seconds[s], 1) for s in seeds],
        "values": {k: [results[s][k] for s in seeds] for k in keys},
    }
    out_dir = Path(data or DATA)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sweep_{chapter}.json"
    path.write_text(json.dumps(sweep, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfmcourse.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help='chapter numbers ("01" "07"), or "all"')
    parser.add_argument("--seeds", default="0-3", help="e.g. 0-3 or 0-5 or 0,1,2,3,7 (must include 0-3)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="seeds run at once (each notebook uses one thread)"
    )
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    chapters = args.chapters
    if chapters == ["all"]:
        chapters = sorted(p.name[:2] for p in BOOK.glob("[0-9][0-9]_*.ipynb") if _records(p))
    seeds = _parse_seeds(args.seeds)
    for ch in chapters:
        ch = f"{int(ch):02d}"
        path = run_sweep(
            ch,
            seeds,
            jobs=args.jobs,
            timeout=args.timeout,
            command=f"python -m tfmcourse.sweep {ch} --seeds {args.seeds}",
        )
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def _records(notebook: Path) -> bool:
    """Whether the notebook records anything (only those chapters have a sweep)."""
    return "record(" in notebook.read_text(encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
