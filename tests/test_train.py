"""Tests of tfmcourse.train: schedules, label smoothing, checkpoints (atomic, checked), exact resume."""

from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tfmcourse import train as train_module
from tfmcourse.train import (
    Trainer,
    constant_lr,
    cosine_lr,
    label_smoothed_cross_entropy,
    load_checkpoint,
    make_schedule,
    noam_lr,
    save_checkpoint,
    shuffled_batches,
)

# ----------------------------------------------------------------------------- schedules


def test_noam_values():
    d_model, warmup = 512, 4000
    # the formula of the paper, written out
    for step in (1, 10, 100, 3999, 4000, 4001, 10000, 100000):
        want = d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
        assert noam_lr(step, d_model, warmup) == pytest.approx(want, rel=1e-12)
    # linear during warmup, peak at warmup, 1/sqrt(step) after
    assert noam_lr(2000, d_model, warmup) == pytest.approx(noam_lr(1000, d_model, warmup) * 2)
    peak = noam_lr(warmup, d_model, warmup)
    assert peak == pytest.approx(1 / math.sqrt(d_model * warmup))
    assert all(noam_lr(s, d_model, warmup) < peak for s in (warmup - 1, warmup + 1))
    assert noam_lr(4 * warmup, d_model, warmup) == pytest.approx(peak / 2)
    assert noam_lr(100, 64, 10, factor=2.0) == pytest.approx(2 * noam_lr(100, 64, 10))


def test_cosine_values():
    assert cosine_lr(5, 1.0, 10, 110) == pytest.approx(0.5)
    assert cosine_lr(10, 1.0, 10, 110) == pytest.approx(1.0)
    assert cosine_lr(60, 1.0, 10, 110) == pytest.approx(0.5)  # half way down
    assert cosine_lr(110, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.1)
    assert cosine_lr(500, 1.0, 10, 110, min_lr=0.1) == pytest.approx(0.1)
    values = [cosine_lr(s, 1.0, 10, 110) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_constant_and_make_schedule():
    assert constant_lr(3, 0.5) == 0.5 and constant_lr(3, 0.5, warmup=6) == 0.25
    assert make_schedule("noam", lr=2.0, warmup=10, d_model=64)(7) == noam_lr(7, 64, 10, 2.0)
    assert make_schedule("cosine", lr=1.0, warmup=10, total_steps=110)(60) == cosine_lr(60, 1.0, 10, 110)
    with pytest.raises(ValueError, match="d_model"):
        make_schedule("noam", lr=1.0, warmup=10)
    with pytest.raises(ValueError, match="total_steps"):
        make_schedule("cosine", lr=1.0, warmup=10)
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("linear", lr=1.0, warmup=10)
    with pytest.raises(ValueError, match="step counts from 1"):
        noam_lr(0, 64, 10)


def test_trainer_uses_the_schedule():
    model = nn.Linear(3, 1)
    trainer = Trainer(
        model,
        lambda m, b: m(b).pow(2).mean(),
        lambda step: torch.ones(4, 3),
        lr=0.5,
        warmup=5,
        d_model=16,
        progress=False,
    )
    history = trainer.train(12)
    assert history["lr"] == pytest.approx([noam_lr(s, 16, 5, 0.5) for s in range(1, 13)], rel=1e-12)


# ----------------------------------------------------------------------------- label smoothing


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_label_smoothing_equals_torch(smoothing, ignore_index):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 11, (3, 5), generator=gen)
    target[0, 3:] = ignore_index if ignore_index >= 0 else -100
    target[2, 1] = ignore_index if ignore_index >= 0 else -100
    ours = label_smoothed_cross_entropy(logits, target, smoothing, ignore_index=ignore_index)
    want = F.cross_entropy(
        logits.reshape(-1, 11), target.reshape(-1), label_smoothing=smoothing, ignore_index=ignore_index
    )
    torch.testing.assert_close(ours, want, atol=1e-12, rtol=1e-12)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_want,) = torch.autograd.grad(want, logits)
    torch.testing.assert_close(g_ours, g_want, atol=1e-12, rtol=1e-12)
    for reduction in ("sum", "none"):
        got = label_smoothed_cross_entropy(logits, target, smoothing, ignore_index, reduction=reduction)
        ref = F.cross_entropy(
            logits.reshape(-1, 11),
            target.reshape(-1),
            label_smoothing=smoothing,
            ignore_index=ignore_index,
            reduction=reduction,
        )
        torch.testing.assert_close(got.reshape(ref.shape), ref, atol=1e-12, rtol=1e-12)


def test_label_smoothing_by_hand():
    # two classes, uniform logits: -log p = log 2 for every class, whatever the smoothing
    logits = torch.zeros(1, 2, dtype=torch.float64)
    assert label_smoothed_cross_entropy(logits, torch.tensor([1]), 0.3).item() == pytest.approx(math.log(2))
    # a confident right answer costs more with smoothing: the target is no longer one-hot
    logits = torch.tensor([[10.0, 0.0, 0.0]], dtype=torch.float64)
    plain = label_smoothed_cross_entropy(logits, torch.tensor([0]), 0.0)
    smooth = label_smoothed_cross_entropy(logits, torch.tensor([0]), 0.1)
    assert smooth > plain + 0.5


def test_label_smoothing_all_ignored_is_zero_not_nan():
    logits = torch.randn(2, 3, 5, requires_grad=True)
    loss = label_smoothed_cross_entropy(logits, torch.zeros(2, 3, dtype=torch.long), 0.1, ignore_index=0)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_label_smoothing_bad_input():
    logits = torch.randn(2, 3, 5)
    with pytest.raises(ValueError, match=r"target has shape \(2, 4\) but logits has shape \(2, 3, 5\)"):
        label_smoothed_cross_entropy(logits, torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="smoothing"):
        label_smoothed_cross_entropy(logits, torch.zeros(2, 3, dtype=torch.long), smoothing=1.0)
    with pytest.raises(ValueError, match="target ids"):
        label_smoothed_cross_entropy(logits, torch.full((2, 3), 5))
    with pytest.raises(ValueError, match="long"):
        label_smoothed_cross_entropy(logits, torch.zeros(2, 3))


# ----------------------------------------------------------------------------- a tiny task


class Tiny(nn.Module):
    """Embedding -> dropout -> linear: small, but with randomness (dropout) to restore on resume."""

    def __init__(self, vocab: int = 7, d: int = 8):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(d, vocab)

    def forward(self, x):
        return self.out(self.drop(self.embed(x)))


def tiny_loss(model, batch):
    x, y = batch
    return label_smoothed_cross_entropy(model(x), y, 0.1, ignore_index=0)


def tiny_data(n: int = 40):
    gen = torch.Generator().manual_seed(123)
    x = torch.randint(1, 7, (n, 5), generator=gen)
    return x, (x + 1) % 7  # predict the next id (0 = padding is ignored)


def make_trainer(seed: int = 0, **kw) -> Trainer:
    """A trainer of a freshly initialised Tiny (torch seeded with ``seed``); the batches' order is fixed."""
    torch.manual_seed(seed)
    kw = {"lr": 2.0, "warmup": 4, "d_model": 8, "progress": False, "log_every": 3, **kw}
    return Trainer(Tiny(), tiny_loss, shuffled_batches(tiny_data(), batch_size=8, seed=0), **kw)


def test_training_reduces_the_loss_and_records_history():
    trainer = make_trainer(eval_fn=lambda m: tiny_loss(m, tiny_data()).item(), eval_every=10)
    history = trainer.train(30)
    assert len(history["loss"]) == len(history["lr"]) == len(history["grad_norm"]) == 30
    assert history["eval_step"] == [10, 20, 30]
    assert history["eval"][-1] < history["eval"][0]
    assert trainer.step == 30 and trainer.train_seconds > 0


def test_same_seed_same_run():
    a = make_trainer(seed=3)
    a.train(10)
    b = make_trainer(seed=3)  # seeds torch again, as a notebook does at its top
    b.train(10)
    assert a.history["loss"] == b.history["loss"]
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_gradient_clipping():
    trainer = make_trainer(clip_norm=1e-3)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train(1)
    assert trainer.history["grad_norm"][0] > 1e-3  # the norm recorded is the one before clipping
    # Adam normalises the step size, so check the clipped gradients themselves
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainer.model.parameters()]))
    assert norm.item() == pytest.approx(1e-3, rel=1e-4)
    assert any(not torch.equal(a, p) for a, p in zip(before, trainer.model.parameters()))


def test_evaluation_does_not_change_the_training():
    noisy_eval = lambda m: float(torch.rand(()).item() + m(tiny_data()[0]).sum().item())  # uses the RNG
    a = make_trainer(eval_fn=noisy_eval, eval_every=2)
    a.train(8)
    b = make_trainer()
    b.train(8)
    assert a.history["loss"] == b.history["loss"]
    assert a.model.training


def _rng_noise() -> None:
    """Move every global generator, so that a resume that forgets to restore them is caught."""
    torch.rand(5)
    random.random()
    np.random.rand()


@pytest.mark.parametrize("schedule", ["noam", "cosine"])
def test_resume_is_exact(tmp_path, schedule):
    kw = {"schedule": schedule, "total_steps": 40} if schedule == "cosine" else {}
    n = 7  # not a multiple of the 5 batches per epoch, nor of log_every
    one_go = make_trainer(**kw)
    one_go.train(2 * n)

    first = make_trainer(**kw)
    first.train(n)
    first.save(tmp_path / "ckpt.pt")
    _rng_noise()
    resumed = make_trainer(seed=99, **kw)  # different initial weights: all must come from the file
    resumed.load(tmp_path / "ckpt.pt")
    assert resumed.step == n
    resumed.train(n)

    for (name, p), q in zip(one_go.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(p, q), f"{name} differs after resuming"
    assert resumed.history["loss"] == one_go.history["loss"]
    assert resumed.history["lr"] == one_go.history["lr"]
    assert (
        resumed.optimizer.state_dict()["state"][0]["step"]
        == one_go.optimizer.state_dict()["state"][0]["step"]
    )


def test_checkpoint_restores_python_and_numpy_random_state(tmp_path):
    model = Tiny()
    random.seed(5)
    np.random.seed(5)
    save_checkpoint(tmp_path / "c.pt", model, step=3)
    want = (random.random(), np.random.rand())
    _rng_noise()
    state = load_checkpoint(tmp_path / "c.pt", Tiny())
    assert (random.random(), np.random.rand()) == want
    assert state["step"] == 3


def test_checkpoint_is_loadable_with_weights_only(tmp_path):
    trainer = make_trainer()
    trainer.train(3)
    path = trainer.save(tmp_path / "sub" / "c.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["step"] == 3 and set(raw) >= {"model", "optimizer", "scheduler", "rng", "extra"}


# ----------------------------------------------------------------------------- broken files


def _good_checkpoint(tmp_path):
    trainer = make_trainer()
    trainer.train(2)
    return trainer, trainer.save(tmp_path / "good.pt")


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "flip"])
def test_a_damaged_checkpoint_gives_a_clear_error(tmp_path, damage):
    trainer, path = _good_checkpoint(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data[:64] = os.urandom(64)
    else:  # a few bytes flipped in the middle: the zip still opens, a tensor is silently wrong
        mid = len(data) // 2
        data[mid : mid + 4] = bytes(b ^ 0xFF for b in data[mid : mid + 4])
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        load_checkpoint(path, trainer.model, trainer.optimizer, trainer.scheduler)


def test_missing_or_foreign_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt", Tiny())
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a tfmcourse checkpoint"):
        load_checkpoint(tmp_path / "other.pt", Tiny())
    save_checkpoint(tmp_path / "small.pt", Tiny(d=4))
    with pytest.raises(ValueError, match="model state in .*small.pt does not fit"):
        load_checkpoint(tmp_path / "small.pt", Tiny(d=8))
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(tmp_path / "small.pt", Tiny(d=4), optimizer=torch.optim.Adam(Tiny(d=4).parameters()))


def test_a_crash_while_saving_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer, path = _good_checkpoint(tmp_path)
    good = path.read_bytes()
    trainer.train(2)
    real_save = torch.save

    def crash_half_way(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # write everything, then keep only half and die
        f.seek(len(good) // 2)
        f.truncate()
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(train_module.torch, "save", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.pt"], "a temporary file was left behind"
    state = load_checkpoint(path, trainer.model, trainer.optimizer, trainer.scheduler)
    assert state["step"] == 2


def test_trainer_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        make_trainer().train(-1)
    with pytest.raises(ValueError, match="scalar"):
        Trainer(
            Tiny(), lambda m, b: m(b[0]), shuffled_batches(tiny_data(), 8), d_model=8, progress=False
        ).train(1)
    with pytest.raises(ValueError, match="batch_size"):
        shuffled_batches(tiny_data(), 0)
    with pytest.raises(ValueError, match="same first axis"):
        shuffled_batches((torch.zeros(4), torch.zeros(5)), 2)


def test_shuffled_batches_cover_each_epoch_once():
    x = torch.arange(10)
    get = shuffled_batches(x, batch_size=5, seed=1)
    epoch0 = torch.cat([get(0), get(1)])
    assert sorted(epoch0.tolist()) == list(range(10))
    assert not torch.equal(epoch0, torch.cat([get(2), get(3)]))  # a new order next epoch
    assert torch.equal(get(1), shuffled_batches(x, 5, seed=1)(1))  # a function of the step only
    batch = shuffled_batches({"a": x, "b": 2 * x}, 3)(0)
    assert torch.equal(batch["b"], 2 * batch["a"])
