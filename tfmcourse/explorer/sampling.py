"""The sampling explorer (chapter 9): a model's next-token distributions after a few prompts, with sliders
for the temperature, top-k and top-p of :func:`tfmcourse.sampling.filter_logits`
(:func:`sampling_distribution` computes what the page shows).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from tfmcourse.explorer.page import MAX_VALUES, Explorer, _fragment

__all__ = ["sampling_distribution", "sampling_explorer"]

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
