"""Running a sweep: ``python -m tfmcourse.sweep 01 --seeds 0-3`` executes a chapter once per seed and writes
``book/data/sweep_01.json`` (``run_sweep``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from tfmcourse.sweep.results import BOOK, DATA, ROOT, _notebook, code_hash
from tfmcourse.sweep.seeds import ENV_RECORD, ENV_SEED

__all__ = ["run_sweep", "main"]


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
