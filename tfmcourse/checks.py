"""Input checks at the entry points of the package, in one place.

A learner who passes a wrong shape gets one ``ValueError`` that names the argument, the shape expected
and the shape given, not a stack trace from deep inside torch. Each check runs once per call, where the
call enters the package:

- :func:`entry_point` marks a public function or ``forward`` and names the function that checks its
  arguments. When one entry point calls another (a ``Transformer`` calling its layers, a layer calling
  its attention), the inner one trusts its caller and skips its checks: a mask is checked once per
  forward pass, not once per layer. Under ``torch.compile`` nothing is checked (the eager run checked).
- :class:`Dims` checks tensors against named axes (``"batch seq d_model"``) and remembers the sizes it has
  seen, so that the batch of ``key`` is compared with the batch of ``query``.
- :func:`check_mask`, :func:`check_ids` and :func:`check_positive` are the rules every module shares.

The shape annotations of the package (``Float[Tensor, "batch seq d_model"]``) say the same in the
signatures; the test run enforces them with jaxtyping and beartype (``tests/conftest.py``).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["entry_point", "Dims", "check_mask", "check_ids", "check_positive", "check_probability"]

F = TypeVar("F", bound=Callable[..., Any])

# True while a call that entered the package through an entry point runs: its callees skip their checks.
_INSIDE: ContextVar[bool] = ContextVar("tfmcourse_inside_entry_point", default=False)


def entry_point(check: Callable[..., None]) -> Callable[[F], F]:
    """Decorate a public function (or ``forward``) so that ``check(*args, **kwargs)`` runs first, with
    the same arguments, unless the call comes from inside another entry point of the package."""
    # The check is there for what the annotations do not allow: exempt it from their enforcement in the tests.
    typing.no_type_check(check)

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if _INSIDE.get() or torch.compiler.is_compiling():
                return fn(*args, **kwargs)
            check(*args, **kwargs)
            token = _INSIDE.set(True)
            try:
                return fn(*args, **kwargs)
            finally:
                _INSIDE.reset(token)

        return checked  # type: ignore[return-value]

    return decorate


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape)


_KINDS = {
    "float": (lambda x: x.is_floating_point(), "a floating-point"),
    "int": (lambda x: not (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool), "an integer"),
    "bool": (lambda x: x.dtype == torch.bool, "a boolean"),
}


class Dims:
    """Named axis sizes, checked tensor by tensor.

    ``dims = Dims(d_model=16)`` knows one size; ``dims(query, "query", "batch seq_q d_model")`` checks that
    ``query`` is a floating-point tensor with three axes whose last is 16, and learns ``batch`` and
    ``seq_q``; a later ``dims(key, "key", "batch seq_k d_model")`` then needs the same ``batch``. An axis
    written ``...`` stands for any number of leading axes (not remembered).
    """

    def __init__(self, **sizes: int):
        self.sizes = dict(sizes)
        self.source: dict[str, tuple[str, tuple[int, ...]]] = {}

    def __call__(self, x: Any, name: str, axes: str, kind: str = "float") -> Tensor:
        names = axes.split()
        wanted = "(" + ", ".join(f"{a}={self.sizes[a]}" if a in self.sizes else a for a in names) + ")"
        if not isinstance(x, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of shape {wanted}, got {type(x).__name__}")
        test, words = _KINDS[kind]
        if not test(x):
            raise ValueError(f"{name} must be {words} tensor, got dtype {x.dtype} with shape {_shape(x)}")
        leading = names[0] == "..."
        named = names[1:] if leading else names
        if x.ndim < len(named) or (not leading and x.ndim != len(named)):
            raise ValueError(f"{name} must have shape {wanted}, got shape {_shape(x)}")
        for axis, n in zip(named, x.shape[x.ndim - len(named) :]):
            if axis not in self.sizes:
                self.sizes[axis], self.source[axis] = n, (name, _shape(x))
            elif self.sizes[axis] != n:
                if axis in self.source:
                    other, other_shape = self.source[axis]
                    raise ValueError(
                        f"{name} has shape {_shape(x)} but {other} has shape {other_shape}: "
                        f"their {axis} sizes must match"
                    )
                raise ValueError(f"{name} must have shape {wanted}, got shape {_shape(x)}")
        return x


def check_mask(mask: Any, name: str, scores_shape: tuple[int, ...]) -> None:
    """The one rule for attention masks: boolean (``True`` = may attend), and either 2-D
    ``(seq_q, seq_k)`` or one axis per axis of the scores, each of size 1 (broadcast) or equal to the
    scores' (e.g. ``(batch, 1, 1, seq_k)`` for padding). A 3-D mask for 4-D scores is refused: is its
    first axis the batch or the heads?"""
    if not isinstance(mask, Tensor):
        raise ValueError(f"{name} must be a boolean torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise ValueError(
            f"{name} must be boolean (True = may attend), got dtype {mask.dtype} with shape {_shape(mask)}"
        )
    fits = mask.ndim == 2 or mask.ndim == len(scores_shape)
    fits = fits and mask.ndim <= len(scores_shape) and mask.shape[-1] == scores_shape[-1]
    fits = fits and all(m in (1, s) for m, s in zip(mask.shape[::-1], scores_shape[::-1]))
    if not fits:
        hint = (
            " (for a (batch, seq_q, seq_k) mask add the heads axis: mask[:, None])" if mask.ndim == 3 else ""
        )
        raise ValueError(
            f"{name} has shape {_shape(mask)}, which does not broadcast to the scores' shape {scores_shape}: "
            f"give (seq_q, seq_k) or one axis per score axis, each of size 1 or the scores' size{hint}"
        )


def check_ids(ids: Any, name: str, vocab: int | None = None) -> None:
    """``ids`` must be a ``(batch, seq)`` integer tensor (``torch.long`` or ``int32``, what an embedding
    takes), and on the CPU its values in ``[0, vocab)``. On a GPU the values are not read (that would wait
    for the device at every step); an id out of range then fails inside the embedding (device-side)."""
    Dims()(ids, name, "batch seq", kind="int")
    if ids.dtype not in (torch.long, torch.int32):
        raise ValueError(f"{name} must hold token ids as torch.long (or int32), got dtype {ids.dtype}")
    if (
        vocab is not None
        and ids.device.type == "cpu"
        and ids.numel()
        and (ids.min() < 0 or ids.max() >= vocab)
    ):
        bad = ids[(ids < 0) | (ids >= vocab)]
        raise ValueError(
            f"{name} contains token id {bad[0].item()}, outside the vocabulary (vocab_size={vocab}): ids "
            f"must be in 0 .. {vocab - 1} (shape {_shape(ids)})"
        )


def check_positive(**values: Any) -> None:
    """Each value must be a positive int (not a bool): ``check_positive(d_model=d_model, heads=heads)``."""
    for name, n in values.items():
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"{name} must be a positive int, got {n!r}")


def check_probability(**values: Any) -> None:
    """Each value must be a number in ``[0, 1)`` (a dropout probability)."""
    for name, p in values.items():
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
