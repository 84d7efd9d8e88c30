"""Regenerate what is generated from the chapter notebooks in ``book/``.

1. The setup cell that opens every notebook, built from ``repository.url`` in ``_config.yml`` (the
   only place the URL is written). It carries the tag ``remove-cell``: the rendered page leaves it out
   (the page opens with the chapter title), while the notebook, on Colab or in Jupyter, still runs it.
2. The learner notebooks in ``exercises/``: each chapter notebook with an exercise is copied with the
   code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` replaced by ``raise NotImplementedError``,
   and without the ``solution-start`` / ``solution-end`` markdown cells that only the book needs.

Run ``python -m tfmcourse.exercises.build`` (or ``make notebooks``) after editing a notebook;
``--check`` only reports what is stale and exits 1 (the test suite does the same check).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
SETUP_MARKER = "# tfmcourse setup cell"
SETUP_TAGS = ["remove-cell"]  # Jupyter Book: neither the cell nor its output appears on the page
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
_GATE = re.compile(r"^\s*:+\s*\{solution-(start|end)\}")


def repository_url(root: Path = ROOT) -> tuple[str, str]:
    """The repository URL and branch from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_cell_source(root: Path = ROOT) -> str:
    """The source of the cell that opens every notebook."""
    url, branch = repository_url(root)
    return (
        f"{SETUP_MARKER}: the same in every chapter, generated from _config.yml by `make notebooks`.\n"
        "# On Colab it installs the course package from the repository; on your machine it does\n"
        "# nothing, because `make book` has already installed the package into .venv.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    package = "tfmcourse @ git+{url}@{branch}"\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)'
    )


def stub_source(source: str) -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by ``raise NotImplementedError``.

    The ``raise`` keeps the indentation of the ``# BEGIN SOLUTION`` line. A block left open is an error.
    """
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r} in:\n{source}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + STUB)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "\n".join(out)


def has_exercise(nb: nbformat.NotebookNode) -> bool:
    """True when some code cell of ``nb`` holds a solution block."""
    return any(c.cell_type == "code" and BEGIN in c.source for c in nb.cells)


def learner_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner copy of a chapter notebook: solutions stubbed, solution gates dropped."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _GATE.match(cell.source):
            continue
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = stub_source(cell.source)
        cells.append(cell)
    intro = nbformat.v4.new_markdown_cell(
        "**Learner copy.** This notebook is generated from the chapter in `book/`: each exercise "
        "function raises `NotImplementedError` until you write it, and the checker cell right after it "
        "tells you whether it is right. Solutions are in the book (collapsed under each exercise)."
    )
    intro.id = "learner-copy-note"
    nb.cells = cells[:1] + [intro] + cells[1:]
    return nb


def with_setup_cell(nb: nbformat.NotebookNode, root: Path = ROOT) -> nbformat.NotebookNode:
    """``nb`` with its first cell set to the setup cell (inserted if it has none), tagged ``remove-cell``."""
    nb = copy.deepcopy(nb)
    source = setup_cell_source(root)
    if nb.cells and nb.cells[0].cell_type == "code" and nb.cells[0].source.startswith(SETUP_MARKER):
        nb.cells[0].source = source
    else:
        cell = nbformat.v4.new_code_cell(source)
        cell.id = "tfmcourse-setup"
        nb.cells.insert(0, cell)
    tags = [t for t in nb.cells[0].metadata.get("tags", []) if t not in SETUP_TAGS]
    nb.cells[0].metadata["tags"] = SETUP_TAGS + tags
    return nb


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """Every chapter notebook in ``book/``, sorted by name."""
    return sorted((root / "book").glob("*.ipynb"))


def render(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file with its expected text: book notebooks and learner copies."""
    files: dict[Path, str] = {}
    for path in chapter_notebooks(root):
        nb = with_setup_cell(nbformat.read(path, as_version=4), root)
        files[path] = nbformat.writes(nb) + "\n"
        if has_exercise(nb):
            files[root / "exercises" / path.name] = nbformat.writes(learner_notebook(nb)) + "\n"
    return files


def stale(root: Path = ROOT) -> list[Path]:
    """Generated files whose text differs from what :func:`render` gives, plus orphan learner copies."""
    files = render(root)
    out = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    out += [p for p in sorted((root / "exercises").glob("*.ipynb")) if p not in files]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files and exit 1; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(f"stale: {p.relative_to(ROOT)}")
        if bad:
            print("run `make notebooks` to regenerate")
        return 1 if bad else 0
    files = render()
    (ROOT / "exercises").mkdir(exist_ok=True)
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for orphan in sorted((ROOT / "exercises").glob("*.ipynb")):
        if orphan not in files:
            orphan.unlink()
            print(f"removed {orphan.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
