"""Fixtures of the built-book tests: the built site, a local web server, and headless Chromium offline.

These tests read ``_build/html`` (made by ``make book``) and run in ``make browser``, after the book is
built; ``make unit`` leaves them out. Without a built book they skip, unless ``TFMCOURSE_REQUIRE_BOOK=1``
(set by ``make browser``), where a missing book is a failure.

The browser is Debian's Chromium (``apt-get install chromium``), driven by Python's ``playwright``
package through ``executable_path``: nothing is downloaded. ``TFMCOURSE_CHROMIUM=/path/to/chrome``
chooses another binary. Without any, the browser tests skip and say how to install one. Every page
runs with the network cut: only the local server answers, and any other request is aborted and
reported.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading

import pytest
from bookbrowser import BROWSER_NAMES, INSTALL_HINT, SITE, chromium_path, new_offline_page


@pytest.fixture(scope="session")
def site():
    """The built site, ``_build/html``."""
    if not (SITE / "index.html").is_file() or not (SITE / "book").is_dir():
        message = f"no built book in {SITE}: run `make book` first"
        if os.environ.get("TFMCOURSE_REQUIRE_BOOK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request in the test output
        pass


@pytest.fixture(scope="session")
def server(site):
    """A web server for the site on 127.0.0.1 (a free port); yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (skips, saying how to install it, when there is none)."""
    path = chromium_path()
    if path is None:
        pytest.skip(
            f"no Chromium/Chrome browser found (looked for $TFMCOURSE_CHROMIUM and "
            f"{', '.join(BROWSER_NAMES)}): {INSTALL_HINT}"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: install requirements.txt"
    )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            headless=True,
            # belt and braces: no host name resolves, so nothing outside this machine can be reached
            args=[
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def offline_page(browser, request):
    """A fresh page in its own context, with the network cut except for the local server (if used)."""
    allowed = request.getfixturevalue("server") if "server" in request.fixturenames else "http://127.0.0.1:1/"
    context, page = new_offline_page(browser, allowed)
    yield page
    context.close()
