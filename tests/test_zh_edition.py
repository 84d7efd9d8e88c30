"""The Chinese edition (``zh/``) cannot drift from the English one.

- A page with a translation file (``zh/translations/<stem>.yml``) is *translated*: every markdown cell
  (every block of a ``.md`` page) of the English must have an entry, and the entry's ``source`` hash must
  be the hash of the English text as it is now. Edit an English cell of a translated chapter and this file
  fails, naming the cell, until a translator updates the Chinese (``python tools/zh_edition.py todo STEM``
  prints what changed).
- The code of a Chinese notebook is the English code, byte for byte: same cells, same ids, same order;
  only the setup cell adds the lines that select Chinese checker hints. nbval runs the English notebooks,
  so it runs the Chinese code too.
- The generated files in ``zh/book/`` and ``zh/exercises/`` are what ``make notebooks`` writes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tfmcourse.exercises import build

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
zh_edition = importlib.import_module("zh_edition")

PAGES = zh_edition.pages(ROOT)
TRANSLATED = [p for p in PAGES if p.translation_file.is_file()]
CJK = re.compile(r"[\u4e00-\u9fff]")

# Pages that were translated and must stay so (a translation file deleted by mistake fails here).
# Add a chapter when its translation file lands.
MUST_BE_TRANSLATED = {
    "intro",
    "glossary",
    "bibliography",
    "00_how_to_use",
    "02_attention",
    "03_multihead",
    "04_position",
    "05_encoder",
    "06_decoder",
    "08_gpu",
    "09_gpt",
    "11_bert",
    "12_vit",
    "14_speech",
}


MUST_BE_TRANSLATED = {
    "intro",
    "glossary",
    "bibliography",
    "00_how_to_use",
    "01_why_transformers",
    "02_attention",
    "11_bert",
    "12_vit",
    "13_clip",
    "14_speech",
}


def test_the_translated_pages_are_still_translated():
    assert {p.stem for p in TRANSLATED} >= MUST_BE_TRANSLATED


def test_every_translation_file_belongs_to_a_page():
    stems = {p.stem for p in PAGES}
    orphans = [
        f.name for f in (ROOT / "zh" / "translations").glob("*") if f.stem not in stems or f.suffix != ".yml"
    ]
    assert not orphans, f"zh/translations/ files without an English page in _toc.yml: {orphans}"


@pytest.mark.parametrize("page", TRANSLATED, ids=lambda p: p.stem)
def test_every_english_cell_has_a_current_translation(page):
    report = page.report()
    lines = [f"{kind}: {key}" for kind in ("missing", "stale", "orphans") for key in report[kind]]
    assert not lines, (
        f"{page.translation_file.relative_to(ROOT)} is out of step with {page.path.relative_to(ROOT)}:\n  "
        + "\n  ".join(lines)
        + f"\n(missing: an English cell with no Chinese; stale: the English changed since it was translated; "
        f"orphan: the English cell is gone). `python tools/zh_edition.py todo {page.stem}` shows each one "
        "with "
        "its new hash and what changed."
    )


@pytest.mark.parametrize("page", TRANSLATED, ids=lambda p: p.stem)
def test_translations_are_chinese_and_keep_the_markup(page):
    """Each entry has Chinese in it, keeps the English's headings level and its {directives}, roles and
    math."""
    units = {u.key: u.english for u in page.units()}
    for key, english in units.items():
        chinese = page.zh_text(key)
        assert CJK.search(chinese) or not re.search(r"[A-Za-z]{4,} [A-Za-z]{4,}", english), (page.stem, key)
        heading = re.match(r"#+ ", english)
        if heading:
            assert chinese.startswith(heading.group(0)), f"{page.stem} {key}: the heading level changed"
        for pattern in (r"\{[a-z-]+\}", r"\{cite[pt]?\}`[^`]+`", r"\$\$"):
            en, zh = sorted(re.findall(pattern, english)), sorted(re.findall(pattern, chinese))
            if pattern.startswith(r"\{cite"):  # the same references, in any order or grouping
                en = sorted(k for m in en for k in m.split("`")[1].split(","))
                zh = sorted(k for m in zh for k in m.split("`")[1].split(","))
            assert en == zh, f"{page.stem} {key}: {pattern} differs: English {en}, Chinese {zh}"


def test_generated_files_are_current():
    stale = zh_edition.stale(ROOT)
    assert not stale, (
        f"stale files in zh/ (run `make notebooks`): {[str(p.relative_to(ROOT)) for p in stale]}"
    )


ZH_NOTEBOOKS = sorted((ROOT / "zh" / "book").glob("*.ipynb"))


def _code(nb):
    return [
        (c.id, c.cell_type, c.source, json.dumps(c.metadata, sort_keys=True))
        for c in nb.cells
        if c.cell_type != "markdown"
    ]


@pytest.mark.parametrize("path", ZH_NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_the_english_ones(path):
    zh = nbformat.read(path, as_version=4)
    en = build.with_setup_cell(nbformat.read(ROOT / "book" / path.name, as_version=4), ROOT)
    assert [c.id for c in zh.cells] == [c.id for c in en.cells], "cells added, removed or reordered"
    assert [c.cell_type for c in zh.cells] == [c.cell_type for c in en.cells]
    setup_zh, setup_en = zh.cells[0].source, en.cells[0].source
    assert (
        setup_zh.startswith(setup_en)
        and setup_zh[len(setup_en) :] == zh_edition.zh_setup_source(ROOT)[len(setup_en) :]
    )
    zh.cells[0].source = setup_en
    assert _code(zh) == _code(en)
    for z, e in zip(zh.cells, en.cells):  # markdown cells keep their tags (solution-start, remove-cell ...)
        assert z.metadata == e.metadata, z.id


@pytest.mark.parametrize("path", ZH_NOTEBOOKS, ids=lambda p: p.stem)
def test_learner_copies_have_the_english_code(path):
    learner = ROOT / "zh" / "exercises" / path.name
    english = ROOT / "exercises" / path.name
    assert learner.is_file() == english.is_file()
    if english.is_file():
        zh_code = _code(nbformat.read(learner, as_version=4))
        en_code = _code(nbformat.read(english, as_version=4))
        assert zh_code[1:] == en_code[1:]  # the setup cell aside


def test_chinese_setup_cell_selects_chinese_hints_and_a_cjk_font(monkeypatch):
    import matplotlib

    from tfmcourse.exercises import i18n
    from tfmcourse.plot import cjk_font

    # the setup cell sets os.environ itself: monkeypatch.setenv first, so that its undo removes the value
    # again (a second delenv would record "zh" and restore it after the test, for every later test)
    monkeypatch.setenv(i18n.LANG_VARIABLE, "en")
    with matplotlib.rc_context():
        exec(compile(zh_edition.zh_setup_source(ROOT), "setup", "exec"), {})
        assert i18n.language() == "zh"
        if cjk_font():
            assert matplotlib.rcParams["font.family"][-1] == cjk_font()


def test_figures_draw_chinese_without_missing_glyphs():
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    from tfmcourse.plot import cjk_font, use_cjk_font

    if cjk_font() is None:
        pytest.skip(
            "no CJK font installed (apt-get install fonts-noto-cjk or fonts-wqy-zenhei; .ci/run does)"
        )
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        assert use_cjk_font() == cjk_font()
        fig, ax = plt.subplots()
        ax.set_title("自注意力 self-attention")
        ax.set_xlabel("位置编码 (positional encoding)")
        ax.plot([0, 1], label="掩码 mask")
        ax.legend()
        fig.canvas.draw()
        plt.close(fig)
    with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:  # the test can fail
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("自注意力")
        fig.canvas.draw()
        plt.close(fig)
    assert any("missing from font" in str(w.message) for w in caught)


def test_toc_lists_the_same_files_in_the_same_order():
    english = zh_edition.toc_files(ROOT)
    zh_toc = yaml.safe_load((ROOT / "zh" / "_toc.yml").read_text(encoding="utf-8"))
    chinese = [zh_toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                chinese.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(zh_toc["parts"])
    assert chinese == english
    captions = [p["caption"] for p in zh_toc["parts"]]
    assert all(CJK.search(c) for c in captions), captions


def test_config_is_in_step_with_the_english_one():
    """Only the title, language and paths differ; a setting added to ../_config.yml must reach zh/ too."""
    en = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    zh = yaml.safe_load((ROOT / "zh" / "_config.yml").read_text(encoding="utf-8"))
    assert zh["sphinx"]["config"].pop("language") == "zh_CN"
    assert en["sphinx"]["config"] == zh["sphinx"]["config"]
    assert en["sphinx"]["extra_extensions"] == zh["sphinx"]["extra_extensions"]
    assert en["execute"] == zh["execute"]
    assert en["launch_buttons"] == zh["launch_buttons"]
    assert {k: v for k, v in en["repository"].items()} == {
        k: v for k, v in zh["repository"].items() if k != "path_to_book"
    }
    assert set(en) == set(zh)
    assert CJK.search(zh["title"])
    for path in (
        zh["logo"],
        zh["html"]["favicon"],
        *zh["bibtex_bibfiles"],
        *zh["sphinx"]["local_extensions"].values(),
    ):
        assert (ROOT / "zh" / path).exists(), path


# ------------------------------------------------------------ the mechanism, on a copy of a chapter


@pytest.fixture
def tmp_root(tmp_path):
    """A root with _config.yml, _toc.yml, book/11_bert.ipynb and its translation file, to edit freely."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "_toc.yml").write_text(
        yaml.safe_dump({"format": "jb-book", "root": "book/11_bert"}), encoding="utf-8"
    )
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "11_bert.ipynb", tmp_path / "book")
    (tmp_path / "zh" / "translations").mkdir(parents=True)
    shutil.copy(ROOT / "zh" / "translations" / "11_bert.yml", tmp_path / "zh" / "translations")
    return tmp_path


def _page(root):
    (page,) = zh_edition.pages(root)
    return page


def test_an_edited_english_cell_makes_its_translation_stale(tmp_root):
    assert _page(tmp_root).report() == {
        "translated": _page(tmp_root).report()["translated"],
        "missing": [],
        "stale": [],
        "orphans": [],
    }
    path = tmp_root / "book" / "11_bert.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(
        c for c in nb.cells[1:] if c.cell_type == "markdown" and zh_edition.needs_translation(c.source)
    )
    cell.source = cell.source.replace(" ", "  ", 1)  # even a one-character edit
    nbformat.write(nb, path)
    assert _page(tmp_root).report()["stale"] == [cell.id]
    assert zh_edition.problems(tmp_root) == [f"zh/translations/11_bert.yml: stale entry {cell.id}"]


def test_a_new_english_cell_needs_a_translation_and_the_page_falls_back(tmp_root):
    path = tmp_root / "book" / "11_bert.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("A new paragraph nobody translated yet.", id="new-cell"))
    nbformat.write(nb, path)
    assert _page(tmp_root).report()["missing"] == ["new-cell"]
    files = zh_edition.render(tmp_root)
    (page_file,) = files
    assert page_file.name == "11_bert.md"  # a page that says it is not translated, never half English
    assert "尚未翻译" in files[page_file] and "../../book/11_bert.html" in files[page_file]


def test_a_removed_english_cell_leaves_an_orphan(tmp_root):
    path = tmp_root / "book" / "11_bert.ipynb"
    nb = nbformat.read(path, as_version=4)
    index, cell = next(
        (i, c)
        for i, c in enumerate(nb.cells)
        if i and c.cell_type == "markdown" and zh_edition.needs_translation(c.source)
    )
    del nb.cells[index]
    nbformat.write(nb, path)
    assert _page(tmp_root).report()["orphans"] == [cell.id]


def test_rendered_notebook_takes_the_chinese_text(tmp_root):
    files = zh_edition.render(tmp_root)
    nb = nbformat.reads(files[tmp_root / "zh" / "book" / "11_bert.ipynb"], as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    assert first.source.startswith("# 11. ") and CJK.search(first.source)
    assert nb.metadata["tfmcourse"] == {"edition": "zh", "source": "book/11_bert.ipynb"}
    learner = nbformat.reads(files[tmp_root / "zh" / "exercises" / "11_bert.ipynb"], as_version=4)
    assert "NotImplementedError" in "".join(c.source for c in learner.cells if c.cell_type == "code")
    assert "学习者副本" in "".join(c.source for c in learner.cells if c.cell_type == "markdown")


def test_md_blocks_rebuild_the_page():
    for name in ("intro.md", "glossary.md", "bibliography.md"):
        text = (ROOT / "book" / name).read_text(encoding="utf-8")
        blocks = zh_edition.md_blocks(text)
        assert "\n\n".join(b for _, b in blocks) == re.sub(r"\n[ \t]*\n+", "\n\n", text.strip("\n"))
        assert len({k for k, _ in blocks}) == len(blocks)


# ----------------------------------------------------------------------------- the edition link


def _link(language, pagename):
    sys.path.insert(0, str(ROOT / "tools"))
    import tfmcourse_sphinx

    class App:
        class config:
            pass

    App.config.language = language
    context = {"body": "<h1>t</h1>"}
    tfmcourse_sphinx.edition_link(App, pagename, "page.html", context, None)
    return context["body"]


def test_every_page_links_to_the_other_edition():
    body = _link("en", "book/11_bert")
    assert 'href="../zh/book/11_bert.html"' in body and "中文" in body and body.endswith("<h1>t</h1>")
    body = _link("zh_CN", "book/11_bert")
    assert 'href="../../book/11_bert.html"' in body and "English" in body
    assert 'href="zh/index.html"' in _link(None, "index")
    assert 'href="../index.html"' in _link("zh_CN", "index")


def test_links_point_at_the_page_the_chinese_edition_has():
    suffixes = {"01_why_transformers": ".md", "11_bert": ".ipynb", "glossary": ".md"}
    text = "见[第 1 章](01_why_transformers.ipynb#sec-lstm)、[第 11 章](11_bert.ipynb#ex-ch11)、[术语](glossary.md)、[x](https://a.b/c.ipynb)"
    assert zh_edition.retarget_links(text, suffixes) == (
        "见[第 1 章](01_why_transformers.md)、[第 11 章](11_bert.ipynb#ex-ch11)、[术语](glossary.md)、[x](https://a.b/c.ipynb)"
    )


def test_the_chinese_build_takes_the_english_outputs(tmp_root):
    """`make book-zh` executes nothing: `zh_edition.py outputs` puts the English outputs in the zh cache."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    for path, text in zh_edition.render(tmp_root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    executed = _page(tmp_root).english_notebook()
    for i, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output {i}\n")]
    english_cache = get_cache(tmp_root / "_build" / ".jupyter_cache")
    english_cache.cache_notebook_bundle(CacheBundleIn(executed, "book/11_bert.ipynb"), check_validity=False)

    assert zh_edition.copy_outputs(tmp_root) == 0
    zh_nb = nbformat.read(tmp_root / "zh" / "book" / "11_bert.ipynb", as_version=4)
    _, merged = get_cache(tmp_root / "_build" / "zh" / "_build" / ".jupyter_cache").merge_match_into_notebook(
        zh_nb
    )
    outputs = [c.outputs for c in merged.cells if c.cell_type == "code"]
    assert outputs == [c.outputs for c in executed.cells if c.cell_type == "code"]
    assert merged.cells[1].source == zh_nb.cells[1].source  # the Chinese text, the English outputs
    assert CJK.search("".join(c.source for c in merged.cells if c.cell_type == "markdown"))


def test_outputs_fail_when_the_english_was_not_executed(tmp_root, capsys):
    for path, text in zh_edition.render(tmp_root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert zh_edition.copy_outputs(tmp_root) == 1
    assert "11_bert.ipynb" in capsys.readouterr().err


def test_line_breaks_between_chinese_characters_are_joined():
    text = (
        "本章从最小的例子开始，\n并检验每一步：\n\n- 第一项，\n  接着写。\n- 第二项\n\n"
        "```python\n# 中文，\n# 注释\n```\n"
        "```{glossary}\n自注意力 (self-attention)\n  定义。\n多头注意力\n  定义。\n```\nEnglish line\n继续"
    )
    assert zh_edition.join_cjk_lines(text) == (
        "本章从最小的例子开始，并检验每一步：\n\n- 第一项，接着写。\n- 第二项\n\n"
        "```python\n# 中文，\n# 注释\n```\n"
        "```{glossary}\n自注意力 (self-attention)\n  定义。\n多头注意力\n  定义。\n```\nEnglish line\n继续"
    )
