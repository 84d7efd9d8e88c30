"""What every explorer shares (chapters 3, 7 and 9): the :class:`Explorer` object a notebook cell shows, the
:func:`visible` token labels, and the HTML fragment, one ``<div>`` with its style, its JSON data and its
script inline (nothing loaded from the network).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from pathlib import Path

__all__ = ["Explorer", "visible", "MAX_VALUES"]

MAX_VALUES = 400_000  # numbers one explorer may carry (about 2 MB of page); more is a mistake
_counter = itertools.count()


def visible(token: str) -> str:
    """A label that shows a token's whitespace: space ``␣``, newline ``⏎``, tab ``⇥``, empty ``∅``."""
    if token == "":
        return "∅"
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


class Explorer:
    """A self-contained interactive view: ``.html`` is the HTML fragment, shown by Jupyter and the book."""

    def __init__(self, kind: str, fragment: str, summary: str):
        self.kind = kind
        self.html = fragment
        self.summary = summary

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{self.kind}: {self.summary}; shown as HTML in Jupyter and in the book>"

    def save(self, path: str | Path) -> Path:
        """Write the explorer as a standalone HTML page (it needs no other file) and return its path."""
        path = Path(path)
        path.write_text(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.kind)}</title></head>\n<body>\n{self.html}\n</body></html>\n",
            encoding="utf-8",
        )
        return path


# ---------------------------------------------------------------------------------------------------
# The HTML: one <div> with its style, its data and its script


def _json_for_script(payload: dict) -> str:
    """JSON that can sit inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` left."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fragment(kind: str, payload: dict, script: str) -> str:
    data = _json_for_script(payload)
    digest = hashlib.sha1(f"{kind}\0{data}".encode()).hexdigest()[:10]
    uid = f"{kind}-{digest}-{next(_counter)}"
    return (
        f'<div class="tfm-explorer {kind}" id="{uid}">\n'
        f"<style>{_CSS.replace('#ROOT', '#' + uid)}</style>\n"
        f"<noscript>This explorer needs JavaScript.</noscript>\n"
        f'<script type="application/json" class="tfm-data">{data}</script>\n'
        f"<script>(function () {{\n{_COMMON_JS}\n{script}\n"
        f"  start({json.dumps(uid)}, main);\n}})();</script>\n"
        "</div>"
    )


_CSS = """
#ROOT { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 14px; color: #1d2733;
  background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 14px; margin: 8px 0;
  max-width: 100%; overflow-x: auto; line-height: 1.4; }
#ROOT .tfm-title { font-weight: 600; font-size: 15px; }
#ROOT .tfm-note { color: #57606a; margin: 2px 0 8px; }
#ROOT .tfm-controls { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: center;
  margin: 6px 0 10px; }
#ROOT label { display: inline-flex; gap: 6px; align-items: center; margin: 0; font-weight: normal; }
#ROOT select { font: inherit; padding: 2px 4px; border: 1px solid #aab4bf; border-radius: 4px;
  background: #fff; color: #1d2733; max-width: 22em; }
#ROOT button { font: inherit; padding: 2px 9px; border: 1px solid #aab4bf; border-radius: 4px;
  background: #f6f8fa; color: #1d2733; cursor: pointer; margin: 0 3px 0 0; }
#ROOT button[aria-pressed="true"] { background: #1f5f99; border-color: #1f5f99; color: #fff; }
#ROOT .tfm-chips { display: flex; flex-wrap: wrap; gap: 3px; margin: 4px 0; align-items: center; }
#ROOT .tfm-chip { font-family: ui-monospace, Menlo, Consolas, monospace; border: 1px solid #d0d7de;
  border-radius: 4px; padding: 1px 5px; min-width: 1.2em; text-align: center; cursor: pointer;
  white-space: pre; }
#ROOT .tfm-chip.tfm-focus { outline: 2px solid #d1242f; outline-offset: 1px; }
#ROOT .tfm-rowname { color: #57606a; min-width: 4.5em; }
#ROOT .tfm-readout { margin: 6px 0; min-height: 1.4em; }
#ROOT .tfm-grid { display: grid; gap: 1px; margin-top: 6px; align-items: center; width: max-content; }
#ROOT .tfm-cell { cursor: pointer; }
#ROOT .tfm-cell.tfm-focus { box-shadow: inset 0 0 0 1px #d1242f; }
#ROOT .tfm-lab { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; color: #57606a;
  white-space: pre; overflow: hidden; text-align: center; }
#ROOT .tfm-qlab { text-align: right; padding-right: 4px; cursor: pointer; }
#ROOT .tfm-vert { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left;
  justify-self: center; overflow: visible; padding-top: 2px; }
#ROOT .tfm-qlab.tfm-focus { color: #d1242f; font-weight: 600; }
#ROOT .tfm-bars { display: grid; grid-template-columns: max-content minmax(120px, 360px) max-content;
  gap: 3px 8px; align-items: center; margin-top: 8px; }
#ROOT .tfm-bar { height: 14px; background: #1f5f99; border-radius: 2px; min-width: 1px; }
#ROOT .tfm-bar.tfm-removed { background: #d0d7de; }
#ROOT .tfm-prob { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
#ROOT .tfm-prompt { font-family: ui-monospace, Menlo, Consolas, monospace; background: #f6f8fa;
  border-radius: 4px; padding: 2px 6px; white-space: pre-wrap; }
#ROOT input[type=range] { width: 160px; }
#ROOT .tfm-val { font-family: ui-monospace, Menlo, Consolas, monospace; min-width: 5.5em; }
"""

# Helpers shared by both explorers: find the root (Jupyter may run the script before the output is
# attached to the page, so it retries for a few seconds), read the data, make elements.
_COMMON_JS = r"""
  function start(uid, main) {
    var tries = 0;
    (function attempt() {
      var root = document.getElementById(uid);
      if (!root) { if (++tries < 100) { setTimeout(attempt, 50); } return; }
      if (root.getAttribute("data-ready")) { return; }
      root.setAttribute("data-ready", "1");
      main(root, JSON.parse(root.querySelector("script.tfm-data").textContent));
    })();
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(x) { return x.toFixed(3); }
  function blue(w) { return "rgba(31, 95, 153, " + Math.max(0, Math.min(1, w)).toFixed(3) + ")"; }
  function ink(w) { return w > 0.55 ? "#fff" : "#1d2733"; }
  function header(root, data) {
    root.appendChild(el("div", "tfm-title", data.title));
    if (data.note) { root.appendChild(el("div", "tfm-note", data.note)); }
  }
"""
