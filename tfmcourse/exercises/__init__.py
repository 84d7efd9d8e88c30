"""Exercise checkers, one module per chapter (``ch02`` for chapter 2, ...), and the shared helpers.

A checker takes the learner's function, runs it on a few cases against a reference, and either prints
one success line or raises :class:`ExerciseError` with a hint that names the likely mistake::

    from tfmcourse.exercises import ch02 as check
    check.attention_scores(my_attention_scores)
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from tfmcourse.exercises.i18n import translate

__all__ = [
    "ExerciseError",
    "run",
    "expect_shape",
    "expect_close",
    "passed",
    "is_close",
    "diagnose",
    "fail",
    "checker",
    "forbidden",
]


class ExerciseError(AssertionError):
    """Raised by a checker when the learner's function is wrong; the message is the hint (in Chinese
    with ``TFMCOURSE_LANG=zh``, where the checker module is translated: see :mod:`.i18n`)."""

    def __init__(self, *args: Any) -> None:
        #: the message as the checker wrote it, in English whatever the language (for checkers that test it)
        self.english = " ".join(str(a) for a in args)
        super().__init__(*(translate(a) if isinstance(a, str) else a for a in args))


def checker(check: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a checker so that it leaves the learner's random state as it found it.

    A checker draws its own test cases; without this, checking an exercise would change the random
    numbers of every cell after it. Python's ``random``, NumPy's global generator and torch's CPU
    generator are saved before the check and restored after it, whatever the outcome.
    """

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                return check(*args, **kwargs)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)

    return wrapper


def _resolve(path: str) -> tuple[Any, str, Any]:
    """``"torch.nn.functional.softmax"`` -> (the module object, ``"softmax"``, the function).

    The owner may also be a class in a module, for a method: ``"torch.Tensor.softmax"``.
    """
    owner_name, _, attr = path.rpartition(".")
    try:
        owner = importlib.import_module(owner_name)
    except ModuleNotFoundError:
        module_name, _, class_name = owner_name.rpartition(".")
        owner = getattr(importlib.import_module(module_name), class_name)
    return owner, attr, getattr(owner, attr)


@contextmanager
def forbidden(fn: Callable[..., Any], *paths: str) -> Iterator[None]:
    """Within the block, calling any of ``paths`` (dotted names) raises an :class:`ExerciseError`.

    An exercise that re-implements a built-in (``torch.nn.functional.scaled_dot_product_attention``) or
    the package's own answer (``tfmcourse.attention.masked_softmax``) should not pass by calling it. The
    names are replaced in their modules and, for names the learner imported directly
    (``from torch.nn.functional import scaled_dot_product_attention``), in ``fn``'s global namespace (the
    notebook's), and restored when the block ends::

        with forbidden(fn, "torch.nn.functional.scaled_dot_product_attention"):
            got = run(fn, q, k, v)
    """
    patched: list[tuple[Any, str, Any]] = []  # (namespace or module, name, original)
    namespace = getattr(fn, "__globals__", {})
    # Resolve (and so import) every path before patching any: a module imported while another name is
    # already patched would keep the refusing stand-in for the rest of the session.
    targets = [(path, *_resolve(path)) for path in paths]
    try:
        for path, module, attr, original in targets:
            if fn is original:  # the function itself handed in as the answer
                raise ExerciseError(f"Write it yourself, without {path}: you handed in {path} itself.")

            def refuse(*args: Any, _path: str = path, **kwargs: Any) -> Any:
                raise ExerciseError(
                    f"Write it yourself, without {_path}: this exercise builds what that function does. "
                    f"(`{getattr(fn, '__name__', 'your function')}` called it.)"
                )

            patched.append((module, attr, original))
            setattr(module, attr, refuse)
            for name, value in list(namespace.items()):
                if value is original:
                    patched.append((namespace, name, original))
                    namespace[name] = refuse
        yield
    finally:
        for owner, name, original in reversed(patched):
            if isinstance(owner, dict):
                owner[name] = original
            else:
                setattr(owner, name, original)


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


def _unusable(got: Any, want: torch.Tensor) -> str:
    """Why the tensor ``got`` cannot be compared with the real tensor ``want`` ("" when it can).

    A tensor on the ``meta`` device has a shape but no values; a complex tensor would silently lose its
    imaginary part when cast to ``want``'s real dtype.
    """
    if not isinstance(got, torch.Tensor):
        return f"should be a torch.Tensor, but it is a {type(got).__name__}"
    if got.is_meta:
        return "is a tensor on the 'meta' device: it has a shape but no values. Compute real numbers"
    if got.is_complex() and not want.is_complex():
        return (
            f"is a complex tensor ({got.dtype}); the answer is real ({want.dtype}): "
            "do not use complex numbers"
        )
    return ""


def _nonfinite_mismatch(got: torch.Tensor, want: torch.Tensor) -> str:
    """Describe where ``got`` has NaN/inf and ``want`` does not, or the other way round ("" if they agree)."""
    finite = torch.isfinite(want)
    total = want.numel()
    for name, found in (
        ("NaN", torch.isnan(got)),
        ("inf", torch.isposinf(got)),
        ("-inf", torch.isneginf(got)),
    ):
        wrong = found & finite
        if wrong.any():
            return f"contains {name} at {int(wrong.sum())} of {total} entries where the answer is finite"
    same = (got == want) | (torch.isnan(got) & torch.isnan(want))
    wrong = ~finite & ~same
    if wrong.any():
        values = sorted({str(v) for v in want[wrong].tolist()})
        return (
            f"has {int(wrong.sum())} of {total} entries that should be {' or '.join(values)} "
            f"but are not (e.g. {got[wrong].flatten()[0].item():.3g})"
        )
    return ""


def expect_close(
    got: torch.Tensor, want: torch.Tensor, what: str, hint: str = "", atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Fail with ``hint`` unless ``got`` has ``want``'s shape and values (to tolerance).

    NaN and infinite entries are named as such ("contains -inf at 3 of 24 entries where the answer is
    finite"); the largest error is measured over the entries where the answer is finite.
    """
    problem = _unusable(got, want)
    if problem:
        raise ExerciseError(f"{what} {problem}. {hint}".strip())
    expect_shape(got, tuple(want.shape), what)
    got = got.to(want.dtype)
    mismatch = _nonfinite_mismatch(got, want)
    if mismatch:
        raise ExerciseError(f"{what} {mismatch}. {hint}".strip())
    if not torch.allclose(got, want, atol=atol, rtol=rtol, equal_nan=True):
        finite = torch.isfinite(want)
        err = (got[finite] - want[finite]).abs().max().item()
        raise ExerciseError(
            f"{what} has the right shape but wrong values (largest error {err:.3g}). {hint}".strip()
        )


def passed(name: str, detail: str = "") -> None:
    """Print the one success line of a checker (in Chinese with ``TFMCOURSE_LANG=zh``)."""
    detail = translate(detail)
    print(translate(f"✔ {name}: correct{' (' + detail + ')' if detail else ''}."))


def is_close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    """True when ``a`` and ``b`` have the same shape and values (helper for recognising mistakes)."""
    if _unusable(a, b):
        return False
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
            f"{what} should have shape {tuple(want.shape)}, "
            f"but it has shape {tuple(got.shape)}. {hint}".strip()
        )
    expect_close(got, want, what, hint)
    raise ExerciseError(f"{what} is wrong. {hint}".strip())  # reached only if the values happen to be close
