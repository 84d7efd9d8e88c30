"""The explorers of tfmcourse.explorer in a real browser: what they show is what the data says.

No built book needed: each test renders an explorer made here into a blank page (network cut),
clicks and drags like a reader, and compares the numbers on the page with the tensors in Python.
"""

from __future__ import annotations

import pytest
import torch
from bookbrowser import screenshot_path

from tfmcourse.explorer import AttentionMap, attention_explorer, sampling_distribution, sampling_explorer


def show(offline_page, explorer):
    page = offline_page.page
    page.set_content(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{explorer.html}</body></html>'
    )
    page.wait_for_selector(".tfm-explorer[data-ready]")
    return page


def chip_weights(page) -> list[float]:
    return [
        float(x)
        for x in page.eval_on_selector_all("[data-k]", "els => els.map(e => e.getAttribute('data-w'))")
    ]


def test_attention_explorer_shows_the_weights_of_the_clicked_query(offline_page):
    torch.manual_seed(0)
    w = torch.softmax(3 * torch.randn(3, 5, 6), dim=-1)  # (heads, seq_q, seq_k)
    queries, keys = list("ABCDE"), ["k0", "k1", "k2", "k3", "k4", "k5"]
    w2 = torch.softmax(torch.randn(2, 5, 5), dim=-1)
    ex = attention_explorer(
        {"one": [AttentionMap("cross", w, queries, keys)], "two": [AttentionMap("self", w2, queries)]}
    )
    page = show(offline_page, ex)

    # at first: head 1, the last query
    assert page.get_attribute("[data-role=readout]", "data-query") == "4"
    assert chip_weights(page) == pytest.approx(w[0, 4].tolist(), abs=6e-4)
    for head in range(3):
        page.click(f"[data-head='{head}']")
        assert page.get_attribute(f"[data-head='{head}']", "aria-pressed") == "true"
        for q in range(5):
            page.click(f".tfm-chip[data-q='{q}']")
            readout = page.locator("[data-role=readout]")
            assert readout.get_attribute("data-query") == str(q)
            assert chip_weights(page) == pytest.approx(w[head, q].tolist(), abs=6e-4)
            assert readout.get_attribute("data-key") == str(int(w[head, q].argmax()))
            assert f"\u201c{keys[int(w[head, q].argmax())]}\u201d" in readout.inner_text()
    # the mean of the heads
    page.click("[data-head='-1']")
    assert chip_weights(page) == pytest.approx(w[:, 4].mean(0).tolist(), abs=1e-3)
    # hovering a row of the grid previews that query; leaving the grid returns to the pinned one
    page.hover(".tfm-grid .tfm-cell[data-q='1']")
    assert page.get_attribute("[data-role=readout]", "data-query") == "1"
    page.mouse.move(5, 5)
    assert page.get_attribute("[data-role=readout]", "data-query") == "4"
    # the grid holds every weight of the chosen head
    page.click("[data-head='1']")
    cells = [
        float(x)
        for x in page.eval_on_selector_all(".tfm-cell", "els => els.map(e => e.getAttribute('data-w'))")
    ]
    assert cells == pytest.approx(w[1].flatten().tolist(), abs=6e-4)
    # another input: its own tokens and layer; the chosen head (2) stays, the query is the last again
    page.select_option("[data-role=example]", "1")
    assert page.eval_on_selector_all("[data-role=layer] option", "els => els.map(e => e.textContent)") == [
        "self"
    ]
    assert chip_weights(page) == pytest.approx(w2[1, 4].tolist(), abs=6e-4)
    page.locator(".tfm-explorer").screenshot(path=screenshot_path("explorer-attention-standalone"))
    assert not offline_page.console_errors and not offline_page.page_errors


def set_slider(page, role, value):
    page.eval_on_selector(
        f"[data-role='{role}']",
        "(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); }",
        str(value),
    )


def test_sampling_explorer_matches_filter_logits(offline_page):
    torch.manual_seed(1)
    logits = 2 * torch.randn(2, 30)
    tokens = [f"t{i}" for i in range(30)]
    ex = sampling_explorer(["first prompt", "second"], logits, tokens, show=8)
    page = show(offline_page, ex)
    rounded = torch.round(logits.double() * 10_000) / 10_000  # what the page carries

    def shown():
        pairs = page.eval_on_selector_all(
            ".tfm-prob",
            "els => els.map(e => [Number(e.getAttribute('data-token')), Number(e.getAttribute('data-p'))])",
        )
        return {int(i): p for i, p in pairs}

    for prompt in (0, 1):
        page.select_option("[data-role=prompt]", str(prompt))
        for t, k, p in [
            (1.0, 30, 1.0),
            (0.3, 30, 1.0),
            (1.7, 5, 1.0),
            (1.0, 30, 0.5),
            (0.8, 4, 0.9),
            (1.0, 1, 1.0),
        ]:
            set_slider(page, "temperature", t)
            set_slider(page, "top-k", k)
            set_slider(page, "top-p", p)
            want = sampling_distribution(rounded[prompt], t, None if k >= 30 else k, None if p >= 1 else p)
            got = shown()
            assert len(got) == 8
            top8 = rounded[prompt].argsort(descending=True)[:8].tolist()
            assert sorted(got) == sorted(top8)  # the 8 most likely tokens are the ones drawn
            for i, prob in got.items():
                assert prob == pytest.approx(want[i].item(), abs=1e-9), (t, k, p, i)
            kept = int(page.get_attribute("[data-role=summary]", "data-kept"))
            assert kept == int((want > 0).sum())
    # top-k = 1 is greedy: the most likely token has probability 1
    assert max(shown().values()) == pytest.approx(1.0)
    page.locator(".tfm-explorer").screenshot(path=screenshot_path("explorer-sampling-standalone"))
    assert not offline_page.console_errors and not offline_page.page_errors
