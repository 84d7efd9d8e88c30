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


def _mha(x, w_q, w_k, w_v, w_o, num_heads, mask=None, *, split=ref_split_heads, merge=ref_merge_heads,
         scale=None, out_proj=True, invert=False, axis=-1):
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
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return merge(o) @ w_o

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
    "split_no_transpose": (lambda x, h: x.reshape(x.shape[0], x.shape[1], h, -1), "did not move the heads axis"),
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
        _mutant(split=SPLIT_MUTANTS["split_dh"][0], merge=MERGE_MUTANTS["merge_dh"][0]), "interleaved features"),
    "merge_no_transpose": (_mutant(merge=MERGE_MUTANTS["merge_no_transpose"][0]), "heads are merged wrongly"),
    "one_head": (_one_head, "single-head attention"),
    "mask_inverted": (_mutant(invert=True), "mask sense is inverted"),
    "mask_ignored": (
        lambda x, w_q, w_k, w_v, w_o, num_heads, mask=None: ref_multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads),
        "mask is ignored"),
    "softmax_axis": (_mutant(axis=-2), "wrong axis"),
    "returns_tuple": (lambda *a, **k: (ref_multi_head_attention(*a, **k), None), "not a tuple"),
}


@pytest.mark.parametrize("name", MHA_MUTANTS)
def test_mha_mutants_fail_with_their_hint(name):
    fn, hint = MHA_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.multi_head_attention(fn)
