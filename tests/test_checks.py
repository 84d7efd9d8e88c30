"""Tests of tfmcourse.checks: inputs checked once, at the entry point, with one rule per kind of input."""

from __future__ import annotations

import pytest
import torch

from tfmcourse import checks
from tfmcourse.checks import Dims, check_ids, check_mask, entry_point
from tfmcourse.models.transformer import Transformer


def test_an_entry_point_checks_once_and_its_callees_trust_it():
    calls = []

    def check_inner(x):
        calls.append("inner")

    def check_outer(x):
        calls.append("outer")

    @entry_point(check_inner)
    def inner(x):
        return x + 1

    @entry_point(check_outer)
    def outer(x):
        return inner(x) * 2

    assert inner(1) == 2 and calls == ["inner"]
    calls.clear()
    assert outer(1) == 4 and calls == ["outer"]  # inner was called, but not checked again
    calls.clear()
    assert inner(1) == 2 and calls == ["inner"]  # after the outer call, a direct call checks again


def test_a_failed_check_leaves_no_state_behind():
    @entry_point(lambda x: (_ for _ in ()).throw(ValueError("bad x")))
    def f(x):
        return x

    with pytest.raises(ValueError, match="bad x"):
        f(1)
    assert checks._INSIDE.get() is False


def test_a_model_checks_its_masks_once_per_forward_pass(monkeypatch):
    """The src_mask of a 2+2-layer Transformer used to be checked at five levels; now once."""
    seen = []
    real = checks.check_mask

    def counting(mask, name, scores_shape):
        seen.append(name)
        return real(mask, name, scores_shape)

    for module in (
        "tfmcourse.models.transformer",
        "tfmcourse.transformer",
        "tfmcourse.blocks",
        "tfmcourse.multihead",
        "tfmcourse.attention",
        "tfmcourse.checks",
    ):
        monkeypatch.setattr(f"{module}.check_mask", counting)
    model = Transformer(
        11, 11, d_model=16, num_heads=2, num_encoder_layers=2, num_decoder_layers=2, d_ff=32, pad_id=0
    )
    src, tgt = torch.randint(1, 11, (2, 5)), torch.randint(1, 11, (2, 4))
    model(src, tgt, *model.make_masks(src, tgt))
    assert sorted(seen) == ["memory_mask", "src_mask", "tgt_mask"]


def test_the_old_block_checks_still_work():
    from tfmcourse.blocks import check_mask as old_check_mask
    from tfmcourse.blocks import check_x

    check_x(torch.zeros(2, 3, 8), "x", 8)
    old_check_mask(torch.ones(2, 4, 1, 6, dtype=torch.bool), "m", 2, 1, 6)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, seq, d_model=8\)"):
        check_x(torch.zeros(3, 8), "x", 8)
    with pytest.raises(ValueError, match="m has shape"):
        old_check_mask(torch.ones(3, 6, dtype=torch.bool), "m", 2, 4, 6)


def test_dims_learn_sizes_and_name_the_mismatch():
    dims = Dims(d_model=4)
    dims(torch.zeros(2, 3, 4), "query", "batch seq_q d_model")
    with pytest.raises(
        ValueError, match=r"key has shape \(5, 3, 4\) but query has shape \(2, 3, 4\): their batch"
    ):
        dims(torch.zeros(5, 3, 4), "key", "batch seq_k d_model")
    with pytest.raises(
        ValueError, match=r"x must have shape \(batch, seq_q, d_model=4\), got shape \(2, 4\)"
    ):
        Dims(d_model=4)(torch.zeros(2, 4), "x", "batch seq_q d_model")
    with pytest.raises(ValueError, match=r"x must be a floating-point tensor, got dtype torch.int64"):
        Dims()(torch.zeros(2, 4, dtype=torch.long), "x", "a b")
    with pytest.raises(ValueError, match=r"x must be a torch.Tensor of shape \(\.\.\., d=3\), got list"):
        Dims(d=3)([1.0], "x", "... d")
    Dims(d=3)(torch.zeros(4, 2, 5, 3), "x", "... d")  # any number of leading axes


@pytest.mark.parametrize(
    "shape,ok",
    [
        ((4, 6), True),
        ((1, 6), True),
        ((2, 1, 1, 6), True),
        ((1, 3, 4, 6), True),
        ((2, 3, 4, 6), True),
        ((6,), False),
        ((2, 4, 6), False),
        ((3, 1, 1, 6), False),
        ((4, 5), False),
        ((1, 1, 1, 1, 6), False),
    ],
)
def test_one_mask_rule(shape, ok):
    mask = torch.ones(shape, dtype=torch.bool)
    if ok:
        check_mask(mask, "m", (2, 3, 4, 6))
    else:
        with pytest.raises(ValueError, match=r"m has shape"):
            check_mask(mask, "m", (2, 3, 4, 6))


def test_ids_rule():
    check_ids(torch.zeros(2, 3, dtype=torch.long), "ids", 5)
    check_ids(torch.zeros(2, 3, dtype=torch.int32), "ids", 5)
    with pytest.raises(
        ValueError, match=r"ids must hold token ids as torch.long \(or int32\), got dtype torch.uint8"
    ):
        check_ids(torch.zeros(2, 3, dtype=torch.uint8), "ids", 5)
    with pytest.raises(ValueError, match=r"ids contains token id 7, outside the vocabulary \(vocab_size=5\)"):
        check_ids(torch.tensor([[1, 7]]), "ids", 5)
    with pytest.raises(ValueError, match=r"ids must have shape \(batch, seq\), got shape \(3,\)"):
        check_ids(torch.zeros(3, dtype=torch.long), "ids", 5)
