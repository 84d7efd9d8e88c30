"""The checkers in Chinese (``TFMCOURSE_LANG=zh``): the mechanism, and every hint of a translated module.

A checker module is translated when ``tfmcourse/exercises/zh/<module>.py`` exists. For each one:

- every ``HINT*`` constant of the module is a key of its table;
- every message the module can build (the strings and f-strings it passes to ``ExerciseError``,
  ``_fail``, ``passed`` ..., or assigns to ``what`` / ``where`` / ``hint``) comes out with no English
  sentence left once translated;
- every key of the table still occurs in the module (an English hint that was edited leaves its old
  key behind: the Chinese is then out of date);
- the mutants of the module's own tests (``tests/test_exercises_chNN.py``) fail in Chinese.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

from tfmcourse.exercises import ExerciseError, i18n, passed

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = sorted(name for name in i18n.tables() if name != "common")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Three or more English words in a row, outside `code`: a sentence nobody translated.
ENGLISH = re.compile(r"(?<![\w.])[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}(?![\w(])")
MESSAGE_CALLS = {
    "ExerciseError",
    "_fail",
    "fail",
    "passed",
    "expect_close",
    "expect_shape",
    "diagnose",
    "_diagnose",
}
MESSAGE_NAMES = {"what", "where", "hint"}


def english_left(text: str) -> list[str]:
    """The runs of English words in ``text`` outside backticks (after the tables were applied)."""
    return ENGLISH.findall(re.sub(r"`[^`]*`", "", text))


def test_language_follows_the_variable(monkeypatch):
    for value, want in [
        ("zh", "zh"),
        ("zh_CN", "zh"),
        ("ZH-Hans", "zh"),
        ("en", "en"),
        ("", "en"),
        ("fr", "en"),
    ]:
        monkeypatch.setenv(i18n.LANG_VARIABLE, value)
        assert i18n.language() == want, value
    monkeypatch.delenv(i18n.LANG_VARIABLE)
    assert i18n.language() == "en"


def test_templates_carry_their_placeholders():
    pattern, write = i18n.compile_template(" returned the float {got}.", " 返回了浮点数 {got}。")
    assert (
        pattern.sub(write, "f(3) returned the float 3.0. Return an int.")
        == "f(3) 返回了浮点数 3.0。 Return an int."
    )
    pattern, write = i18n.compile_template(
        " should have shape {want}, but it has shape {got}.", " 的形状应为 {want}，实际为 {got}。"
    )
    assert (
        pattern.sub(write, "out should have shape (2, 3), but it has shape (3, 2).")
        == "out 的形状应为 (2, 3)，实际为 (3, 2)。"
    )
    for bad in ("{x} starts with a placeholder.", "ends with a placeholder {x}", "twice {x} and {x}."):
        with pytest.raises(ValueError):
            i18n.compile_template(bad, "中文")
    with pytest.raises(ValueError, match="does not have"):
        i18n.compile_template("a {x} b.", "{y}")


def test_english_is_unchanged_without_the_variable(monkeypatch, capsys):
    monkeypatch.delenv(i18n.LANG_VARIABLE, raising=False)
    message = "The scores are not scaled: divide q @ k^T by sqrt(d)."
    assert str(ExerciseError(message)) == message
    passed("f", "3 cases")
    assert capsys.readouterr().out == "✔ f: correct (3 cases).\n"


def test_chinese_with_the_variable(monkeypatch, capsys):
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")
    got = str(ExerciseError("attn(x (2, 3)) is wrong. The scores are not scaled: divide q @ k^T by sqrt(d)."))
    assert got == "attn(x (2, 3)) 不正确。分数没有缩放：把 q @ k^T 除以 sqrt(d)。"
    passed("cls_and_positions", "3 cases")
    assert capsys.readouterr().out == "✔ cls_and_positions：正确（3 个用例）。\n"
    unknown = "Some hint no table knows."
    assert str(ExerciseError(unknown)) == unknown  # left as it is, never garbled


def _module(name: str):
    return importlib.import_module(f"tfmcourse.exercises.{name}")


def _template(node: ast.AST) -> str | None:
    """A string or f-string as a template: each ``{...}`` becomes a numbered placeholder ``⟨n⟩``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out, n = "", 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                out += value.value
            else:  # f"{hint or 'default text'}": the default is collected as a message of its own
                out += f"⟨{n}⟩"
                n += 1
        return out
    return None


def messages(module) -> list[str]:
    """Every message template the checker module can build (see the module docstring)."""
    tree = ast.parse(inspect.getsource(module))
    found: list[str] = []

    def add(node: ast.AST) -> None:
        for sub in ast.walk(node):
            text = _template(sub)
            if text is not None and (isinstance(sub, ast.JoinedStr) or sub not in joined_parts):
                found.append(text)

    joined_parts = {v for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in MESSAGE_CALLS:
                for arg in node.args[1:] if name == "passed" else node.args:
                    add(arg)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in MESSAGE_NAMES for t in node.targets
        ):
            add(node.value)
    return [m for m in found if re.search(r"[A-Za-z]{3,}", m)]


def hint_constants(module) -> dict[str, str]:
    return {k: v for k, v in vars(module).items() if k.startswith("HINT") and isinstance(v, str)}


def test_there_are_translated_checker_modules():
    assert {"ch00", "ch11", "ch12", "ch14"} <= set(TRANSLATED)
    assert "common" in i18n.tables()


@pytest.mark.parametrize("name", TRANSLATED)
def test_every_hint_constant_has_a_chinese_version(name):
    table = i18n.tables()[name]
    missing = [k for k, v in hint_constants(_module(name)).items() if v not in table]
    assert not missing, (
        f"tfmcourse/exercises/{name}.py: {missing} have no Chinese version: add each English "
        f"text, exactly, with its Chinese to HINTS in tfmcourse/exercises/zh/{name}.py"
    )
    for english, chinese in table.items():
        assert CJK.search(chinese), f"zh/{name}.py: the 'Chinese' of {english!r} has no Chinese in it"


@pytest.mark.parametrize("name", TRANSLATED)
def test_every_message_comes_out_in_chinese(name):
    problems = []
    for template in messages(_module(name)):
        translated = i18n.translate(template, "zh")
        left = english_left(translated.replace("⟨", " ⟨").replace("⟩", "⟩ "))
        if left:
            problems.append(f"{template!r}\n    -> {translated!r}\n    English left: {left}")
    assert not problems, (
        f"tfmcourse/exercises/{name}.py builds messages that stay (partly) English with "
        f"TFMCOURSE_LANG=zh; add them to tfmcourse/exercises/zh/{name}.py:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("name", TRANSLATED)
def test_no_table_entry_is_left_behind(name):
    """A key whose English no longer occurs in the module translates a hint that was since edited."""
    tree = ast.parse(inspect.getsource(_module(name)))
    texts = [t for n in ast.walk(tree) if (t := _template(n)) is not None]
    texts += [v for v in hint_constants(_module(name)).values()]
    orphans = []
    for english in i18n.tables()[name]:
        pieces = [p for p in re.split(r"\{\w+\}", english) if p.strip()]
        if not all(any(piece in text for text in texts) for piece in pieces):
            orphans.append(english)
    assert not orphans, (
        f"tfmcourse/exercises/zh/{name}.py translates texts that tfmcourse/exercises/{name}.py no "
        f"longer has (was the English edited? translate the new text, delete the old): {orphans}"
    )


def test_common_messages_come_out_in_chinese():
    module = importlib.import_module("tfmcourse.exercises")
    problems = [
        m
        for m in messages(module)
        if english_left(i18n.translate(m, "zh").replace("⟨", " ⟨").replace("⟩", "⟩ "))
    ]
    assert not problems, (
        f"tfmcourse/exercises/__init__.py: add to tfmcourse/exercises/zh/common.py: {problems}"
    )


# The mutants of each translated module's own tests, and the checker they go to.
MUTANT_LISTS = {
    "ch00": {},
    "ch02": {},  # mutants parametrized in tests/test_exercises_ch02.py (test_ch02_mutants_fail_in_chinese)
    "ch01": {"RNN_MUTANTS": "rnn_step", "PATH_MUTANTS": "path_length"},
    "ch03": {
        "SPLIT_MUTANTS": "split_heads",
        "MERGE_MUTANTS": "merge_heads",
        "MHA_MUTANTS": "multi_head_attention",
    },
    "ch04": {},  # its mutants are inline pytest.mark.parametrize lists in tests/test_exercises_ch04.py
    # ch05's LAYER_MUTANTS are left out: the crash message of `_forgets_index` repeats the EncoderLayer's
    # nested repr, which the common "` raised ..." template cannot match (its placeholders allow one level of
    # parentheses), so it stays English; see the ch05 translator's report.
    "ch05": {"FF_MUTANTS": "feed_forward", "LN_MUTANTS": "layer_norm"},
    "ch06": {},  # its mutants are parametrized in tests/test_exercises_ch06.py (checked in Chinese by hand)
    "ch08": {"FLOPS_MUTANTS": "flops_per_token", "MFU_MUTANTS": "mfu"},
    "ch09": {  # STEP_MUTANTS holds names, not functions: its mutants are checked by test_exercises_ch09.py
        "ATTENTION_MUTANTS": "causal_self_attention",
        "TOPK_MUTANTS": "top_k_logits",
    },
    "ch13": {"LOSS_MUTANTS": "clip_loss", "ZS_MUTANTS": "zero_shot_classify", "EOT_MUTANTS": "eot_pool"},
    "ch11": {
        "ATTENTION_MUTANTS": "masked_self_attention",
        "MASKING_MUTANTS": "bert_masking",
        "CLS_MUTANTS": "cls_classifier",
    },
    "ch12": {
        "PATCHIFY_MUTANTS": "patchify",
        "CLS_MUTANTS": "cls_and_positions",
        "FORWARD_MUTANTS": "vit_forward",
    },
    "ch14": {
        "FB_MUTANTS": "mel_filterbank",
        "LM_MUTANTS": "log_mel",
        "CL_MUTANTS": "conv_stack_length",
        "CTC_MUTANTS": "ctc_greedy_decode",
    },
}


def _mutants():
    sys.path.insert(0, str(ROOT / "tests"))
    params = []
    for module, lists in MUTANT_LISTS.items():
        tests = importlib.import_module(f"test_exercises_{module}")
        for list_name, checker in lists.items():
            found = getattr(tests, list_name)
            items = found.values() if isinstance(found, dict) else found
            for i, (fn, _) in enumerate(items):
                params.append(pytest.param(module, checker, fn, id=f"{module}.{checker}-{i}"))
    return params


def test_every_translated_module_has_its_mutants_here():
    assert set(MUTANT_LISTS) == set(TRANSLATED), "add the new module's mutant lists to MUTANT_LISTS"


@pytest.mark.parametrize("module, checker, mutant", _mutants())
def test_mutants_fail_in_chinese(module, checker, mutant, monkeypatch):
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")
    with pytest.raises(ExerciseError) as caught:
        getattr(_module(module), checker)(mutant)
    message = str(caught.value)
    assert CJK.search(message), message
    # the learner's own exception text (after "抛出了") is theirs, not ours
    ours = message.split("抛出了")[0]
    assert not english_left(ours), f"English left in: {message}"


@pytest.mark.parametrize("name", TRANSLATED)
def test_stubs_fail_in_chinese(name, monkeypatch):
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")

    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: write your solution here")

    for checker in _module(name).__all__:
        with pytest.raises(ExerciseError, match="还没有实现"):
            getattr(_module(name), checker)(stub)


@pytest.mark.parametrize(
    "name",
    [
        "naive",
        "global_max",
        "global_max_nan_to_zero",
        "wrong_axis",
        "no_divide",
        "divide_by_max",
        "log_softmax_only",
        "returns_list",
    ],
)
def test_ch00_mutants_fail_in_chinese(name, monkeypatch):
    sys.path.insert(0, str(ROOT / "tests"))
    mutant = getattr(importlib.import_module("test_exercises_ch00"), name)
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")
    with pytest.raises(ExerciseError) as caught:
        _module("ch00").softmax(mutant)
    message = str(caught.value)
    assert CJK.search(message) and not english_left(message), message


def _ch02_mutants():
    sys.path.insert(0, str(ROOT / "tests"))
    tests = importlib.import_module("test_exercises_ch02")
    prefixes = {
        "scores_": "attention_scores",
        "softmax_": "masked_softmax",
        "masked_softmax_": "masked_softmax",
        "attention_": "attention",
        "additive_": "additive_attention",
    }
    params = []
    for name, fn in vars(tests).items():
        if not callable(fn) or name.startswith(("test_", "ref_")):
            continue
        prefix = max((p for p in prefixes if name.startswith(p)), key=len, default=None)
        if prefix:
            params.append(pytest.param(prefixes[prefix], fn, id=name))
    return params


@pytest.mark.parametrize("checker, mutant", _ch02_mutants())
def test_ch02_mutants_fail_in_chinese(checker, mutant, monkeypatch):
    """Every wrong version in tests/test_exercises_ch02.py gets its hint in Chinese (the right ones pass)."""
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")
    try:
        getattr(_module("ch02"), checker)(mutant)
    except ExerciseError as caught:
        message = str(caught)
        ours = message.split("抛出了")[0]
        assert CJK.search(message) and not english_left(ours), message


def test_a_checker_can_still_read_the_english_of_a_translated_error(monkeypatch):
    """ch04's apply_rope tells a refusal ("Write it yourself ...") from other errors by its English text;
    in Chinese the message is translated, so the checker reads ``ExerciseError.english``."""
    monkeypatch.setenv(i18n.LANG_VARIABLE, "zh")
    error = ExerciseError("Write it yourself, without torch.softmax: you handed in torch.softmax itself.")
    assert "请自己写" in str(error)
    assert error.english.startswith("Write it yourself")
