"""Do the stored sweeps still describe the package? Run chapters once at one seed and compare.

A sweep's code hash (``tests/test_sweep.py``) covers the notebook's code cells, not the package they
import: a change inside ``tfmcourse/`` can move a chapter's numbers while the test stays green. After a
package change that could (a model's initialisation, a data pipeline, a loss), run::

    .venv/bin/python tools/sweep_check.py            # every chapter, at seed 0, two at a time
    .venv/bin/python tools/sweep_check.py 11 12 --seed 1

Every recorded value must be what ``book/data/sweep_NN.json`` holds for that seed (timings excepted).
A chapter that differs needs its sweep rerun: ``python -m tfmcourse.sweep NN --seeds 0-3``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor

from tfmcourse.sweep import load_sweep
from tfmcourse.sweep.results import _notebook
from tfmcourse.sweep.runner import _run_one

#: values whose name says they are timings: they differ from run to run by nature
TIMING_WORDS = ("speedup", "_ms", "seconds", "tokens_per", "time")


def check(chapter: str, seed: int) -> tuple[str, list[str], str]:
    """(chapter, the differing values as text lines, an error message or "")."""
    stored = load_sweep(chapter)
    if seed not in stored["seeds"]:
        return chapter, [], f"the sweep of chapter {chapter} has no seed {seed}"
    _, values, error, _ = _run_one(str(_notebook(chapter)), seed, 1800)
    if error:
        return chapter, [], error[-1500:]
    at = stored["seeds"].index(seed)
    differ = [
        f"  {key}: stored {runs[at]} -> now {values.get(key)}"
        for key, runs in stored["values"].items()
        if not any(word in key for word in TIMING_WORDS)
        and json.dumps(runs[at]) != json.dumps(values.get(key))
    ]
    return chapter, differ, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help='chapter numbers ("01" "11"); default: all with a sweep')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    chapters = args.chapters or [f"{n:02d}" for n in range(1, 15)]
    failed = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        for chapter, differ, error in pool.map(check, chapters, [args.seed] * len(chapters)):
            if error:
                print(f"chapter {chapter}: could not run\n{error}")
            elif differ:
                print(
                    f"chapter {chapter}: {len(differ)} values differ at seed {args.seed}", *differ, sep="\n"
                )
            else:
                print(f"chapter {chapter}: every value as stored at seed {args.seed}")
            failed += bool(error or differ)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
