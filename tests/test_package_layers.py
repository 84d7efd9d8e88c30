"""No module imports upwards (docs/authoring.md, "The package: which module holds what"): at import time a
module imports only from its own row or the rows above it in the package map. A name that moved above is
loaded on first use (a module ``__getattr__``), which this test allows: it reads module-level imports only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tfmcourse"

#: the rows of the package map, top (imported by everything) to bottom
ROWS = [
    {"checks"},
    {"data", "plot", "audio"},
    {"attention", "cache", "positional"},
    {"multihead", "config", "blocks", "transformer"},
    {"models"},
    {"schedules", "losses", "checkpoint", "prefetch", "speed", "train"},
    {"decode", "sampling", "metrics"},
    {"perf", "memory", "bench", "ddp"},
    {"diagrams"},
    {"exercises", "sweep", "explorer"},
]
ROW = {name: i for i, names in enumerate(ROWS) for name in names}


def _top(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tfmcourse" else None


def test_every_module_is_in_the_map():
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops = {t for t in tops if not t.startswith("_") and t not in ("py", "typed")}
    tops.discard("baselines")  # the old import path of models.baselines, a re-export only
    assert tops - {"__pycache__"} <= set(ROW), f"not in the package map: {sorted(tops - set(ROW))}"


def test_no_module_imports_from_a_row_below_its_own():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        me = _top(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if me not in ROW:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfmcourse"):
                targets = (
                    [f"tfmcourse.{a.name}" for a in node.names]
                    if node.module == "tfmcourse"
                    else [node.module]
                )
                for target in targets:
                    theirs = _top(target)
                    if theirs in ROW and ROW[theirs] > ROW[me]:
                        upward.append(f"{path.relative_to(PACKAGE.parent)} imports {target}")
    assert not upward, "imports from a lower row of the package map:\n" + "\n".join(upward)
