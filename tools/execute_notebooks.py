"""Execute the chapter notebooks into the book's jupyter-cache, several at once; fail if any fails.

``make book`` runs this before ``jupyter-book build``: the build then finds every notebook in the cache
(``execute_notebooks: cache`` in ``_config.yml``) and executes nothing itself. Compared with letting
the build execute (one notebook at a time), this

- runs ``--jobs`` notebooks at once (each chapter uses one thread, so 2 jobs fill a 2-core machine),
  longest first (by the time each took last run);
- re-executes only what changed: a notebook whose code cells are unchanged is taken from the cache, and
  the whole cache is dropped when the *inputs* of the notebooks change (the package ``tfmcourse/``,
  ``book/data/``, ``requirements.txt``, the kernel start-up file, or ``TFMCOURSE_SEED``), because the
  cache only knows the notebooks' own code;
- stops ``make book`` with exit status 1, printing the traceback of every notebook that failed, so a
  half-executed chapter is never built into the site.

Usage: ``python tools/execute_notebooks.py [--jobs N] [--cache DIR] [--timeout S] NOTEBOOK...``
(the Makefile sets ``TFMCOURSE_SEED`` and ``PYTHONSTARTUP``, which the kernels inherit).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from jupyter_cache import get_cache
from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc, ProcessData

ROOT = Path(__file__).resolve().parents[1]
FINGERPRINT = "tfmcourse-inputs.sha256"
TIMINGS = "tfmcourse-timings.json"


def input_files(root: Path = ROOT) -> list[Path]:
    """The files, besides a notebook's own code, whose change can change any executed notebook."""
    files = [p for p in (root / "tfmcourse").rglob("*.py")]
    files += [p for p in (root / "book" / "data").rglob("*") if p.is_file()]
    files += [root / "requirements.txt", root / "tools" / "static_kernel.py"]
    return sorted(p for p in files if p.exists() and "__pycache__" not in p.parts)


def fingerprint(root: Path = ROOT) -> str:
    """A hash of :func:`input_files` (paths and contents) and of ``TFMCOURSE_SEED``."""
    h = hashlib.sha256(f"TFMCOURSE_SEED={os.environ.get('TFMCOURSE_SEED', '0')}\n".encode())
    for path in input_files(root):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _run(data: ProcessData) -> tuple[str, int, float]:
    start = time.perf_counter()
    status, uri = ExecutionWorkerLocalMProc()(data)
    return uri, status, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default 600)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress lines appear as they happen, even in a log file
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")

    stamp = args.cache / FINGERPRINT
    current = fingerprint()
    if args.cache.exists() and (not stamp.exists() or stamp.read_text().strip() != current):
        print(f"[execute] inputs changed (package, data, requirements or seed): dropping {args.cache}")
        get_cache(args.cache).clear_cache()
    cache = get_cache(args.cache)
    for nb in args.notebooks:
        cache.add_nb_to_project(str(nb.resolve()))
    stamp.write_text(current + "\n")

    uris = [str(nb.resolve()) for nb in args.notebooks]
    todo = cache.list_unexecuted(filter_uris=uris)
    cached = len(uris) - len(todo)
    timings_path = args.cache / TIMINGS
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    todo.sort(key=lambda r: (-timings.get(Path(r.uri).name, 0.0), r.uri))  # longest first
    seed = os.environ.get("TFMCOURSE_SEED", "0")
    print(
        f"[execute] {len(todo)} notebook(s) to run with TFMCOURSE_SEED={seed}, {args.jobs} at once; "
        f"{cached} unchanged, taken from the cache"
    )
    if not todo:
        return 0

    start = time.perf_counter()
    work = [ProcessData(r.pk, r.uri, cache, args.timeout, False) for r in todo]
    failed: list[str] = []
    with multiprocessing.Pool(min(args.jobs, len(work))) as pool:
        for uri, status, seconds in pool.imap_unordered(_run, work, chunksize=1):
            name = Path(uri).name
            timings[name] = round(seconds, 1)
            word = "ok" if status == 0 else "FAILED"
            print(f"[execute] {word:>6} {name} ({seconds:.0f} s)")
            if status != 0:
                failed.append(uri)
    timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")
    print(
        f"[execute] {len(work) - len(failed)} of {len(work)} ran without error in "
        f"{time.perf_counter() - start:.0f} s"
    )
    for uri in failed:
        record = cache.get_project_record(uri)
        print(f"\n[execute] {Path(uri).name} failed:\n{record.traceback or '(no traceback recorded)'}")
    if failed:
        print(f"[execute] FAILED: {', '.join(Path(u).name for u in failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
