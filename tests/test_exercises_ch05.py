"""Tests of the chapter 5 exercise checkers: the reference passes, the stub and the mutants fail with
the hint that names their mistake."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch05 as check

# ----------------------------------------------------------------------------- references


def ref_feed_forward(x, w1, b1, w2, b2):
    return torch.relu(x @ w1 + b1) @ w2 + b2


def ref_pre_norm_encoder_layer(x, layer, mask=None):
    h = layer.norm1(x)
    x = x + layer.dropout1(layer.self_attn(h, h, h, mask=mask)[0])
    return x + layer.dropout2(layer.ff(layer.norm2(x)))


def ref_layer_norm(x, weight, bias, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.feed_forward, ref_feed_forward),
    (check.pre_norm_encoder_layer, ref_pre_norm_encoder_layer),
    (check.layer_norm, ref_layer_norm),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and "correct" in out and fn.__name__.removeprefix("ref_") in out


def test_other_correct_solutions_pass(capsys):
    """Solutions written another way pass too: F.linear with transposed weights, and a layer that
    calls the package's FeedForward through its linear layers."""

    def ff(x, w1, b1, w2, b2):
        return F.linear(F.relu(F.linear(x, w1.T, b1)), w2.T, b2)

    def layer_fn(x, layer, mask=None):
        a = layer.norm1(x)
        x = layer.self_attn(a, a, a, mask, need_weights=True)[0] + x
        z = layer.norm2(x)
        return x + layer.ff.linear2(torch.relu(layer.ff.linear1(z)))

    check.feed_forward(ff)
    check.pre_norm_encoder_layer(layer_fn)
    assert capsys.readouterr().out.count("✔") == 2


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


# ------------------------------------------------------------------------------------ mutants

FF_MUTANTS = {
    "no_activation": (lambda x, w1, b1, w2, b2: (x @ w1 + b1) @ w2 + b2, "activation is missing"),
    "activation_after_second_linear": (
        lambda x, w1, b1, w2, b2: torch.relu((x @ w1 + b1) @ w2 + b2),
        "after the second linear",
    ),
    "activation_twice": (lambda x, w1, b1, w2, b2: torch.relu(ref_feed_forward(x, w1, b1, w2, b2)), "twice"),
    "gelu": (lambda x, w1, b1, w2, b2: F.gelu(x @ w1 + b1) @ w2 + b2, "GELU"),
    "sigmoid": (lambda x, w1, b1, w2, b2: torch.sigmoid(x @ w1 + b1) @ w2 + b2, "not ReLU"),
    "no_b2": (lambda x, w1, b1, w2, b2: torch.relu(x @ w1 + b1) @ w2, "second bias"),
    "no_biases": (lambda x, w1, b1, w2, b2: torch.relu(x @ w1) @ w2, "Both biases"),
    "b1_after_relu": (lambda x, w1, b1, w2, b2: (torch.relu(x @ w1) + b1) @ w2 + b2, "after the ReLU"),
    "adds_residual": (
        lambda x, w1, b1, w2, b2: x + ref_feed_forward(x, w1, b1, w2, b2),
        "residual connection",
    ),
    "only_3d": (
        lambda x, w1, b1, w2, b2: (
            torch.einsum("bsd,df->bsf", torch.relu(torch.einsum("bsd,df->bsf", x, w1) + b1), w2) + b2
        ),
        "raised",
    ),
    "returns_tuple": (lambda *a: (ref_feed_forward(*a), None), "returned a tuple"),
}


@pytest.mark.parametrize("name", FF_MUTANTS)
def test_feed_forward_mutants_fail_with_their_hint(name):
    fn, hint = FF_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.feed_forward(fn)


def _sa(layer, h, mask):
    return layer.self_attn(h, h, h, mask=mask)[0]


def _post_norm(x, layer, mask=None):
    x = layer.norm1(x + _sa(layer, x, mask))
    return layer.norm2(x + layer.ff(x))


def _no_residual(x, layer, mask=None):
    x = _sa(layer, layer.norm1(x), mask)
    return layer.ff(layer.norm2(x))


def _no_residual_ff(x, layer, mask=None):
    x = x + _sa(layer, layer.norm1(x), mask)
    return layer.ff(layer.norm2(x))


def _norm_on_residual(x, layer, mask=None):
    x = layer.norm1(x)
    x = x + _sa(layer, x, mask)
    x = layer.norm2(x)
    return x + layer.ff(x)


def _mask_ignored(x, layer, mask=None):
    return ref_pre_norm_encoder_layer(x, layer)


def _mask_inverted(x, layer, mask=None):
    return ref_pre_norm_encoder_layer(x, layer, None if mask is None else ~mask)


def _swapped_norms(x, layer, mask=None):
    x = x + _sa(layer, layer.norm2(x), mask)
    return x + layer.ff(layer.norm1(x))


def _no_ff(x, layer, mask=None):
    return x + _sa(layer, layer.norm1(x), mask)


def _parallel(x, layer, mask=None):
    return x + _sa(layer, layer.norm1(x), mask) + layer.ff(layer.norm2(x))


def _calls_layer(x, layer, mask=None):
    return layer(x, mask)


def _norm_first_shortcut(x, layer, mask=None):
    layer.norm_first = True  # passed before issue 14: the layer then computes the pre-norm answer itself
    return layer(x, mask)


def _final_norm(x, layer, mask=None):
    return layer.norm2(ref_pre_norm_encoder_layer(x, layer, mask))


def _returns_tuple(x, layer, mask=None):
    return ref_pre_norm_encoder_layer(x, layer, mask), None


def _forgets_index(x, layer, mask=None):
    h = layer.norm1(x)
    return x + layer.self_attn(h, h, h, mask=mask)  # a tuple: adding it to a tensor raises


LAYER_MUTANTS = {
    "post_norm": (_post_norm, "This is post-norm"),
    "no_residual": (_no_residual, "residual connection is missing"),
    "no_residual_ff": (_no_residual_ff, "around the feed-forward network is missing"),
    "norm_on_residual": (_norm_on_residual, "applied to the residual path"),
    "mask_ignored": (_mask_ignored, "mask is ignored"),
    "mask_inverted": (_mask_inverted, "mask sense is inverted"),
    "swapped_norms": (_swapped_norms, "swapped"),
    "no_ff": (_no_ff, "feed-forward sublayer is missing"),
    "parallel": (_parallel, "Both sublayers read the layer's input"),
    "calls_layer": (_calls_layer, "called the layer itself"),
    "norm_first_shortcut": (_norm_first_shortcut, "perhaps after setting layer.norm_first = True"),
    "final_norm": (_final_norm, "normalised the layer's output"),
    "returns_tuple": (_returns_tuple, "not a tuple"),
    "forgets_index": (_forgets_index, "raised TypeError"),
}


@pytest.mark.parametrize("name", LAYER_MUTANTS)
def test_layer_mutants_fail_with_their_hint(name):
    fn, hint = LAYER_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.pre_norm_encoder_layer(fn)


def test_checker_does_not_let_the_learner_change_the_reference_layer(capsys):
    """A function that zeroes the layer's weights must not make the reference agree with it."""

    def vandal(x, layer, mask=None):
        with torch.no_grad():
            for p in layer.parameters():
                p.zero_()
        return ref_pre_norm_encoder_layer(x, layer, mask)

    with pytest.raises(ExerciseError):
        check.pre_norm_encoder_layer(vandal)


def test_checkers_do_not_depend_on_the_global_seed(capsys):
    torch.manual_seed(123)
    check.pre_norm_encoder_layer(ref_pre_norm_encoder_layer)
    torch.manual_seed(7)
    check.feed_forward(ref_feed_forward)
    assert capsys.readouterr().out.count("✔") == 2


def test_checkers_leave_the_global_random_state_alone(capsys):
    torch.manual_seed(5)
    want = torch.rand(3)
    torch.manual_seed(5)
    check.pre_norm_encoder_layer(ref_pre_norm_encoder_layer)
    check.feed_forward(ref_feed_forward)
    assert torch.equal(torch.rand(3), want)


def _ln(x, w, b, eps, dim=-1, unbiased=False, eps_outside=False, center=True):
    mean = x.mean(dim=dim, keepdim=True)
    c = x - mean if center else x
    var = x.var(dim=dim, keepdim=True, unbiased=unbiased)
    return (c / (var.sqrt() + eps) if eps_outside else c / torch.sqrt(var + eps)) * w + b


LN_MUTANTS = {
    "unbiased_variance": (lambda x, w, b, eps: _ln(x, w, b, eps, unbiased=True), "unbiased variance"),
    "torch_std": (
        lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + eps) * w + b,
        "torch.std",
    ),
    "eps_outside": (lambda x, w, b, eps: _ln(x, w, b, eps, eps_outside=True), "inside the square root"),
    "no_eps": (lambda x, w, b, eps: _ln(x, w, b, 0.0), "eps is missing"),
    "not_centred": (lambda x, w, b, eps: _ln(x, w, b, eps, center=False), "mean is not subtracted"),
    "no_affine": (lambda x, w, b, eps: _ln(x, 1.0, 0.0, eps), "gain and bias are missing"),
    "no_bias": (lambda x, w, b, eps: _ln(x, w, 0.0, eps), "bias is missing"),
    "wrong_axis": (lambda x, w, b, eps: _ln(x, w, b, eps, dim=0), "wrong axis"),
    "builtin": (
        lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps),
        "without torch.nn.functional.layer_norm",
    ),
    "builtin_module": (
        lambda x, w, b, eps: torch.layer_norm(x, x.shape[-1:], w, b, eps),
        "Write it yourself",
    ),
    "returns_tuple": (lambda *a: (ref_layer_norm(*a), None), "returned a tuple"),
}


@pytest.mark.parametrize("name", LN_MUTANTS)
def test_layer_norm_mutants_fail_with_their_hint(name):
    fn, hint = LN_MUTANTS[name]
    with pytest.raises(ExerciseError, match=hint):
        check.layer_norm(fn)


def test_layer_norm_other_correct_solutions_pass(capsys):
    def with_var(x, w, b, eps):
        return (x - x.mean(-1, keepdim=True)) * torch.rsqrt(
            x.var(-1, unbiased=False, keepdim=True) + eps
        ) * w + b

    check.layer_norm(with_var)
    assert "✔" in capsys.readouterr().out


def test_layer_norm_checker_leaves_the_random_state_alone():
    torch.manual_seed(5)
    want = torch.rand(3)
    torch.manual_seed(5)
    check.layer_norm(ref_layer_norm)
    assert torch.equal(torch.rand(3), want)
