"""Checkers for the exercises of chapter 8 (GPU-accelerated training).

Each checker runs the learner's function on a few cases, compares it with the reference and, when the
answer is wrong, recognises the common mistakes (forward-only FLOPs, a forgotten attention term, MFU as
a percentage, a gradient-accumulation loop that does not divide the loss ...) to name them::

    from tfmcourse.exercises import ch08 as check
    check.flops_per_token(flops_per_token)
    check.mfu(mfu)
    check.accumulated_step(accumulated_step)
    check.train_loop(train_loop)

Every checker keeps the learner's random state (``@checker``), computes its references first on copies,
and refuses the package's own answer (``Trainer``, its schedules).
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from tfmcourse.exercises import ExerciseError, checker, forbidden, passed, run
from tfmcourse.exercises._aliases import aliases

__all__ = ["flops_per_token", "mfu", "accumulated_step", "train_loop"]


def _refused(*paths: str) -> list[str]:
    """Every name of the package functions at ``paths`` (see :func:`tfmcourse.exercises._aliases.aliases`)."""
    return [name for path in paths for name in aliases(path)]


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


@checker
def flops_per_token(fn: Callable[[int, int, int, int], float]) -> None:
    """Check ``fn(n_params, n_layer, d_model, seq_len)``: training FLOPs per token,
    ``6 * n_params + 12 * n_layer * d_model * seq_len``."""
    cases = [(1616, 2, 8, 5), (85_000_000, 12, 768, 1024), (10_000, 3, 64, 7), (124_000_000, 12, 768, 2048)]
    for n, layers, d, seq in cases:
        with forbidden(
            fn, *_refused("tfmcourse.perf.flops_per_token", "tfmcourse.perf.model_flops_per_token")
        ):
            got = run(fn, n, layers, d, seq)
        want = _flops_ref(n, layers, d, seq)
        if _close(got, want):
            continue
        attn = layers * d * seq
        hint = _diagnose_number(
            got,
            [
                (2 * n + 4 * attn, HINT_FORWARD_ONLY),
                (6 * n, HINT_NO_ATTENTION),
                (6 * n + 4 * attn, HINT_ATTENTION_FORWARD),
                (6 * n + 12 * attn * seq, HINT_SEQ_SQUARED),
                (3 * n + 12 * attn, HINT_TWO_N),
                (6 * n + 12 * d * seq, HINT_NO_LAYERS),
            ],
        )
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
HINT_INVERTED = (
    "The ratio is upside down: MFU = achieved FLOP/s / peak FLOP/s, achieved = flops_per_token * "
    "tokens_per_second."
)
HINT_TIMES_3 = "flops_per_token already counts the backward pass (the 6 of 6N): do not multiply by 3 again."
HINT_UNKNOWN = (
    "When peak_flops is the string 'unknown' (a device that is not in the table), return 'unknown': never "
    "a number, and not an error."
)
HINT_NO_TOKENS = "MFU needs the achieved FLOP/s: multiply flops_per_token by tokens_per_second."


@checker
def mfu(fn: Callable[[float, float, Any], Any]) -> None:
    """Check ``fn(flops_per_token, tokens_per_second, peak_flops)``: the fraction
    ``flops_per_token * tokens_per_second / peak_flops``, or ``"unknown"`` when ``peak_flops`` is."""
    cases = [
        (6 * 124e6 + 12 * 12 * 768 * 1024, 400_000.0, 989.4e12),
        (1e9, 2e4, 312e12),
        (5.9e6, 563.0, 65e12),
    ]
    for fpt, tps, peak in cases:
        with forbidden(fn, *_refused("tfmcourse.perf.mfu")):
            got = run(fn, fpt, tps, peak)
        want = fpt * tps / peak
        if _close(got, want):
            continue
        hint = _diagnose_number(
            got,
            [
                (100 * want, HINT_PERCENT),
                (1 / want, HINT_INVERTED),
                (3 * want, HINT_TIMES_3),
                (fpt / peak, HINT_NO_TOKENS),
            ],
        )
        raise ExerciseError(
            f"mfu(flops_per_token={fpt:.4g}, tokens_per_second={tps:.4g}, peak_flops={peak:.4g}) returned "
            f"{got!r}, expected {want:.6g}. "
            + (hint or "MFU = flops_per_token * tokens_per_second / peak_flops.")
        )
    try:
        got = fn(1e9, 1e4, "unknown")
    except NotImplementedError:
        raise ExerciseError(
            "`mfu` is not implemented yet: replace the line `raise NotImplementedError` with your code."
        ) from None
    except Exception as e:  # noqa: BLE001
        raise ExerciseError(
            f"mfu(..., peak_flops='unknown') raised {type(e).__name__}: {e}. {HINT_UNKNOWN}"
        ) from None
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
HINT_CONCATENATED = (
    "loss_fn was called once, on all the micro-batches concatenated: that is one big batch, with the "
    "memory of "
    "the big batch, not gradient accumulation. Call loss_fn(model, micro_batch) once per micro-batch and "
    "backward() each (divided by the number of micro-batches)."
)


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
_ACCUM_HINTS = {
    "no_divide": HINT_NO_DIVIDE,
    "zero_inside": HINT_ZERO_INSIDE,
    "step_inside": HINT_STEP_INSIDE,
    "no_zero": HINT_NO_ZERO,
    "no_step": HINT_NO_STEP,
}


class _CountingLoss:
    """``loss_fn`` for the learner: the mean squared error, remembering the batch size of every call."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __repr__(self) -> str:
        return "loss_fn"

    def __call__(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        self.sizes.append(int(batch[0].shape[0]))
        return _mse(model, batch)


@checker
def accumulated_step(fn: Callable[[nn.Module, torch.optim.Optimizer, Callable, list], float]) -> None:
    """Check ``fn(model, optimizer, loss_fn, micro_batches) -> float``: one optimizer step with the
    gradients accumulated over the micro-batches, equal to one step on their concatenation; it returns
    the mean of the micro-batch losses."""
    g = torch.Generator().manual_seed(2038)
    n_cases = 0
    for k, make_opt in (
        (4, lambda p: torch.optim.SGD(p, lr=0.1)),
        (3, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
        (2, lambda p: torch.optim.SGD(p, lr=0.2)),
    ):
        torch.manual_seed(int(torch.randint(0, 10_000, (1,), generator=g)))
        base = _Net().double()
        micro = [
            (
                torch.randn(2, 3, generator=g, dtype=torch.float64),
                torch.randn(2, 1, generator=g, dtype=torch.float64),
            )
            for _ in range(k)
        ]
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
        loss_fn = _CountingLoss()
        with forbidden(fn, *_refused("tfmcourse.train.Trainer")):
            got_loss = run(fn, model, opt, loss_fn, micro)
        got = _params(model)
        sizes = [m[0].shape[0] for m in micro]
        if loss_fn.sizes == [sum(sizes)]:
            raise ExerciseError(f"With {k} micro-batches: {HINT_CONCATENATED}")
        if sorted(loss_fn.sizes) != sorted(sizes):
            raise ExerciseError(
                f"With {k} micro-batches of {sizes[0]} examples, loss_fn was called {len(loss_fn.sizes)} "
                "times, on "
                f"batches of {loss_fn.sizes} examples: call it exactly once per micro-batch."
            )
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
            raise ExerciseError(
                f"accumulated_step returned {got_loss!r}, expected {want_loss.item():.6g}. {HINT_LOSS_VALUE}"
            )
        n_cases += 1
    passed("accumulated_step", f"{n_cases} cases")


# ----------------------------------------------------------------------------- the training loop

HINT_LOOP_NO_WARMUP = (
    "The learning rate is the full lr from the first step: there is no warmup. Before each optimizer.step(), "
    "set every param group's 'lr' to lr * min(1, step / warmup), with step counted from 1."
)
HINT_LOOP_STEP_FROM_0 = (
    "The first step ran with learning rate 0: count the steps from 1 (enumerate(batches, start=1)), so that "
    "step 1 gets lr / warmup and the warmup reaches lr at step = warmup."
)
HINT_LOOP_OFF_BY_ONE = (
    "The warmup is one step ahead: at step s (counted from 1) the rate is lr * min(1, s / warmup); yours is "
    "lr * min(1, (s + 1) / warmup)."
)
HINT_LOOP_NO_CAP = (
    "The learning rate keeps growing after the warmup: it must stop at lr, lr * min(1, step / warmup)."
)
HINT_LOOP_NOT_SET = (
    "The learning rate the optimizer used is not the schedule's: set it in optimizer.param_groups (each "
    "group's 'lr') before optimizer.step(), at every step."
)
HINT_LOOP_NO_CLIP = (
    "The gradients reached the optimizer unclipped (no clipping, or clipping before backward(), when the "
    "gradients were still zero): after backward() and before optimizer.step(), call "
    "torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)."
)
HINT_LOOP_PER_TENSOR = (
    "Each parameter tensor was clipped on its own. Clipping bounds the GLOBAL norm, over all the gradients "
    "together (one scale factor for all): torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)."
)
HINT_LOOP_CLIP_VALUE = (
    "The gradients were clipped element by element (clip_grad_value_): that changes their direction. Clip "
    "the "
    "global norm instead, torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)."
)
HINT_LOOP_NO_ZERO = (
    "The gradients of earlier steps leaked into later ones: call optimizer.zero_grad() at the start of every "
    "step (backward() adds into .grad)."
)
HINT_LOOP_STEPS = "Take exactly one optimizer.step() per batch."
HINT_LOOP_LOSSES = "Return the list of the losses of the steps, one Python float per batch, in order."


def _loop_variant(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    batches: list,
    lr: float,
    warmup: int,
    clip_norm: float,
    mistake: str = "",
    loss_fn: Callable = _mse,
) -> list[float]:
    """The training loop of the exercise, or the loop with one plausible ``mistake``."""
    losses = []
    for step, batch in enumerate(batches, start=1):
        s = {"step_from_0": step - 1, "off_by_one": step + 1}.get(mistake, step)
        rate = {"no_warmup": lr, "no_cap": lr * s / warmup}.get(mistake, lr * min(1.0, s / warmup))
        for group in opt.param_groups:
            group["lr"] = rate
        if mistake != "no_zero":
            opt.zero_grad()
        if mistake == "clip_before_backward":
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        loss = loss_fn(model, batch)
        loss.backward()
        if mistake == "per_tensor":
            for p in model.parameters():
                nn.utils.clip_grad_norm_([p], clip_norm)
        elif mistake == "clip_value":
            nn.utils.clip_grad_value_(model.parameters(), clip_norm)
        elif mistake not in ("no_clip", "clip_before_backward"):
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        losses.append(loss.item())
    return losses


_LOOP_MISTAKES = {
    "no_warmup": HINT_LOOP_NO_WARMUP,
    "step_from_0": HINT_LOOP_STEP_FROM_0,
    "off_by_one": HINT_LOOP_OFF_BY_ONE,
    "no_cap": HINT_LOOP_NO_CAP,
    "no_clip": HINT_LOOP_NO_CLIP,  # clipping before backward() gives the same parameters
    "per_tensor": HINT_LOOP_PER_TENSOR,
    "clip_value": HINT_LOOP_CLIP_VALUE,
    "no_zero": HINT_LOOP_NO_ZERO,
}


class _Recorder:
    """Wraps ``optimizer.step`` to record, at every call, the learning rate and the gradients' global norm."""

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer) -> None:
        self.lrs: list[float] = []
        self.norms: list[float] = []
        original = opt.step

        def step(optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
            self.lrs.append(float(optimizer.param_groups[0]["lr"]))
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            self.norms.append(float(torch.cat([g.flatten() for g in grads]).norm()) if grads else 0.0)
            return original(*args, **kwargs)

        # a bound method, as a learning-rate scheduler expects to find (it wraps optimizer.step in turn)
        opt.step = types.MethodType(step, opt)  # type: ignore[method-assign]


class _Batches(list):
    """The batches given to the learner's loop: a list with a one-line repr (for the hint of a crash)."""

    def __repr__(self) -> str:
        return f"<a list of {len(self)} batches (x, y)>"


def _loop_cases() -> list[tuple[str, int, float, int, float]]:
    """(description, number of batches, lr, warmup, clip_norm): clipping that binds at most steps, a warmup
    longer than the run, and a one-step warmup."""
    return [
        ("6 steps, warmup 3, clip_norm 0.5", 6, 0.05, 3, 0.5),
        ("5 steps, warmup 8, clip_norm 0.3", 5, 0.1, 8, 0.3),
        ("4 steps, warmup 1, clip_norm 2.0", 4, 0.02, 1, 2.0),
    ]


@checker
def train_loop(fn: Callable[..., list]) -> None:
    """Check ``fn(model, optimizer, loss_fn, batches, lr, warmup, clip_norm) -> list of losses``: one Adam
    step
    per batch with a linear warmup of the learning rate and the gradients' global norm clipped."""
    g = torch.Generator().manual_seed(808)
    for name, n, lr, warmup, clip_norm in _loop_cases():
        torch.manual_seed(int(torch.randint(0, 10_000, (1,), generator=g)))
        base = _Net().double()
        batches = [
            (
                torch.randn(4, 3, generator=g, dtype=torch.float64) * 2,
                torch.randn(4, 1, generator=g, dtype=torch.float64) * 3,
            )
            for _ in range(n)
        ]

        def fresh(base: nn.Module = base, lr: float = lr) -> tuple[nn.Module, torch.optim.Optimizer]:
            model = copy.deepcopy(base)
            return model, torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))

        ref_model, ref_opt = fresh()
        ref_record = _Recorder(ref_model, ref_opt)
        want_losses = _loop_variant(ref_model, ref_opt, batches, lr, warmup, clip_norm)
        want = _params(ref_model)

        model, opt = fresh()
        record = _Recorder(model, opt)
        loss_fn = _CountingLoss()
        what = f"train_loop on {name}"
        with forbidden(
            fn,
            *_refused(
                "tfmcourse.train.Trainer", "tfmcourse.train.constant_lr", "tfmcourse.train.make_schedule"
            ),
        ):
            got_losses = run(
                fn,
                model,
                opt,
                loss_fn,
                _Batches(tuple(t.clone() for t in b) for b in batches),
                lr,
                warmup,
                clip_norm,
            )
        if len(record.lrs) != n or len(loss_fn.sizes) != n:
            raise ExerciseError(
                f"{what}: optimizer.step() was called {len(record.lrs)} times and loss_fn "
                f"{len(loss_fn.sizes)} times for {n} batches. {HINT_LOOP_STEPS}"
            )
        got = _params(model)
        if not torch.allclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            for mistake, mistake_hint in _LOOP_MISTAKES.items():
                m_model, m_opt = fresh()
                _loop_variant(m_model, m_opt, batches, lr, warmup, clip_norm, mistake)
                if torch.allclose(got, _params(m_model), rtol=1e-9, atol=1e-12):
                    hint = mistake_hint
                    break
            if not hint and not all(
                math.isclose(a, b, rel_tol=1e-9) for a, b in zip(record.lrs, ref_record.lrs)
            ):
                hint = HINT_LOOP_NOT_SET
            if (
                not hint
                and max(record.norms) > clip_norm * (1 + 1e-6)
                and max(ref_record.norms) <= clip_norm * (1 + 1e-6)
            ):
                hint = HINT_LOOP_NO_CLIP
            lrs = ", ".join(f"{x:.3g}" for x in record.lrs)
            want_lrs = ", ".join(f"{x:.3g}" for x in ref_record.lrs)
            raise ExerciseError(
                f"{what}: the parameters after the loop are not those of the reference (largest difference "
                f"{(got - want).abs().max().item():.3g}; learning rates used {lrs}, expected {want_lrs}). "
                + (hint or "Per step: set the lr, zero_grad, loss, backward, clip the global norm, step.")
            )
        if (
            not isinstance(got_losses, (list, tuple))
            or len(got_losses) != n
            or not all(_close(a, b, rel=1e-9) for a, b in zip(got_losses, want_losses))
        ):
            raise ExerciseError(f"{what} returned {got_losses!r:.200}. {HINT_LOOP_LOSSES}")
    passed(
        "train_loop",
        f"{len(_loop_cases())} runs: warmup from step 1, global-norm clipping, one step per batch",
    )
