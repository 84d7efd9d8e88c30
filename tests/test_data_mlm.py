"""Data of chapter 11: BERT's masking, T5's span corruption, the WordPiece tokenizer, the docstring task."""

from __future__ import annotations

import pytest
import torch

from tfmcourse.data.docstrings import AREAS, docstring_dataset, split_dataset
from tfmcourse.data.mlm import (
    CLS,
    IGNORE,
    MASK,
    PAD,
    SEP,
    encode_texts,
    mask_tokens,
    mlm_batches,
    span_corruption,
    train_wordpiece,
)


def test_mask_tokens_rates_labels_and_specials():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 500, (200, 300), generator=gen)
    ids[:, 0], ids[:, -1], ids[:, -20:-1] = CLS, SEP, PAD
    inputs, labels = mask_tokens(ids, 500, generator=torch.Generator().manual_seed(1))
    picked = labels != IGNORE
    special = ids < 5
    assert not (picked & special).any() and torch.equal(inputs[special], ids[special])
    assert torch.equal(inputs[~picked], ids[~picked]) and torch.equal(labels[picked], ids[picked])
    assert abs(picked.sum().item() / (~special).sum().item() - 0.15) < 0.01
    masked = (inputs[picked] == MASK).float().mean().item()
    kept = (inputs[picked] == ids[picked]).float().mean().item()
    assert abs(masked - 0.8) < 0.02 and abs(kept - 0.1) < 0.02
    assert (inputs[picked] >= 5).sum() + (inputs[picked] == MASK).sum() == picked.sum()
    again = mask_tokens(ids, 500, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again[0], inputs) and torch.equal(again[1], labels)
    with pytest.raises(ValueError, match="ids"):
        mask_tokens(torch.rand(2, 3), 500)


def test_mlm_batches_depend_on_the_step_only():
    tokens = torch.arange(5, 1005)
    get = mlm_batches(tokens, 16, 4, 2000, seed=3)
    x, y = get(7)
    assert x.shape == y.shape == (4, 16) and (x[:, 0] == CLS).all() and (x[:, -1] == SEP).all()
    assert torch.equal(get(7)[0], x) and not torch.equal(get(8)[0], x)


@pytest.mark.parametrize("n", [20, 37, 100])
def test_span_corruption_round_trip(n):
    ids = torch.arange(100, 100 + n)
    sentinels = list(range(10, 30))
    inputs, targets, spans = span_corruption(ids, sentinels, generator=torch.Generator().manual_seed(n))
    hidden = sum(b - a for a, b in spans)
    assert hidden == max(1, round(0.15 * n))
    assert all(a2 > b1 for (_, b1), (a2, _) in zip(spans, spans[1:]))  # spans never touch
    assert len(inputs) == n - hidden + len(spans) and len(targets) == hidden + len(spans) + 1
    rebuilt, fills, current = [], {}, None
    for t in targets.tolist():
        if t in sentinels:
            current = fills.setdefault(t, [])
        else:
            current.append(t)
    for t in inputs.tolist():
        rebuilt.extend(fills[t] if t in sentinels else [t])
    assert rebuilt == ids.tolist()
    with pytest.raises(ValueError, match="sentinel"):
        span_corruption(ids, [1])


def test_wordpiece_specials_and_encode_texts():
    tok = train_wordpiece(["the cat sat on the mat. " * 50, "a dog ran in the park. " * 50], vocab_size=120)
    assert [tok.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 1, 2, 3, 4]
    ids, mask = encode_texts(tok, ["The cat.", "A dog ran in the park on the mat."], max_len=6)
    assert ids.shape == (2, 6) and (ids[:, 0] == CLS).all()
    assert ids[0].tolist()[-1] == PAD and mask[0].tolist()[-1] == 0 and ids[1, -1] == SEP


def test_docstring_dataset_is_deterministic_and_split_by_name():
    examples, areas = docstring_dataset()
    assert areas == list(AREAS) and len(examples) > 1000
    assert len({e.text for e in examples}) == len(examples)
    train, test = split_dataset(examples)
    assert not {e.name for e in train} & {e.name for e in test}
    assert 0.3 < len(test) / len(examples) < 0.5
    assert {e.label for e in test} == set(range(len(areas)))
    again, _ = docstring_dataset()
    assert [e.name for e in again] == [e.name for e in examples]
    with pytest.raises(ValueError, match="test_fraction"):
        split_dataset(examples, 1.5)


def test_wordpiece_vocabulary_is_the_same_in_every_process():
    import subprocess
    import sys

    code = (
        "from tfmcourse.data.mlm import train_wordpiece; "
        "t = train_wordpiece(['the cat sat on the mat, ' * 30 + 'a dog sat on a log. ' * 30], 100); "
        "print(sorted(t.get_vocab().items(), key=lambda kv: kv[1]))"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    tok = train_wordpiece(["the cat sat on the mat. " * 30], vocab_size=100)
    assert tok.encode("the cats").tokens == ["the", "cat", "##s"]  # an unseen word spelled with pieces
    with pytest.raises(ValueError, match="too small"):
        train_wordpiece(["".join(chr(0x4E00 + i) for i in range(200))], vocab_size=100)
