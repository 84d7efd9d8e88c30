"""A labelled text task that ships with Python: which part of the standard library a docstring is from
(chapter 11).

Every public function, class and method of the standard library carries its documentation string
(``inspect.getdoc``). :func:`docstring_dataset` collects them from the modules of a few *areas*
(:data:`AREAS`: text processing, files, networking, numbers, time, concurrency) and labels each with
its area: a real classification task, written by people, with no download. The task is to read a
docstring and say which area of the library it documents.

The split into training and held-out examples is by *module*-independent hash of the qualified name
(``zlib.crc32``), so it is the same on every run and every machine; a docstring that appears twice
(inherited, or shared by two names) is kept once. The exact texts depend on the Python version, like
the rest of the corpus (:data:`tfmcourse.data.corpus.LICENSE`: PSF License).
"""

from __future__ import annotations

import importlib
import inspect
import zlib
from dataclasses import dataclass

__all__ = ["AREAS", "Docstring", "docstring_dataset", "split_dataset"]

#: The areas of the standard library and the modules whose docstrings represent them.
AREAS: dict[str, tuple[str, ...]] = {
    "text": ("string", "re", "textwrap", "difflib", "unicodedata", "codecs", "html", "html.parser"),
    "files": (
        "os",
        "os.path",
        "shutil",
        "pathlib",
        "glob",
        "fnmatch",
        "tempfile",
        "filecmp",
        "zipfile",
        "tarfile",
    ),
    "network": (
        "socket",
        "ssl",
        "http.client",
        "http.server",
        "urllib.request",
        "urllib.parse",
        "smtplib",
        "ftplib",
        "email.message",
        "ipaddress",
    ),
    "numbers": ("math", "cmath", "statistics", "decimal", "fractions", "random", "numbers"),
    "time": ("time", "datetime", "calendar", "zoneinfo", "sched"),
    "concurrency": ("threading", "multiprocessing", "concurrent.futures", "queue", "asyncio", "subprocess"),
}


@dataclass(frozen=True)
class Docstring:
    """One example: ``text`` (the docstring), ``label`` (index into the area names), ``area``, ``name``
    (where it comes from, e.g. ``"shutil.copyfile"``)."""

    text: str
    label: int
    area: str
    name: str


def _module_docstrings(module_name: str, min_chars: int) -> list[tuple[str, str]]:
    """``(qualified name, docstring)`` of the public functions, classes and methods defined in a module."""
    module = importlib.import_module(module_name)
    root = module_name.split(".")[0]
    found = []

    def add(obj: object, name: str) -> None:
        doc = inspect.getdoc(obj)
        if doc and len(doc) >= min_chars:
            found.append((f"{module_name}.{name}", doc))

    for name, obj in sorted(vars(module).items()):
        if name.startswith("_"):
            continue
        owner = getattr(obj, "__module__", None) or ""
        if owner and not owner.lstrip("_").startswith(root.lstrip("_")) and not inspect.isbuiltin(obj):
            continue  # imported from another module: it belongs to that one
        if inspect.isclass(obj):
            add(obj, name)
            for attr, member in sorted(vars(obj).items()):
                if not attr.startswith("_") and (callable(member) or isinstance(member, property)):
                    add(member, f"{name}.{attr}")
        elif callable(obj):
            add(obj, name)
    return found


def docstring_dataset(
    areas: dict[str, tuple[str, ...]] | None = None, min_chars: int = 40
) -> tuple[list[Docstring], list[str]]:
    """All the labelled docstrings of ``areas`` (default :data:`AREAS`) and the list of area names.

    Docstrings shorter than ``min_chars`` characters are skipped, and each distinct text is kept once
    (the first time it is met, in area and module order). Modules that cannot be imported on this
    Python are skipped. Deterministic for a given Python version.
    """
    areas = AREAS if areas is None else areas
    if not isinstance(areas, dict) or len(areas) < 2:
        raise ValueError(f"areas must map at least two area names to module names, got {areas!r}")
    names = list(areas)
    seen: set[str] = set()
    examples = []
    for label, area in enumerate(names):
        for module_name in areas[area]:
            try:
                docs = _module_docstrings(module_name, min_chars)
            except ImportError:
                continue
            for name, text in docs:
                if text not in seen:
                    seen.add(text)
                    examples.append(Docstring(text, label, area, name))
    return examples, names


def split_dataset(
    examples: list[Docstring], test_fraction: float = 0.4
) -> tuple[list[Docstring], list[Docstring]]:
    """``(train, test)``: each example goes to the test part when the CRC-32 of its name falls in the
    first ``test_fraction`` of the hash range. The same split on every run and machine."""
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float))
        or not 0 < test_fraction < 1
    ):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    cut = int(test_fraction * 2**32)
    train = [e for e in examples if zlib.crc32(e.name.encode("utf-8")) >= cut]
    test = [e for e in examples if zlib.crc32(e.name.encode("utf-8")) < cut]
    return train, test
