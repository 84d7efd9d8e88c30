"""The chapters import every class and function from its home module, not through a re-export kept for
old import paths (issue 13: learners open the module a chapter names and find the code there)."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def _imports(notebook: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from tfmcourse... import name`` in the notebook's code cells."""
    found = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "\n".join(
            line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfmcourse"):
                found += [(node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapters_import_from_the_home_module(notebook):
    wrong = []
    for module_name, name in _imports(notebook):
        module = importlib.import_module(module_name)
        if not hasattr(module, name):  # a submodule: from tfmcourse import diagrams
            importlib.import_module(f"{module_name}.{name}")
            continue
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None)
        at_home = home == module_name or (  # a package may present what its own submodules define
            hasattr(module, "__path__") and str(home).startswith(module_name + ".")
        )
        if callable(obj) and home and not at_home:
            wrong.append(f"from {module_name} import {name}  (its home is {home})")
    assert not wrong, f"{notebook.name} imports through re-exports:\n" + "\n".join(wrong)
