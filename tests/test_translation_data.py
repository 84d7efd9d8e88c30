"""Tests of tfmcourse.data.translation: the number rules, the data set's splits, the Vocab."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tfmcourse.data.translation import (
    BOS,
    EOS,
    PAD,
    UNK,
    Vocab,
    chinese,
    chinese_vocab,
    english,
    english_vocab,
    more_numbers,
    number_translation,
)

FAST = settings(max_examples=200, deadline=None)

# Known pairs, checked by hand against the usual conventions: a leading 一十 is 十, one 零 per gap,
# groups of four digits (万, 亿), British "and".
KNOWN = [
    (0, "zero", "零"),
    (7, "seven", "七"),
    (10, "ten", "十"),
    (12, "twelve", "十二"),
    (20, "twenty", "二十"),
    (21, "twenty one", "二十一"),
    (100, "one hundred", "一百"),
    (105, "one hundred and five", "一百零五"),
    (110, "one hundred and ten", "一百一十"),
    (999, "nine hundred and ninety nine", "九百九十九"),
    (1000, "one thousand", "一千"),
    (1001, "one thousand and one", "一千零一"),
    (1010, "one thousand and ten", "一千零一十"),
    (1100, "one thousand one hundred", "一千一百"),
    (4012, "four thousand and twelve", "四千零一十二"),
    (10000, "ten thousand", "一万"),
    (10010, "ten thousand and ten", "一万零一十"),
    (10500, "ten thousand five hundred", "一万零五百"),
    (15000, "fifteen thousand", "一万五千"),
    (100000, "one hundred thousand", "十万"),
    (100500, "one hundred thousand five hundred", "十万零五百"),
    (101000, "one hundred and one thousand", "十万一千"),
    (105000, "one hundred and five thousand", "十万五千"),
    (110000, "one hundred and ten thousand", "十一万"),
    (1000000, "one million", "一百万"),
    (1000005, "one million and five", "一百万零五"),
    (1050000, "one million fifty thousand", "一百零五万"),
    (10000000, "ten million", "一千万"),
    (100000000, "one hundred million", "一亿"),
    (100000001, "one hundred million and one", "一亿零一"),
    (100001000, "one hundred million one thousand", "一亿零一千"),
    (1000000000, "one billion", "十亿"),
]


@pytest.mark.parametrize("n,en,zh", KNOWN)
def test_known_pairs(n, en, zh):
    assert english(n) == en
    assert chinese(n) == zh


def _parse_chinese(text: str) -> int:
    """An independent reader of Chinese numerals (for the round-trip property)."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    small = {"十": 10, "百": 100, "千": 1000}
    big = {"万": 10**4, "亿": 10**8}
    total, section, number = 0, 0, 0
    for c in text:
        if c in digits:
            number = digits[c]
        elif c in small:
            section += (number or 1) * small[c]
            number = 0
        else:
            section += number
            total = (total + section) * big[c] if big[c] == 10**8 else total + section * big[c]
            section, number = 0, 0
    return total + section + number


_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_WORDS.update(
    {
        w: 10 * i
        for i, w in enumerate(
            ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
        )
        if i > 1
    }
)


def _parse_english(text: str) -> int:
    total, group = 0, 0
    for w in text.split():
        if w in _WORDS:
            group += _WORDS[w]
        elif w == "hundred":
            group *= 100
        elif w == "and":
            continue
        else:
            total += group * {"thousand": 10**3, "million": 10**6, "billion": 10**9}[w]
            group = 0
    return total + group


@FAST
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_both_languages_read_back_to_the_number(n):
    assert _parse_chinese(chinese(n)) == n
    assert _parse_english(english(n)) == n


@FAST
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_chinese_conventions(n):
    zh = chinese(n)
    assert "零零" not in zh  # one 零 per gap
    assert not zh.startswith("一十")  # a leading 一十 is written 十
    assert n == 0 or not zh.endswith("零")  # trailing zeros are not read
    assert set(zh) <= set("零一二三四五六七八九十百千万亿")


@pytest.mark.parametrize("bad", [-1, 10**12, 1.0, "3", True])
def test_bad_numbers_raise(bad):
    with pytest.raises(ValueError, match="n must be an int"):
        english(bad)
    with pytest.raises(ValueError, match="n must be an int"):
        chinese(bad)


SMALL = dict(n_train=3000, n_valid=200, n_test=300, n_hard=300)


def test_same_seed_same_data_other_seed_other_data():
    a = number_translation(**SMALL, seed=1)
    assert a == number_translation(**SMALL, seed=1)
    assert a["train"] != number_translation(**SMALL, seed=2)["train"]


def test_splits_have_the_asked_sizes_and_share_nothing():
    data = number_translation(**SMALL, seed=0)
    assert {k: len(v) for k, v in data.items()} == {"train": 3000, "valid": 200, "test": 300, "hard": 300}
    sources = {k: {en for en, _ in v} for k, v in data.items()}
    for k, v in sources.items():
        assert len(v) == len(data[k]), f"split {k} has a duplicate"
    names = list(sources)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not sources[a] & sources[b], f"{a} and {b} overlap"


def test_hard_split_is_longer_than_anything_in_training():
    data = number_translation(**SMALL, max_words=8, seed=0)
    longest = max(len(en.split()) for split in ("train", "valid", "test") for en, _ in data[split])
    assert longest <= 8
    assert min(len(en.split()) for en, _ in data["hard"]) > longest


def test_pairs_are_translations():
    data = number_translation(**SMALL, seed=3)
    for split in data.values():
        for en, zh in split[:50]:
            assert chinese(_parse_english(en)) == zh


def test_the_task_has_reordering_vanishing_and_appearing_words():
    train = number_translation(**SMALL, seed=0)["train"]
    assert any("and" in en.split() for en, _ in train)  # "and" has no Chinese counterpart
    assert any("零" in zh for _, zh in train)  # 零 has no English counterpart
    assert any(len(en.split()) != len(zh) for en, zh in train)


def test_impossible_request_raises():
    with pytest.raises(ValueError, match="cannot draw"):
        number_translation(n_train=200, n_valid=0, n_test=0, n_hard=0, max_digits=2)
    with pytest.raises(ValueError, match="n_train"):
        number_translation(n_train=-1)


def test_more_numbers_are_new_long_and_repeatable():
    data = number_translation(**SMALL, seed=0)
    used = {en for split in data.values() for en, _ in split}
    extra = more_numbers(400, min_words=9, exclude=used, seed=5)
    assert extra == more_numbers(400, min_words=9, exclude=used, seed=5)
    assert len({en for en, _ in extra}) == 400 and not {en for en, _ in extra} & used
    assert all(len(en.split()) >= 9 and chinese(_parse_english(en)) == zh for en, zh in extra)
    short = more_numbers(50, max_words=2, seed=1)
    assert all(len(en.split()) <= 2 for en, _ in short)
    with pytest.raises(ValueError, match="cannot draw"):
        more_numbers(50, min_words=9, max_digits=2)
    with pytest.raises(ValueError, match="min_words <= max_words"):
        more_numbers(5, min_words=4, max_words=3)


# ----------------------------------------------------------------------------- Vocab


def test_specials_come_first():
    v = chinese_vocab()
    assert v.itos[:4] == [PAD, BOS, EOS, UNK]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)


def test_vocabularies_cover_every_generated_symbol():
    sv, tv = english_vocab(), chinese_vocab()
    for n in list(range(0, 2000)) + [10**k + 7 for k in range(12)] + [10**12 - 1]:
        assert tv.unk_id not in tv.encode(chinese(n), strict=True)
        assert sv.unk_id not in sv.encode(english(n), strict=True)


@FAST
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_encode_decode_round_trip(n):
    for vocab, text in ((english_vocab(), english(n)), (chinese_vocab(), chinese(n))):
        ids = vocab.encode(text, bos=True, eos=True)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert vocab.decode(ids) == text


def test_decode_stops_at_eos_and_skips_padding():
    v = chinese_vocab()
    ids = v.encode("十二", bos=True, eos=True) + v.encode("三") + [v.pad_id]
    assert v.decode(ids) == "十二"
    assert v.decode(ids, keep_special=True) == "<bos>十二<eos>三<pad>"
    assert v.decode(torch.tensor(ids)) == "十二"


def test_unknown_symbols():
    v = english_vocab()
    assert v.encode("one zillion") == [v.stoi["one"], v.unk_id]
    with pytest.raises(ValueError, match=r"unknown word 'zillion' at position 2 of 'two hundred zillion'"):
        v.encode("two hundred zillion", strict=True)
    c = chinese_vocab()
    with pytest.raises(ValueError, match=r"unknown char '两' at position 0"):
        c.encode("两千", strict=True)
    with pytest.raises(ValueError, match=re.escape("unknown word '<eos>'")):
        v.encode("one <eos>", strict=True)  # a special written in the text is not the special


def test_encode_batch_pads_on_the_right():
    v = english_vocab()
    ids = v.encode_batch(["one", "two hundred"], bos=True, eos=True)
    assert ids.shape == (2, 4) and ids.dtype == torch.long
    assert ids[0].tolist() == [v.bos_id, v.stoi["one"], v.eos_id, v.pad_id]
    assert v.decode_batch(ids) == ["one", "two hundred"]


def test_save_load_round_trip(tmp_path):
    for i, vocab in enumerate((english_vocab(), chinese_vocab(), Vocab.build(["a b", "b c"]))):
        path = tmp_path / f"v{i}.json"
        vocab.save(path)
        again = Vocab.load(path)
        assert again == vocab and again.level == vocab.level
        assert again.encode("one 十 b") == vocab.encode("one 十 b")
    assert "十" in (tmp_path / "v1.json").read_text(encoding="utf-8")  # readable JSON, not \\u escapes


def test_load_rejects_a_bad_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        Vocab.load(path)
    path.write_text('{"level": "char", "symbols": ["a", "b"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="first symbols"):
        Vocab.load(path)


def test_build_and_bad_arguments():
    v = Vocab.build(["b a", "a c"], level="word")
    assert v.itos[4:] == ["b", "a", "c"]
    assert Vocab.build(["十二"], level="char").itos[4:] == ["十", "二"]
    with pytest.raises(ValueError, match="level"):
        Vocab([], level="bpe")
    with pytest.raises(ValueError, match="one character"):
        Vocab(["ab"], level="char")
    with pytest.raises(ValueError, match="whitespace"):
        Vocab(["a b"], level="word")
    with pytest.raises(ValueError, match="out of range"):
        english_vocab().decode([999])
