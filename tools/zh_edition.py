"""The Chinese edition (中文版): ``zh/`` generated from ``book/`` plus the translation files.

Every page of the English table of contents (``_toc.yml``) has a translation file
``zh/translations/<stem>.yml``, or will have one. It holds one entry per *unit* of the English page: per
markdown cell of a notebook (key: the cell's id), per block of a ``.md`` page (blocks are separated by a
blank line; key: a slug of the block's first words). An entry is::

    4b5ddb33:
      source: 3f2a9c1b0d4e   # the first 12 hex digits of the SHA-256 of the English text it translates
      zh: |
        # 11. BERT：双向阅读的编码器
        ...

Units with nothing to translate (the ``solution-start`` / ``solution-end`` cells, a bare
``{tableofcontents}``) are copied as they are and need no entry.

``python tools/zh_edition.py`` (run by ``make notebooks``) writes, never to be edited by hand:

- ``zh/book/<stem>.ipynb``: the English notebook (setup cell included, as ``book/`` has it) with every
  markdown cell replaced by its translation. Code cells are copied byte for byte; only the setup cell
  adds two lines: ``os.environ["TFMCOURSE_LANG"] = "zh"``, so that the checkers answer in Chinese, and
  ``use_cjk_font()`` (``tfmcourse.plot``), so that a figure with Chinese text shows no boxes;
- ``zh/book/<stem>.md``: a translated ``.md`` page;
- ``zh/exercises/<stem>.ipynb``: the Chinese learner copy (``build.learner_notebook``);
- for a page that is not completely translated, a short Chinese page that says so and links to the
  English one: a chapter is published in Chinese whole or not at all, never half English.

A translation whose English changed since (hash mismatch) is still used, and reported; the tests fail on
it (``tests/test_zh_edition.py``) until a translator updates the text and the hash.

Other commands (see docs/authoring.md, "The Chinese edition"):

- ``--check``: list the generated files that are stale (exit 1), write nothing;
- ``status``: per page, the units translated, missing and stale;
- ``todo STEM [--append]``: every missing or stale unit of a page with its English text, its new hash and,
  for a stale one, the diff of the English since it was translated (found in git history); ``--append``
  adds an empty entry for each missing unit to the translation file;
- ``outputs``: copy the outputs of the executed English notebooks (``_build/.jupyter_cache``) into the
  cache of the Chinese build (``_build/zh/_build/.jupyter_cache``): the code is the same, so the Chinese
  edition is built without executing anything again (``make book``).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

# The one import from the exercise generator (it may move to tools/: then only this line changes).
from tfmcourse.exercises import build

ROOT = Path(__file__).resolve().parents[1]
ZH = "zh"
LANG_LINE = 'os.environ["TFMCOURSE_LANG"] = "zh"  # 练习检查器的提示用中文（tfmcourse.exercises）'
LEARNER_NOTE = (
    "**学习者副本。** 本笔记本由 `zh/book/` 中的章节自动生成：每个练习函数在你写好之前都会抛出 "
    "`NotImplementedError`，紧随其后的检查单元会告诉你答案是否正确。参考答案在书中（折叠在每道练习的题目下方）。"
)
_FENCE = re.compile(r"^\s*(`{3,}|:{3,})")
_OPTION = re.compile(r"^\s*:[\w-]+:")


# ------------------------------------------------------------------------------------------ units


def source_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``text`` (what a translation's ``source:`` holds)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def needs_translation(text: str) -> bool:
    """False for a unit that is only directive fences and options (``solution-start``, ``{bibliography}``)."""
    return any(
        line.strip() and not _FENCE.match(line) and not _OPTION.match(line) for line in text.splitlines()
    )


def _slug(text: str) -> str:
    content = [
        line
        for line in text.splitlines()
        if line.strip() and not _FENCE.match(line) and not _OPTION.match(line)
    ]
    first = content[0] if content else text.strip().splitlines()[0] if text.strip() else ""
    words = re.findall(r"[a-z0-9]+", first.lower().replace("'", ""))
    return "-".join(words[:6]) or "block"


def md_blocks(text: str) -> list[tuple[str, str]]:
    """A ``.md`` page as ``(key, block)`` pairs: blocks separated by blank lines, keys slugs of their first
    words (``-2``, ``-3`` ... when two blocks start alike). Joining the blocks with a blank line gives the
    page."""
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text.strip("\n")) if b.strip()]
    seen: dict[str, int] = {}
    out = []
    for block in blocks:
        key = _slug(block)
        seen[key] = seen.get(key, 0) + 1
        out.append((key if seen[key] == 1 else f"{key}-{seen[key]}", block))
    return out


@dataclass
class Unit:
    key: str
    english: str

    @property
    def hash(self) -> str:
        return source_hash(self.english)


@dataclass
class Page:
    """An English page of the toc (``book/<stem>.ipynb`` or ``.md``) and its translation file."""

    stem: str
    path: Path  # the English source
    root: Path = ROOT
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # files read once per Page

    @property
    def is_notebook(self) -> bool:
        return self.path.suffix == ".ipynb"

    @property
    def translation_file(self) -> Path:
        return self.root / ZH / "translations" / f"{self.stem}.yml"

    def english_notebook(self) -> nbformat.NotebookNode:
        """The notebook as ``make notebooks`` writes it to ``book/`` (setup cell regenerated); a copy."""
        if "nb" not in self._memo:
            self._memo["nb"] = build.with_setup_cell(nbformat.read(self.path, as_version=4), self.root)
        return copy.deepcopy(self._memo["nb"])

    def units(self) -> list[Unit]:
        """The units to translate, in page order."""
        if self.is_notebook:
            pairs = [(c.id, c.source) for c in self.english_notebook().cells if c.cell_type == "markdown"]
        else:
            pairs = md_blocks(self.path.read_text(encoding="utf-8"))
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.path.relative_to(self.root)}: two units share a key: {keys}")
        return [Unit(k, text) for k, text in pairs if needs_translation(text)]

    def translations(self) -> dict[str, dict]:
        """The entries of the translation file (``{}`` when there is none)."""
        if "translations" not in self._memo:
            data = {}
            if self.translation_file.is_file():
                data = yaml.safe_load(self.translation_file.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise ValueError(f"{self.translation_file}: expected a mapping of unit keys to entries")
            self._memo["translations"] = {str(k): v for k, v in data.items()}
        return self._memo["translations"]

    def report(self) -> dict[str, list[str]]:
        """``{"translated": keys, "missing": keys, "stale": keys, "orphans": keys}``."""
        entries = self.translations()
        units = self.units()
        out: dict[str, list[str]] = {"translated": [], "missing": [], "stale": [], "orphans": []}
        for unit in units:
            entry = entries.get(unit.key) or {}
            if not str(entry.get("zh") or "").strip():
                out["missing"].append(unit.key)
            elif str(entry.get("source")) != unit.hash:
                out["stale"].append(unit.key)
            else:
                out["translated"].append(unit.key)
        keys = {u.key for u in units}
        out["orphans"] = [k for k in entries if k not in keys]
        return out

    def complete(self) -> bool:
        """Every unit has a translation (stale ones included): the page is published in Chinese."""
        return self.translation_file.is_file() and not self.report()["missing"]

    def zh_text(self, key: str) -> str:
        return str(self.translations()[key]["zh"]).strip("\n")


def toc_files(root: Path = ROOT) -> list[str]:
    """The entries of ``_toc.yml`` in order (``book/intro``, ``book/00_how_to_use``, ...)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def pages(root: Path = ROOT) -> list[Page]:
    """Every page of the English edition, in toc order."""
    out = []
    for entry in toc_files(root):
        path = next(p for p in (root / f"{entry}.ipynb", root / f"{entry}.md") if p.is_file())
        out.append(Page(path.stem, path, root))
    return out


# ------------------------------------------------------------------------------------- rendering


def zh_setup_source(root: Path = ROOT) -> str:
    """The setup cell of the Chinese notebooks: the English one plus the lines that select Chinese hints
    and a font with Chinese glyphs for figures."""
    return (
        build.setup_cell_source(root) + "\n\nimport os\n\n" + LANG_LINE + "\n\n"
        "from tfmcourse.plot import use_cjk_font\n\n"
        "_ = use_cjk_font()  # 图中的中文用系统里的 CJK 字体（Noto Sans CJK、文泉驿正黑……）显示，不会变成方框"
    )


def zh_notebook(page: Page) -> nbformat.NotebookNode:
    """The Chinese notebook of a completely translated chapter."""
    nb = page.english_notebook()
    nb.cells[0].source = zh_setup_source(page.root)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and needs_translation(cell.source):
            cell.source = page.zh_text(cell.id)
    nb.metadata["language_info"] = {**nb.metadata.get("language_info", {}), "name": "python"}
    nb.metadata["tfmcourse"] = {"edition": "zh", "source": f"book/{page.path.name}"}
    return nb


def zh_learner_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    learner = build.learner_notebook(nb)
    for cell in learner.cells:
        if cell.get("id") == "learner-copy-note":
            cell.source = LEARNER_NOTE
    return learner


def english_title(page: Page) -> str:
    """The English page's first heading, without the ``#``."""
    if page.is_notebook:
        text = next(c.source for c in page.english_notebook().cells if c.cell_type == "markdown")
    else:
        text = page.path.read_text(encoding="utf-8")
    return next(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("# "))


def placeholder(page: Page) -> str:
    """The Chinese page of a page that is not (completely) translated yet: it says so, in Chinese."""
    english = f"../../book/{page.stem}.html"
    return (
        f"# {english_title(page)}（尚未翻译）\n\n"
        ":::{note}\n"
        f'本页尚未译成中文。请阅读<a class="tfm-untranslated" href="{english}">英文原版</a>'
        "（每页顶部的 English 链接也通向它）。\n"
        ":::\n"
    )


_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]")


def join_cjk_lines(text: str) -> str:
    """Join the lines of a paragraph where a line break falls between two Chinese characters.

    Markdown turns a line break inside a paragraph into a space, which Latin text needs and Chinese does not:
    "搭起来，\n并检验" would show as "搭起来， 并检验". Code (```` ``` ```` fences, ``$$`` blocks) is left
    alone, and so is a line that starts a list item, a table row or a heading, or that is indented less
    than the line before (a new glossary term, the end of a list item)."""
    out: list[str] = []
    code = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```") or stripped == "$$":
            code = not code if stripped in ("```", "$$") or not code else code
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        previous = out[-1] if out else ""
        if (
            not code
            and previous.strip()
            and _CJK_END.search(previous)
            and _CJK_START.search(stripped)
            and indent >= len(previous) - len(previous.lstrip())
            and not re.match(r"([-*+]|\d+\.|\||#+|:::)\s", stripped)
        ):
            out[-1] = previous + stripped
        else:
            out.append(line)
    return "\n".join(out)


_LINK = re.compile(r"\]\((?P<stem>[\w-]+)\.(?:ipynb|md)(?P<anchor>#[^)\s]*)?\)")


def retarget_links(text: str, suffixes: dict[str, str]) -> str:
    """Point the links between pages (``[第 1 章](01_why_transformers.ipynb)``) at the file the Chinese
    edition has: a page not yet translated is a ``.md`` placeholder (its anchors are gone, so a link to
    ``x.ipynb#label`` becomes a link to the page)."""

    def fix(match: re.Match[str]) -> str:
        stem, anchor = match.group("stem"), match.group("anchor") or ""
        if stem not in suffixes:
            return match.group(0)
        return f"]({stem}{suffixes[stem]}{anchor if suffixes[stem] == '.ipynb' or anchor == '' else ''})"

    return _LINK.sub(fix, text)


def render(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file of ``zh/`` with its text."""
    files: dict[Path, str] = {}
    all_pages = pages(root)
    suffixes = {p.stem: (p.path.suffix if p.complete() else ".md") for p in all_pages}
    for page in all_pages:
        book = root / ZH / "book"
        if not page.complete():
            files[book / f"{page.stem}.md"] = placeholder(page)
        elif page.is_notebook:
            nb = zh_notebook(page)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = join_cjk_lines(retarget_links(cell.source, suffixes))
            files[book / f"{page.stem}.ipynb"] = nbformat.writes(nb) + "\n"
            if build.has_exercise(nb):
                files[root / ZH / "exercises" / page.path.name] = (
                    nbformat.writes(zh_learner_notebook(nb)) + "\n"
                )
        else:
            blocks = md_blocks(page.path.read_text(encoding="utf-8"))
            text = "\n\n".join(page.zh_text(k) if needs_translation(b) else b for k, b in blocks)
            files[book / f"{page.stem}.md"] = join_cjk_lines(retarget_links(text, suffixes)) + "\n"
    return files


def generated(root: Path = ROOT) -> list[Path]:
    """The files now in the generated folders of ``zh/`` (``book/``, ``exercises/``)."""
    return sorted(p for d in ("book", "exercises") for p in (root / ZH / d).glob("*") if p.is_file())


def stale(root: Path = ROOT) -> list[Path]:
    """Generated files whose text differs from :func:`render`, and files that should not be there."""
    files = render(root)
    out = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    return out + [p for p in generated(root) if p not in files]


def problems(root: Path = ROOT) -> list[str]:
    """One line per missing or stale translation of a page that has a translation file."""
    lines = []
    for page in pages(root):
        if not page.translation_file.is_file():
            continue
        report = page.report()
        for kind, word in (("missing", "missing"), ("stale", "stale"), ("orphans", "orphan")):
            for key in report[kind]:
                lines.append(f"{page.translation_file.relative_to(root)}: {word} entry {key}")
    return lines


def write(root: Path = ROOT) -> int:
    files = render(root)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
    for path in generated(root):
        if path not in files:
            path.unlink()
            print(f"removed {path.relative_to(root)}")
    bad = problems(root)
    if bad:
        print(
            "zh: translations to update (the tests fail until they are; see `python tools/zh_edition.py "
            "todo STEM`):"
        )
        for line in bad:
            print(f"  {line}")
    return 0


# ----------------------------------------------------------------------------------- translators


def status(root: Path = ROOT) -> int:
    print(f"{'page':<22} {'units':>5} {'done':>5} {'missing':>7} {'stale':>5}  published as")
    for page in pages(root):
        report = page.report()
        n = len(page.units())
        state = "Chinese" if page.complete() else "placeholder"
        if not page.translation_file.is_file():
            state += " (no translation file)"
        print(
            f"{page.stem:<22} {n:>5} {len(report['translated']):>5} {len(report['missing']):>7} "
            f"{len(report['stale']):>5}  {state}"
        )
    return 0


def _english_at(page: Page, key: str, want: str) -> str | None:
    """The English text of unit ``key`` as it was when its hash was ``want``, from git history."""
    rel = page.path.relative_to(page.root).as_posix()
    try:
        shas = subprocess.run(
            ["git", "log", "--format=%H", "-n", "200", "--", rel],
            cwd=page.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    for sha in shas:
        shown = subprocess.run(["git", "show", f"{sha}:{rel}"], cwd=page.root, capture_output=True, text=True)
        if shown.returncode:
            continue
        if page.is_notebook:
            pairs = [(c.get("id"), c.source) for c in nbformat.reads(shown.stdout, as_version=4).cells]
        else:
            pairs = md_blocks(shown.stdout)
        for k, text in pairs:
            if k == key and source_hash(text) == want:
                return text
    return None


def todo(stem: str, append: bool, root: Path = ROOT) -> int:
    page = next((p for p in pages(root) if p.stem == stem), None)
    if page is None:
        print(f"no page {stem!r} in _toc.yml; pages: {', '.join(p.stem for p in pages(root))}")
        return 2
    report, entries = page.report(), page.translations()
    units = {u.key: u for u in page.units()}
    for key in report["missing"] + report["stale"]:
        unit = units[key]
        print(f"\n=== {key}  ({'stale' if key in report['stale'] else 'missing'}); new source: {unit.hash}")
        if key in report["stale"]:
            old = _english_at(page, key, str(entries[key].get("source")))
            if old is None:
                print("(the English it was translated from is not in git history; compare by hand)")
            else:
                print("--- what changed in the English since the translation:")
                print(
                    "\n".join(
                        difflib.unified_diff(
                            old.splitlines(), unit.english.splitlines(), "before", "now", lineterm=""
                        )
                    )
                )
            print("--- the Chinese now:\n" + str(entries[key]["zh"]).rstrip())
        print("--- English:\n" + unit.english)
    for key in report["orphans"]:
        print(f"\n=== {key}  (orphan: no such unit in the English any more; delete the entry)")
    if append and report["missing"]:
        absent = [k for k in report["missing"] if k not in entries]
        path = page.translation_file
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            path.read_text(encoding="utf-8")
            if path.is_file()
            else (
                f"# Chinese text of {page.path.relative_to(root).as_posix()}, one entry per unit (see "
                "tools/zh_edition.py).\n"
            )
        )
        for key in absent:
            text += f'\n{_yaml_key(key)}:\n  source: {units[key].hash}\n  zh: ""\n'
        path.write_text(text, encoding="utf-8")
        print(f"\nappended {len(absent)} empty entries to {path.relative_to(root)}")
    if not (report["missing"] or report["stale"] or report["orphans"]):
        print(f"{stem}: every unit translated and current")
    return 0


def _yaml_key(key: str) -> str:
    return key if re.fullmatch(r"[a-z][a-z0-9-]*", key) else f'"{key}"'


def dump_entry(key: str, source: str, zh: str) -> str:
    """One entry of a translation file, formatted as the files are (used by ``todo --append`` and tests)."""
    body = "\n".join(("    " + line) if line.strip() else "" for line in zh.strip("\n").splitlines())
    return f"{_yaml_key(key)}:\n  source: {source}\n  zh: |\n{body}\n"


# -------------------------------------------------------------------------------------- outputs


def copy_outputs(root: Path = ROOT) -> int:
    """Put the executed English outputs into the Chinese build's cache, one notebook at a time."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    english_cache = get_cache(root / "_build" / ".jupyter_cache")
    zh_cache = get_cache(root / "_build" / ZH / "_build" / ".jupyter_cache")
    missing = []
    count = 0
    for page in pages(root):
        zh_path = root / ZH / "book" / f"{page.stem}.ipynb"
        if not page.is_notebook or not zh_path.is_file():
            continue
        try:
            _, executed = english_cache.merge_match_into_notebook(page.english_notebook())
        except KeyError:
            missing.append(page.path.name)
            continue
        zh_nb = nbformat.read(zh_path, as_version=4)
        if len(zh_nb.cells) != len(executed.cells):
            raise SystemExit(
                f"{zh_path}: {len(zh_nb.cells)} cells, the English has {len(executed.cells)}: "
                "run `make notebooks`"
            )
        for zh_cell, en_cell in zip(zh_nb.cells, executed.cells):
            if zh_cell.cell_type == "code":
                zh_cell.outputs = copy.deepcopy(en_cell.outputs)
                zh_cell.execution_count = en_cell.get("execution_count")
        zh_nb.metadata = copy.deepcopy(executed.metadata) | {"tfmcourse": zh_nb.metadata.get("tfmcourse", {})}
        zh_cache.cache_notebook_bundle(
            CacheBundleIn(zh_nb, str(zh_path.resolve())), check_validity=False, overwrite=True
        )
        zh_cache.merge_match_into_notebook(
            nbformat.read(zh_path, as_version=4)
        )  # KeyError if it would not match
        count += 1
    if missing:
        print(
            f"[zh] not executed (run tools/execute_notebooks.py first): {', '.join(missing)}", file=sys.stderr
        )
        return 1
    print(f"[zh] outputs of {count} executed English notebook(s) copied into the Chinese build's cache")
    return 0


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="write", choices=["write", "status", "todo", "outputs"])
    parser.add_argument("stem", nargs="?", help="todo: the page, e.g. 11_bert or glossary")
    parser.add_argument("--append", action="store_true", help="todo: add empty entries for the missing units")
    parser.add_argument(
        "--check", action="store_true", help="report stale generated files, exit 1; write nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for path in bad:
            print(f"stale: {path.relative_to(ROOT)}")
        if bad:
            print("run `make notebooks` to regenerate")
        return 1 if bad else 0
    if args.command == "status":
        return status()
    if args.command == "todo":
        if not args.stem:
            parser.error("todo needs a page, e.g. `todo 11_bert`")
        return todo(args.stem, args.append)
    if args.command == "outputs":
        return copy_outputs()
    return write()


if __name__ == "__main__":
    sys.exit(main())
