"""Helpers of the built-book tests (fixtures in conftest.py): where things are, the browser, an offline
page."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; .ci/run does it in CI) "
    "or point TFMCOURSE_CHROMIUM at a Chrome/Chromium binary"
)


def chromium_path() -> str | None:
    """The browser binary: ``$TFMCOURSE_CHROMIUM``, else the first of :data:`BROWSER_NAMES` on the PATH."""
    chosen = os.environ.get("TFMCOURSE_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((p for p in map(shutil.which, BROWSER_NAMES) if p), None)


class OfflinePage:
    """A page whose requests may only reach ``allowed`` (the local server); it records what happens.

    ``blocked``: requests to anywhere else (aborted); ``failed``: local requests with an HTTP error;
    ``console_errors`` and ``page_errors``: JavaScript errors.
    """

    def __init__(self, context, allowed: str):
        self.allowed = allowed
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.allowed) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


def new_offline_page(browser, allowed: str) -> tuple[object, OfflinePage]:
    """A new browser context (1280x900, no service workers) and an :class:`OfflinePage` in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    return context, OfflinePage(context, allowed)


def screenshot_path(name: str) -> Path:
    """Where a screenshot goes: ``_build/screenshots/<name>.png`` (never committed: _build is ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
