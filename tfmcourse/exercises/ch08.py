"""Checkers for the exercises of chapter 8 (GPU-accelerated training).

Each checker runs the learner's function on a few cases, compares it with the reference and, when the
answer is wrong, recognises the common mistakes (forward-only FLOPs, a forgotten attention term, MFU as
a percentage, a gradient-accumulation loop that does not divide the loss ...) to name them::

    from tfmcourse.exercises import ch08 as check
    check.flops_per_token(flops_per_token)
    check.mfu(mfu)
    check.accumulated_step(accumulated_step)
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
from torch import Tensor, nn

from tfmcourse.exercises import ExerciseError, passed, run

__all__ = ["flops_per_token", "mfu", "accumulated_step"]


def _close(a: Any, b: float, rel: float = 1e-9) -> bool:
    try:
        a = float(a)
    except (TypeError, ValueError):
        return False
    return math.isfinite(a) and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def _diagnose_number(got: Any, mistakes: list[tuple[float, str]]) -> str:
    for value, hint in mistakes:
        if _close(got, value):
            return hint
    return ""


# ----------------------------------------------------------------------------- FLOPs per token

HINT_FORWARD_ONLY = (
    "This is the forward pass only (2N + 4 * n_layer * d_model * seq). Training also runs the backward "
    "pass, which costs twice the forward (a gradient for the input and one for the weights): multiply "
    "both terms by 3, 6N + 12 * n_layer * d_model * seq."
)
HINT_NO_ATTENTION = (
    "You have the 6N rule but forgot the attention term: q @ k^T and weights @ v multiply activations "
    "by activations (no weights), 12 * n_layer * d_model * seq FLOPs per token in training."
)
HINT_ATTENTION_FORWARD = (
    "The attention term is the forward one (4 * n_layer * d_model * seq): in training it is tripled like "
    "the rest, 12 * n_layer * d_model * seq."
)
HINT_SEQ_SQUARED = (
    "The attention term uses seq squared: that is the cost of a whole sequence. Per token, a query is "
    "compared with seq keys, so the term is 12 * n_layer * d_model * seq (linear in seq)."
)
HINT_TWO_N = (
    "The matrix term counts one operation per weight: a multiply-add is 2 FLOPs, so the forward pass costs "
    "2N and training 6N (not 3N)."
)
HINT_NO_LAYERS = "The attention term is per layer: multiply it by n_layer."


def _flops_ref(n: int, layers: int, d: int, seq: int) -> float:
    return 6 * n + 12 * layers * d * seq


def flops_per_token(fn: Callable[[int, int, int, int], float]) -> None:
    """Check ``fn(n_params, n_layer, d_model, seq_len)``: training FLOPs per token,
    ``6 * n_params + 12 * n_layer * d_model * seq_len``."""
    cases = [(1616, 2, 8, 5), (85_000_000, 12, 768, 1024), (10_000, 3, 64, 7), (124_000_000, 12, 768, 2048)]
    for n, layers, d, seq in cases:
        got = run(fn, n, layers, d, seq)
        want = _flops_ref(n, layers, d, seq)
        if _close(got, want):
            continue
        attn = layers * d * seq
        hint = _diagnose_number(got, [
            (2 * n + 4 * attn, HINT_FORWARD_ONLY),
            (6 * n, HINT_NO_ATTENTION),
            (6 * n + 4 * attn, HINT_ATTENTION_FORWARD),
            (6 * n + 12 * attn * seq, HINT_SEQ_SQUARED),
            (3 * n + 12 * attn, HINT_TWO_N),
            (6 * n + 12 * d * seq, HINT_NO_LAYERS),
        ])
        if not isinstance(got, (int, float)) and not (isinstance(got, Tensor) and got.numel() == 1):
            raise ExerciseError(f"flops_per_token should return a number, got {type(got).__name__}.")
        raise ExerciseError(
            f"flops_per_token(n_params={n:,}, n_layer={layers}, d_model={d}, seq_len={seq}) returned "
            f"{float(got):.6g}, expected {want:.6g}. "
            + (hint or "Training costs 6 FLOPs per weight and 12 * n_layer * d_model * seq for attention.")
        )
    passed("flops_per_token", f"{len(cases)} cases")


# ----------------------------------------------------------------------------- MFU

HINT_PERCENT = "Return a fraction between 0 and 1 (0.42), not a percentage (42)."
HINT_INVERTED = "The ratio is upside down: MFU = achieved FLOP/s / peak FLOP/s, achieved = flops_per_token * tokens_per_second."
HINT_TIMES_3 = (
    "flops_per_token already counts the backward pass (the 6 of 6N): do not multiply by 3 again."
)
HINT_UNKNOWN = (
    "When peak_flops is the string 'unknown' (a device that is not in the table), return 'unknown': never "
    "a number, and not an error."
)
HINT_NO_TOKENS = "MFU needs the achieved FLOP/s: multiply flops_per_token by tokens_per_second."


def mfu(fn: Callable[[float, float, Any], Any]) -> None:
    """Check ``fn(flops_per_token, tokens_per_second, peak_flops)``: the fraction
    ``flops_per_token * tokens_per_second / peak_flops``, or ``"unknown"`` when ``peak_flops`` is."""
    cases = [(6 * 124e6 + 12 * 12 * 768 * 1024, 400_000.0, 989.4e12), (1e9, 2e4, 312e12), (5.9e6, 563.0, 65e12)]
    for fpt, tps, peak in cases:
        got = run(fn, fpt, tps, peak)
        want = fpt * tps / peak
        if _close(got, want):
            continue
        hint = _diagnose_number(got, [
            (100 * want, HINT_PERCENT), (1 / want, HINT_INVERTED), (3 * want, HINT_TIMES_3),
            (fpt / peak, HINT_NO_TOKENS),
        ])
        raise ExerciseError(
            f"mfu(flops_per_token={fpt:.4g}, tokens_per_second={tps:.4g}, peak_flops={peak:.4g}) returned "
            f"{got!r}, expected {want:.6g}. " + (hint or "MFU = flops_per_token * tokens_per_second / peak_flops.")
        )
    try:
        got = fn(1e9, 1e4, "unknown")
    except NotImplementedError:
        raise ExerciseError("`mfu` is not implemented yet: replace the line `raise NotImplementedError` with your code.") from None
    except Exception as e:  # noqa: BLE001
        raise ExerciseError(f"mfu(..., peak_flops='unknown') raised {type(e).__name__}: {e}. {HINT_UNKNOWN}") from None
    if got != "unknown":
        raise ExerciseError(f"mfu(..., peak_flops='unknown') returned {got!r}. {HINT_UNKNOWN}")
    passed("mfu", f"{len(cases) + 1} cases")


# ----------------------------------------------------------------------------- gradient accumulation

HINT_NO_DIVIDE = (
    "The gradients are k times too large: each micro-batch loss is a mean over its own examples, so the "
    "sum of k of them is k times the loss of the big batch. Divide each loss by len(micro_batches) before "
    "backward()."
)
HINT_ZERO_INSIDE = (
    "Only the last micro-batch counts: optimizer.zero_grad() inside the loop throws away the gradients "
    "accumulated so far. Zero once, before the loop."
)
HINT_STEP_INSIDE = (
    "You took one optimizer step per micro-batch: accumulate the gradients of all micro-batches first "
    "(backward() adds into .grad), then call optimizer.step() once, after the loop."
)
HINT_NO_ZERO = (
    "The gradients of an earlier step leaked in: .grad still held old values when the loop started. "
    "Call optimizer.zero_grad() before the loop."
)
HINT_LOSS_VALUE = (
    "The parameters are right, but return the mean of the micro-batch losses as a Python float "
    "(the loss of the whole batch)."
)
HINT_NO_STEP = "The parameters did not change: call optimizer.step() after the loop."


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin1 = nn.Linear(3, 5)
        self.lin2 = nn.Linear(5, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(torch.tanh(self.lin1(x)))


def _mse(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    x, y = batch
    return (model(x) - y).pow(2).mean()


def _params(model: nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _variant(model: nn.Module, opt: torch.optim.Optimizer, micro: list, mistake: str = "") -> float:
    k = len(micro)
    if mistake != "no_zero":
        opt.zero_grad()
    losses = []
    for mb in micro:
        if mistake == "zero_inside":
            opt.zero_grad()
        loss = _mse(model, mb)
        (loss if mistake == "no_divide" else loss / k).backward()
        losses.append(loss.item())
        if mistake == "step_inside":
            opt.step()
    if mistake not in ("step_inside", "no_step"):
        opt.step()
    return sum(losses) / k


_ACCUM_MISTAKES = ("no_divide", "zero_inside", "step_inside", "no_zero", "no_step")
_ACCUM_HINTS = {"no_divide": HINT_NO_DIVIDE, "zero_inside": HINT_ZERO_INSIDE, "step_inside": HINT_STEP_INSIDE,
                "no_zero": HINT_NO_ZERO, "no_step": HINT_NO_STEP}


def accumulated_step(fn: Callable[[nn.Module, torch.optim.Optimizer, Callable, list], float]) -> None:
    """Check ``fn(model, optimizer, loss_fn, micro_batches) -> float``: one optimizer step with the
    gradients accumulated over the micro-batches, equal to one step on their concatenation; it returns
    the mean of the micro-batch losses."""
    g = torch.Generator().manual_seed(2038)
    n_cases = 0
    for k, make_opt in ((4, lambda p: torch.optim.SGD(p, lr=0.1)), (3, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
                        (2, lambda p: torch.optim.SGD(p, lr=0.2))):
        torch.manual_seed(int(torch.randint(0, 10_000, (1,), generator=g)))
        base = _Net().double()
        micro = [(torch.randn(2, 3, generator=g, dtype=torch.float64), torch.randn(2, 1, generator=g, dtype=torch.float64))
                 for _ in range(k)]
        stale = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in base.parameters()]

        def fresh(base: nn.Module = base) -> tuple[nn.Module, torch.optim.Optimizer]:
            model = copy.deepcopy(base)
            opt = make_opt(model.parameters())
            for p, s in zip(model.parameters(), stale):  # gradients left over from an earlier step
                p.grad = s.clone()
            return model, opt

        # the reference: one step on the whole batch
        ref_model, ref_opt = fresh()
        ref_opt.zero_grad()
        big = (torch.cat([m[0] for m in micro]), torch.cat([m[1] for m in micro]))
        want_loss = _mse(ref_model, big)
        want_loss.backward()
        ref_opt.step()
        want = _params(ref_model)

        model, opt = fresh()
        got_loss = run(fn, model, opt, _mse, micro)
        got = _params(model)
        if not torch.allclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            for mistake in _ACCUM_MISTAKES:
                m_model, m_opt = fresh()
                _variant(m_model, m_opt, micro, mistake)
                if torch.allclose(got, _params(m_model), rtol=1e-9, atol=1e-12):
                    hint = _ACCUM_HINTS[mistake]
                    break
            raise ExerciseError(
                f"After accumulated_step with {k} micro-batches the parameters differ from one step on the "
                f"whole batch (largest difference {(got - want).abs().max().item():.3g}). "
                + (hint or "Zero the gradients, backward each loss / k, then one optimizer.step().")
            )
        if not _close(got_loss, want_loss.item(), rel=1e-9):
            raise ExerciseError(f"accumulated_step returned {got_loss!r}, expected {want_loss.item():.6g}. {HINT_LOSS_VALUE}")
        n_cases += 1
    passed("accumulated_step", f"{n_cases} cases")
