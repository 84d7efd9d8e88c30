"""The built book as a reader sees it: every page of ``_build/html`` in headless Chromium, network cut.

Per page (each visited once; a screenshot of its top goes to ``_build/screenshots/``):

- it loads with no JavaScript error in the console, no request to anything but the local server
  (MathJax, fonts, scripts: all from the site) and no missing file;
- every formula is typeset by MathJax (each ``.math`` element holds MathJax output) and no raw TeX
  (``\\(``, ``\\[``, ``$$``, ``\\frac`` ...) is left in the text outside code;
- every image has loaded (complete, with a width).

Per chapter page: the ``<title>`` and the first heading carry the chapter number, the page opens with
that heading (the setup cell is hidden), it has previous/next links, the favicon and the logo, and
Colab buttons for the full chapter (``book/``) and, when there is one, the learner copy
(``exercises/``). Exercise solutions start collapsed and open on a click; every explorer responds to
clicks (a query token, a head, the sliders). The search page finds "attention".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bookbrowser import ROOT, SITE, new_offline_page, screenshot_path

SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_panels_static"}


def site_pages() -> list[str]:
    """Every HTML page of the built site, relative to it (empty when there is no build yet)."""
    if not SITE.is_dir():
        return []
    pages = [p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")]
    return sorted(p for p in pages if not SKIP_DIRS & set(Path(p).parts))


PAGES = site_pages()
CHAPTERS = [p for p in PAGES if re.fullmatch(r"book/\d\d_\w+\.html", p)]
# A page with no built book still yields one (skipped) test, so the skip message is shown.
PAGE_PARAMS = PAGES or ["(no built book)"]
CHAPTER_PARAMS = CHAPTERS or ["(no built book)"]

RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|sqrt|mathrm|text|sum|cdot|times|left|right|begin|end|"
    r"alpha|beta|varepsilon|epsilon|mathbf|operatorname|log|exp|infty|le|ge)\b"
)

# The text of the page outside code, scripts and typeset math: where raw TeX would show.
VISIBLE_TEXT_JS = """() => {
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER', 'NOSCRIPT']);
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName)) { return; }
    if (node.classList.contains('highlight')) { return; }
    for (const child of node.childNodes) { walk(child); }
  };
  walk(document.body);
  return out.join(' ');
}"""


def need_site(page: str) -> None:
    if page == "(no built book)":
        pytest.skip(f"no built book in {SITE}: run `make book` first")


_visits: dict[str, dict] = {}


@pytest.fixture
def visit(server, browser):
    """Load a page once (in its own offline context) and remember what happened; cached by page."""

    def _visit(page: str) -> dict:
        if page in _visits:
            return _visits[page]
        context, offline = new_offline_page(browser, server)
        tab = offline.page
        tab.goto(server + page, wait_until="load")
        if page in (
            "index.html",
            "zh/index.html",
        ):  # each edition's root sends the reader to its introduction
            tab.wait_for_url("**/book/intro.html", wait_until="load")
        math_count = tab.locator(".math").count()
        if math_count:
            tab.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000
            )
            tab.evaluate("() => MathJax.startup.promise")
        result = {
            "url": tab.url,
            "title": tab.title(),
            "math": math_count,
            "untypeset": tab.eval_on_selector_all(
                ".math",
                "els => els.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, "
                "80))",
            ),
            "raw_tex": sorted(set(RAW_TEX.findall(tab.evaluate(VISIBLE_TEXT_JS)))),
            "images": tab.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
            ),
        }
        tab.screenshot(path=screenshot_path(page.removesuffix(".html").replace("/", "_")))
        context.close()
        result.update(
            blocked=offline.blocked,
            failed=offline.failed,
            console_errors=offline.console_errors,
            page_errors=offline.page_errors,
        )
        _visits[page] = result
        return result

    return _visit


def test_the_site_has_every_chapter(site):
    notebooks = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert [Path(c).stem for c in CHAPTERS] == notebooks
    assert {"search.html", "genindex.html", "book/intro.html", "book/glossary.html"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGE_PARAMS)
def test_page_loads_offline_without_errors(page, visit):
    need_site(page)
    v = visit(page)
    assert not v["blocked"], f"{page} asked the network for: {v['blocked']}"
    assert not v["failed"], f"{page}: missing files: {v['failed']}"
    assert not v["page_errors"], f"{page}: JavaScript errors: {v['page_errors']}"
    assert not v["console_errors"], f"{page}: console errors: {v['console_errors']}"


@pytest.mark.parametrize("page", PAGE_PARAMS)
def test_math_is_typeset(page, visit):
    need_site(page)
    v = visit(page)
    assert not v["untypeset"], (
        f"{page}: {len(v['untypeset'])} of {v['math']} formulas not typeset: {v['untypeset'][:3]}"
    )
    assert not v["raw_tex"], f"{page}: raw TeX left in the text: {v['raw_tex']}"


def test_math_pages_exist(site, visit):
    """The check above means something: the chapters with formulas do have typeset math."""
    assert visit("book/02_attention.html")["math"] >= 5


@pytest.mark.parametrize("page", PAGE_PARAMS)
def test_every_image_loads(page, visit):
    need_site(page)
    broken = [src for src, complete, width in visit(page)["images"] if not complete or width == 0]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", CHAPTER_PARAMS)
def test_chapter_page_layout(page, server, offline_page):
    need_site(page)
    number = int(Path(page).stem[:2])
    tab = offline_page.page
    tab.goto(server + page, wait_until="domcontentloaded")
    assert re.match(rf"{number}\. \S", tab.title()), f"{page}: title {tab.title()!r} lacks the chapter number"
    article = tab.locator("article.bd-article")
    first = article.locator("h1, h2, h3, .cell, p, pre").first
    assert first.evaluate("e => e.tagName") == "H1", f"{page} does not open with its title"
    assert re.match(rf"{number}\. \S", first.inner_text()), f"{page}: first heading {first.inner_text()!r}"
    assert "tfmcourse setup cell" not in article.inner_text(), f"{page} shows the setup cell"
    # previous / next (the introduction comes before chapter 0, the glossary after the last chapter)
    assert tab.locator("a.left-prev").count() == 1, f"{page}: no link to the previous page"
    assert tab.locator("a.right-next").count() == 1, f"{page}: no link to the next page"
    # favicon and logo, served by the site
    assert tab.locator("link[rel='icon'][href$='favicon.png']").count() == 1
    assert tab.locator("img.logo__image").count() >= 1
    # Colab: the full chapter, and the learner copy when there is one
    links = tab.eval_on_selector_all(
        "a[href^='https://colab.research.google.com/']", "els => els.map(e => e.href)"
    )
    stem = Path(page).stem
    assert any(link.endswith(f"/book/{stem}.ipynb") for link in links), (
        f"{page}: no Colab link to book/: {links}"
    )
    if (ROOT / "exercises" / f"{stem}.ipynb").is_file():
        assert any(link.endswith(f"/exercises/{stem}.ipynb") for link in links), (
            f"{page}: no Colab link to the learner copy: {links}"
        )


SOLUTION_PAGES = [
    p for p in CHAPTERS if SITE.joinpath(p).is_file() and 'class="solution' in SITE.joinpath(p).read_text()
]


@pytest.mark.parametrize("page", SOLUTION_PAGES or ["(no built book)"])
def test_solutions_start_collapsed_and_open_on_click(page, server, offline_page):
    need_site(page)
    tab = offline_page.page
    tab.goto(server + page, wait_until="load")
    solutions = tab.locator("div.solution")
    n = solutions.count()
    assert n >= 1
    for i in range(n):
        body = solutions.nth(i).locator("section, .solution-content, div.cell").first
        assert not body.is_visible(), f"{page}: solution {i + 1} of {n} is open before any click"
    for i in sorted({0, n - 1}):
        solution = solutions.nth(i)
        solution.locator(".toggle-button").click()
        body = solution.locator("section, .solution-content, div.cell").first
        body.wait_for(state="visible", timeout=5_000)
        assert body.inner_text().strip(), f"{page}: solution {i + 1} opened empty"
    assert not offline_page.page_errors and not offline_page.console_errors


EXPLORER_PAGES = [
    p for p in CHAPTERS if SITE.joinpath(p).is_file() and "tfm-explorer" in SITE.joinpath(p).read_text()
]


def test_the_explorers_are_where_they_should_be(site):
    pages = {Path(p).stem[:2] for p in EXPLORER_PAGES}
    assert {"03", "07", "09"} <= pages, f"explorers found on chapters {sorted(pages)}"
    assert "tfm-sampling" in (site / "book" / "09_gpt.html").read_text()


@pytest.mark.parametrize("page", EXPLORER_PAGES or ["(no built book)"])
def test_explorers_respond_to_clicks(page, server, offline_page):
    need_site(page)
    tab = offline_page.page
    tab.goto(server + page, wait_until="load")
    explorers = tab.locator(".tfm-explorer")
    assert explorers.count() >= 1
    for i in range(explorers.count()):
        root = explorers.nth(i)
        root.wait_for(state="attached")
        assert root.get_attribute("data-ready") == "1", f"{page}: explorer {i + 1} did not start"
        root.scroll_into_view_if_needed()
        if "tfm-attention" in root.get_attribute("class"):
            readout = root.locator("[data-role=readout]")
            before = readout.inner_text()
            root.locator(".tfm-chip[data-q='0']").click()
            assert readout.get_attribute("data-query") == "0"
            assert readout.inner_text() != before, f"{page}: clicking a query changed nothing"
            colours = lambda: root.locator(".tfm-cell").evaluate_all(
                "els => els.map(e => e.style.background)"
            )  # noqa: E731
            heads = root.locator("[data-head]")
            if heads.count() > 1:
                grid = colours()
                heads.nth(1).click()
                assert heads.nth(1).get_attribute("aria-pressed") == "true"
                assert colours() != grid, f"{page}: another head shows the same grid"
        else:
            summary = root.locator("[data-role=summary]")
            top = lambda: max(
                float(x)
                for x in root.locator(".tfm-prob").evaluate_all(  # noqa: E731
                    "els => els.map(e => e.getAttribute('data-p'))"
                )
            )
            p1 = top()
            root.locator("[data-role=temperature]").evaluate(
                "e => { e.value = 0.3; e.dispatchEvent(new Event('input', {bubbles: true})); }"
            )
            assert top() > p1, f"{page}: a lower temperature did not sharpen the distribution"
            root.locator("[data-role=top-k]").evaluate(
                "e => { e.value = 1; e.dispatchEvent(new Event('input', {bubbles: true})); }"
            )
            assert summary.get_attribute("data-kept") == "1" and top() == pytest.approx(1.0)
        root.screenshot(path=screenshot_path(f"{Path(page).stem}_explorer{i + 1}"))
    assert not offline_page.page_errors and not offline_page.console_errors


def test_search_finds_attention(site, server, offline_page):
    tab = offline_page.page
    tab.goto(server + "search.html?q=attention", wait_until="load")
    results = tab.locator("#search-results ul.search li")
    results.first.wait_for(timeout=60_000)
    links = tab.eval_on_selector_all(
        "#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert any("02_attention" in link for link in links), f"search for 'attention' found: {links[:10]}"
    tab.screenshot(path=screenshot_path("search_attention"))
    assert not offline_page.page_errors and not offline_page.blocked
