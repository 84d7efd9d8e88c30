"""The losses the book trains with, and the language-model evaluation (chapters 7 and 9).

- :func:`label_smoothed_cross_entropy`: cross entropy against a target distribution that puts
  ``1 - smoothing`` on the right token and spreads ``smoothing`` evenly over the vocabulary, skipping
  padding positions (the translator of chapter 7);
- :func:`lm_loss`: the next-token cross entropy of a language model on a batch ``(x, y)``, usable as the
  ``loss_fn`` of :class:`tfmcourse.train.Trainer` (the GPT of chapter 9);
- :func:`evaluate_lm`: the mean next-token cross entropy over a long token sequence, in windows.

Every loss is a mean over the positions that have a target, and 0 (not NaN) when none has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from jaxtyping import Float, Int
from torch import Tensor, nn

from tfmcourse.checks import check_positive, entry_point

__all__ = ["label_smoothed_cross_entropy", "lm_loss", "evaluate_lm", "IGNORE_INDEX"]

#: The target value that marks a position without a target (torch's default ``ignore_index``).
IGNORE_INDEX = -100


def _check_smoothed(logits, target, smoothing=0.0, ignore_index=IGNORE_INDEX, reduction="mean") -> None:
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.ndim < 1:
        raise ValueError(
            f"logits must be a float tensor (..., vocab), got {getattr(logits, 'shape', type(logits))}"
        )
    if not isinstance(target, Tensor) or target.dtype != torch.long:
        raise ValueError(f"target must be a long tensor, got {getattr(target, 'dtype', type(target))}")
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"target has shape {tuple(target.shape)} but logits has shape {tuple(logits.shape)}: target must "
            "be logits' shape without the last (vocab) axis"
        )
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    keep, vocab = target != ignore_index, logits.shape[-1]
    if target.device.type == "cpu" and keep.any() and (target[keep].min() < 0 or target[keep].max() >= vocab):
        raise ValueError(f"target ids must lie in [0, {vocab}) (or equal ignore_index={ignore_index})")


@entry_point(_check_smoothed)
def label_smoothed_cross_entropy(
    logits: Float[Tensor, "*batch vocab"],
    target: Int[Tensor, "*batch"],
    smoothing: float = 0.0,
    ignore_index: int = IGNORE_INDEX,
    reduction: str = "mean",
) -> Float[Tensor, ""] | Float[Tensor, "*batch"]:
    """Cross entropy with label smoothing (Szegedy et al., 2016), skipping ``ignore_index`` targets.

    The target distribution puts ``1 - smoothing`` on the right token and ``smoothing / vocab`` on
    every token (the right one included), so per position the loss is
    ``(1 - smoothing) * -log p[target] + smoothing * mean_v(-log p[v])``. This is what
    ``torch.nn.functional.cross_entropy(..., label_smoothing=smoothing, ignore_index=...)`` computes.

    Args:
        logits: unnormalised scores ``(..., vocab)``.
        target: token ids ``(...)`` (``logits``' shape without the last axis); positions equal to
            ``ignore_index`` (padding) contribute nothing.
        smoothing: in ``[0, 1)``; 0 gives the plain cross entropy.
        reduction: ``"mean"`` over the kept positions (0 when none is kept), ``"sum"``, or ``"none"``
            (per-position losses, 0 at ignored positions).
    """
    keep = target != ignore_index
    log_p = logits.log_softmax(dim=-1)
    nll = -log_p.gather(-1, target.masked_fill(~keep, 0).unsqueeze(-1)).squeeze(-1)
    uniform = -log_p.mean(dim=-1)
    loss = ((1.0 - smoothing) * nll + smoothing * uniform).masked_fill(~keep, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum().clamp(min=1)


def lm_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Float[Tensor, ""]:
    """Mean next-token cross entropy (nats per token) of ``model`` on ``batch = (x, y)``.

    ``x`` and ``y`` are ``(batch, seq)`` token ids with ``y[:, i] = `` the token after ``x[:, i]``
    (``y`` is ``x`` shifted left by one); positions where ``y`` is ``IGNORE_INDEX`` (-100) count for
    nothing, and a batch without any target has loss 0 (not NaN). Usable as the ``loss_fn`` of
    :class:`tfmcourse.train.Trainer`. ``model(x)`` may return the logits ``(batch, seq, vocab)`` or, like
    a Hugging Face causal LM, an object with a ``.logits`` attribute.
    """
    x, y = batch
    if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.shape != y.shape:
        raise ValueError(
            f"batch must be (x, y) with the same (batch, seq) shape, got "
            f"{getattr(x, 'shape', x)} and {getattr(y, 'shape', y)}"
        )
    logits = model(x)
    logits = logits if isinstance(logits, Tensor) else logits.logits
    targets = rearrange(y, "b s -> (b s)")
    total = F.cross_entropy(
        rearrange(logits, "b s v -> (b s) v"), targets, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return total / (targets != IGNORE_INDEX).sum().clamp(min=1)


def _check_evaluate(model: nn.Module, tokens: object, context: int, batch_size: int = 64) -> None:
    if not isinstance(tokens, Tensor) or tokens.ndim != 1:
        raise ValueError(f"tokens must be a 1-D tensor of ids, got {getattr(tokens, 'shape', type(tokens))}")
    check_positive(context=context, batch_size=batch_size)
    if (tokens.numel() - 1) // context < 1:
        raise ValueError(
            f"tokens has shape {tuple(tokens.shape)}: too short for one window of context={context} + 1"
        )


@entry_point(_check_evaluate)
@torch.no_grad()
def evaluate_lm(model: nn.Module, tokens: Int[Tensor, " n"], context: int, batch_size: int = 64) -> float:
    """Mean next-token cross entropy (nats per token) of ``model`` (ours or a Hugging Face causal LM)
    over ``tokens``, a 1-D id tensor.

    The tokens are cut into consecutive, non-overlapping windows of ``context + 1`` tokens (the last
    partial window is dropped); each window predicts its last ``context`` tokens from the ones before.
    Deterministic: the same tokens give the same number. Runs in eval mode and restores the mode.
    """
    n = (tokens.numel() - 1) // context
    starts = torch.arange(n) * context
    windows = tokens[starts[:, None] + torch.arange(context + 1)[None, :]]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for i in range(0, n, batch_size):
            w = windows[i : i + batch_size].to(device)
            total += lm_loss(model, (w[:, :-1], w[:, 1:])).item() * w.shape[0]
    finally:
        model.train(was_training)
    return total / n
