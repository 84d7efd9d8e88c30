"""Notebook hygiene and the exercise mechanism.

- committed notebooks have no outputs, kernelspec python3, start with the generated setup cell;
- every notebook in book/ is in _toc.yml and every toc entry exists;
- exercises/ and the setup cells are up to date with book/ and _config.yml;
- every exercise stub, run through its checker, fails with a clear "not implemented" hint.
"""

from __future__ import annotations
import __future__

import importlib
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tfmcourse.exercises import ExerciseError, build

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = build.chapter_notebooks(ROOT)
IDS = [p.name for p in NOTEBOOKS]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_and_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "code"
    assert nb.cells[0].source == build.setup_cell_source(ROOT), f"{path.name}: run `make notebooks`"
    # hidden on the page (the page opens with the chapter title), still run in Jupyter and on Colab
    assert "remove-cell" in nb.cells[0].metadata.get("tags", []), f"{path.name}: run `make notebooks`"
    assert nb.cells[1].cell_type == "markdown" and re.match(r"# \d+\. \S", nb.cells[1].source), (
        f"{path.name}: the cell after the setup cell should be the chapter title, '# N. Title'"
    )
    first_code = next(c for c in nb.cells[1:] if c.cell_type == "code")
    assert "import tfmcourse" in first_code.source or "from tfmcourse" in first_code.source, (
        f"{path.name}: the first code cell after the setup cell should import tfmcourse"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ends_with_what_you_learned(path):
    nb = nbformat.read(path, as_version=4)
    assert any(c.cell_type == "markdown" and "What you learned" in c.source for c in nb.cells[-3:]), (
        f"{path.name} should end with a 'What you learned' section"
    )


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    toc = _toc_files()
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in toc, f"{path.name} is not in _toc.yml"
    for entry in toc:
        candidates = [ROOT / f"{entry}{ext}" for ext in ("", ".md", ".ipynb")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


def test_setup_cell_reads_the_url_from_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"]
    assert url in build.setup_cell_source(ROOT)
    assert config["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    for path in NOTEBOOKS:  # the URL is written nowhere else by hand
        text = path.read_text(encoding="utf-8")
        assert text.count(url) == 1, f"{path.name} mentions the repository URL outside its setup cell"


def test_generated_files_are_up_to_date():
    stale = build.stale(ROOT)
    assert not stale, (
        f"stale generated files (run `make notebooks`): {[str(p.relative_to(ROOT)) for p in stale]}"
    )


def test_exercise_labels_are_unique():
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for label in re.findall(r"^:label:\s*(\S+)", cell.source, flags=re.M):
                assert label not in seen, f"label {label} is in both {seen[label]} and {path.name}"
                seen[label] = path.name


def _exercises():
    """(notebook, function name, stub source, checker module, checker name) for every exercise."""
    found = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
        text = "\n".join(sources)
        alias = re.search(r"from tfmcourse\.exercises import (ch\d+) as (\w+)", text)
        for i, src in enumerate(sources):
            if build.BEGIN not in src:
                continue
            name = re.search(r"^def (\w+)", src, flags=re.M).group(1)
            assert alias, f"{path.name} has exercises but does not import its checker module"
            module, as_name = alias.groups()
            later = "\n".join(sources[i + 1 : i + 3])
            call = re.search(rf"{as_name}\.(\w+)\(\s*{name}\b", later)
            assert call, (
                f"{path.name}: exercise `{name}` is not followed by a `{as_name}.<checker>({name})` cell"
            )
            found.append(
                pytest.param(
                    path.name, name, build.stub_source(src), module, call.group(1), id=f"{path.stem}:{name}"
                )
            )
    return found


EXERCISES = _exercises()


def test_there_are_exercises():
    assert len(EXERCISES) >= 3


@pytest.mark.parametrize("notebook,name,stub,module,checker", EXERCISES)
def test_stub_fails_with_a_clear_hint(notebook, name, stub, module, checker):
    # Annotations are not evaluated, so the stub needs none of the notebook's imports to be defined.
    code = compile(
        stub,
        f"<stub of {name} in {notebook}>",
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    namespace: dict = {}
    exec(code, namespace)
    check = getattr(importlib.import_module(f"tfmcourse.exercises.{module}"), checker)
    with pytest.raises(ExerciseError, match="not implemented"):
        check(namespace[name])


def test_stub_source_replaces_the_solution_and_keeps_indentation():
    src = "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    return x + y\n    # END SOLUTION\n"
    assert build.stub_source(src) == "def f(x):\n    y = 1\n    " + build.STUB


@pytest.mark.parametrize(
    "bad",
    [
        "def f():\n    # BEGIN SOLUTION\n    return 1\n",
        "def f():\n    return 1\n    # END SOLUTION\n",
        "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n",
    ],
)
def test_stub_source_rejects_unbalanced_markers(bad):
    with pytest.raises(ValueError):
        build.stub_source(bad)
