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

The pieces: :mod:`~tfmcourse.sweep.seeds` (``course_seed``, ``record``), :mod:`~tfmcourse.sweep.results`
(the stored sweeps and their tables) and :mod:`~tfmcourse.sweep.runner` (``run_sweep`` and the command).
"""

from tfmcourse.sweep.results import (
    BOOK,
    DATA,
    ROOT,
    code_hash,
    load_sweep,
    sweep_range,
    sweep_table,
    sweep_values,
)
from tfmcourse.sweep.runner import main, run_sweep
from tfmcourse.sweep.seeds import ENV_RECORD, ENV_SEED, course_seed, record, recorded, seed_everything

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
    "main",
    "ENV_SEED",
    "ENV_RECORD",
    "ROOT",
    "BOOK",
    "DATA",
]
