"""Interactive views of a trained model, each one self-contained piece of HTML (chapters 3, 7 and 9).

- :func:`attention_explorer`: the attention weights of a model on a few inputs, for every layer and
  head. Choose the input, the layer and the head; hover (or click) a query token to see where it looks.
- :func:`sampling_explorer`: a model's next-token distributions after a few prompts, with sliders for
  the temperature, top-k and top-p of :func:`tfmcourse.sampling.filter_logits`.
- :func:`capture_attention`: the weights of every :class:`~tfmcourse.multihead.MultiHeadAttention` of a
  model during one forward pass, to feed the attention explorer.

An explorer is an :class:`Explorer`: the last expression of a notebook cell shows it. Its HTML carries
its data (JSON) and its script inline and loads nothing from the network, so the same output works in
Jupyter, on Colab and in the rendered book (a static page). ``Explorer.save(path)`` writes it as a page
of its own.

The weights are stored rounded to 1/1000 and the logits to 1/10000: enough to draw and to read two
decimals, small enough to keep a page light.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.multihead import MultiHeadAttention

__all__ = [
    "AttentionMap",
    "Explorer",
    "attention_explorer",
    "capture_attention",
    "sampling_explorer",
    "visible",
]

MAX_VALUES = 400_000  # numbers one explorer may carry (about 2 MB of page); more is a mistake
_counter = itertools.count()


def visible(token: str) -> str:
    """A label that shows a token's whitespace: space ``␣``, newline ``⏎``, tab ``⇥``, empty ``∅``."""
    if token == "":
        return "∅"
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


@dataclass(frozen=True)
class AttentionMap:
    """The attention weights of one layer (one attention module) on one input.

    Attributes:
        layer: the name shown in the layer menu, e.g. ``"layer 1"`` or ``"decoder 2 · cross"``.
        weights: ``(heads, seq_q, seq_k)``; ``weights[h, i]`` is how query ``i`` spreads over the keys
            in head ``h`` (each row sums to 1, or is all zero for a query with no key allowed).
        queries: ``seq_q`` labels, one per query position.
        keys: ``seq_k`` labels, one per key position; ``None`` means the same as ``queries``
            (self-attention).
    """

    layer: str
    weights: Float[Tensor, "heads seq_q seq_k"]
    queries: Sequence[str]
    keys: Sequence[str] | None = None


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
# Capturing the weights of a model


def capture_attention(
    model: nn.Module, *args, **kwargs
) -> dict[str, Float[Tensor, "batch heads seq_q seq_k"]]:
    """Run ``model(*args, **kwargs)`` once and return the weights of every ``MultiHeadAttention`` in it.

    Each attention module is asked for its weights (``need_weights=True``) by a forward hook, whatever
    its ``impl``; the model's own output is not changed. The model runs in eval mode without gradients
    (its mode is restored after). Returns ``{module name: (batch, heads, seq_q, seq_k)}`` in the order
    the modules ran, e.g. ``{"blocks.0.attn": ..., "blocks.1.attn": ...}``; a module that runs twice
    appears as ``name``, then ``name#2``.
    """
    modules = {m: name for name, m in model.named_modules() if isinstance(m, MultiHeadAttention)}
    if not modules:
        raise ValueError(f"model ({type(model).__name__}) has no tfmcourse MultiHeadAttention module")
    captured: dict[str, Tensor] = {}

    def ask_for_weights(module, args, kwargs):
        if len(args) > 4:  # forward(query, key, value, mask, need_weights, ...) given by position
            return args[:4] + (True,) + args[5:], kwargs
        return args, {**kwargs, "need_weights": True}

    def keep_weights(module, args, kwargs, output):
        name, n = modules[module], 1
        while (key := name if n == 1 else f"{name}#{n}") in captured:
            n += 1
        captured[key] = output[1].detach().float().cpu()

    handles = []
    for module in modules:
        handles.append(module.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(module.register_forward_hook(keep_weights, with_kwargs=True))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return captured


# ---------------------------------------------------------------------------------------------------
# Attention explorer


def _check_map(example: str, m: AttentionMap) -> dict:
    """One layer's data for the page, after checking shapes and values; ValueError naming what is wrong."""
    where = f"example {example!r}, layer {m.layer!r}"
    w = torch.as_tensor(m.weights).detach().to("cpu", torch.float64)
    if w.ndim != 3:
        raise ValueError(
            f"{where}: weights must be (heads, seq_q, seq_k), got shape {tuple(w.shape)}; "
            "pick one batch element first, e.g. weights[0]"
        )
    heads, seq_q, seq_k = w.shape
    if min(w.shape) == 0:
        raise ValueError(f"{where}: weights has an empty axis, shape {tuple(w.shape)}")
    if not torch.isfinite(w).all() or w.min() < -1e-6 or w.max() > 1 + 1e-6:
        raise ValueError(
            f"{where}: weights must be probabilities in [0, 1] (softmax outputs), "
            f"got values from {w.min().item():.3g} to {w.max().item():.3g}"
        )
    keys = m.queries if m.keys is None else m.keys
    if len(m.queries) != seq_q:
        raise ValueError(
            f"{where}: {len(m.queries)} query labels for weights of shape {tuple(w.shape)} (seq_q = {seq_q})"
        )
    if len(keys) != seq_k:
        raise ValueError(
            f"{where}: {len(keys)} key labels for weights of shape {tuple(w.shape)} (seq_k = {seq_k})"
        )
    per_mille = torch.round(w.clamp(0, 1) * 1000).to(torch.int64)
    return {
        "layer": str(m.layer),
        "queries": [str(t) for t in m.queries],
        "keys": [str(t) for t in keys],
        "heads": heads,
        "w": per_mille.tolist(),
    }


def attention_explorer(
    examples: Mapping[str, Sequence[AttentionMap]],
    *,
    title: str = "Attention explorer",
    note: str = "",
) -> Explorer:
    """An interactive view of attention weights: choose an input, a layer and a head (or their mean).

    Args:
        examples: ``{input name: [AttentionMap, ...]}``, one map per layer (attention module) on that
            input; the layer menu lists them in order. Every example may have its own tokens.
        title: the heading of the explorer.
        note: one line under the heading (what the model is, what to look for).

    The page shows the weights of the chosen head as a grid (one row per query, one column per key;
    darker is more weight) and the tokens as chips: hovering or clicking a query colours the keys by
    the weight that query gives them, and a line below names the key it looks at most.
    """
    if not examples:
        raise ValueError("examples is empty: give at least one {name: [AttentionMap, ...]}")
    data = []
    for name, maps in examples.items():
        if isinstance(maps, AttentionMap):
            maps = [maps]
        if not maps:
            raise ValueError(f"example {name!r} has no AttentionMap")
        for m in maps:
            if not isinstance(m, AttentionMap):
                raise ValueError(f"example {name!r}: expected AttentionMap items, got {type(m).__name__}")
        data.append({"name": str(name), "maps": [_check_map(name, m) for m in maps]})
    values = sum(len(m["w"]) * len(m["queries"]) * len(m["keys"]) for ex in data for m in ex["maps"])
    if values > MAX_VALUES:
        raise ValueError(
            f"the explorer would carry {values:,} weights (more than {MAX_VALUES:,}): "
            "use fewer or shorter inputs"
        )
    payload = {"title": title, "note": note, "examples": data}
    n_layers = max(len(ex["maps"]) for ex in data)
    summary = f"{len(data)} input(s), up to {n_layers} layer(s)"
    return Explorer("attention explorer", _fragment("tfm-attention", payload, _ATTENTION_JS), summary)


# ---------------------------------------------------------------------------------------------------
# Sampling explorer


def sampling_distribution(
    logits: Float[Tensor, " vocab"],
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Float[Tensor, " vocab"]:
    """The probabilities the sampling explorer shows: softmax of :func:`~tfmcourse.sampling.filter_logits`.

    ``logits`` is ``(vocab,)``; returns ``(vocab,)`` in float64, zero on the tokens the filters remove.
    """
    from tfmcourse.sampling import filter_logits

    logits = torch.as_tensor(logits, dtype=torch.float64)
    if logits.ndim != 1:
        raise ValueError(f"logits must be (vocab,), got shape {tuple(logits.shape)}")
    return torch.softmax(filter_logits(logits[None], temperature, top_k, top_p)[0], dim=-1)


def sampling_explorer(
    prompts: Sequence[str],
    logits: Float[Tensor, "prompts vocab"],
    tokens: Sequence[str],
    *,
    show: int = 12,
    title: str = "Sampling explorer",
    note: str = "",
) -> Explorer:
    """An interactive view of next-token sampling: temperature, top-k and top-p sliders.

    Args:
        prompts: the text of each prompt, shown above its distribution.
        logits: ``(prompts, vocab)``, the model's logits for the token after each prompt.
        tokens: ``vocab`` labels, one per token id (use :func:`visible` for whitespace).
        show: how many of the most likely tokens are drawn as bars.
        title, note: heading and one line under it.

    The page computes what :func:`sampling_distribution` computes (temperature, then top-k, then top-p,
    then softmax) for the slider values, and draws the ``show`` most likely tokens as bars, with the
    number of tokens left to draw from and the entropy of the distribution.
    """
    logits = torch.as_tensor(logits).detach().to("cpu", torch.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (prompts, vocab), got shape {tuple(logits.shape)}")
    if len(prompts) != logits.shape[0]:
        raise ValueError(
            f"{len(prompts)} prompts for logits of shape {tuple(logits.shape)} (one row per prompt expected)"
        )
    if len(tokens) != logits.shape[1]:
        raise ValueError(
            f"{len(tokens)} token labels for logits of shape {tuple(logits.shape)} "
            f"(vocab = {logits.shape[1]})"
        )
    if len(prompts) == 0 or logits.shape[1] < 2:
        raise ValueError(
            f"need at least one prompt and two tokens, got logits of shape {tuple(logits.shape)}"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite (no NaN or inf)")
    if not isinstance(show, int) or show < 1:
        raise ValueError(f"show must be a positive int, got {show!r}")
    if logits.numel() > MAX_VALUES:
        raise ValueError(f"the explorer would carry {logits.numel():,} logits (more than {MAX_VALUES:,})")
    rounded = torch.round(logits * 10_000) / 10_000
    payload = {
        "title": title,
        "note": note,
        "tokens": [str(t) for t in tokens],
        "show": min(show, logits.shape[1]),
        "prompts": [{"text": str(p), "logits": row} for p, row in zip(prompts, rounded.tolist())],
    }
    summary = f"{len(prompts)} prompt(s), vocabulary of {logits.shape[1]}"
    return Explorer("sampling explorer", _fragment("tfm-sampling", payload, _SAMPLING_JS), summary)


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
#ROOT .tfm-controls { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: center; margin: 6px 0 10px; }
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
#ROOT .tfm-vert { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; justify-self: center;
  overflow: visible; padding-top: 2px; }
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

_ATTENTION_JS = r"""
  function main(root, data) {
    header(root, data);
    var controls = root.appendChild(el("div", "tfm-controls"));
    var exLabel = controls.appendChild(el("label", "", "Input "));
    var exSelect = exLabel.appendChild(el("select"));
    exSelect.setAttribute("data-role", "example");
    var layerLabel = controls.appendChild(el("label", "", "Layer "));
    var layerSelect = layerLabel.appendChild(el("select"));
    layerSelect.setAttribute("data-role", "layer");
    var headBox = controls.appendChild(el("span"));
    headBox.setAttribute("data-role", "heads");
    var qRow = root.appendChild(el("div", "tfm-chips"));
    var kRow = root.appendChild(el("div", "tfm-chips"));
    var readout = root.appendChild(el("div", "tfm-readout"));
    readout.setAttribute("data-role", "readout");
    var grid = root.appendChild(el("div", "tfm-grid"));
    grid.setAttribute("data-role", "grid");
    var hint = root.appendChild(el("div", "tfm-note",
      "Hover or click a query (top row, or a row of the grid) to see the weight it gives each key."));

    var state = { ex: 0, layer: 0, head: 0, pinned: null, hover: null };
    data.examples.forEach(function (ex, i) {
      var o = el("option", "", ex.name); o.value = i; exSelect.appendChild(o);
    });

    function map() { return data.examples[state.ex].maps[state.layer]; }
    function weights() {  // (seq_q, seq_k) of the chosen head, or the mean of the heads (head = -1)
      var m = map();
      if (state.head >= 0) {
        return m.w[state.head].map(function (row) { return row.map(function (v) { return v / 1000; }); });
      }
      return m.w[0].map(function (row, i) {
        return row.map(function (_, j) {
          var s = 0; for (var h = 0; h < m.heads; h++) { s += m.w[h][i][j]; } return s / 1000 / m.heads;
        });
      });
    }
    function focus() {
      var n = map().queries.length;
      var q = state.hover !== null ? state.hover : state.pinned;
      return q === null || q >= n ? n - 1 : q;
    }

    function fillLayers() {
      layerSelect.textContent = "";
      data.examples[state.ex].maps.forEach(function (m, i) {
        var o = el("option", "", m.layer); o.value = i; layerSelect.appendChild(o);
      });
      if (state.layer >= data.examples[state.ex].maps.length) { state.layer = 0; }
      layerSelect.value = state.layer;
    }
    function fillHeads() {
      headBox.textContent = "";
      var m = map();
      if (state.head >= m.heads) { state.head = 0; }
      var labels = [];
      for (var h = 0; h < m.heads; h++) { labels.push([h, "head " + (h + 1)]); }
      if (m.heads > 1) { labels.push([-1, "mean"]); }
      labels.forEach(function (hl) {
        var b = headBox.appendChild(el("button", "", hl[1]));
        b.type = "button";
        b.setAttribute("data-head", hl[0]);
        b.setAttribute("aria-pressed", String(hl[0] === state.head));
        b.addEventListener("click", function () { state.head = hl[0]; fillHeads(); drawGrid(); drawFocus(); });
      });
    }
    function drawGrid() {
      var m = map(), w = weights(), nq = m.queries.length, nk = m.keys.length;
      var size = Math.max(7, Math.min(24, Math.floor(520 / Math.max(nq, nk))));
      grid.textContent = "";
      grid.style.gridTemplateColumns = "max-content repeat(" + nk + ", " + size + "px)";
      grid.appendChild(el("div", "tfm-lab", "query \\ key"));
      var vertical = m.keys.some(function (k) { return k.length > 2; });  // words: written upwards
      m.keys.forEach(function (k) {
        var lab = grid.appendChild(el("div", "tfm-lab" + (vertical ? " tfm-vert" : ""), size >= 10 ? k : ""));
        lab.title = k;
      });
      for (var i = 0; i < nq; i++) {
        var ql = grid.appendChild(el("div", "tfm-lab tfm-qlab", m.queries[i]));
        ql.setAttribute("data-q", i);
        for (var j = 0; j < nk; j++) {
          var c = grid.appendChild(el("div", "tfm-cell"));
          c.style.height = size + "px";
          c.style.background = blue(w[i][j]);
          c.setAttribute("data-q", i);
          c.setAttribute("data-w", w[i][j].toFixed(3));
          c.title = m.queries[i] + " \u2192 " + m.keys[j] + ": " + fmt(w[i][j]);
        }
      }
    }
    function drawFocus() {
      var m = map(), w = weights(), q = focus();
      qRow.textContent = ""; kRow.textContent = "";
      qRow.appendChild(el("span", "tfm-rowname", "queries"));
      kRow.appendChild(el("span", "tfm-rowname", "keys"));
      m.queries.forEach(function (t, i) {
        var chip = qRow.appendChild(el("span", "tfm-chip" + (i === q ? " tfm-focus" : ""), t));
        chip.setAttribute("data-q", i);
        chip.setAttribute("role", "button");
      });
      var best = 0;
      m.keys.forEach(function (t, j) {
        var chip = kRow.appendChild(el("span", "tfm-chip", t));
        chip.style.background = blue(w[q][j]);
        chip.style.color = ink(w[q][j]);
        chip.setAttribute("data-k", j);
        chip.setAttribute("data-w", w[q][j].toFixed(3));
        chip.title = fmt(w[q][j]);
        if (w[q][j] > w[q][best]) { best = j; }
      });
      var head = state.head >= 0 ? "head " + (state.head + 1) : "mean of " + m.heads + " heads";
      var total = w[q].reduce(function (a, b) { return a + b; }, 0);
      readout.textContent = total < 0.5
        ? "Query " + q + " \u201c" + m.queries[q] + "\u201d may attend to no key here (" + m.layer + ", " + head + ")."
        : "Query " + q + " \u201c" + m.queries[q] + "\u201d (" + m.layer + ", " + head + ") looks most at key " +
          best + " \u201c" + m.keys[best] + "\u201d: weight " + fmt(w[q][best]) + ".";
      readout.setAttribute("data-query", q);
      readout.setAttribute("data-key", best);
      grid.querySelectorAll(".tfm-focus").forEach(function (e) { e.classList.remove("tfm-focus"); });
      grid.querySelectorAll('[data-q="' + q + '"]').forEach(function (e) { e.classList.add("tfm-focus"); });
    }
    function redraw() { fillLayers(); fillHeads(); drawGrid(); drawFocus(); }

    function queryOf(event) {
      var t = event.target.closest ? event.target.closest("[data-q]") : null;
      return t && root.contains(t) ? Number(t.getAttribute("data-q")) : null;
    }
    [qRow, grid].forEach(function (area) {
      area.addEventListener("mouseover", function (e) {
        var q = queryOf(e); if (q !== null && q !== state.hover) { state.hover = q; drawFocus(); }
      });
      area.addEventListener("mouseleave", function () { state.hover = null; drawFocus(); });
      area.addEventListener("click", function (e) {
        var q = queryOf(e); if (q !== null) { state.pinned = q; state.hover = null; drawFocus(); }
      });
    });
    exSelect.addEventListener("change", function () { state.ex = Number(exSelect.value); state.pinned = null; redraw(); });
    layerSelect.addEventListener("change", function () { state.layer = Number(layerSelect.value); redraw(); });
    redraw();
  }
"""

_SAMPLING_JS = r"""
  // The same steps as tfmcourse.sampling.filter_logits: temperature, then top-k, then top-p; softmax.
  function distribution(logits, t, k, p) {
    var n = logits.length, order = [], i, j;
    for (i = 0; i < n; i++) { order.push(i); }
    order.sort(function (a, b) { return logits[b] - logits[a] || a - b; });
    var keep = new Array(n).fill(false);
    for (j = 0; j < Math.min(k, n); j++) { keep[order[j]] = true; }
    function softmax() {
      var m = -Infinity, s = 0, out = new Array(n).fill(0);
      for (i = 0; i < n; i++) { if (keep[i]) { m = Math.max(m, logits[i] / t); } }
      for (i = 0; i < n; i++) { if (keep[i]) { out[i] = Math.exp(logits[i] / t - m); s += out[i]; } }
      for (i = 0; i < n; i++) { out[i] /= s; }
      return out;
    }
    var probs = softmax();
    if (p < 1) {
      var before = 0;
      for (j = 0; j < n; j++) {
        i = order[j];
        if (!keep[i]) { continue; }
        if (before >= p) { keep[i] = false; }
        before += probs[i];
      }
      probs = softmax();
    }
    return { probs: probs, order: order, kept: keep.filter(Boolean).length };
  }

  function main(root, data) {
    header(root, data);
    var V = data.tokens.length;
    var controls = root.appendChild(el("div", "tfm-controls"));
    var promptLabel = controls.appendChild(el("label", "", "Prompt "));
    var promptSelect = promptLabel.appendChild(el("select"));
    promptSelect.setAttribute("data-role", "prompt");
    data.prompts.forEach(function (p, i) {
      var o = el("option", "", p.text.length > 40 ? "\u2026" + p.text.slice(-40) : p.text);
      o.value = i; promptSelect.appendChild(o);
    });
    function slider(name, min, max, step, value) {
      var label = controls.appendChild(el("label", "", name + " "));
      var input = label.appendChild(el("input"));
      input.type = "range"; input.min = min; input.max = max; input.step = step; input.value = value;
      input.setAttribute("data-role", name.toLowerCase());
      var shown = label.appendChild(el("span", "tfm-val"));
      input.addEventListener("input", draw);
      return { input: input, shown: shown };
    }
    var temp = slider("Temperature", 0.05, 2, 0.05, 1);
    var topk = slider("Top-k", 1, V, 1, V);
    var topp = slider("Top-p", 0.05, 1, 0.05, 1);
    var prompt = root.appendChild(el("div", "tfm-prompt"));
    var bars = root.appendChild(el("div", "tfm-bars"));
    bars.setAttribute("data-role", "bars");
    var summary = root.appendChild(el("div", "tfm-readout"));
    summary.setAttribute("data-role", "summary");
    promptSelect.addEventListener("change", draw);

    function draw() {
      var t = Number(temp.input.value), k = Number(topk.input.value), p = Number(topp.input.value);
      temp.shown.textContent = t.toFixed(2);
      topk.shown.textContent = k >= V ? "off (all " + V + ")" : String(k);
      topp.shown.textContent = p >= 1 ? "off" : p.toFixed(2);
      var entry = data.prompts[Number(promptSelect.value)];
      prompt.textContent = entry.text + "\u2581";
      var d = distribution(entry.logits, t, k, p);
      bars.textContent = "";
      for (var r = 0; r < data.show; r++) {
        var id = d.order[r], pr = d.probs[id];
        var name = bars.appendChild(el("span", "tfm-chip", data.tokens[id]));
        var track = bars.appendChild(el("div"));
        var bar = track.appendChild(el("div", "tfm-bar" + (pr > 0 ? "" : " tfm-removed")));
        bar.style.width = pr > 0 ? (100 * pr).toFixed(2) + "%" : "100%";
        bar.style.opacity = pr > 0 ? "1" : "0.35";
        var num = bars.appendChild(el("span", "tfm-prob", pr > 0 ? fmt(pr) : "removed"));
        [name, bar, num].forEach(function (e) {
          e.setAttribute("data-token", id); e.setAttribute("data-p", String(pr));
        });
      }
      var h = 0;
      d.probs.forEach(function (q) { if (q > 0) { h -= q * Math.log2(q); } });
      summary.textContent = d.kept + " of " + V + " tokens can be drawn; the most likely has probability " +
        fmt(d.probs[d.order[0]]) + "; entropy " + h.toFixed(2) + " bits.";
      summary.setAttribute("data-kept", d.kept);
      summary.setAttribute("data-entropy", h.toFixed(6));
    }
    draw();
  }
"""
