"""Tests of the chapter 12 exercise checkers: the references pass; the stub, the shortcuts and the
mutants fail, each with the hint that names its mistake."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from tfmcourse.exercises import ExerciseError
from tfmcourse.exercises import ch12 as check

# ----------------------------------------------------------------------------- references


def ref_patchify(pixels, patch_size):
    return rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size)


def ref_cls_and_positions(patch_vectors, cls_token, pos_embed):
    cls = cls_token.expand(patch_vectors.shape[0], 1, -1)
    return torch.cat([cls, patch_vectors], dim=1) + pos_embed


def ref_vit_forward(pixels, vit):
    p = vit.config.patch_size
    x = vit.patch_embed(rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p, p2=p))
    x = torch.cat([vit.cls_token.expand(x.shape[0], 1, -1), x], dim=1) + vit.pos_embed
    for layer in vit.layers:
        x = layer(x)
    return vit.norm(x)


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write your solution here")


CHECKERS = [
    (check.patchify, ref_patchify),
    (check.cls_and_positions, ref_cls_and_positions),
    (check.vit_forward, ref_vit_forward),
]


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_reference_passes(checker, fn, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert "✔" in out and fn.__name__.removeprefix("ref_") in out


@pytest.mark.parametrize("checker", [c for c, _ in CHECKERS])
def test_stub_fails(checker):
    with pytest.raises(ExerciseError, match="not implemented"):
        checker(stub)


@pytest.mark.parametrize("checker, fn", CHECKERS)
def test_checker_keeps_the_random_state(checker, fn):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    checker(fn)
    assert torch.equal(torch.get_rng_state(), before)


# ------------------------------------------------------------------------------------ 1. patchify


def _reshape(pixels, p):
    b, c, h, w = pixels.shape
    return pixels.reshape(b, (h // p) * (w // p), p * p * c)


PATCHIFY_MUTANTS = [
    (lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (w h) (p1 p2 c)", p1=p, p2=p), "column by column"),
    (lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p), "channels come first"),
    (
        lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (h w) (p2 p1 c)", p1=p, p2=p),
        "pixels are flattened column",
    ),
    (_reshape, "plain reshape"),
    (lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b h w (p1 p2 c)", p1=p, p2=p), "shape"),
]


@pytest.mark.parametrize("mutant, hint", PATCHIFY_MUTANTS)
def test_patchify_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.patchify(mutant)


def test_patchify_refuses_the_package():
    def shortcut(pixels, patch_size):
        from tfmcourse.models.vit import patchify

        return patchify(pixels, patch_size)

    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.patchify(shortcut)


def test_another_correct_patchify_passes(capsys):
    def with_unfold(pixels, p):  # torch's unfold gives (c p1 p2): reorder to (p1 p2 c)
        cols = torch.nn.functional.unfold(pixels, kernel_size=p, stride=p)  # (b, c*p*p, L)
        b, _, n = cols.shape
        return cols.reshape(b, pixels.shape[1], p * p, n).permute(0, 3, 2, 1).reshape(b, n, -1)

    check.patchify(with_unfold)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------ 2. [CLS] and positions


def _cls(x, cls, pos, how):
    row = cls.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
    if how == "last":
        return torch.cat([x, row], 1) + pos
    if how == "no_pos_cls":
        return torch.cat([row, x + pos[1:]], 1)
    if how == "no_pos":
        return torch.cat([row, x], 1)
    if how == "no_cls":
        return x + pos[1:]
    if how == "added":
        return x + cls + pos[1:]
    raise ValueError(how)


CLS_MUTANTS = [
    (lambda x, c, p: _cls(x, c, p, "last"), "goes in front"),
    (lambda x, c, p: _cls(x, c, p, "no_pos_cls"), "gets no position"),
    (lambda x, c, p: _cls(x, c, p, "no_pos"), "not added"),
    (lambda x, c, p: _cls(x, c, p, "no_cls"), "missing|shape"),
    (lambda x, c, p: _cls(x, c, p, "added"), "added\\* to every patch|shape"),
]


@pytest.mark.parametrize("mutant, hint", CLS_MUTANTS)
def test_cls_and_positions_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.cls_and_positions(mutant)


# ------------------------------------------------------------------- 3. a ViT forward from parts


def _fwd(pixels, vit, how):
    p = vit.config.patch_size
    x = vit.patch_embed(rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p, p2=p))
    x = torch.cat([vit.cls_token.expand(x.shape[0], 1, -1), x], dim=1)
    if how != "no_pos":
        x = x + vit.pos_embed
    if how == "norm_first":
        x = vit.norm(x)
    layers = [] if how == "no_layers" else list(vit.layers)[:1] if how == "one" else vit.layers
    for layer in layers:
        x = layer(x)
    if how not in ("no_norm", "norm_first"):
        x = vit.norm(x)
    return x[:, 0] if how == "only_cls" else x


FORWARD_MUTANTS = [
    (lambda x, v: _fwd(x, v, "no_norm"), "final LayerNorm is missing"),
    (lambda x, v: _fwd(x, v, "norm_first"), "before the layers"),
    (lambda x, v: _fwd(x, v, "no_layers"), "layers are skipped"),
    (lambda x, v: _fwd(x, v, "one"), "Only one layer"),
    (lambda x, v: _fwd(x, v, "only_cls"), "shape"),
    (lambda x, v: _fwd(x, v, "no_pos"), "position embeddings are not added"),
]


@pytest.mark.parametrize("mutant, hint", FORWARD_MUTANTS)
def test_vit_forward_mutants(mutant, hint):
    with pytest.raises(ExerciseError, match=hint):
        check.vit_forward(mutant)


@pytest.mark.parametrize(
    "shortcut",
    [lambda x, v: v(x), lambda x, v: v.forward(x), lambda x, v: v.norm(v.layers[1](v.layers[0](v.embed(x))))],
)
def test_vit_forward_refuses_the_model_itself(shortcut):
    with pytest.raises(ExerciseError, match="Write it yourself"):
        check.vit_forward(shortcut)


def test_vit_forward_leaves_the_checkers_model_alone():
    def vandal(pixels, vit):  # changes the model it is given: the reference must not see that
        with torch.no_grad():
            vit.pos_embed.zero_()
        return ref_vit_forward(pixels, vit)

    with pytest.raises(ExerciseError, match="position embeddings are not added"):
        check.vit_forward(vandal)
