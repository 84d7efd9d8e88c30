"""tfmcourse.explorer: the data the explorers carry, their HTML, their checks, and capture_attention.

What the pages *do* with that data (clicks, sliders) is tested in a real browser in
tests/book/test_explorer_page.py.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from tfmcourse.explorer import (
    AttentionMap,
    Explorer,
    attention_explorer,
    capture_attention,
    sampling_distribution,
    sampling_explorer,
    visible,
)
from tfmcourse.models.gpt import GPT, GPTConfig
from tfmcourse.multihead import MultiHeadAttention
from tfmcourse.sampling import filter_logits
from tfmcourse.transformer import Transformer


def payload(explorer: Explorer) -> dict:
    """The JSON data embedded in an explorer's HTML."""
    found = re.findall(
        r'<script type="application/json" class="tfm-data">(.*?)</script>', explorer.html, re.S
    )
    assert len(found) == 1
    return json.loads(found[0])


def random_weights(heads, q, k, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(heads, q, k, generator=g), dim=-1)


def test_attention_data_round_trips_to_a_thousandth():
    w1, w2 = random_weights(2, 3, 4), random_weights(4, 3, 3, seed=1)
    ex = attention_explorer(
        {
            "first": [
                AttentionMap("cross", w1, ["a", "b", "c"], ["w", "x", "y", "z"]),
                AttentionMap("self", w2, ["a", "b", "c"]),
            ],
        },
        title="T",
        note="N",
    )
    data = payload(ex)
    assert data["title"] == "T" and data["note"] == "N"
    (example,) = data["examples"]
    assert example["name"] == "first"
    cross, self_ = example["maps"]
    assert cross["keys"] == ["w", "x", "y", "z"] and self_["keys"] == ["a", "b", "c"]  # keys=None: self
    assert (cross["heads"], self_["heads"]) == (2, 4)
    for m, w in ((cross, w1), (self_, w2)):
        got = torch.tensor(m["w"], dtype=torch.float64) / 1000
        assert got.shape == w.shape
        assert (got - w.double()).abs().max() <= 0.0005 + 1e-12  # rounded to 1/1000


def test_html_is_self_contained_and_escapes_the_tokens():
    nasty = ["</script><script>alert(1)</script>", "a & b", "<!--", '"q"']
    ex = attention_explorer({"x<y": [AttentionMap("layer <1>", random_weights(1, 4, 4), nasty)]})
    html = ex.html
    assert html.count("</script>") == 2  # the data block's and the script's own closing tags only
    assert "<!--" not in html
    assert not re.search(r"\b(src|href)\s*=", html), "an explorer must not load or link anything"
    assert "http://" not in html and "https://" not in html
    data = payload(ex)
    assert data["examples"][0]["maps"][0]["queries"] == nasty  # the labels come back exactly
    assert data["examples"][0]["name"] == "x<y"
    assert ex._repr_html_() == html
    assert "attention explorer" in repr(ex)


def test_each_explorer_gets_its_own_id():
    maps = {"a": [AttentionMap("l", random_weights(1, 2, 2), ["x", "y"])]}
    ids = {re.search(r'id="([^"]+)"', attention_explorer(maps).html).group(1) for _ in range(3)}
    assert len(ids) == 3
    for uid in ids:  # the style is scoped to the explorer's id, so two explorers on a page do not clash
        assert re.fullmatch(r"[\w-]+", uid)


def test_save_writes_a_standalone_page(tmp_path):
    ex = sampling_explorer(["ab"], torch.randn(1, 5), list("vwxyz"))
    path = ex.save(tmp_path / "s.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text and ex.html in text


@pytest.mark.parametrize(
    "maps, match",
    [
        (lambda: {}, "examples is empty"),
        (lambda: {"a": []}, "has no AttentionMap"),
        (
            lambda: {"a": [AttentionMap("l", torch.rand(2, 3), ["x", "y"])]},
            r"\(heads, seq_q, seq_k\), got shape \(2, 3\)",
        ),
        (lambda: {"a": [AttentionMap("l", random_weights(1, 2, 3), ["x"])]}, r"1 query labels .*seq_q = 2"),
        (
            lambda: {"a": [AttentionMap("l", random_weights(1, 2, 3), ["x", "y"], ["k"])]},
            r"1 key labels .*seq_k = 3",
        ),
        (
            lambda: {"a": [AttentionMap("l", torch.full((1, 2, 2), float("nan")), ["x", "y"])]},
            "probabilities",
        ),
        (lambda: {"a": [AttentionMap("l", 3 * torch.ones(1, 2, 2), ["x", "y"])]}, "probabilities"),
        (lambda: {"a": ["not a map"]}, "expected AttentionMap"),
    ],
)
def test_attention_explorer_rejects_bad_input(maps, match, no_type_checks):
    """The maps are made in the test, with the annotations not enforced: a learner's (seq_q, seq_k) weights
    get the ValueError that says what to do."""
    with pytest.raises(ValueError, match=match):
        attention_explorer(maps())


def test_attention_explorer_refuses_a_page_too_heavy():
    with pytest.raises(ValueError, match="fewer or shorter inputs"):
        attention_explorer(
            {"a": [AttentionMap("l", random_weights(8, 256, 256), [str(i) for i in range(256)])]}
        )


def test_sampling_data_and_reference_distribution():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0], [0.0, 0.0, 3.0, 1.0, -2.0]])
    ex = sampling_explorer(["p1", "p2"], logits, list("abcde"), show=3)
    data = payload(ex)
    assert data["tokens"] == list("abcde") and data["show"] == 3
    assert [p["text"] for p in data["prompts"]] == ["p1", "p2"]
    assert torch.allclose(
        torch.tensor([p["logits"] for p in data["prompts"]], dtype=torch.float64), logits.double(), atol=5e-5
    )
    # the reference the page is tested against is softmax(filter_logits(...))
    for t, k, p in [(1.0, None, None), (0.5, 2, None), (1.5, None, 0.6), (0.7, 3, 0.8)]:
        want = torch.softmax(filter_logits(logits[:1].double(), t, k, p), dim=-1)[0]
        got = sampling_distribution(logits[0], t, k, p)
        assert torch.allclose(got, want, atol=1e-12)
        assert abs(got.sum().item() - 1) < 1e-9
    assert (sampling_distribution(logits[0], 1.0, 2) > 0).sum() == 2


@pytest.mark.parametrize(
    "args, match",
    [
        ((["a"], torch.randn(5), list("abcde")), r"\(prompts, vocab\)"),
        ((["a", "b"], torch.randn(1, 5), list("abcde")), "2 prompts"),
        ((["a"], torch.randn(1, 5), list("abc")), "3 token labels"),
        ((["a"], torch.tensor([[0.0, float("inf")]]), list("ab")), "finite"),
    ],
)
def test_sampling_explorer_rejects_bad_input(args, match, no_type_checks):
    with pytest.raises(ValueError, match=match):
        sampling_explorer(*args)


def test_visible_shows_whitespace():
    assert [visible(t) for t in [" ", "\n", "a b", "\t", ""]] == ["␣", "⏎", "a␣b", "⇥", "∅"]


def test_capture_attention_equals_asking_the_module():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, impl="sdpa")
    x = torch.randn(3, 5, 8)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = mha

        def forward(self, x):
            return self.attn(x, x, x)[0]  # the model itself never asks for weights

    model = Model().train()
    got = capture_attention(model, x)
    assert list(got) == ["attn"]
    with torch.no_grad():
        _, want = mha.eval()(x, x, x, need_weights=True)
    assert got["attn"].shape == (3, 2, 5, 5)
    assert torch.allclose(got["attn"], want, atol=1e-6)
    assert model.training, "capture_attention must restore training mode"
    assert not mha._forward_hooks and not mha._forward_pre_hooks, "hooks must be removed"


def test_capture_attention_on_a_gpt_and_an_encoder_decoder():
    gpt = GPT(GPTConfig(vocab_size=11, max_len=8, d_model=16, num_layers=2, num_heads=4, impl="sdpa"))
    ids = torch.randint(0, 11, (2, 6))
    logits = gpt.eval()(ids)
    got = capture_attention(gpt, ids)
    assert len(got) == 2 and all(w.shape == (2, 4, 6, 6) for w in got.values())
    for w in got.values():  # causal: no weight on the future, rows sum to 1
        assert torch.all(w.triu(diagonal=1) == 0)
        assert torch.allclose(w.sum(-1), torch.ones(2, 4, 6), atol=1e-5)
    assert torch.equal(gpt(ids), logits)  # nothing left behind

    model = Transformer(7, 9, d_model=16, num_heads=2, num_encoder_layers=2, num_decoder_layers=1, d_ff=32)
    src, tgt = torch.randint(1, 7, (1, 5)), torch.randint(1, 9, (1, 4))
    got = capture_attention(model, src, tgt)
    shapes = [tuple(w.shape) for w in got.values()]
    # encoder self (5x5) twice, then the decoder's self (4x4) and cross (4x5) attention
    assert shapes == [(1, 2, 5, 5), (1, 2, 5, 5), (1, 2, 4, 4), (1, 2, 4, 5)]


def test_capture_attention_needs_attention_modules():
    with pytest.raises(ValueError, match="no tfmcourse MultiHeadAttention"):
        capture_attention(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_explorer_cells_do_not_change_the_sweep_code_hash(tmp_path):
    """Adding an explorer cell (tag `explorer`) to a chapter does not make its sweep stale; a cell that
    records a number counts whatever its tag."""
    import nbformat

    from tfmcourse.sweep import code_hash

    def write(*cells):
        nb = nbformat.v4.new_notebook(cells=list(cells))
        path = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
        nbformat.write(nb, path)
        return path

    def explorer_cell(source):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["explorer"]
        return cell

    base = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("record('x', x)")]
    plain = code_hash(write(*base))
    assert code_hash(write(*base, explorer_cell("attention_explorer(maps)"))) == plain
    assert code_hash(write(*base, explorer_cell("record('y', 2)"))) != plain
    assert code_hash(write(*base, nbformat.v4.new_code_cell("attention_explorer(maps)"))) != plain
