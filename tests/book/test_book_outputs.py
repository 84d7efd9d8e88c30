"""The executed outputs of the book hold no tool noise: no warnings, no paths of the build machine.

A reader should see what the chapter computes, not ``TqdmWarning: IProgress not found`` or the path of
someone's virtual environment. This reads the executed version of every chapter notebook from the
jupyter-cache that ``make book`` filled and built the pages from (``_build/.jupyter_cache``), and every
chapter page's output areas, and fails on such text, naming the chapter, the cell and the line.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from bookbrowser import ROOT, SITE

CACHE = ROOT / "_build" / ".jupyter_cache"
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

# What must never be in an output. Each entry: (what it is, pattern).
NOISE = [
    ("a warning", re.compile(r"\b[A-Z]\w*Warning\b(?::|\s*\()")),
    ("a progress-bar fallback", re.compile(r"IProgress not found|ipywidgets")),
    ("an installed package's path", re.compile(r"site-packages|dist-packages|[/\\]\.venv[/\\]")),
    (
        "a path of this machine",
        re.compile(re.escape(str(ROOT)) + "|" + re.escape(str(Path.home())) + r"[/\\]"),
    ),
    ("a system path", re.compile(r"(?<![\w.])/(?:tmp|usr/lib|usr/local/lib|home|root)/|[A-Z]:\\Users\\")),
    ("a traceback", re.compile(r"Traceback \(most recent call last\)")),
]


def output_texts(cell) -> list[str]:
    """The text of every output of a code cell (streams, plain, HTML, Markdown and LaTeX, errors)."""
    texts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            texts.append(out.text)
        elif out.output_type == "error":
            texts.append("\n".join(out.traceback))
        else:
            for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
                if mime in out.get("data", {}):
                    value = out.data[mime]
                    texts.append(value if isinstance(value, str) else "".join(value))
    return texts


def executed(path: Path):
    """The executed version of the chapter notebook ``path``, from the cache (``None`` if not there)."""
    from jupyter_cache import get_cache

    if not CACHE.is_dir():
        return None
    try:
        return get_cache(CACHE).merge_match_into_notebook(nbformat.read(path, as_version=4))[1]
    except KeyError:
        return None


def test_every_chapter_was_executed(site):
    missing = [p.name for p in CHAPTERS if executed(p) is None]
    assert not missing, f"not in the execution cache (run `make book`): {missing}"
    for path in CHAPTERS:  # outputs, not an empty shell
        nb = executed(path)
        assert sum(bool(c.get("outputs")) for c in nb.cells if c.cell_type == "code") >= 3, path.name


def find_noise(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        for what, pattern in NOISE:
            if pattern.search(line):
                found.append(f"{what}: {line.strip()[:160]}")
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_tool_noise_in_the_outputs(path, site):
    nb = executed(path)
    if nb is None:
        pytest.fail(f"{path.name} is not in the execution cache: run `make book`")
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for text in output_texts(cell):
            problems += [f"cell {i} ({cell.get('id', '?')}): {p}" for p in find_noise(text)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems[:20])


class OutputText(HTMLParser):
    """Collects the text inside the output areas (``div.cell_output``) of a page, one string per area."""

    def __init__(self):
        super().__init__()
        self.outputs: list[str] = []
        self._depth = 0  # open <div>s since the output area began (0: not in one)

    def handle_starttag(self, tag, attrs):
        if tag != "div":
            return
        if self._depth:
            self._depth += 1
        elif "cell_output" in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.outputs.append("")

    def handle_endtag(self, tag):
        if tag == "div" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.outputs[-1] += data


@pytest.mark.parametrize(
    "page", sorted(SITE.glob("book/[0-9][0-9]_*.html")) or [None], ids=lambda p: p.name if p else "(no build)"
)
def test_no_tool_noise_on_the_pages(page, site):
    """The same on the HTML: what the reader gets, including what the build adds to outputs."""
    if page is None:
        pytest.skip("no built book: run `make book` first")
    parser = OutputText()
    parser.feed(page.read_text(encoding="utf-8"))
    assert len(parser.outputs) >= 3, (
        f"{page.name}: found {len(parser.outputs)} output areas; has the page changed?"
    )
    problems = find_noise("\n".join(parser.outputs))
    assert not problems, f"{page.name}:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize(
    "text, found",
    [
        (
            "/work/x/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found.",
            True,
        ),
        ("UserWarning: enable_nested_tensor is True", True),
        ("Traceback (most recent call last):", True),
        ("1 head(s): 100%|██████████| 600/600 [00:04<00:00, 130.5it/s]", False),
        ("warnings are errors; the word warning alone is fine", False),
    ],
)
def test_the_scan_finds_what_it_should(text, found):
    assert bool(find_noise(text)) is found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_pages_show_the_executed_outputs(path, site):
    """A page is rebuilt from the latest execution: every line its notebook printed is on the page."""
    nb, page = executed(path), site / "book" / f"{path.stem}.html"
    if nb is None or not page.is_file():
        pytest.fail(f"{path.name}: not executed or not built: run `make book`")
    parser = OutputText()
    parser.feed(page.read_text(encoding="utf-8"))
    shown = "\n".join(parser.outputs)
    printed = [
        line.strip()
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stdout"
        for line in out.text.replace("\r", "\n").splitlines()
        if line.strip()
    ]
    assert printed, f"{path.name} printed nothing?"
    missing = [line for line in printed if line not in shown]
    assert not missing, f"{page.name} is older than its execution (run `make book`): {missing[:3]}"
