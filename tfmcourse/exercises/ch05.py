"""Checkers for the exercises of chapter 5 (the encoder block).

Each checker runs the learner's function on a few small cases (float64, seeded) and compares it with
the reference. When the answer is wrong, it also computes what each common mistake would have given
(activation missing or in the wrong place, norm after the residual instead of before the sublayer,
residual missing, mask ignored, ...) and, if the learner's answer matches one, names that mistake in
the hint::

    from tfmcourse.exercises import ch05 as check
    check.feed_forward(feed_forward)
    check.pre_norm_encoder_layer(pre_norm_encoder_layer)
    check.layer_norm(layer_norm)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from tfmcourse.blocks import EncoderLayer
from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

__all__ = ["feed_forward", "pre_norm_encoder_layer", "layer_norm"]

# ---------------------------------------------------------------------------------------- hints

HINT_NO_ACT = (
    "The activation is missing: without it the two linear layers collapse into one linear map. Apply "
    "ReLU to the hidden layer: torch.relu(x @ w1 + b1) @ w2 + b2."
)
HINT_ACT_AFTER = (
    "The ReLU is applied after the second linear layer: it belongs to the hidden layer, between the two "
    "(relu(x @ w1 + b1) @ w2 + b2), so the output can be negative."
)
HINT_ACT_TWICE = (
    "ReLU is applied twice: only the hidden layer gets it, not the output (relu(x @ w1 + b1) @ w2 + b2)."
)
HINT_GELU = "You used GELU; this exercise asks for the ReLU of the original Transformer: torch.relu."
HINT_OTHER_ACT = "The activation is not ReLU: use torch.relu (max(0, z)) on the hidden layer."
HINT_NO_B1 = "The first bias b1 is missing: the hidden layer is x @ w1 + b1, before the ReLU."
HINT_NO_B2 = "The second bias b2 is missing: add it after the second matrix product (... @ w2 + b2)."
HINT_NO_BIAS = "Both biases are missing: relu(x @ w1 + b1) @ w2 + b2."
HINT_B1_AFTER_ACT = "b1 is added after the ReLU: add it before, relu(x @ w1 + b1)."
HINT_FF_RESIDUAL = (
    "You added the input x to the output: the residual connection belongs to the encoder layer around "
    "the feed-forward network, not to the network itself. Return relu(x @ w1 + b1) @ w2 + b2."
)
HINT_FF_POSITIONS = (
    "Your function is right on (batch, seq, d_model) inputs but not with other leading axes: the network "
    "acts on the last axis only, so use x @ w1 (which broadcasts over any leading axes)."
)

HINT_POST_NORM = (
    "This is post-norm: you normalised after adding the residual, norm(x + sublayer(x)). Pre-norm "
    "normalises the sublayer's input and leaves the residual path alone: x = x + sublayer(norm(x))."
)
HINT_NO_RESIDUAL = (
    "The residual connection is missing: add the sublayer's output to its input, "
    "x = x + self_attn(norm1(x), ...), and the same around the feed-forward network."
)
HINT_NO_RESIDUAL_FF = (
    "The residual connection around the feed-forward network is missing: x = x + ff(norm2(x))."
)
HINT_NO_RESIDUAL_SA = (
    "The residual connection around the self-attention is missing: x = x + self_attn(h, h, h, mask=mask)[0] "
    "with h = norm1(x)."
)
HINT_NORM_RESIDUAL = (
    "The LayerNorm is applied to the residual path too: you replaced x by norm1(x) and then added the "
    "sublayer to it. Keep x as it is and normalise only the sublayer's input: h = norm1(x); "
    "x = x + self_attn(h, h, h, mask=mask)[0]."
)
HINT_NO_MASK = "The mask is ignored: pass it to the self-attention, layer.self_attn(h, h, h, mask=mask)."
HINT_MASK_INVERTED = "The mask sense is inverted: True means 'may attend'; pass the mask as it is, not ~mask."
HINT_SWAPPED_NORMS = (
    "The two LayerNorms are swapped: norm1 goes before the self-attention, norm2 before the feed-forward "
    "network."
)
HINT_ONE_NORM = (
    "You used the same LayerNorm twice: norm1 before the self-attention, norm2 before the feed-forward "
    "network."
)
HINT_NO_FF = "The feed-forward sublayer is missing: after the attention, x = x + layer.ff(layer.norm2(x))."
HINT_NO_SA = (
    "The self-attention sublayer is missing: first x = x + self_attn(h, h, h, mask=mask)[0] with h = "
    "norm1(x)."
)
HINT_PARALLEL = (
    "Both sublayers read the layer's input: the feed-forward network must see the output of the "
    "attention sublayer, x = x + ff(norm2(x)) computed after x = x + self_attn(...)."
)
HINT_FINAL_NORM = (
    "You normalised the layer's output: a pre-norm layer ends with the residual addition. (The final "
    "LayerNorm of a pre-norm model sits once after the whole stack, in Encoder.norm.)"
)
HINT_CALLED_LAYER = (
    "You called the layer itself (or followed layer.norm_first): this layer is post-norm, and the "
    "exercise is to compute the pre-norm layer from its submodules, whatever layer.norm_first says: "
    "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; x = x + layer.ff(layer.norm2(x))."
)
HINT_LAYER_SHORTCUT = (
    "You called the layer itself (layer(x, mask), perhaps after setting layer.norm_first = True): the "
    "exercise is to compute the pre-norm layer from its submodules, so the layer's own forward is "
    "switched off here. h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; "
    "x = x + layer.ff(layer.norm2(x))."
)
HINT_LN_UNBIASED = (
    "You used the unbiased variance (dividing by d - 1): LayerNorm divides by d, "
    "x.var(dim=-1, unbiased=False, keepdim=True) or ((x - mean) ** 2).mean(dim=-1, keepdim=True)."
)
HINT_LN_EPS_OUTSIDE = (
    "eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)."
)
HINT_LN_NO_EPS = "eps is missing: divide by sqrt(var + eps), which keeps a constant row finite."
HINT_LN_NO_CENTER = "The mean is not subtracted: normalise x - mean, then divide by sqrt(var + eps)."
HINT_LN_NO_AFFINE = "The gain and bias are missing: return (x - mean) / sqrt(var + eps) * weight + bias."
HINT_LN_NO_BIAS = "The bias is missing: ... * weight + bias."
HINT_LN_NO_WEIGHT = "The gain (weight) is missing: ... * weight + bias."
HINT_LN_WRONG_AXIS = (
    "You normalised over the wrong axis: LayerNorm normalises each vector over its features, the last "
    "axis (dim=-1, keepdim=True), not over the batch or the positions."
)
HINT_LN_STD = (
    "You divided by the standard deviation torch.std, which is unbiased (d - 1) and has eps outside: "
    "use sqrt(var + eps) with the biased variance."
)
HINT_TUPLE = "Return only the output tensor (batch, seq, d_model), not a tuple."


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


# ------------------------------------------------------------------- references with mistakes


def _ff_variant(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, mistake: str = "") -> Tensor:
    """The feed-forward network ``relu(x @ w1 + b1) @ w2 + b2``, written with one plausible ``mistake``."""
    act = {
        "gelu": F.gelu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "none": lambda z: z,
        "after": lambda z: z,
        "twice": torch.relu,
    }.get(mistake, torch.relu)
    if mistake in ("no_b1", "no_bias"):
        b1 = torch.zeros_like(b1)
    if mistake in ("no_b2", "no_bias"):
        b2 = torch.zeros_like(b2)
    hidden = act(x @ w1) + b1 if mistake == "b1_after" else act(x @ w1 + b1)
    out = hidden @ w2 + b2
    if mistake in ("after", "twice"):
        out = torch.relu(out)
    if mistake == "residual":
        out = out + x
    return out


_FF_MISTAKES = {
    "none": HINT_NO_ACT,
    "after": HINT_ACT_AFTER,
    "twice": HINT_ACT_TWICE,
    "gelu": HINT_GELU,
    "tanh": HINT_OTHER_ACT,
    "sigmoid": HINT_OTHER_ACT,
    "no_bias": HINT_NO_BIAS,
    "no_b1": HINT_NO_B1,
    "no_b2": HINT_NO_B2,
    "b1_after": HINT_B1_AFTER_ACT,
    "residual": HINT_FF_RESIDUAL,
}


def _layer_variant(x: Tensor, layer: EncoderLayer, mask: Tensor | None, mistake: str = "") -> Tensor:
    """A pre-norm encoder layer built from ``layer``'s submodules (eval mode), with one ``mistake``."""
    if mistake == "called_layer":
        if layer.norm_first:
            raise ValueError("same as the reference for a pre-norm layer")
        return layer(x, mask)
    sa = lambda h, m: layer.self_attn(h, h, h, mask=m)[0]  # noqa: E731
    ff, norm1, norm2 = layer.ff, layer.norm1, layer.norm2
    if mistake == "no_mask":
        mask = None
    if mistake == "mask_inverted" and mask is not None:
        mask = ~mask
    if mistake == "swapped_norms":
        norm1, norm2 = norm2, norm1
    if mistake == "one_norm":
        norm2 = norm1
    if mistake == "post_norm":
        x = norm1(x + sa(x, mask))
        return norm2(x + ff(x))
    if mistake == "norm_residual":
        x = norm1(x)
        x = x + sa(x, mask)
        x = norm2(x)
        return x + ff(x)
    if mistake == "parallel":
        return x + sa(norm1(x), mask) + ff(norm2(x))
    residual_sa = 0.0 if mistake in ("no_residual", "no_residual_sa") else x
    if mistake != "no_sa":
        x = residual_sa + sa(norm1(x), mask)
    if mistake != "no_ff":
        residual_ff = 0.0 if mistake in ("no_residual", "no_residual_ff") else x
        x = residual_ff + ff(norm2(x))
    if mistake == "final_norm":
        x = norm2(x)
    return x


_LAYER_MISTAKES = {
    "called_layer": HINT_CALLED_LAYER,
    "post_norm": HINT_POST_NORM,
    "no_residual": HINT_NO_RESIDUAL,
    "no_residual_sa": HINT_NO_RESIDUAL_SA,
    "no_residual_ff": HINT_NO_RESIDUAL_FF,
    "norm_residual": HINT_NORM_RESIDUAL,
    "no_mask": HINT_NO_MASK,
    "mask_inverted": HINT_MASK_INVERTED,
    "swapped_norms": HINT_SWAPPED_NORMS,
    "one_norm": HINT_ONE_NORM,
    "no_ff": HINT_NO_FF,
    "no_sa": HINT_NO_SA,
    "parallel": HINT_PARALLEL,
    "final_norm": HINT_FINAL_NORM,
}


def _test_layer(d_model: int, num_heads: int, d_ff: int, norm_first: bool, seed: int) -> EncoderLayer:
    """A float64 layer in eval mode whose LayerNorms have random gains and biases (so that norm1 and
    norm2 differ and a swapped or missing norm shows)."""
    with torch.random.fork_rng(devices=[]):  # leave the learner's random state alone
        torch.manual_seed(seed)
        layer = EncoderLayer(d_model, num_heads, d_ff, dropout=0.1, norm_first=norm_first).double().eval()
    g = _gen(seed)
    with torch.no_grad():
        for norm in (layer.norm1, layer.norm2):
            norm.weight.copy_(1.0 + 0.5 * _randn(d_model, g=g))
            norm.bias.copy_(0.5 * _randn(d_model, g=g))
    return layer


# -------------------------------------------------------------------------------- checkers


def feed_forward(fn: Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(x, w1, b1, w2, b2) -> relu(x @ w1 + b1) @ w2 + b2``: ``x (..., d_model)``,
    ``w1 (d_model, d_ff)``, ``b1 (d_ff,)``, ``w2 (d_ff, d_model)``, ``b2 (d_model,)``; the output has
    ``x``'s shape."""
    g = _gen(2051)
    cases = []
    for shape, d_ff in [((2, 5, 8), 32), ((3, 6), 24), ((2, 3, 4, 6), 12)]:
        d = shape[-1]
        params = (
            _randn(d, d_ff, g=g, scale=1 / math.sqrt(d)),
            _randn(d_ff, g=g, scale=0.5),
            _randn(d_ff, d, g=g, scale=1 / math.sqrt(d_ff)),
            _randn(d, g=g, scale=0.5),
        )
        cases.append((_randn(*shape, g=g), params))
    for i, (x, (w1, b1, w2, b2)) in enumerate(cases):
        what = f"feed_forward(x of shape {tuple(x.shape)}, w1 {tuple(w1.shape)}, ...)"
        got = run(fn, x, w1, b1, w2, b2)
        want = _ff_variant(x, w1, b1, w2, b2)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"{what} returned a {type(got).__name__}: return one tensor of x's shape.")
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _FF_MISTAKES, lambda m: _ff_variant(x, w1, b1, w2, b2, m))
        if not hint and i > 0:
            hint = HINT_FF_POSITIONS
        _fail(got, want, what, hint or "Compute relu(x @ w1 + b1) @ w2 + b2.")
    passed("feed_forward", f"{len(cases)} cases, 2-D to 4-D inputs")


def _refuse_forward(*args: Any, **kwargs: Any) -> Any:
    raise ExerciseError(HINT_LAYER_SHORTCUT)


def pre_norm_encoder_layer(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(x, layer, mask=None) -> (batch, seq, d_model)``: a pre-norm encoder layer computed
    from ``layer``'s submodules, ``x = x + self_attn(norm1(x))`` then ``x = x + ff(norm2(x))``,
    whatever ``layer.norm_first`` says. ``layer`` is in eval mode (dropout off); ``mask`` is boolean,
    True = may attend, broadcastable to ``(batch, heads, seq, seq)``."""
    g = _gen(2052)
    cases = []
    for name, b, s, d, h, norm_first, mask in [
        ("no mask", 2, 5, 8, 2, True, None),
        ("a causal mask (seq, seq)", 2, 6, 8, 2, True, torch.ones(6, 6, dtype=torch.bool).tril()),
        (
            "a padding mask (batch, 1, 1, seq)",
            2,
            5,
            12,
            3,
            True,
            torch.tensor([[True] * 5, [True, True, True, False, False]]).reshape(2, 1, 1, 5),
        ),
        (
            "a post-norm layer (layer.norm_first=False) and a causal mask",
            3,
            4,
            8,
            4,
            False,
            torch.ones(4, 4, dtype=torch.bool).tril(),
        ),
    ]:
        layer = _test_layer(d, h, 2 * d, norm_first, seed=2052 + len(cases))
        cases.append((name, _randn(b, s, d, g=g), layer, mask))
    for name, x, layer, mask in cases:
        where = f"on the case with {name} (x {tuple(x.shape)})"
        theirs = copy.deepcopy(layer)  # the learner cannot change the layer the reference uses
        theirs.forward = (
            _refuse_forward  # nor call it: setting norm_first = True and calling it is a shortcut
        )
        got = run(fn, x, theirs) if mask is None else run(fn, x, theirs, mask=mask)
        with torch.no_grad():
            want = _layer_variant(x, layer, mask)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(
                f"pre_norm_encoder_layer returned a {type(got).__name__} {where}. {HINT_TUPLE}"
            )
        if isinstance(got, Tensor) and is_close(got.detach(), want):
            continue

        def variant(m: str) -> Tensor:
            with torch.no_grad():
                return _layer_variant(x, layer, mask, m)

        hint = _diagnose(got.detach() if isinstance(got, Tensor) else got, _LAYER_MISTAKES, variant)
        _fail(
            got.detach() if isinstance(got, Tensor) else got,
            want,
            f"pre_norm_encoder_layer {where}",
            hint
            or "h = layer.norm1(x); x = x + layer.self_attn(h, h, h, mask=mask)[0]; "
            "then x = x + layer.ff(layer.norm2(x)).",
        )
    passed(
        "pre_norm_encoder_layer", f"{len(cases)} cases, causal and padding masks, a post-norm layer included"
    )


# ----------------------------------------------------------------------------------- LayerNorm


def _ln_variant(x: Tensor, weight: Tensor, bias: Tensor, eps: float, mistake: str = "") -> Tensor:
    """LayerNorm over the last axis, ``(x - mean) / sqrt(var + eps) * weight + bias``, with one
    ``mistake``."""
    dim = 0 if mistake == "wrong_axis" else -1
    mean = x.mean(dim=dim, keepdim=True)
    centred = x if mistake == "no_center" else x - mean
    var = x.var(dim=dim, keepdim=True, unbiased=mistake in ("unbiased", "std"))
    if mistake in ("eps_outside", "std"):
        normed = centred / (var.sqrt() + eps)
    elif mistake == "no_eps":
        normed = centred / var.sqrt()
    else:
        normed = centred / (var + eps).sqrt()
    if mistake == "no_affine":
        return normed
    if mistake == "no_bias":
        return normed * weight
    if mistake == "no_weight":
        return normed + bias
    return normed * weight + bias


_LN_MISTAKES = {
    "std": HINT_LN_STD,
    "unbiased": HINT_LN_UNBIASED,
    "eps_outside": HINT_LN_EPS_OUTSIDE,
    "no_eps": HINT_LN_NO_EPS,
    "no_center": HINT_LN_NO_CENTER,
    "no_affine": HINT_LN_NO_AFFINE,
    "no_bias": HINT_LN_NO_BIAS,
    "no_weight": HINT_LN_NO_WEIGHT,
    "wrong_axis": HINT_LN_WRONG_AXIS,
}


@checker
def layer_norm(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """Check ``fn(x, weight, bias, eps) -> (x - mean) / sqrt(var + eps) * weight + bias``, with the mean
    and the biased variance over the last axis of ``x (..., d)``; ``weight`` and ``bias`` are ``(d,)``.
    Calling ``torch.nn.functional.layer_norm`` (or ``torch.layer_norm``) is refused."""
    g = _gen(2053)
    cases = []
    for shape, eps, scale in [((3, 6), 0.1, 0.3), ((2, 5, 8), 1e-5, 1.0), ((2, 3, 4, 6), 1e-5, 10.0)]:
        d = shape[-1]
        x = _randn(*shape, g=g, scale=scale) + 3.0 * _randn(*shape[:-1], 1, g=g)  # rows far from mean 0
        cases.append((x, 1.0 + 0.5 * _randn(d, g=g), 0.5 * _randn(d, g=g), eps))
    x0 = cases[1][0].clone()
    x0[0, 0] = 2.5  # a constant row: its variance is 0, only eps keeps it finite
    cases.append((x0, cases[1][1], cases[1][2], 1e-5))
    for i, (x, w, b, eps) in enumerate(cases):
        what = f"layer_norm(x of shape {tuple(x.shape)}, weight {tuple(w.shape)}, bias, eps={eps})"
        want = _ln_variant(x, w, b, eps)
        with forbidden(fn, "torch.nn.functional.layer_norm", "torch.layer_norm"):
            got = run(fn, x.clone(), w.clone(), b.clone(), eps)
        if isinstance(got, (tuple, list)):
            raise ExerciseError(f"{what} returned a {type(got).__name__}: return one tensor of x's shape.")
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _LN_MISTAKES, lambda m: _ln_variant(x, w, b, eps, m))
        if not hint and i == len(cases) - 1:
            hint = HINT_LN_NO_EPS
        _fail(
            got,
            want,
            what,
            hint or "Compute (x - mean) / sqrt(var + eps) * weight + bias over the last axis.",
        )
    passed("layer_norm", f"{len(cases)} cases, 2-D to 4-D inputs, a constant row, the built-in refused")
