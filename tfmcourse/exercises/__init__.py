"""Exercise checkers, one module per chapter (``ch02`` for chapter 2, ...), and the shared helpers.

A checker takes the learner's function, runs it on a few cases against a reference, and either prints
one success line or raises :class:`ExerciseError` with a hint that names the likely mistake::

    from tfmcourse.exercises import ch02 as check
    check.attention_scores(my_attention_scores)
"""

from __future__ import annotations

from typing import Any, Callable

import torch

__all__ = ["ExerciseError", "run", "expect_shape", "expect_close", "passed", "is_close", "diagnose", "fail"]


class ExerciseError(AssertionError):
    """Raised by a checker when the learner's function is wrong; the message is the hint."""


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``fn``; turn "not written yet" and crashes into an :class:`ExerciseError`.

    Inputs are cloned first so that a function that modifies its arguments in place cannot corrupt
    the reference computation that follows.
    """
    name = getattr(fn, "__name__", "your function")
    args = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)
    kwargs = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseError(
            f"`{name}` is not implemented yet: replace the line `raise NotImplementedError` with your code."
        ) from None
    except ExerciseError:
        raise
    except Exception as e:  # the learner's bug: show it as a hint, not as a deep traceback
        shapes = ", ".join(
            f"{type(a).__name__}{tuple(a.shape)}" if isinstance(a, torch.Tensor) else repr(a) for a in args
        )
        raise ExerciseError(
            f"`{name}` raised {type(e).__name__}: {e}\n  (it was called with: {shapes})"
        ) from None


def expect_shape(got: Any, shape: tuple[int, ...], what: str) -> None:
    """Fail with a hint unless ``got`` is a tensor of exactly ``shape``."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{what} should be a torch.Tensor, but it is a {type(got).__name__}.")
    if tuple(got.shape) != tuple(shape):
        raise ExerciseError(f"{what} should have shape {tuple(shape)}, but it has shape {tuple(got.shape)}.")


def expect_close(got: torch.Tensor, want: torch.Tensor, what: str, hint: str = "",
                 atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Fail with ``hint`` unless ``got`` has ``want``'s shape and values (to tolerance)."""
    expect_shape(got, tuple(want.shape), what)
    if torch.isnan(got).any() and not torch.isnan(want).any():
        raise ExerciseError(f"{what} contains NaN. {hint}".strip())
    if not torch.allclose(got.to(want.dtype), want, atol=atol, rtol=rtol):
        err = (got.to(want.dtype) - want).abs().max().item()
        raise ExerciseError(f"{what} has the right shape but wrong values (largest error {err:.3g}). {hint}".strip())


def passed(name: str, detail: str = "") -> None:
    """Print the one success line of a checker."""
    print(f"✔ {name}: correct{' (' + detail + ')' if detail else ''}.")


def is_close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    """True when ``a`` and ``b`` have the same shape and values (helper for recognising mistakes)."""
    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a.to(b.dtype), b, atol=atol, rtol=1e-4))



def diagnose(got: Any, mistakes: dict[str, str], variant: Callable[[str], torch.Tensor]) -> str:
    """The hint of the first mistake whose output equals ``got``, or "" when none does.

    ``mistakes`` maps a mistake's name to its hint; ``variant(name)`` computes what a function with that
    mistake returns on the current case (a mistake that cannot even run on the case is skipped).
    """
    if not isinstance(got, torch.Tensor):
        return ""
    for mistake, hint in mistakes.items():
        try:
            mutant = variant(mistake)
        except (RuntimeError, ValueError):
            continue
        if is_close(got, mutant):
            return hint
    return ""


def fail(got: Any, want: torch.Tensor, what: str, hint: str) -> None:
    """Raise an :class:`ExerciseError` for a wrong ``got``, with shape or value details and ``hint``."""
    if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(want.shape):
        raise ExerciseError(
            f"{what} should have shape {tuple(want.shape)}, but it has shape {tuple(got.shape)}. {hint}".strip()
        )
    expect_close(got, want, what, hint)
    raise ExerciseError(f"{what} is wrong. {hint}".strip())  # reached only if the values happen to be close
