"""Tests of the chapter 9 exercise checkers: the references pass, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch09 as check
from tfmcourse.sampling import filter_logits as imported_filter_logits

# ----------------------------------------------------------------------------- references


def _attn(
    x,
    w_qkv,
    w_o,
    num_heads,
    *,
    mask="tril",
    scale=None,
    axis=-1,
    out=True,
    split="qkv",
    heads="hd",
    merge="rearrange",
    split_heads="rearrange",
):
    b, s, d = x.shape
    qkv = x @ w_qkv
    if split == "qkv":
        q, k, v = qkv.split(d, dim=-1)
    elif split == "chunk_wrong_axis":
        q, k, v = rearrange(qkv, "b s (d three) -> three b s d", three=3)
    if split_heads == "reshape":  # the mistake: no transpose when splitting
        q, k, v = (t.reshape(b, num_heads, s, d // num_heads) for t in (q, k, v))
    else:
        pat = "b s (h d) -> b h s d" if heads == "hd" else "b s (d h) -> b h s d"
        q, k, v = (rearrange(t, pat, h=num_heads) for t in (q, k, v))
    d_head = d // num_heads
    scores = q @ k.transpose(-2, -1) / (math.sqrt(d_head) if scale is None else scale(d, d_head))
    ones = torch.ones(s, s, dtype=torch.bool)
    m = {"tril": ones.tril(), "none": ones, "triu": ones.triu(1), "strict": ones.tril(-1)}[mask]
    weights = torch.softmax(scores.masked_fill(~m, float("-inf")), dim=axis)
    if merge == "reshape":  # the mistake: no transpose back before merging
        o = (weights @ v).reshape(b, s, d)
    else:
        o = rearrange(weights @ v, "b h s d -> b s (h d)" if heads == "hd" else "b h s d -> b s (d h)")
    return o @ w_o if out else o


def ref_causal_self_attention(x, w_qkv, w_o, num_heads):
    return _attn(x, w_qkv, w_o, num_heads)


def ref_top_k_logits(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def ref_attention_step(x_new, w_q, w_k, w_v, cache):
    q, k, v = x_new @ w_q, x_new @ w_k, x_new @ w_v
    if "k" in cache:
        k = torch.cat([cache["k"], k], dim=1)
        v = torch.cat([cache["v"], v], dim=1)
    cache["k"], cache["v"] = k, v
    weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.causal_self_attention, ref_causal_self_attention),
    (check.top_k_logits, ref_top_k_logits),
    (check.attention_step, ref_attention_step),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


def test_other_correct_solutions_pass(capsys):
    """Solutions written with einsum and a where-mask, sort instead of topk, or sdpa in the cache step work
    too."""

    def einsum_attention(x, w_qkv, w_o, num_heads):
        b, s, d = x.shape
        q, k, v = (t.view(b, s, num_heads, -1) for t in (x @ w_qkv).chunk(3, dim=-1))
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d // num_heads)
        keep = torch.arange(s)[:, None] >= torch.arange(s)[None, :]
        weights = torch.where(keep, scores, torch.tensor(float("-inf"), dtype=x.dtype)).softmax(-1)
        return torch.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, s, d) @ w_o

    def sorted_top_k(logits, k):
        kth = logits.sort(dim=-1, descending=True).values[:, k - 1 : k]
        return torch.where(logits >= kth, logits, torch.tensor(float("-inf"), dtype=logits.dtype))

    def masked_step(x_new, w_q, w_k, w_v, cache):
        k_new, v_new = x_new @ w_k, x_new @ w_v
        cache["k"] = torch.cat([cache["k"], k_new], 1) if "k" in cache else k_new
        cache["v"] = torch.cat([cache["v"], v_new], 1) if "v" in cache else v_new
        t = cache["k"].shape[1]
        mask = torch.ones(1, t, dtype=torch.bool).tril(diagonal=t - 1)  # bottom-right aligned: all True
        return F.scaled_dot_product_attention(x_new @ w_q, cache["k"], cache["v"], attn_mask=mask)

    check.causal_self_attention(einsum_attention)
    check.top_k_logits(sorted_top_k)
    check.attention_step(masked_step)
    assert capsys.readouterr().out.count("✔") == 3


# ------------------------------------------------------------------ shortcuts that used to pass


def sdpa_attention(x, w_qkv, w_o, num_heads):
    """Delegates the exercise to torch's fused attention (passed before the checker forbade it)."""
    b, s, d = x.shape
    q, k, v = (t.view(b, s, num_heads, -1).transpose(1, 2) for t in (x @ w_qkv).chunk(3, dim=-1))
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return o.transpose(1, 2).reshape(b, s, d) @ w_o


def sdpa_imported_attention(x, w_qkv, w_o, num_heads):
    from torch.nn.functional import scaled_dot_product_attention

    b, s, d = x.shape
    q, k, v = (t.view(b, s, num_heads, -1).transpose(1, 2) for t in (x @ w_qkv).chunk(3, dim=-1))
    return scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, s, d) @ w_o


def package_attention(x, w_qkv, w_o, num_heads):
    from tfmcourse.attention import causal_mask, scaled_dot_product_attention

    b, s, d = x.shape
    q, k, v = (t.view(b, s, num_heads, -1).transpose(1, 2) for t in (x @ w_qkv).chunk(3, dim=-1))
    out = scaled_dot_product_attention(q, k, v, mask=causal_mask(s))
    out = out[0] if isinstance(out, tuple) else out
    return out.transpose(1, 2).reshape(b, s, d) @ w_o


@pytest.mark.parametrize("fn", [sdpa_attention, sdpa_imported_attention, package_attention])
def test_delegating_the_attention_fails(fn):
    with pytest.raises(ExerciseError, match="Write it yourself, without"):
        check.causal_self_attention(fn)
    # and the built-ins work again afterwards
    x = torch.randn(1, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(
        sdpa_attention(x, torch.eye(4, 12, dtype=torch.float64), torch.eye(4, dtype=torch.float64), 2),
        ref_causal_self_attention(
            x, torch.eye(4, 12, dtype=torch.float64), torch.eye(4, dtype=torch.float64), 2
        ),
    )


def top_k_by_imported_filter(logits, k):
    return imported_filter_logits(logits, top_k=k)


def test_delegating_top_k_to_the_package_sampler_fails():
    from tfmcourse import sampling

    with pytest.raises(ExerciseError, match="Write it yourself, without tfmcourse.sampling.filter_logits"):
        check.top_k_logits(lambda logits, k: sampling.filter_logits(logits, top_k=k))
    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.top_k_logits(top_k_by_imported_filter)  # the name imported into the learner's namespace
    assert (
        torch.isinf(sampling.filter_logits(torch.tensor([[1.0, 2.0, 3.0]]), top_k=1)).sum() == 2
    )  # restored


def test_checkers_leave_the_random_state_alone():
    for checker, fn in CHECKERS:
        torch.manual_seed(7)
        checker(fn)
        a = torch.rand(3)
        torch.manual_seed(7)
        assert torch.equal(a, torch.rand(3)), checker.__name__


# ------------------------------------------------------------------------------------ mutants


def _m(**kw):
    return lambda x, w_qkv, w_o, num_heads: _attn(x, w_qkv, w_o, num_heads, **kw)


ATTENTION_MUTANTS = {
    "no_mask": (_m(mask="none"), "no causal mask"),
    "mask_inverted": (_m(mask="triu"), "NaN|inverted"),
    "diagonal_masked": (_m(mask="strict"), "NaN|diagonal"),
    "scaled_by_d_model": (_m(scale=lambda d, dh: math.sqrt(d)), "1/sqrt\\(d_model\\)"),
    "no_scale": (_m(scale=lambda d, dh: 1.0), "not scaled"),
    "softmax_axis": (_m(axis=-2), "wrong axis"),
    "no_output_projection": (_m(out=False), "output projection"),
    "qkv_interleaved": (_m(split="chunk_wrong_axis"), r"\[q \| k \| v\]"),
    "heads_interleaved": (_m(heads="dh"), "interleaved features"),
    "one_head": (lambda x, w_qkv, w_o, h: _attn(x, w_qkv, w_o, 1), "single-head"),
    "returns_tuple": (lambda *a: (ref_causal_self_attention(*a), None), "only the output"),
    "merge_without_transpose": (
        lambda x, w_qkv, w_o, h: _attn(x, w_qkv, w_o, h, merge="reshape"),
        "without moving the head axis back",
    ),
    "split_without_transpose": (
        lambda x, w_qkv, w_o, h: _attn(x, w_qkv, w_o, h, split_heads="reshape"),
        "split without a transpose",
    ),
}


@pytest.mark.parametrize("name", ATTENTION_MUTANTS)
def test_attention_mutants_fail_with_their_hint(name):
    fn, hint = ATTENTION_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.causal_self_attention(fn)


def _nan_free_inverted(x, w_qkv, w_o, num_heads):
    """The inverted mask with NaN turned into zeros: still caught, by its values."""
    return torch.nan_to_num(_attn(x, w_qkv, w_o, num_heads, mask="triu"))


def test_inverted_mask_without_nan_is_named():
    with pytest.raises(ExerciseError, match="inverted"):
        check.causal_self_attention(_nan_free_inverted)


TOPK_MUTANTS = {
    "smallest": (
        lambda x, k: x.masked_fill(x > x.topk(k, -1, largest=False).values[:, -1:], float("-inf")),
        "smallest",
    ),
    "keeps_k_plus_one": (lambda x, k: ref_top_k_logits(x, min(k + 1, x.shape[-1])), "k \\+ 1"),
    "keeps_k_minus_one": (
        lambda x, k: x.masked_fill(x <= x.topk(k, -1).values[:, -1:], float("-inf")),
        "k - 1",
    ),
    "zeros": (lambda x, k: x.masked_fill(x < x.topk(k, -1).values[:, -1:], 0.0), "set to 0"),
    "axis": (
        lambda x, k: x.masked_fill(x < x.topk(min(k, x.shape[0]), 0).values[-1:], float("-inf")),
        "wrong axis",
    ),
    "probabilities": (lambda x, k: torch.softmax(ref_top_k_logits(x, k), -1), "probabilities"),
    "nothing_removed": (lambda x, k: x.clone(), "Nothing was removed"),
    "fill_minus_1e9": (
        lambda x, k: x.masked_fill(x < x.topk(k, -1).values[:, -1:], -1e9),
        "large negative number",
    ),
    "fill_finfo_min": (
        lambda x, k: x.masked_fill(x < x.topk(k, -1).values[:, -1:], torch.finfo(x.dtype).min),
        "large negative number",
    ),
    "integer_mask": (lambda x, k: (x >= x.topk(k, -1).values[:, -1:]).long(), "integer or boolean"),
    "integer_logits": (lambda x, k: ref_top_k_logits(x, k).nan_to_num().long(), "integer or boolean"),
    "boolean_mask": (lambda x, k: x >= x.topk(k, -1).values[:, -1:], "integer or boolean"),
}


@pytest.mark.parametrize("name", TOPK_MUTANTS)
def test_top_k_mutants_fail_with_their_hint(name):
    fn, hint = TOPK_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.top_k_logits(fn)


def _step(mistake):
    def fn(x_new, w_q, w_k, w_v, cache):
        q, k, v = x_new @ w_q, x_new @ w_k, x_new @ w_v
        dim = {"axis0": 0, "axis_last": -1}.get(mistake, 1)
        if "k" in cache:
            if mistake == "prepend":
                k_all, v_all = torch.cat([k, cache["k"]], 1), torch.cat([v, cache["v"]], 1)
            else:
                k_all, v_all = torch.cat([cache["k"], k], dim), torch.cat([cache["v"], v], dim)
        else:
            k_all, v_all = k, v
        if mistake == "only_new":
            cache["k"], cache["v"] = k, v
        elif mistake == "swapped":
            cache["k"], cache["v"] = k_all, k_all
        elif mistake != "not_stored":
            cache["k"], cache["v"] = k_all, v_all
        if mistake == "self_only":
            k_all, v_all = k, v
        if mistake == "excludes_new" and k_all.shape[1] > 1:  # attends over the earlier positions only
            k_all, v_all = k_all[:, :-1], v_all[:, :-1]
        scale = 1.0 if mistake == "no_scale" else 1 / math.sqrt(q.shape[-1])
        scores = q @ k_all.transpose(1, 2) * scale
        if mistake == "top_left_mask":
            t = k_all.shape[1]
            scores = scores.masked_fill(~torch.ones(1, t, dtype=torch.bool).tril(), float("-inf"))
        return torch.softmax(scores, -1) @ v_all

    return fn


STEP_MUTANTS = {
    "not_stored": "not updated",
    "only_new": "only the newest",
    "prepend": "before",
    "swapped": "holds the keys",
    "axis0": "wrong axis",
    "no_scale": "not scaled",
    "top_left_mask": "bottom-right",
    "self_only": "only to itself",
    "excludes_new": "does not attend to itself",
}


@pytest.mark.parametrize("name", STEP_MUTANTS)
def test_step_mutants_fail_with_their_hint(name):
    with pytest.raises(ExerciseError, match=STEP_MUTANTS[name]):
        check.attention_step(_step(name))


def test_step_concatenated_on_features_fails():
    with pytest.raises(ExerciseError):
        check.attention_step(_step("axis_last"))
