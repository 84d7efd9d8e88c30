"""The language of the checkers' messages: English, or Chinese with ``TFMCOURSE_LANG=zh``.

The checkers are written in English. A chapter's hints get a Chinese version from a table,
``tfmcourse/exercises/zh/chNN.py``, whose ``HINTS`` maps each English text to its Chinese text; the
existence of that file is how a checker module declares itself translated. A text may hold
placeholders, ``{name}``, that stand for any text (a shape, a number, code) and are carried over::

    HINTS = {
        "The scores are not scaled: divide q @ k^T by sqrt(d).": "分数没有缩放：把 q @ k^T 除以 sqrt(d)。",
        " returned the float {got}.": " 返回了浮点数 {got}。",
    }

:func:`translate` is applied to the message of every :class:`~tfmcourse.exercises.ExerciseError` and to
the success line of :func:`~tfmcourse.exercises.passed`. It replaces each English text it finds, longest
first, wherever it is in the message, so a message built from several pieces
(``f"{where}: {HINT_SPLIT}"``) is translated piece by piece, and what no table knows (a shape, the
learner's own exception) stays as it is. A template never starts or ends with a placeholder (the text
around a placeholder is what finds it). With ``TFMCOURSE_LANG`` unset or ``en``, nothing changes.

The Chinese notebooks in ``zh/`` set ``TFMCOURSE_LANG=zh`` in their setup cell.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import re
from collections.abc import Callable

__all__ = ["LANG_VARIABLE", "LANGUAGES", "language", "translate", "tables", "compile_template"]

LANG_VARIABLE = "TFMCOURSE_LANG"
LANGUAGES = ("en", "zh")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SPACE_AFTER_CJK_PUNCTUATION = re.compile(r"([。，：；！？）])[ ]+")
_ASCII_STOP_AFTER_CJK = re.compile(r"(?<=[\u4e00-\u9fff。，：；！？）”])([.:]) ")


def _balanced(depth: int) -> str:
    """A regex for one character or one parenthesised group, nested up to ``depth`` levels (a module's
    repr, ``EncoderLayer((self_attn): MultiHeadAttention((q_proj): Linear(...)) ...)``, nests a few)."""
    one = "[^()]"
    for _ in range(depth):
        one = f"(?:[^()]|\\((?:{one})*\\))"
    return one


_BALANCED = _balanced(6)


def language() -> str:
    """``"zh"`` when ``TFMCOURSE_LANG`` says Chinese (``zh``, ``zh_CN``, ``zh-Hans`` ...), else ``"en"``."""
    value = os.environ.get(LANG_VARIABLE, "en").strip().lower()
    return "zh" if value.startswith("zh") else "en"


def compile_template(english: str, chinese: str) -> tuple[re.Pattern[str], Callable[[re.Match[str]], str]]:
    """The pattern that finds ``english`` in a message and the function that writes ``chinese`` for it.

    Raises ``ValueError`` for a template that starts or ends with a placeholder, or whose Chinese text
    uses a placeholder the English does not have.
    """
    parts = _PLACEHOLDER.split(english)  # literal, name, literal, name, ..., literal
    if not parts[0] or not parts[-1]:
        raise ValueError(f"a template must start and end with text, not a placeholder: {english!r}")
    names = parts[1::2]
    if len(set(names)) != len(names):
        raise ValueError(f"a placeholder appears twice in {english!r}")
    unknown = set(_PLACEHOLDER.findall(chinese)) - set(names)
    if unknown:
        raise ValueError(
            f"the Chinese of {english!r} uses {sorted(unknown)}, which the English does not have"
        )
    regex = ""
    for i, part in enumerate(parts):
        if i % 2:
            # any text, with parentheses balanced: {v} in "v {v})" takes all of "(2, 5, 6)", not "(2, 5, 6"
            regex += f"(?P<{part}>{_BALANCED}+?)"
        else:
            regex += re.escape(part)
    if english.endswith(".") and len(parts) > 1:
        regex = regex[: -len(re.escape("."))] + r"\.(?=\s|$|\))"  # the sentence's full stop, not 3.5's

    def write(match: re.Match[str]) -> str:
        return _PLACEHOLDER.sub(lambda m: match.group(m.group(1)), chinese)

    return re.compile(regex, re.S), write


@functools.cache
def tables() -> dict[str, dict[str, str]]:
    """``{"common": {...}, "ch11": {...}, ...}``: every table in ``tfmcourse/exercises/zh/``."""
    from tfmcourse.exercises import zh

    out = {}
    for info in pkgutil.iter_modules(zh.__path__):
        out[info.name] = dict(importlib.import_module(f"tfmcourse.exercises.zh.{info.name}").HINTS)
    return out


@functools.cache
def _compiled() -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    entries = {en: zh for table in tables().values() for en, zh in table.items()}
    # Longest first: a whole hint before the shorter phrases it may contain.
    ordered = sorted(entries, key=lambda en: len(_PLACEHOLDER.sub("", en)), reverse=True)
    return [compile_template(en, entries[en]) for en in ordered]


def translate(message: str, lang: str | None = None) -> str:
    """``message`` in ``lang`` (default: :func:`language`); English texts no table knows stay English."""
    if (lang or language()) != "zh":
        return message
    for pattern, write in _compiled():
        message = pattern.sub(write, message)
    # Chinese puts no space after its full-width punctuation: "不正确。 分数" -> "不正确。分数"
    # and a sentence a table ended in Chinese ends with a Chinese stop: "）. 返回" -> "）。返回"
    message = _ASCII_STOP_AFTER_CJK.sub(lambda m: "。" if m.group(1) == "." else "：", message)
    return _SPACE_AFTER_CJK_PUNCTUATION.sub(r"\1", message)
