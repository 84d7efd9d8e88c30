"""Every name under which a package function can be called, for :func:`tfmcourse.exercises.forbidden`.

A package function can be reachable under several dotted names: where it is defined, and wherever it is
re-exported or imported (``tfmcourse.transformer.make_tgt_mask`` may live in
``tfmcourse.models.transformer``; ``Transformer.make_tgt_mask`` calls it through its own module). Forbidding
only one of them would leave the others open, so the checkers forbid them all::

    with forbidden(fn, *aliases("tfmcourse.transformer.make_tgt_mask")):
        got = run(fn, tgt, pad_id)
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["aliases"]


def aliases(path: str) -> list[str]:
    """``path`` and every other ``module.name`` of a loaded ``tfmcourse`` module bound to the same object.

    The checkers' own modules (``tfmcourse.exercises.*``) are left out: they hold references that the
    checkers compute with.
    """
    module_name, _, attr = path.rpartition(".")
    target = getattr(importlib.import_module(module_name), attr)
    found = [path]
    for name, module in sorted(sys.modules.items()):
        if module is None or not (name == "tfmcourse" or name.startswith("tfmcourse.")):
            continue
        if name.startswith("tfmcourse.exercises"):
            continue
        for key, value in list(vars(module).items()):
            if value is target and f"{name}.{key}" != path:
                found.append(f"{name}.{key}")
    return found
