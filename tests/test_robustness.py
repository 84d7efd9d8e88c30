"""Training, checkpoints and sampling that never lose work or fail obscurely: one section per way they
used to (a new user's small scripts against the package), each with the clear error or the defined result
a user now gets."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
import torch
from torch import nn

from tfmcourse.checkpoint import load_checkpoint, save_checkpoint
from tfmcourse.models.gpt import GPT, GPTConfig, evaluate_lm, lm_loss
from tfmcourse.sampling import filter_logits, generate, sample_next
from tfmcourse.train import Trainer


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x)


def tiny_trainer(**kw) -> Trainer:
    torch.manual_seed(0)
    data = torch.randn(64, 3)
    kw = dict(lr=1e-2, schedule="constant", warmup=0, progress=False, log_every=1) | kw
    return Trainer(
        Tiny(), lambda m, b: m(b).pow(2).mean(), lambda step: data[8 * (step % 8) : 8 * (step % 8) + 8], **kw
    )


def states(trainer: Trainer) -> list[torch.Tensor]:
    """Every tensor of the weights and of the optimizer state, copied."""
    out = [t.detach().clone() for t in trainer.model.state_dict().values()]
    for s in trainer.optimizer.state.values():
        out += [v.detach().clone() for v in s.values() if isinstance(v, torch.Tensor)]
    return out


# ----------------------------------------------------------------------------------------------------------
# 1. a checkpoint that saved always loads; what cannot be stored safely is refused when saving


def test_numpy_values_paths_and_tuples_in_extra_load_back(tmp_path):
    model = Tiny()
    extra = {
        "acc": np.float32(0.5),
        "mean": np.float64(1.5),
        "n": np.int64(3),
        "curve": np.arange(4.0),
        "where": pathlib.Path("runs/a"),
        "pair": (1, np.float64(2.0)),
        "nested": {"ok": [np.bool_(True)]},
    }
    save_checkpoint(tmp_path / "c.pt", model, extra=extra)
    got = load_checkpoint(tmp_path / "c.pt", model)["extra"]
    assert got["acc"] == 0.5 and got["mean"] == 1.5 and got["n"] == 3 and got["where"] == "runs/a"
    assert torch.equal(torch.as_tensor(got["curve"]), torch.arange(4.0, dtype=torch.float64))
    assert list(got["pair"]) == [1, 2.0] and got["nested"] == {"ok": [True]}


def test_trainer_save_and_load_with_an_eval_fn_returning_numpy(tmp_path):
    trainer = tiny_trainer(eval_fn=lambda m: np.float64(1.5), eval_every=1)
    trainer.train(2)
    trainer.save(tmp_path / "t.pt")
    again = tiny_trainer(eval_fn=lambda m: np.float64(1.5), eval_every=1)
    again.load(tmp_path / "t.pt")
    assert again.step == 2 and again.history["eval"] == [1.5, 1.5]


def test_what_cannot_be_stored_is_refused_when_saving_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"extra\['log'\]\[1\].*function"):
        save_checkpoint(tmp_path / "c.pt", Tiny(), extra={"log": [1, print]})
    assert not (tmp_path / "c.pt").exists()


# ----------------------------------------------------------------------------------------------------------
# 2. a non-finite loss or gradient stops training, naming the step, before anything is written


@pytest.mark.parametrize("bad", ["loss", "grad"])
def test_a_non_finite_loss_or_gradient_stops_training_before_the_update(bad):
    trainer = tiny_trainer()
    trainer.train(3)
    good_fn = trainer.loss_fn

    def poisoned(model, batch):
        loss = good_fn(model, batch)
        if bad == "loss":
            return loss * float("nan")
        # the same finite loss, with a NaN gradient (the derivative of sqrt(|u|) at u = 0)
        return loss + (model.lin.bias - model.lin.bias.detach()).abs().sqrt().sum()

    trainer.loss_fn = poisoned
    before = states(trainer)
    with pytest.raises(FloatingPointError, match="step 3"):
        trainer.train(2)
    after = states(trainer)
    assert all(torch.equal(a, b) for a, b in zip(before, after)) and len(before) == len(after)
    assert all(torch.isfinite(t).all() for t in after)
    assert trainer.step == 3


def test_on_a_gpu_a_non_finite_step_is_skipped_on_the_device_and_reported_at_the_next_read():
    """The path a GPU takes (no host read per step), run on the CPU with the fused Adam kernel, which skips
    its update when told that the step is not finite."""
    trainer = tiny_trainer(fused=True, log_every=4)
    if not trainer.optimizer.defaults.get("fused"):
        pytest.skip("no fused Adam on this machine")
    trainer._skip_on_device = True  # what a CUDA device with fused Adam sets
    good_fn = trainer.loss_fn
    trainer.loss_fn = lambda m, b: good_fn(m, b) * (float("nan") if trainer.step == 2 else 1.0)
    with pytest.raises(FloatingPointError, match="step 2: the loss is nan.*skipped"):
        trainer.train(8)
    assert trainer.step == 4 and len(trainer.history["loss"]) == 2  # the losses before the skipped step
    assert all(torch.isfinite(t).all() for t in states(trainer))


# ----------------------------------------------------------------------------------------------------------
# 3. a failed load leaves the model, optimizer and scheduler as they were


def test_a_failed_load_changes_nothing(tmp_path):
    trainer = tiny_trainer()
    trainer.train(2)
    trainer.save(tmp_path / "t.pt")
    other = tiny_trainer()
    other.model.lin.weight.data.fill_(7.0)
    wrong = torch.optim.Adam([nn.Parameter(torch.zeros(5))])  # one parameter where the checkpoint has two
    before = [t.clone() for t in other.model.state_dict().values()]
    with pytest.raises(ValueError, match="optimizer"):
        load_checkpoint(tmp_path / "t.pt", other.model, wrong)
    assert all(torch.equal(a, b) for a, b in zip(before, other.model.state_dict().values()))


# ----------------------------------------------------------------------------------------------------------
# 4. the random states are restored from CPU tensors, whatever map_location says


def test_load_with_another_map_location(tmp_path):
    trainer = tiny_trainer()
    trainer.train(2)
    trainer.save(tmp_path / "t.pt")
    other = tiny_trainer()
    state = load_checkpoint(
        tmp_path / "t.pt", other.model, other.optimizer, other.scheduler, map_location="meta"
    )
    assert state["step"] == 2
    assert torch.equal(other.model.lin.weight, trainer.model.lin.weight)


# ----------------------------------------------------------------------------------------------------------
# 5. sampling: ties broken like greedy, non-finite logits named, the limits of the temperature


def test_top_p_and_top_k_keep_the_greedy_token_among_ties():
    logits = torch.zeros(1, 64)
    assert torch.isfinite(filter_logits(logits, top_p=1e-9)).nonzero()[:, 1].tolist() == [0]
    assert torch.isfinite(filter_logits(logits, top_k=1)).nonzero()[:, 1].tolist() == [0]
    assert torch.isfinite(filter_logits(logits, top_k=3)).nonzero()[:, 1].tolist() == [0, 1, 2]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_logits_are_refused_naming_the_row(value):
    logits = torch.zeros(3, 5)
    logits[2, 1] = value
    with pytest.raises(ValueError, match="row 2"):
        sample_next(logits)


def test_a_row_without_any_possible_token_is_refused():
    logits = torch.zeros(2, 4)
    logits[1] = float("-inf")
    with pytest.raises(ValueError, match="row 1"):
        sample_next(logits)


def test_a_tiny_temperature_gives_the_greedy_token_and_an_infinite_one_is_refused():
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, -1.0, 0.5]])
    for t in (1e-45, 1e-300):
        assert sample_next(logits, temperature=t).tolist() == [1, 0]
    with pytest.raises(ValueError, match="temperature"):
        sample_next(logits, temperature=math.inf)


# ----------------------------------------------------------------------------------------------------------
# 6. edge shapes: a clear ValueError, or a defined empty result


def small_gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, max_len=8, d_model=16, num_layers=1, num_heads=2)).eval()


def test_an_empty_batch_gives_an_empty_result():
    assert small_gpt()(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3, 11)


def test_token_ids_of_a_small_integer_type_are_refused():
    with pytest.raises(ValueError, match="torch.uint8"):
        small_gpt()(torch.zeros(1, 3, dtype=torch.uint8))


def test_evaluate_lm_with_no_context_is_refused():
    with pytest.raises(ValueError, match="context"):
        evaluate_lm(small_gpt(), torch.zeros(20, dtype=torch.long), context=0)


def test_lm_loss_with_every_target_ignored_is_zero():
    x, y = torch.zeros(2, 3, dtype=torch.long), torch.full((2, 3), -100)
    loss = lm_loss(small_gpt(), (x, y))
    assert loss.item() == 0.0


def test_split_heads_with_zero_heads_is_refused():
    from tfmcourse.multihead import split_heads

    with pytest.raises(ValueError, match="num_heads"):
        split_heads(torch.zeros(2, 3, 8), 0)


def test_a_cache_that_is_not_a_kv_cache_is_refused():
    from tfmcourse.multihead import MultiHeadAttention

    x = torch.zeros(1, 2, 8)
    with pytest.raises(ValueError, match="cache"):
        MultiHeadAttention(8, 2)(x, x, x, cache={"k": torch.zeros(1, 2, 2, 4)})


def test_vocab_decode_refuses_ids_that_are_not_integers(no_type_checks):
    from tfmcourse.data.translation import english_vocab

    vocab = english_vocab()
    with pytest.raises(ValueError, match="4.7"):
        vocab.decode([4.7])


def test_translation_data_error_counts_what_it_could_draw():
    from tfmcourse.data.translation import number_translation

    with pytest.raises(ValueError, match=r"got 5 of them and 0"):
        number_translation(n_train=5, n_valid=0, n_test=0, n_hard=50, max_digits=2)


# ----------------------------------------------------------------------------------------------------------
# 7. no host read of the token ids off the CPU (on a GPU it would wait for the device at every step)


def test_gpt_reads_no_token_id_off_the_cpu():
    """On the meta device (shapes only) reading a value raises: the forward pass must not read any."""
    with torch.device("meta"):
        model = GPT(GPTConfig(vocab_size=11, max_len=8, d_model=16, num_layers=1, num_heads=2))
        ids = torch.zeros(2, 5, dtype=torch.long)
    assert model(ids).shape == (2, 5, 11)
    cache = model.new_cache()
    assert generate(model, ids[:, :2], 0, temperature=0).shape == (2, 2)  # nothing to generate, nothing read
    assert model(ids[:, :3], cache=cache).shape == (2, 3, 11)
