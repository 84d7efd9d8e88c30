"""Sphinx extension of the tfmcourse book (``sphinx.local_extensions`` in ``_config.yml``).

- **Math offline.** MathJax 3 comes from a pinned PyPI package (``django-static-mathjax``, which ships
  MathJax's ``es5`` bundle), is copied into the site's ``_static/mathjax/``, and ``mathjax_path`` in
  ``_config.yml`` points there: no page loads anything from a CDN.
- **No script twice.** Jupyter Book 1.x registers sphinx-thebe's inline configuration script twice; the
  second copy redeclares a ``const`` and every page logs a JavaScript error. Identical scripts are
  kept once.
- **Two Colab buttons.** The launch menu of a chapter opens either the full chapter (``book/``) or its
  learner copy (``exercises/``, solutions removed), when the chapter has one.
- **中文 / English.** Every page links to the same page in the other edition: the English site is
  ``_build/html/``, the Chinese one (``zh/``, built with ``language: zh_CN``) ``_build/html/zh/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

# What the page needs of MathJax's es5 folder: the combined TeX component and what it loads on demand
# (TeX extensions, CHTML fonts, the menu and accessibility parts). Leaves out the SVG and MathML-only
# builds and the Node.js entry point.
MATHJAX_FILES = ("tex-mml-chtml.js", "input", "output/chtml.js", "output/chtml", "ui", "a11y", "sre")
MATHJAX_DIR = "mathjax"  # under _static/; _config.yml: mathjax_path: mathjax/tex-mml-chtml.js


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax package."""
    try:
        import mathjax  # django-static-mathjax: the data lives next to this (empty) module
    except ImportError as err:  # pragma: no cover - requirements.txt installs it
        raise ExtensionError("MathJax is missing: install requirements.txt (django-static-mathjax)") from err
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"no tex-mml-chtml.js in {es5}: is django-static-mathjax complete?")
    return es5


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into ``<outdir>/_static/mathjax`` (HTML builds only)."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / MATHJAX_DIR
    for name in MATHJAX_FILES:
        src, dst = source / name, target / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    licence = source.parent / "LICENSE"
    if licence.is_file():
        shutil.copy2(licence, target / "LICENSE")


def check_mathjax_path(app: Sphinx, config) -> None:
    """``mathjax_path`` must be the local copy: a URL would make every formula need the network."""
    path = str(config.mathjax_path)
    if "//" in path or not path.startswith(f"{MATHJAX_DIR}/"):
        raise ExtensionError(
            f"mathjax_path should be '{MATHJAX_DIR}/tex-mml-chtml.js' (served from the site), got {path!r}"
        )


def learner_copy_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Next to the theme's Colab button (full chapter, ``book/``), one for the learner copy."""
    group = next((b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"), None)
    if group is None:
        return
    colab = next((b for b in group["buttons"] if b.get("text") == "Colab"), None)
    if colab is None or not pagename.startswith("book/"):
        return
    root = Path(app.srcdir)
    learner = root / "exercises" / (Path(pagename).name + ".ipynb")
    colab["text"] = "Colab: full chapter"
    colab["tooltip"] = "Open the chapter, with its solutions, in Google Colab"
    if learner.is_file():
        url = colab["url"].replace(f"/{pagename}.ipynb", f"/exercises/{learner.name}")
        index = group["buttons"].index(colab) + 1
        group["buttons"].insert(
            index,
            {
                **colab,
                "text": "Colab: learner copy",
                "tooltip": "Open the learner copy (exercises to write, with checkers) in Google Colab",
                "url": url,
            },
        )


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of identical ``<script>`` entries (same file, same attributes and inline body).

    An inline script comes once with ``filename=None`` and once with ``""``: both mean "no file"."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def edition_link(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Put a link to the same page of the other edition at the top of every page's body.

    The English page ``book/x.html`` has ``zh/book/x.html`` as its Chinese twin (``make book`` copies the
    Chinese site there), and the other way round. A ``div`` (not a ``p``): the page still opens with its
    title."""
    if "body" not in context:  # search, genindex: no article
        return
    up = "../" * pagename.count("/")
    if str(app.config.language or "en").lower().startswith("zh"):
        href, text, lang, title = f"{up}../{pagename}.html", "English", "en", "Read this page in English"
    else:
        href, text, lang, title = f"{up}zh/{pagename}.html", "中文", "zh-CN", "阅读本页的中文版"
    context["body"] = (
        f'<div class="tfm-edition" style="float: right; margin-left: 1em; font-size: 0.9em">'
        f'<a class="tfm-edition-link" href="{href}" hreflang="{lang}" lang="{lang}" title="{title}">'
        f'<i class="fas fa-language"></i> {text}</a></div>\n' + context["body"]
    )


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", check_mathjax_path)
    app.connect("build-finished", copy_mathjax)
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", learner_copy_button, priority=600)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", edition_link)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
