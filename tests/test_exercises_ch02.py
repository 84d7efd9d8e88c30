"""Tests of the chapter 2 exercise checkers: the reference passes, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import math

import pytest
import torch

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch02 as check

# ----------------------------------------------------------------------------- references


def ref_scores(q, k):
    return torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])


def ref_masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0)


def ref_attention(q, k, v, mask=None):
    scores = ref_scores(q, k)
    weights = torch.softmax(scores, dim=-1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- reference / stub


@pytest.mark.parametrize(
    "checker, fn",
    [
        (check.attention_scores, ref_scores),
        (check.masked_softmax, ref_masked_softmax),
        (check.attention, ref_attention),
    ],
)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


def test_package_functions_are_refused():
    # used to pass: the package's own answers, handed in as the exercise
    from tfmcourse.attention import masked_softmax, scaled_dot_product_attention

    with pytest.raises(ExerciseError, match="Write it yourself, without tfmcourse.attention.masked_softmax"):
        check.masked_softmax(masked_softmax)
    with pytest.raises(
        ExerciseError, match="Write it yourself, without tfmcourse.attention.scaled_dot_product"
    ):
        check.attention(scaled_dot_product_attention)


@pytest.mark.parametrize("checker", [check.attention_scores, check.masked_softmax, check.attention])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ------------------------------------------------------------------------ attention_scores


def scores_no_scale(q, k):
    return q @ k.transpose(-2, -1)


def scores_by_d(q, k):
    return q @ k.transpose(-2, -1) / q.shape[-1]


def scores_times(q, k):
    return q @ k.transpose(-2, -1) * math.sqrt(q.shape[-1])


def scores_seq(q, k):
    return q @ k.transpose(-2, -1) / math.sqrt(k.shape[-2])


def scores_transposed(q, k):
    return k @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])


def scores_k_dot_T(q, k):  # k.T reverses every axis: right for 2-D, wrong with batch axes
    return q @ k.T / math.sqrt(q.shape[-1])


def scores_q_twice(q, k):
    return q @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])


def scores_float32(q, k):  # a different dtype is fine
    return ref_scores(q.float(), k.float())


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (scores_no_scale, "not scaled"),
        (scores_by_d, "divided by d_k"),
        (scores_times, "multiplied by sqrt"),
        (scores_seq, "sequence length"),
        (scores_transposed, "transposed"),
        (scores_k_dot_T, "leading batch axes"),
        (scores_q_twice, "q with itself"),
    ],
)
@pytest.mark.filterwarnings("ignore:The use of `x.T`")
def test_scores_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.attention_scores(mutant)


def test_scores_other_dtype_passes(capsys):
    check.attention_scores(scores_float32)
    assert "✔" in capsys.readouterr().out


def test_scores_unknown_mistake_gets_generic_hint():
    with pytest.raises(ExerciseError, match="wrong values.*q @ k\\^T"):
        check.attention_scores(lambda q, k: ref_scores(q, k) + 0.1)


# -------------------------------------------------------------------------- masked_softmax


def softmax_axis(scores, mask):
    return torch.nan_to_num(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-2), nan=0.0)


def softmax_axis0(scores, mask):
    return torch.nan_to_num(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=0), nan=0.0)


def softmax_inverted(scores, mask):
    return torch.nan_to_num(torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1), nan=0.0)


def softmax_nan(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def softmax_big_negative(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, -1e9), dim=-1)


def softmax_fill_zero(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)


def softmax_after(scores, mask):
    return torch.softmax(scores, dim=-1) * mask


def softmax_no_broadcast(scores, mask):
    if mask.shape != scores.shape:
        raise RuntimeError(f"shape mismatch {tuple(mask.shape)} vs {tuple(scores.shape)}")
    return ref_masked_softmax(scores, mask)


def softmax_renormalise(scores, mask):  # a different but correct way: passes
    w = torch.softmax(scores, dim=-1) * mask
    total = w.sum(-1, keepdim=True)
    return torch.where(total > 0, w / total.clamp_min(1e-300), torch.zeros_like(w))


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (softmax_axis, "wrong axis"),
        (softmax_axis0, "wrong axis"),
        (softmax_inverted, "inverted"),
        (softmax_nan, "contains NaN.*all masked"),
        (softmax_big_negative, "uniform weights"),
        (softmax_fill_zero, "with 0 does not remove"),
        (softmax_after, "no longer sum to 1"),
        (softmax_no_broadcast, "broadcast"),
    ],
)
def test_masked_softmax_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.masked_softmax(mutant)


def test_masked_softmax_other_correct_way_passes(capsys):
    check.masked_softmax(softmax_renormalise)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------- attention


def attention_only_out(q, k, v, mask=None):
    return ref_attention(q, k, v, mask)[0]


def attention_swapped(q, k, v, mask=None):
    out, w = ref_attention(q, k, v, mask)
    return w, out


def attention_out_transposed(q, k, v, mask=None):
    out, w = ref_attention(q, k, v, mask)
    return out.transpose(-2, -1), w


def attention_no_scale(q, k, v, mask=None):
    w = (
        torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        if mask is None
        else ref_masked_softmax(q @ k.transpose(-2, -1), mask)
    )
    return w @ v, w


def attention_axis(q, k, v, mask=None):
    s = ref_scores(q, k)
    w = torch.softmax(s if mask is None else s.masked_fill(~mask, float("-inf")), dim=-2).nan_to_num(0.0)
    return w @ v, w


def attention_inverted(q, k, v, mask=None):
    s = ref_scores(q, k)
    w = torch.softmax(s, dim=-1) if mask is None else ref_masked_softmax(s, ~mask)
    return w @ v, w


def attention_nan(q, k, v, mask=None):
    s = ref_scores(q, k)
    w = torch.softmax(s if mask is None else s.masked_fill(~mask, float("-inf")), dim=-1)
    return w @ v, w


def attention_no_mask_arg(q, k, v):  # forgot the mask argument
    return ref_attention(q, k, v)


def attention_values_summed(q, k, v, mask=None):  # weights right, output wrong
    _, w = ref_attention(q, k, v, mask)
    return v.sum(-2, keepdim=True).expand(*w.shape[:-1], v.shape[-1]), w


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (attention_only_out, "returned only out"),
        (attention_swapped, "returned \\(weights, out\\)"),
        (attention_out_transposed, "out .* is transposed"),
        (attention_no_scale, "not scaled"),
        (attention_axis, "wrong axis"),
        (attention_inverted, "inverted"),
        (attention_nan, "NaN"),
        (attention_no_mask_arg, "unexpected keyword argument 'mask'"),
        (attention_values_summed, "weighted sum of the values"),
    ],
)
def test_attention_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.attention(mutant)


def test_checkers_do_not_see_inplace_changes(capsys):
    def scores_inplace(q, k):
        q /= math.sqrt(q.shape[-1])  # modifies its input: allowed, the checker passes clones
        return q @ k.transpose(-2, -1)

    check.attention_scores(scores_inplace)
    assert "✔" in capsys.readouterr().out


def softmax_inverted_and_nan(scores, mask):  # two mistakes: the first case already shows the inversion
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)


def test_inverted_and_nan_names_the_inversion():
    with pytest.raises(ExerciseError, match="contains NaN.*inverted"):
        check.masked_softmax(softmax_inverted_and_nan)


# --------------------------------------------------------------------- shortcuts and odd tensors


def attention_with_torch_sdpa(q, k, v, mask=None):  # used to pass: weights by hand, output by torch
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out, ref_attention(q, k, v, mask)[1]


def attention_with_package_softmax(q, k, v, mask=None):  # used to pass
    import tfmcourse.attention

    w = tfmcourse.attention.masked_softmax(ref_scores(q, k), mask)
    return w @ v, w


def masked_softmax_imported_from_package(scores, mask):
    from tfmcourse.attention import masked_softmax

    return masked_softmax(scores, mask)


def attention_complex(q, k, v, mask=None):  # used to pass: the real part is right
    out, w = ref_attention(q, k, v, mask)
    return out.to(torch.complex128) + 1j, w.to(torch.complex128)


def scores_complex(q, k):
    return ref_scores(q, k).to(torch.complex128) + 0.5j


def scores_meta(q, k):  # used to crash the checker with a RuntimeError
    return torch.empty(*q.shape[:-1], k.shape[-2], device="meta")


def softmax_meta(scores, mask):
    return torch.empty_like(scores, device="meta")


def masked_softmax_returns_filled_scores(scores, mask):  # -inf entries: used to say "largest error inf"
    if mask.all():
        return torch.softmax(scores, dim=-1)
    return scores.masked_fill(~mask, float("-inf"))  # forgot the softmax: -inf where weights should be 0


@pytest.mark.parametrize(
    "checker, mutant, hint",
    [
        (
            check.attention,
            attention_with_torch_sdpa,
            "without torch.nn.functional.scaled_dot_product_attention",
        ),
        (check.attention, attention_with_package_softmax, "without tfmcourse.attention.masked_softmax"),
        (
            check.masked_softmax,
            masked_softmax_imported_from_package,
            "without tfmcourse.attention.masked_softmax",
        ),
        (check.attention, attention_complex, "is a complex tensor"),
        (check.attention_scores, scores_complex, "is a complex tensor"),
        (check.attention_scores, scores_meta, "'meta' device"),
        (check.masked_softmax, softmax_meta, "'meta' device"),
        (check.masked_softmax, masked_softmax_returns_filled_scores, "contains -inf at \\d+ of \\d+ entries"),
    ],
)
def test_shortcuts_and_odd_tensors_fail_with_their_hint(checker, mutant, hint):
    with pytest.raises(ExerciseError, match=hint) as info:
        checker(mutant)
    assert "largest error nan" not in str(info.value) and "largest error inf" not in str(info.value)


def test_forbidden_functions_work_again_after_a_check():
    import tfmcourse.attention

    q = torch.randn(2, 3, 4)
    with pytest.raises(ExerciseError):
        check.attention(attention_with_torch_sdpa)
    out, _ = tfmcourse.attention.scaled_dot_product_attention(q, q, q)
    torch.testing.assert_close(out, torch.nn.functional.scaled_dot_product_attention(q, q, q))


# ------------------------------------------------------------------------------ additive attention


def ref_additive(q, k, v, W_q, W_k, w, mask=None):
    hidden = torch.tanh((q @ W_q).unsqueeze(-2) + (k @ W_k).unsqueeze(-3))  # (..., seq_q, seq_k, h)
    scores = hidden @ w
    weights = torch.softmax(scores, dim=-1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def test_additive_reference_passes_and_equals_the_package(capsys):
    from tfmcourse.attention import AdditiveAttention

    check.additive_attention(ref_additive)
    assert "✔ additive_attention: correct" in capsys.readouterr().out
    module = AdditiveAttention(d_q=3, d_k=5, d_hidden=7).double()
    q, k, v = torch.randn(2, 4, 3).double(), torch.randn(2, 6, 5).double(), torch.randn(2, 6, 2).double()
    with torch.no_grad():
        want = module(q, k, v)
        got = ref_additive(q, k, v, module.w_q.weight.T, module.w_k.weight.T, module.w.weight[0])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_additive_stub_fails():
    with pytest.raises(ExerciseError, match="not implemented"):
        check.additive_attention(stub)


def additive_no_tanh(q, k, v, W_q, W_k, w, mask=None):
    scores = ((q @ W_q).unsqueeze(-2) + (k @ W_k).unsqueeze(-3)) @ w
    weights = torch.softmax(scores, -1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def additive_tanh_each(q, k, v, W_q, W_k, w, mask=None):
    scores = (torch.tanh(q @ W_q).unsqueeze(-2) + torch.tanh(k @ W_k).unsqueeze(-3)) @ w
    weights = torch.softmax(scores, -1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def additive_no_w(q, k, v, W_q, W_k, w, mask=None):
    scores = torch.tanh((q @ W_q).unsqueeze(-2) + (k @ W_k).unsqueeze(-3)).sum(-1)
    weights = torch.softmax(scores, -1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def additive_scaled(q, k, v, W_q, W_k, w, mask=None):
    scores = torch.tanh((q @ W_q).unsqueeze(-2) + (k @ W_k).unsqueeze(-3)) @ w / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores, -1) if mask is None else ref_masked_softmax(scores, mask)
    return weights @ v, weights


def additive_pairs_positionwise(q, k, v, W_q, W_k, w, mask=None):  # adds q_i to k_i only: wrong shape
    n = min(q.shape[-2], k.shape[-2])
    scores = torch.tanh(q[..., :n, :] @ W_q + k[..., :n, :] @ W_k) @ w  # (..., n)
    weights = torch.softmax(scores, -1)
    return weights @ v[..., :n, :], weights


def additive_mask_ignored(q, k, v, W_q, W_k, w, mask=None):
    return ref_additive(q, k, v, W_q, W_k, w)


def additive_inverted(q, k, v, W_q, W_k, w, mask=None):
    return ref_additive(q, k, v, W_q, W_k, w, None if mask is None else ~mask)


def additive_with_module(q, k, v, W_q, W_k, w, mask=None):
    from tfmcourse.attention import AdditiveAttention

    module = AdditiveAttention(W_q.shape[0], W_k.shape[0], W_q.shape[1]).to(q.dtype)
    with torch.no_grad():
        module.w_q.weight.copy_(W_q.T), module.w_k.weight.copy_(W_k.T), module.w.weight.copy_(w[None])
        return module(q, k, v, mask)


def additive_swapped(q, k, v, W_q, W_k, w, mask=None):
    out, weights = ref_additive(q, k, v, W_q, W_k, w, mask)
    return weights, out


@pytest.mark.parametrize(
    "mutant, hint",
    [
        (additive_no_tanh, "Without the tanh"),
        (additive_tanh_each, "ONE tanh"),
        (additive_no_w, "Project the tanh layer with w"),
        (additive_scaled, "not scaled"),
        (additive_pairs_positionwise, "Every query must be combined with every key"),
        (additive_mask_ignored, "right shape but wrong values"),
        (additive_inverted, "inverted"),
        (additive_with_module, "Write it yourself, without tfmcourse.attention.AdditiveAttention"),
        (additive_swapped, "returned \\(weights, out\\)"),
    ],
)
def test_additive_mutants_fail_with_hint(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.additive_attention(mutant)
