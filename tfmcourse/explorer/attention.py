"""The attention explorer (chapters 3, 7 and 9): :func:`capture_attention` takes the weights of every
:class:`~tfmcourse.multihead.MultiHeadAttention` of a model in one forward pass, and
:func:`attention_explorer` shows them per input, layer and head, as :class:`AttentionMap` items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from tfmcourse.explorer.page import MAX_VALUES, Explorer, _fragment
from tfmcourse.multihead import MultiHeadAttention

__all__ = ["AttentionMap", "attention_explorer", "capture_attention"]


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
        b.addEventListener("click", function () {
          state.head = hl[0]; fillHeads(); drawGrid(); drawFocus();
        });
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
        ? "Query " + q + " \u201c" + m.queries[q] + "\u201d may attend to no key here (" +
          m.layer + ", " + head + ")."
        : "Query " + q + " \u201c" + m.queries[q] + "\u201d (" + m.layer + ", " + head +
          ") looks most at key " + best + " \u201c" + m.keys[best] + "\u201d: weight " +
          fmt(w[q][best]) + ".";
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
    exSelect.addEventListener("change", function () {
      state.ex = Number(exSelect.value); state.pinned = null; redraw();
    });
    layerSelect.addEventListener("change", function () {
      state.layer = Number(layerSelect.value); redraw();
    });
    redraw();
  }
"""
