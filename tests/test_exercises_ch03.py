"""Tests of the chapter 3 exercise checkers: the reference passes, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import math

import pytest
import torch
from einops import rearrange

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch03 as check

# ----------------------------------------------------------------------------- references


def ref_split_heads(x, num_heads):
    return rearrange(x, "b s (h d) -> b h s d", h=num_heads)


def ref_merge_heads(x):
    return rearrange(x, "b h s d -> b s (h d)")


def _mha(
    x,
    w_q,
    w_k,
    w_v,
    w_o,
    num_heads,
    mask=None,
    *,
    split=ref_split_heads,
    merge=ref_merge_heads,
    scale=None,
    out_proj=True,
    invert=False,
    axis=-1,
):
    q, k, v = (split(x @ w, num_heads) for w in (w_q, w_k, w_v))
    d_head = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / (math.sqrt(d_head) if scale is None else scale(x, num_heads))
    if mask is not None:
        scores = scores.masked_fill(mask if invert else ~mask, float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=axis))
    o = merge(weights @ v)
    return o @ w_o if out_proj else o


def ref_multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    return _mha(x, w_q, w_k, w_v, w_o, num_heads, mask)


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.split_heads, ref_split_heads),
    (check.merge_heads, ref_merge_heads),
    (check.multi_head_attention, ref_multi_head_attention),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


def test_package_functions_pass(capsys):
    from tfmcourse.multihead import merge_heads, split_heads

    check.split_heads(split_heads)
    check.merge_heads(merge_heads)
    assert capsys.readouterr().out.count("✔") == 2


def test_torch_style_solutions_pass(capsys):
    """Solutions written with view/transpose instead of einops pass too."""

    def split(x, num_heads):
        b, s, d = x.shape
        return x.view(b, s, num_heads, d // num_heads).transpose(1, 2)

    def merge(x):
        b, h, s, d = x.shape
        return x.transpose(1, 2).reshape(b, s, h * d)

    def mha(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
        q, k, v = (split(x @ w, num_heads) for w in (w_q, w_k, w_v))
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / q.shape[-1] ** 0.5
        if mask is not None:
            scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
        return merge(scores.softmax(-1) @ v) @ w_o

    check.split_heads(split)
    check.merge_heads(merge)
    check.multi_head_attention(mha)
    assert capsys.readouterr().out.count("✔") == 3


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ------------------------------------------------------------------------------------ mutants

SPLIT_MUTANTS = {
    "split_dh": (lambda x, h: rearrange(x, "b s (d h) -> b h s d", h=h), "wrong order"),
    "split_no_transpose": (
        lambda x, h: x.reshape(x.shape[0], x.shape[1], h, -1),
        "did not move the heads axis",
    ),
    "split_direct_reshape": (lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1), "straight to"),
    "split_width_h": (lambda x, h: rearrange(x, "b s (h d) -> b h s d", d=h), "heads of width num_heads"),
}


@pytest.mark.parametrize("name", SPLIT_MUTANTS)
def test_split_mutants_fail_with_their_hint(name):
    fn, hint = SPLIT_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.split_heads(fn)


MERGE_MUTANTS = {
    "merge_no_transpose": (lambda x: x.reshape(x.shape[0], x.shape[2], -1), "Move the heads axis"),
    "merge_dh": (lambda x: rearrange(x, "b h s d -> b s (d h)"), "merged in the wrong order"),
    "merge_into_seq": (lambda x: torch.cat(list(x.unbind(1)), dim=1), "along the sequence axis"),
    "merge_mean": (lambda x: x.mean(1), "averaged or summed"),
}


@pytest.mark.parametrize("name", MERGE_MUTANTS)
def test_merge_mutants_fail_with_their_hint(name):
    fn, hint = MERGE_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.merge_heads(fn)


def _mutant(**kw):
    def fn(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
        return _mha(x, w_q, w_k, w_v, w_o, num_heads, mask, **kw)

    return fn


def _one_head(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    return ref_multi_head_attention(x, w_q, w_k, w_v, w_o, 1, mask)


MHA_MUTANTS = {
    "scaled_by_d_model": (_mutant(scale=lambda x, h: math.sqrt(x.shape[-1])), "1/sqrt\\(d_model\\)"),
    "no_scale": (_mutant(scale=lambda x, h: 1.0), "not scaled"),
    "no_output_projection": (_mutant(out_proj=False), "output projection"),
    "split_dh": (_mutant(split=SPLIT_MUTANTS["split_dh"][0]), "interleaved features"),
    "split_and_merge_dh": (
        _mutant(split=SPLIT_MUTANTS["split_dh"][0], merge=MERGE_MUTANTS["merge_dh"][0]),
        "interleaved features",
    ),
    "merge_no_transpose": (_mutant(merge=MERGE_MUTANTS["merge_no_transpose"][0]), "heads are merged wrongly"),
    "one_head": (_one_head, "single-head attention"),
    "mask_inverted": (_mutant(invert=True), "mask sense is inverted"),
    "mask_ignored": (
        lambda x, w_q, w_k, w_v, w_o, num_heads, mask=None: ref_multi_head_attention(
            x, w_q, w_k, w_v, w_o, num_heads
        ),
        "mask is ignored",
    ),
    "softmax_axis": (_mutant(axis=-2), "wrong axis"),
    "returns_tuple": (lambda *a, **k: (ref_multi_head_attention(*a, **k), None), "not a tuple"),
}


@pytest.mark.parametrize("name", MHA_MUTANTS)
def test_mha_mutants_fail_with_their_hint(name):
    fn, hint = MHA_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.multi_head_attention(fn)


# --------------------------------------------------------- shortcuts, NaN and the random state (issue 14)


def _sdpa_builtin(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    q, k, v = (ref_split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    return ref_merge_heads(torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)) @ w_o


def _sdpa_imported_by_name(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    q, k, v = (ref_split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    return ref_merge_heads(sdpa(q, k, v, attn_mask=mask)) @ w_o


def _chapter2_attention(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    from tfmcourse import attention

    q, k, v = (ref_split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    return ref_merge_heads(attention.scaled_dot_product_attention(q, k, v, mask=mask)[0]) @ w_o


def _masked_softmax(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    from tfmcourse.attention import masked_softmax

    q, k, v = (ref_split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    return ref_merge_heads(masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), mask) @ v) @ w_o


def _torch_module(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    d = x.shape[-1]
    layer = torch.nn.MultiheadAttention(d, num_heads, bias=False, batch_first=True).double()
    with torch.no_grad():
        layer.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))
        layer.out_proj.weight.copy_(w_o.T)
    n = x.shape[1]
    attn_mask = (
        None if mask is None else ~mask.expand(x.shape[0], num_heads, n, n).reshape(-1, n, n)
    )  # torch: True = ignore
    return layer(x, x, x, attn_mask=attn_mask, need_weights=False)[0]


SHORTCUTS = {
    "F.scaled_dot_product_attention": _sdpa_builtin,
    "scaled_dot_product_attention imported by name": _sdpa_imported_by_name,
    "chapter 2's scaled_dot_product_attention": _chapter2_attention,
    "tfmcourse.attention.masked_softmax": _masked_softmax,
    "torch.nn.MultiheadAttention": _torch_module,
}


@pytest.mark.parametrize("name", SHORTCUTS)
def test_mha_shortcuts_are_refused(name, monkeypatch, capsys):
    """Each of these gives the right numbers (it passes when nothing is forbidden); now it must fail."""
    monkeypatch.setattr(check, "_existing", lambda paths: ())
    check.multi_head_attention(SHORTCUTS[name])  # the numbers are right: it is the shortcut that is refused
    assert "✔" in capsys.readouterr().out
    monkeypatch.undo()
    with pytest.raises(ExerciseError, match="Write it yourself, without"):
        check.multi_head_attention(SHORTCUTS[name])


def test_shortcuts_are_restored_after_the_check():
    import torch.nn.functional as F

    from tfmcourse import attention

    before = (
        F.scaled_dot_product_attention,
        attention.masked_softmax,
        attention.scaled_dot_product_attention,
    )
    with pytest.raises(ExerciseError):
        check.multi_head_attention(_sdpa_builtin)
    assert (
        F.scaled_dot_product_attention,
        attention.masked_softmax,
        attention.scaled_dot_product_attention,
    ) == before


def _inverted_mask_nan(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
    q, k, v = (ref_split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))  # inverted, and no guard: rows of -inf give NaN
    return ref_merge_heads(torch.softmax(scores, dim=-1) @ v) @ w_o


def test_inverted_mask_with_nan_is_named():
    with pytest.raises(ExerciseError, match="NaN rows because the mask sense is inverted"):
        check.multi_head_attention(_inverted_mask_nan)


def test_other_nan_gets_the_nan_hint():
    def nan_everywhere(x, w_q, w_k, w_v, w_o, num_heads, mask=None):
        return ref_multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads, mask) * float("nan")

    with pytest.raises(ExerciseError, match="contains NaN where the reference has none"):
        check.multi_head_attention(nan_everywhere)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_checkers_keep_the_random_state(checker, fn, capsys):
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    checker(fn)
    assert torch.equal(torch.rand(3), want)
