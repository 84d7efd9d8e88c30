"""Checkers for the exercises of chapter 13 (CLIP).

- :func:`clip_loss`: the symmetric contrastive (InfoNCE) loss from image and text features and
  ``logit_scale``;
- :func:`zero_shot_classify`: classify images with the two encoders and one caption per class;
- :func:`eot_pool`: read each text at its first end-of-text token.

Each checker computes its references first, runs the learner's function with the package's own answer
forbidden, and recognises the common mistakes (features not normalised, one direction only, the scale
used as a temperature, the last position instead of the EOT, ...)::

    from tfmcourse.exercises import ch13 as check
    check.clip_loss(clip_loss)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from tfmcourse.exercises import (
    ExerciseError,
    checker,
    diagnose,
    expect_shape,
    fail,
    forbidden,
    is_close,
    passed,
    run,
)

__all__ = ["clip_loss", "zero_shot_classify", "eot_pool"]

_FORBID_LOSS = ("tfmcourse.models.clip.contrastive_loss", "tfmcourse.models.clip.clip_loss")

# ------------------------------------------------------------------------------------ hints

HINT_LOSS_NOT_SCALAR = "Return one number: the mean of the two cross-entropies, a 0-dimensional tensor."
HINT_LOSS_NO_NORM = (
    "The features are not normalised: divide each image and each text feature by its length (norm over the "
    "last axis) before the dot products, so that the similarity is a cosine."
)
HINT_LOSS_ONE_WAY_IMAGE = (
    "Only one direction: you have the image-to-text cross-entropy (rows); CLIP's loss is the mean of it and "
    "the text-to-image one (the columns: cross-entropy of the transposed logits)."
)
HINT_LOSS_ONE_WAY_TEXT = (
    "Only one direction: you have the text-to-image cross-entropy (columns); CLIP's loss is the mean of it "
    "and "
    "the image-to-text one (the rows)."
)
HINT_LOSS_SUM = "The two cross-entropies are added: CLIP takes their mean, (loss_images + loss_texts) / 2."
HINT_LOSS_SCALE_RAW = (
    "logit_scale is the log of the scale: multiply the cosines by logit_scale.exp(), not by logit_scale."
)
HINT_LOSS_SCALE_DIVIDE = (
    "The cosines are divided by the scale: logit_scale = log(1 / temperature), so multiply them by "
    "logit_scale.exp() (the same as dividing by the temperature)."
)
HINT_LOSS_NO_SCALE = (
    "The cosines are not scaled: multiply them by logit_scale.exp() before the cross-entropies."
)
HINT_LOSS_SUM_REDUCTION = (
    "The cross-entropies are summed over the batch: average them over the pairs (F.cross_entropy's default)."
)
HINT_LOSS = (
    "Normalise both feature sets, logits = logit_scale.exp() * images @ texts.T, targets 0..n-1, and average "
    "the cross-entropies of the rows and of the columns."
)

HINT_ZS_TYPE = "Return the predicted class of every image: an integer tensor of shape (n_images,)."
HINT_ZS_TEXT_NORM = (
    "The text features are not normalised: a caption whose feature is longer would win for every image. "
    "Divide each text feature by its norm (the image's norm does not change which class wins, but it is "
    "good practice too)."
)
HINT_ZS_ARGMIN = (
    "You picked the least similar caption: the class is the one with the largest cosine similarity."
)
HINT_ZS_SOFTMAX_IMAGES = (
    "A softmax over the images (axis 0) changes which class wins: for each image compare its similarities "
    "with the classes (one row), with no normalisation across images."
)
HINT_ZS_WRONG_AXIS = (
    "The argmax is over the wrong axis: the similarity matrix is (n_images, n_classes); take the argmax over "
    "the classes (dim=1), one answer per image."
)
HINT_ZS = (
    "Encode the images and the class captions, normalise both, take the cosine similarity matrix "
    "(n_images, n_classes) and its argmax over the classes."
)

HINT_EOT_LAST = (
    "You read every text at its last position, which is padding for the shorter texts: read it at the first "
    "position where ids == eot_id."
)
HINT_EOT_ARGMAX = (
    "You read the text at the largest id (ids.argmax), the original CLIP's shortcut, which works only when "
    "the EOT token has the largest id in the vocabulary. Find the first position where ids == eot_id."
)
HINT_EOT_MEAN = "You averaged over the tokens: CLIP reads the one output vector at the end-of-text token."
HINT_EOT_FIRST = (
    "You read the first position (the start token), which has seen nothing of the text in a causal model."
)
HINT_EOT_LAST_EOT = (
    "A text with two EOT tokens must be read at the first one (everything after it is not part of the text)."
)
HINT_EOT = "For each row, find the first position where ids == eot_id and take states[row, that position]."


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------ clip_loss


def _loss_variant(img: Tensor, txt: Tensor, logit_scale: Tensor, mistake: str = "") -> Tensor:
    if mistake != "no_norm":
        img = img / img.norm(dim=-1, keepdim=True)
        txt = txt / txt.norm(dim=-1, keepdim=True)
    cos = img @ txt.T
    scale = {"scale_raw": logit_scale, "scale_divide": 1 / logit_scale.exp(), "no_scale": torch.ones(())}
    logits = scale.get(mistake, logit_scale.exp()) * cos
    t = torch.arange(len(img))
    reduction = "sum" if mistake == "sum_reduction" else "mean"
    rows = F.cross_entropy(logits, t, reduction=reduction)
    cols = F.cross_entropy(logits.T, t, reduction=reduction)
    if mistake == "one_way_image":
        return rows
    if mistake == "one_way_text":
        return cols
    if mistake == "sum":
        return rows + cols
    return (rows + cols) / 2


_LOSS_MISTAKES = {
    "no_norm": HINT_LOSS_NO_NORM,
    "one_way_image": HINT_LOSS_ONE_WAY_IMAGE,
    "one_way_text": HINT_LOSS_ONE_WAY_TEXT,
    "sum": HINT_LOSS_SUM,
    "scale_raw": HINT_LOSS_SCALE_RAW,
    "scale_divide": HINT_LOSS_SCALE_DIVIDE,
    "no_scale": HINT_LOSS_NO_SCALE,
    "sum_reduction": HINT_LOSS_SUM_REDUCTION,
}


@checker
def clip_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(image_features (n, d), text_features (n, d), logit_scale ()) -> scalar``: CLIP's symmetric
    InfoNCE loss; image ``i`` and text ``i`` are a pair."""
    g = _gen(1313)
    cases = []
    for n, d, scale in ((6, 8, 2.0), (5, 4, 1.2), (7, 16, 3.0)):
        img = torch.randn(n, d, generator=g, dtype=torch.float64) * (
            0.5 + 2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
        )
        txt = torch.randn(n, d, generator=g, dtype=torch.float64) * (
            0.5 + 2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
        )
        txt[: n // 2] += 0.8 * img[: n // 2]  # some pairs already close, so the two directions differ
        cases.append((img, txt, torch.tensor(scale, dtype=torch.float64)))
    wants = [_loss_variant(*c) for c in cases]
    for (img, txt, scale), want in zip(cases, wants):
        with forbidden(fn, *_FORBID_LOSS):
            got = run(fn, img, txt, scale)
        what = f"clip_loss on {len(img)} pairs of {img.shape[1]}-dim features (logit_scale {scale.item():g})"
        if not isinstance(got, Tensor):
            raise ExerciseError(f"{what} returned a {type(got).__name__}. {HINT_LOSS_NOT_SCALAR}")
        if got.ndim != 0:
            raise ExerciseError(f"{what} has shape {tuple(got.shape)}. {HINT_LOSS_NOT_SCALAR}")
        if is_close(got, want):
            continue
        hint = diagnose(got, _LOSS_MISTAKES, lambda m: _loss_variant(img, txt, scale, m)) or HINT_LOSS
        fail(got, want, what, hint)
    passed("clip_loss", f"{len(cases)} batches, both directions, temperature from logit_scale")


# ------------------------------------------------------------------------------------ zero-shot


def _zs_variant(img: Tensor, txt: Tensor, mistake: str = "") -> Tensor:
    img = img / img.norm(dim=-1, keepdim=True)
    if mistake != "text_norm":
        txt = txt / txt.norm(dim=-1, keepdim=True)
    sim = img @ txt.T
    if mistake == "argmin":
        return sim.argmin(dim=1)
    if mistake == "softmax_images":
        return sim.mul(10).softmax(dim=0).argmax(dim=1)
    return sim.argmax(dim=1)


_ZS_MISTAKES = {
    "text_norm": HINT_ZS_TEXT_NORM,
    "argmin": HINT_ZS_ARGMIN,
    "softmax_images": HINT_ZS_SOFTMAX_IMAGES,
}


def _zs_encoders(seed: int, n_classes: int, d: int) -> tuple[Callable, Callable, Tensor, Tensor, Tensor]:
    """Two random linear 'encoders' whose class captions have very different lengths, images near some
    classes, and the captions' ids with padding."""
    g = _gen(seed)
    w_img = torch.randn(16, d, generator=g, dtype=torch.float64)
    text_table = torch.randn(n_classes + 4, d, generator=g, dtype=torch.float64)
    text_table[4:] *= torch.linspace(0.3, 4.0, n_classes, dtype=torch.float64)[
        torch.randperm(n_classes, generator=g)
    ][:, None]

    def encode_image(pixels: Tensor) -> Tensor:
        return pixels.flatten(1) @ w_img

    def encode_text(ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        # the "text" is its class token (position 1); the EOT and padding after it change nothing
        return text_table[ids[:, 1]]

    # images: a mix of class directions, so that several classes score close
    pinv = torch.linalg.pinv(w_img)
    mix = torch.rand(12, n_classes, generator=g, dtype=torch.float64) ** 4
    pixels = (
        mix @ text_table[4:] @ pinv + 0.1 * torch.randn(12, 16, generator=g, dtype=torch.float64)
    ).reshape(12, 1, 4, 4)
    lengths = torch.randint(3, 6, (n_classes,), generator=g)
    ids = torch.zeros(n_classes, 6, dtype=torch.long)
    for c in range(n_classes):
        ids[c, 0], ids[c, 1], ids[c, lengths[c] - 1] = 2, 4 + c, 3
        ids[c, 2 : lengths[c] - 1] = 1
    return encode_image, encode_text, pixels, ids, (ids != 0).long()


@checker
def zero_shot_classify(fn: Callable[..., Any]) -> None:
    """Check ``fn(encode_image, encode_text, pixels, ids, attention_mask) -> (n_images,)`` class indices:
    encode the images and one caption per class, cosine similarity, argmax over the classes."""
    cases = [_zs_encoders(seed, n, d) for seed, n, d in ((11, 5, 8), (12, 7, 6), (13, 10, 12))]
    wants = []
    for enc_i, enc_t, pixels, ids, mask in cases:
        with torch.no_grad():
            wants.append(_zs_variant(enc_i(pixels), enc_t(ids, mask)))
    for (enc_i, enc_t, pixels, ids, mask), want in zip(cases, wants):
        img, txt = enc_i(pixels), enc_t(ids, mask)
        with forbidden(fn, "tfmcourse.models.clip.CLIP.similarity", "tfmcourse.models.clip.CLIP.forward"):
            got = run(fn, enc_i, enc_t, pixels, ids, mask)
        what = f"zero_shot_classify of {len(pixels)} images into {len(ids)} classes"
        if isinstance(got, (list, tuple)):
            got = torch.tensor(got)
        if (
            not isinstance(got, Tensor)
            or got.is_floating_point()
            or got.is_complex()
            or got.dtype == torch.bool
        ):
            if isinstance(got, Tensor) and got.ndim == 2:
                raise ExerciseError(f"{what} returned a {tuple(got.shape)} tensor of scores. {HINT_ZS_TYPE}")
            raise ExerciseError(
                f"{what} returned {type(got).__name__}"
                f"{'' if not isinstance(got, Tensor) else ' of dtype ' + str(got.dtype)}. {HINT_ZS_TYPE}"
            )
        if got.shape == (len(ids),) and len(ids) != len(pixels):
            raise ExerciseError(f"{what} returned shape {tuple(got.shape)}. {HINT_ZS_WRONG_AXIS}")
        expect_shape(got, tuple(want.shape), what)
        if torch.equal(got.long(), want):
            continue
        hint = ""
        for mistake, h in _ZS_MISTAKES.items():
            if torch.equal(got.long(), _zs_variant(img, txt, mistake)):
                hint = h
                break
        wrong = int((got.long() != want).sum())
        raise ExerciseError(
            f"{what}: {wrong} of {len(want)} predictions differ from the answer "
            f"(got {got.tolist()}, expected {want.tolist()}). {hint or HINT_ZS}"
        )
    passed("zero_shot_classify", f"{len(cases)} cases, captions of different lengths and feature norms")


# ------------------------------------------------------------------------------------ eot_pool


def _eot_variant(states: Tensor, ids: Tensor, eot_id: int, mistake: str = "") -> Tensor:
    rows = torch.arange(len(ids))
    if mistake == "last":
        return states[:, -1]
    if mistake == "mean":
        return states.mean(dim=1)
    if mistake == "first":
        return states[:, 0]
    if mistake == "argmax":
        return states[rows, ids.argmax(dim=-1)]
    is_eot = (ids == eot_id).int()
    if mistake == "last_eot":
        pos = ids.shape[1] - 1 - is_eot.flip(-1).argmax(dim=-1)
    else:
        pos = is_eot.argmax(dim=-1)
    return states[rows, pos]


_EOT_MISTAKES = {
    "last": HINT_EOT_LAST,
    "argmax": HINT_EOT_ARGMAX,
    "mean": HINT_EOT_MEAN,
    "first": HINT_EOT_FIRST,
    "last_eot": HINT_EOT_LAST_EOT,
}


@checker
def eot_pool(fn: Callable[[Tensor, Tensor, int], Tensor]) -> None:
    """Check ``fn(states (batch, seq, d), ids (batch, seq), eot_id) -> (batch, d)``: each row's output at its
    first end-of-text token."""
    g = _gen(1717)
    cases = []
    # (EOT id, a vocabulary where some ids are larger than EOT, padding 0 after the EOT; one row with two
    # EOTs)
    for batch, seq, d, eot in ((4, 7, 5, 3), (3, 6, 4, 9), (5, 8, 3, 2)):
        states = torch.randn(batch, seq, d, generator=g, dtype=torch.float64)
        ids = torch.zeros(batch, seq, dtype=torch.long)
        for r in range(batch):
            n = int(torch.randint(3, seq + 1, (1,), generator=g))
            body = torch.randint(4, 20, (n - 2,), generator=g)
            body[body == eot] = 4 if eot != 4 else 5
            ids[r, :n] = torch.cat([torch.tensor([1]), body, torch.tensor([eot])])
        short = int((ids != 0).sum(1).argmin())
        ids[short, -1] = eot  # a second EOT, in the padding
        cases.append((states, ids, eot))
    wants = [_eot_variant(*c) for c in cases]
    for (states, ids, eot), want in zip(cases, wants):
        with forbidden(fn, "tfmcourse.models.clip.CLIP.eot_positions"):
            got = run(fn, states, ids, eot)
        what = f"eot_pool of states {tuple(states.shape)} with eot_id={eot}"
        if is_close(got, want) if isinstance(got, Tensor) else False:
            continue
        hint = diagnose(got, _EOT_MISTAKES, lambda m: _eot_variant(states, ids, eot, m)) or HINT_EOT
        fail(got, want, what, hint)
    passed("eot_pool", f"{len(cases)} batches, padding after the EOT, EOT ids smaller than the words")
