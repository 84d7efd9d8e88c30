"""The speed options of tfmcourse.train (chapter 8): each is off by default, and each computes the same
training as without it (to rounding) where it should."""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch
from torch import nn

from tfmcourse import perf, speed
from tfmcourse import train as T
from tfmcourse.models.gpt import GPT, GPTConfig, lm_loss


def tiny_gpt(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=32, max_len=16, d_model=16, num_layers=2, num_heads=2))


def lm_batches(batch: int = 4, seq: int = 16, seed: int = 0):
    def get_batch(step: int):
        g = torch.Generator().manual_seed(seed * 1000 + step)
        ids = torch.randint(0, 32, (batch, seq + 1), generator=g)
        return ids[:, :-1], ids[:, 1:]

    return get_batch


def params_of(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def make(model, get_batch, **kw):
    return T.Trainer(model, lm_loss, get_batch, lr=1e-2, schedule="constant", warmup=0, progress=False, **kw)


# ----------------------------------------------------------------------------- the helpers


def test_pick_device():
    want = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert T.pick_device().type == want
    assert T.pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            T.pick_device("cuda")


def test_amp_dtype():
    assert T.amp_dtype("cpu", "auto") is None  # none on a CPU unless asked
    assert T.amp_dtype("cpu", None) is None and T.amp_dtype("cpu", "fp32") is None
    assert T.amp_dtype("cpu", "bf16") is torch.bfloat16 and T.amp_dtype("cpu", "fp16") is torch.float16
    assert T.amp_dtype("mps", "auto") is torch.float16
    with pytest.raises(ValueError, match="precision"):
        T.amp_dtype("cpu", "int8")
    if torch.cuda.is_available():
        want = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        assert T.amp_dtype("cuda", "auto") is want


def test_grad_scaler_only_for_fp16():
    assert not T.grad_scaler("cpu", None).is_enabled()
    assert not T.grad_scaler("cpu", torch.bfloat16).is_enabled()
    assert T.grad_scaler("cpu", torch.float16).is_enabled()


def test_autocast_context():
    lin = nn.Linear(4, 4)
    with T.autocast("cpu", None):
        assert lin(torch.randn(2, 4)).dtype == torch.float32
    with T.autocast("cpu", torch.bfloat16):
        assert lin(torch.randn(2, 4)).dtype == torch.bfloat16


def test_maybe_compile_skips_with_one_line(monkeypatch, capsys):
    model = nn.Linear(2, 2)
    monkeypatch.setattr(speed, "compile_unsupported_reason", lambda device: "no compiler here")
    assert T.maybe_compile(model) is model
    out = capsys.readouterr().out
    assert out == "torch.compile skipped: no compiler here.\n"


def test_compile_reason():
    assert T.compile_unsupported_reason("mps") is not None
    reason = T.compile_unsupported_reason("cpu")
    assert reason is None or "compiler" in reason


def test_make_adamw(monkeypatch, capsys):
    p = [nn.Parameter(torch.zeros(3))]
    assert T.make_adamw(p, lr=0.1).defaults["fused"] in (None, False)
    if T.fused_supported("cpu"):
        assert T.make_adamw(p, fused=True, lr=0.1).defaults["fused"] is True
    monkeypatch.setattr(speed, "fused_supported", lambda device: False)
    opt = T.make_adamw(p, fused=True, lr=0.1)
    assert opt.defaults["fused"] in (None, False)
    assert "fused AdamW skipped" in capsys.readouterr().out


def test_pin_batch_without_cuda_is_identity():
    x = torch.zeros(2)
    if not torch.cuda.is_available():
        assert T.pin_batch(x) is x
        assert T.pin_batch({"a": (x,)})["a"][0] is x


def test_checkpoint_modules_same_outputs_and_grads():
    model = tiny_gpt()
    ckpt = copy.deepcopy(model)
    T.checkpoint_modules(ckpt.blocks)
    x, y = lm_batches()(0)
    lm_loss(model, (x, y)).backward()
    lm_loss(ckpt, (x, y)).backward()
    for a, b in zip(model.parameters(), ckpt.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
    assert ckpt.state_dict().keys() == model.state_dict().keys()
    _, full = perf.saved_activation_bytes(lambda: lm_loss(model, (x, y)), exclude=model)
    _, small = perf.saved_activation_bytes(lambda: lm_loss(ckpt, (x, y)), exclude=ckpt)
    assert small < 0.5 * full
    # a deep copy of a checkpointed model runs its own blocks, not the original's
    twin = copy.deepcopy(ckpt)
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(1.0)
    assert not torch.allclose(twin(x), ckpt(x))
    # undo
    T.checkpoint_modules(ckpt.blocks, enabled=False)
    _, again = perf.saved_activation_bytes(lambda: lm_loss(ckpt, (x, y)), exclude=ckpt)
    assert again == full
    with pytest.raises(ValueError, match="nn.Module"):
        T.checkpoint_modules([3])


# ----------------------------------------------------------------------------- the Trainer


def test_all_options_off_by_default():
    trainer = make(tiny_gpt(), lm_batches())
    assert trainer.amp_dtype is None and not trainer.scaler.is_enabled()
    assert trainer.accum_steps == 1 and trainer.pin_memory is False
    assert trainer.forward_model is trainer.model
    assert trainer.optimizer.defaults.get("fused") in (None, False)
    assert "forward" not in trainer.model.blocks[0].__dict__  # not checkpointed
    assert trainer.device == torch.device("cpu")


def test_gradient_accumulation_equals_one_big_batch():
    """4 micro-batches of 2 = one batch of 8, step for step (float64)."""
    torch.manual_seed(0)
    big_model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    small_model = copy.deepcopy(big_model)
    g = torch.Generator().manual_seed(0)
    data = (
        torch.randn(40, 6, generator=g, dtype=torch.float64),
        torch.randn(40, 1, generator=g, dtype=torch.float64),
    )

    def loss_fn(model, batch):
        return (model(batch[0]) - batch[1]).pow(2).mean()

    big = T.Trainer(
        big_model,
        loss_fn,
        lambda s: (data[0][8 * s : 8 * s + 8], data[1][8 * s : 8 * s + 8]),
        lr=1e-2,
        schedule="constant",
        warmup=0,
        progress=False,
    )
    small = T.Trainer(
        small_model,
        loss_fn,
        lambda s: (data[0][2 * s : 2 * s + 2], data[1][2 * s : 2 * s + 2]),
        lr=1e-2,
        schedule="constant",
        warmup=0,
        progress=False,
        accum_steps=4,
    )
    hb, hs = big.train(5), small.train(5)
    assert hb["loss"] == pytest.approx(hs["loss"], rel=1e-10)
    assert hb["grad_norm"] == pytest.approx(hs["grad_norm"], rel=1e-10)
    torch.testing.assert_close(params_of(big_model), params_of(small_model), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="accum_steps"):
        T.Trainer(big_model, loss_fn, lambda s: data, accum_steps=0)


def test_accumulation_syncs_ddp_once_per_step():
    class FakeDDP(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)
            self.skipped = 0

        @contextlib.contextmanager
        def no_sync(self):
            self.skipped += 1
            yield

        def forward(self, x):
            return self.lin(x)

    model = FakeDDP()
    trainer = T.Trainer(
        model,
        lambda m, b: m(b).pow(2).mean(),
        lambda s: torch.ones(2, 2),
        lr=0.1,
        schedule="constant",
        warmup=0,
        progress=False,
        accum_steps=3,
    )
    trainer.train(2)
    assert model.skipped == 2 * 2  # micro-batches 1 and 2 of each step skip the gradient all-reduce


def test_checkpointing_option_trains_the_same():
    a, b = make(tiny_gpt(), lm_batches()), make(tiny_gpt(), lm_batches(), checkpointing=True)
    assert "forward" in b.model.blocks[0].__dict__
    ha, hb = a.train(3), b.train(3)
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-5)
    torch.testing.assert_close(params_of(a.model), params_of(b.model), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="blocks"):
        make(nn.Linear(2, 2), lm_batches(), checkpointing=True)


def test_fused_option_trains_the_same():
    if not T.fused_supported("cpu"):
        pytest.skip("no fused Adam on this CPU build")
    # float64: with float32, Adam's division by sqrt(v) turns rounding in tiny gradients into visible steps
    a = make(tiny_gpt().double(), lm_batches())
    b = make(tiny_gpt().double(), lm_batches(), fused=True)
    assert b.optimizer.defaults["fused"] is True
    a.train(3), b.train(3)
    torch.testing.assert_close(params_of(a.model), params_of(b.model), rtol=1e-9, atol=1e-10)


def test_bf16_option_trains_close_to_fp32():
    a, b = make(tiny_gpt(), lm_batches()), make(tiny_gpt(), lm_batches(), precision="bf16")
    assert b.amp_dtype is torch.bfloat16 and not b.scaler.is_enabled()
    ha, hb = a.train(3), b.train(3)
    assert hb["loss"] == pytest.approx(ha["loss"], rel=2e-2)
    assert all(p.dtype == torch.float32 for p in b.model.parameters())  # the weights stay float32


def test_fp16_option_uses_a_scaler_and_checkpoints_it(tmp_path):
    b = make(tiny_gpt(), lm_batches(), precision="fp16")
    assert b.amp_dtype is torch.float16 and b.scaler.is_enabled()
    hb = b.train(2)
    assert all(torch.isfinite(torch.tensor(hb["loss"])))
    b.save(tmp_path / "c.ckpt")
    c = make(tiny_gpt(1), lm_batches(), precision="fp16")
    c.load(tmp_path / "c.ckpt")
    assert c.scaler.get_scale() == b.scaler.get_scale()


def test_compile_option_falls_back_with_a_message(monkeypatch, capsys):
    monkeypatch.setattr(speed, "compile_unsupported_reason", lambda device: "not here")
    trainer = make(tiny_gpt(), lm_batches(), compile=True)
    assert trainer.forward_model is trainer.model
    assert "torch.compile skipped: not here." in capsys.readouterr().out
    assert len(trainer.train(1)["loss"]) == 1


def test_pin_memory_and_auto_device_on_cpu():
    a, b = make(tiny_gpt(), lm_batches()), make(tiny_gpt(), lm_batches(), pin_memory=True, device="auto")
    assert b.pin_memory is (b.device.type == "cuda")
    if b.device.type == "cpu":
        assert a.train(2)["loss"] == b.train(2)["loss"]
