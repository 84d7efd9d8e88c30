"""Checkers for the exercises of chapter 12 (ViT: patchify, [CLS] and positions, a ViT forward from its
parts).

Each checker computes its references first, then runs the learner's function (with the package function
it re-implements forbidden) and, when the answer is wrong, names the likely mistake::

    from tfmcourse.exercises import ch12 as check
    check.patchify(patchify)
    check.cls_and_positions(cls_and_positions)
    check.vit_forward(vit_forward)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

import tfmcourse.models.vit  # noqa: F401  (imported before `forbidden` patches anything)
from tfmcourse.exercises import ExerciseError, checker, forbidden, is_close, passed, run
from tfmcourse.exercises import diagnose as _diagnose
from tfmcourse.exercises import fail as _fail

__all__ = ["patchify", "cls_and_positions", "vit_forward"]

# ---------------------------------------------------------------------------------------- hints

HINT_PATCH_ORDER = (
    "The patches come out column by column: number them row by row (reading order), the patch row h "
    "before the patch column w: 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'."
)
HINT_CHANNELS_FIRST = (
    "Inside a patch the channels come first: flatten them innermost, (p1 p2 c), so that one pixel's "
    "colours are next to each other (the layout of Hugging Face's patch convolution after our rearrange)."
)
HINT_PIXEL_ORDER = (
    "Inside a patch the pixels are flattened column by column: flatten row by row, (p1 p2 c) with p1 "
    "(the row inside the patch) first."
)
HINT_PLAIN_RESHAPE = (
    "A plain reshape/view cuts the image into strips of consecutive pixels, not into square patches: "
    "the pixels of one patch are not next to each other in memory. Split height and width, then "
    "permute (einops: 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)')."
)
HINT_CLS_LAST = (
    "[CLS] is put after the patches: it goes in front, at position 0 (torch.cat([cls, patches], dim=1))."
)
HINT_CLS_NO_POSITION = (
    "[CLS] gets no position vector (or the patches get the wrong rows): add all 1 + patches rows of "
    "pos_embed to the sequence *after* putting [CLS] in front."
)
HINT_NO_POSITIONS = (
    "The position embeddings are not added: add pos_embed (one row per position) to the sequence."
)
HINT_NO_CLS = "[CLS] is missing: put cls_token, expanded to (batch, 1, d_model), in front of the patches."
HINT_CLS_ADDED = (
    "cls_token was *added* to every patch: it is an extra vector put in front, making 1 + patches positions."
)

HINT_NO_FINAL_NORM = "The final LayerNorm is missing: apply vit.norm after the last layer."
HINT_NORM_FIRST = "vit.norm is applied before the layers: it is the *final* LayerNorm, after the last layer."
HINT_NO_LAYERS = (
    "The encoder layers are skipped: run the sequence through every layer of vit.layers, in order."
)
HINT_ONE_LAYER = "Only one layer was applied: run the sequence through every layer of vit.layers, in order."
HINT_ONLY_CLS = "Return the whole sequence (batch, 1 + patches, d_model), not only the [CLS] vector."
HINT_FWD_NO_POS = (
    "The position embeddings are not added: vit.pos_embed goes onto [CLS] and the patch vectors."
)
HINT_FWD_NO_CLS = "[CLS] is missing: put vit.cls_token in front of the embedded patches."
HINT_FWD_RAW_PATCHES = (
    "The patches are not embedded: apply vit.patch_embed (a linear layer) to the flattened patches."
)


# --------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, g: torch.Generator, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


@contextmanager
def _forbidden_methods(fn: Callable[..., Any], obj: nn.Module, *names: str) -> Iterator[None]:
    """Within the block, calling ``obj.name()`` raises the "write it yourself" hint (an instance attribute
    shadows the method, so ``obj(...)``, which calls ``obj.forward``, is refused too)."""

    def refuser(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise ExerciseError(
                f"Write it yourself, without vit.{name}: this exercise builds what that method "
                f"does from the parts. (`{getattr(fn, '__name__', 'your function')}` called it.)"
            )

        return refuse

    for name in names:
        object.__setattr__(obj, name, refuser(name))
    try:
        yield
    finally:
        for name in names:
            obj.__dict__.pop(name, None)


# ------------------------------------------------------------------------------------ 1. patchify


def _patchify_variant(pixels: Tensor, p: int, mistake: str = "") -> Tensor:
    pattern = {
        "patch_order": "b c (h p1) (w p2) -> b (w h) (p1 p2 c)",
        "channels_first": "b c (h p1) (w p2) -> b (h w) (c p1 p2)",
        "pixel_order": "b c (h p1) (w p2) -> b (h w) (p2 p1 c)",
    }.get(mistake, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)")
    if mistake == "reshape":
        b, c, hh, ww = pixels.shape
        return pixels.reshape(b, (hh // p) * (ww // p), p * p * c)
    return rearrange(pixels, pattern, p1=p, p2=p)


_PATCHIFY_MISTAKES = {
    "patch_order": HINT_PATCH_ORDER,
    "channels_first": HINT_CHANNELS_FIRST,
    "pixel_order": HINT_PIXEL_ORDER,
    "reshape": HINT_PLAIN_RESHAPE,
}


@checker
def patchify(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(pixels, patch_size) -> (batch, patches, patch_size**2 * channels)``: non-overlapping
    square patches in reading order, each flattened row by row with the channels innermost."""
    g = _gen(2121)
    cases = [
        (_randn(2, 1, 8, 8, g=g), 2),
        (_randn(3, 3, 6, 6, g=g), 3),
        (_randn(1, 3, 8, 8, g=g), 4),
        (_randn(2, 2, 4, 4, g=g), 1),
    ]
    wants = [_patchify_variant(x, p) for x, p in cases]
    for (pixels, p), want in zip(cases, wants):
        where = f"patchify(pixels {tuple(pixels.shape)}, patch_size={p})"
        with forbidden(fn, "tfmcourse.models.vit.patchify"):
            got = run(fn, pixels, p)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _PATCHIFY_MISTAKES, lambda m: _patchify_variant(pixels, p, m))
        _fail(
            got,
            want,
            where,
            hint or "rearrange(pixels, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=p, p2=p).",
        )
    passed("patchify", f"{len(cases)} cases, 1 to 3 channels")


# ------------------------------------------------------------------------ 2. [CLS] and positions


def _cls_variant(x: Tensor, cls: Tensor, pos: Tensor, mistake: str = "") -> Tensor:
    b, n, d = x.shape
    cls_row = cls.reshape(1, 1, d).expand(b, 1, d)
    if mistake == "no_cls":
        return x + pos[1:]
    if mistake == "cls_added":
        return x + cls.reshape(1, 1, d) + pos[1:]
    if mistake == "cls_last":
        return torch.cat([x, cls_row], dim=1) + pos
    if mistake == "cls_no_position":
        return torch.cat([cls_row, x + pos[1:]], dim=1)
    seq = torch.cat([cls_row, x], dim=1)
    return seq if mistake == "no_positions" else seq + pos


_CLS_MISTAKES = {
    "cls_last": HINT_CLS_LAST,
    "cls_no_position": HINT_CLS_NO_POSITION,
    "no_positions": HINT_NO_POSITIONS,
    "no_cls": HINT_NO_CLS,
    "cls_added": HINT_CLS_ADDED,
}


@checker
def cls_and_positions(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(patch_vectors, cls_token, pos_embed) -> (batch, 1 + patches, d_model)``: ``cls_token``
    ``(d_model,)`` put in front of every sequence of embedded patches ``(batch, patches, d_model)``,
    then ``pos_embed`` ``(1 + patches, d_model)`` added, row 0 to ``[CLS]``."""
    g = _gen(2122)
    cases = [
        (_randn(2, 4, 6, g=g), _randn(6, g=g), _randn(5, 6, g=g)),
        (_randn(3, 16, 8, g=g), _randn(8, g=g), _randn(17, 8, g=g)),
        (_randn(1, 1, 4, g=g), _randn(4, g=g), _randn(2, 4, g=g)),
    ]
    wants = [_cls_variant(*c) for c in cases]
    for case, want in zip(cases, wants):
        x, cls, pos = case
        where = (
            f"cls_and_positions(patch_vectors {tuple(x.shape)}, cls_token {tuple(cls.shape)}, "
            f"pos_embed {tuple(pos.shape)})"
        )
        got = run(fn, *case)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        hint = _diagnose(got, _CLS_MISTAKES, lambda m: _cls_variant(*case, mistake=m))
        _fail(
            got,
            want,
            where,
            hint or "torch.cat([cls_token expanded to (batch, 1, d), patch_vectors], dim=1) + pos_embed.",
        )
    passed("cls_and_positions", f"{len(cases)} cases")


# ------------------------------------------------------------------- 3. a ViT forward from parts


def _forward_variant(vit: nn.Module, pixels: Tensor, mistake: str = "") -> Tensor:
    c = vit.config
    patches = rearrange(pixels, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=c.patch_size, p2=c.patch_size)
    x = vit.patch_embed(patches)
    b = x.shape[0]
    cls = vit.cls_token.reshape(1, 1, -1).expand(b, 1, -1)
    if mistake == "no_cls":
        x = x + vit.pos_embed[1:]
    else:
        x = torch.cat([cls, x], dim=1)
        x = x if mistake == "no_pos" else x + vit.pos_embed
    if mistake == "norm_first":
        x = vit.norm(x)
    layers = {"no_layers": [], "one_layer": list(vit.layers)[:1]}.get(mistake, list(vit.layers))
    for layer in layers:
        x = layer(x)
    if mistake not in ("no_norm", "norm_first"):
        x = vit.norm(x)
    return x[:, 0] if mistake == "only_cls" else x


_FORWARD_MISTAKES = {
    "no_norm": HINT_NO_FINAL_NORM,
    "norm_first": HINT_NORM_FIRST,
    "no_layers": HINT_NO_LAYERS,
    "one_layer": HINT_ONE_LAYER,
    "only_cls": HINT_ONLY_CLS,
    "no_pos": HINT_FWD_NO_POS,
    "no_cls": HINT_FWD_NO_CLS,
}


@checker
def vit_forward(fn: Callable[[Tensor, nn.Module], Tensor]) -> None:
    """Check ``fn(pixels, vit) -> (batch, 1 + patches, d_model)``: a whole ViT forward written from the
    parts of ``vit`` (a :class:`tfmcourse.models.vit.ViT`): patchify, ``vit.patch_embed``, ``[CLS]`` in
    front, ``vit.pos_embed`` added, every layer of ``vit.layers``, then ``vit.norm``; without calling
    ``vit(...)``, ``vit.forward`` or ``vit.embed``."""
    from tfmcourse.models.vit import ViT, ViTConfig

    torch.manual_seed(2123)
    cases = []
    for size, p, ch in ((8, 2, 1), (6, 3, 3)):
        vit = (
            ViT(ViTConfig(image_size=size, patch_size=p, channels=ch, d_model=16, num_layers=2, num_heads=2))
            .double()
            .eval()
        )
        with torch.no_grad():  # larger than the init so that every part visibly matters
            vit.cls_token.normal_()
            vit.pos_embed.normal_()
        cases.append((vit, _randn(3, ch, size, size, g=_gen(2124 + p))))
    with torch.no_grad():
        wants = [_forward_variant(vit, x) for vit, x in cases]
    for (vit, pixels), want in zip(cases, wants):
        mine = copy.deepcopy(vit)
        where = f"vit_forward(pixels {tuple(pixels.shape)}, vit with patch_size={vit.config.patch_size})"
        with torch.no_grad(), _forbidden_methods(fn, mine, "forward", "embed"):
            got = run(fn, pixels, mine)
        if isinstance(got, Tensor) and is_close(got, want):
            continue
        with torch.no_grad():
            hint = _diagnose(got, _FORWARD_MISTAKES, lambda m: _forward_variant(vit, pixels, m))
        _fail(
            got,
            want,
            where,
            hint
            or "patchify -> vit.patch_embed -> [CLS] in front -> + vit.pos_embed -> "
            "each layer of vit.layers -> vit.norm.",
        )
    passed("vit_forward", "two ViTs, 1 and 3 channels")
