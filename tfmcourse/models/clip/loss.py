"""CLIP's training objective (chapter 13): the symmetric contrastive (InfoNCE) loss of a batch of matching
image-text pairs, :func:`contrastive_loss`, and :func:`clip_loss` for the trainer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from tfmcourse.checks import entry_point
from tfmcourse.models.clip.model import CLIP

__all__ = ["contrastive_loss", "clip_loss"]


def _shape(x: object) -> tuple[int, ...]:
    return tuple(x.shape)


def _check_logits(logits_per_image: object) -> None:
    if (
        not isinstance(logits_per_image, Tensor)
        or logits_per_image.ndim != 2
        or logits_per_image.shape[0] != logits_per_image.shape[1]
    ):
        what = type(logits_per_image).__name__
        raise ValueError(
            "logits_per_image must be a square (n, n) tensor (image i matches text i), got "
            f"{_shape(logits_per_image) if isinstance(logits_per_image, Tensor) else what}"
        )


@entry_point(_check_logits)
def contrastive_loss(logits_per_image: Float[Tensor, "n n"]) -> Float[Tensor, ""]:
    """The symmetric contrastive (InfoNCE) loss of CLIP on a batch of ``n`` matching pairs.

    ``logits_per_image[i, j]`` scores image ``i`` against text ``j``; image ``i`` and text ``i`` belong
    together. The loss is the mean of two cross-entropies: every image must pick its text among the
    ``n`` texts (the rows), and every text its image among the ``n`` images (the columns).
    """
    targets = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    return (F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_image.T, targets)) / 2


def clip_loss(model: CLIP, batch: tuple[Tensor, Tensor, Tensor | None]) -> Float[Tensor, ""]:
    """:func:`contrastive_loss` of ``model`` on a batch ``(pixels, ids, attention_mask)`` of matching pairs
    (the loss function for :class:`~tfmcourse.train.Trainer`)."""
    pixels, ids, attention_mask = batch
    return contrastive_loss(model(pixels, ids, attention_mask))
