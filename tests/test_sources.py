"""Source files that the book build reads: each must parse, and no merge left conflict markers behind.

These checks take a second; without them a broken ``references.bib`` is found only when the whole book
has been executed and Sphinx starts (minutes later, and in CI)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
CONFLICT = re.compile(r"^(<{7}|>{7}|={7})( |$)", re.MULTILINE)


def test_bibliography_parses_and_every_entry_has_a_title_and_year():
    data = parse_file(str(ROOT / "references.bib"))
    assert len(data.entries) > 10
    for key, entry in data.entries.items():
        assert "title" in entry.fields, f"references.bib: entry {key} has no title"
        assert "year" in entry.fields, f"references.bib: entry {key} has no year"


@pytest.mark.parametrize("name", ["_config.yml", "_toc.yml"])
def test_book_configuration_is_valid_yaml(name):
    assert isinstance(yaml.safe_load((ROOT / name).read_text(encoding="utf-8")), dict)


def test_no_conflict_markers_in_tracked_text_files():
    suffixes = {".py", ".md", ".bib", ".yml", ".yaml", ".ipynb", ".toml", ".txt", ".cfg", ".css", ".js"}
    bad = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & {".venv", "_build", ".git", "node_modules"} or path.suffix not in suffixes:
            continue
        if path.is_file() and CONFLICT.search(path.read_text(encoding="utf-8", errors="replace")):
            bad.append(str(path.relative_to(ROOT)))
    assert not bad, f"merge conflict markers left in: {bad}"
