"""Tests of tfmcourse.perf: parameter and FLOP counts against a hand count, the MFU table, timing and
memory."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tfmcourse import perf
from tfmcourse.models.gpt import GPT, GPTConfig

# A tiny GPT whose numbers are easy to count by hand.
V, L, D, FF, S, H = 10, 2, 8, 32, 5, 2


def tiny_gpt(impl: str = "naive", tie: bool = True) -> GPT:
    torch.manual_seed(0)
    return GPT(
        GPTConfig(
            vocab_size=V, max_len=S, d_model=D, num_layers=L, num_heads=H, d_ff=FF, impl=impl, tie_weights=tie
        )
    )


def test_parameter_counts_by_hand():
    model = tiny_gpt()
    # per block: q, k, v, out (4 D^2 weights + 4 D biases), ff (D FF + FF + FF D + D), two LayerNorms (4 D)
    per_block = 4 * D * D + 4 * D + (D * FF + FF + FF * D + D) + 4 * D
    embeddings = V * D + S * D  # tokens (tied with the output head) and positions
    assert perf.count_parameters(model) == L * per_block + embeddings + 2 * D  # + final LayerNorm
    # N of the 6N rule: the matrices that multiply activations, the tied head included once per use
    assert perf.matmul_parameters(model) == L * (4 * D * D + 2 * D * FF) + D * V == 1616
    untied = tiny_gpt(tie=False)
    assert perf.count_parameters(untied) == perf.count_parameters(model) + V * D
    assert perf.matmul_parameters(untied) == perf.matmul_parameters(model)
    frozen = tiny_gpt()
    frozen.tok_embed.weight.requires_grad_(False)
    assert perf.count_parameters(frozen) == perf.count_parameters(model) - V * D
    assert perf.count_parameters(frozen, trainable_only=False) == perf.count_parameters(model)


def test_flops_formula_by_hand():
    n = perf.matmul_parameters(tiny_gpt())
    assert perf.flops_per_token(n, L, D, S) == 6 * 1616 + 12 * 2 * 8 * 5 == 10656
    assert perf.flops_per_token(n, L, D, S, training=False) == 2 * 1616 + 4 * 2 * 8 * 5 == 3552
    assert perf.model_flops_per_token(tiny_gpt(), S) == 10656
    with pytest.raises(ValueError, match="seq_len"):
        perf.flops_per_token(n, L, D, -1)
    with pytest.raises(ValueError, match="config"):
        perf.model_flops_per_token(nn.Linear(2, 2), S)


@pytest.mark.parametrize("batch", [1, 3])
def test_flops_formula_equals_counted_matmul_flops(batch):
    """torch's FLOP counter, on the naive attention, counts exactly the formula: forward + backward."""
    model = tiny_gpt("naive")
    ids = torch.randint(0, V, (batch, S), generator=torch.Generator().manual_seed(1))
    counter = FlopCounterMode(display=False)
    with counter:
        model(ids).sum().backward()
    assert counter.get_total_flops() == perf.model_flops_per_token(model, S) * batch * S
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(ids)
    assert counter.get_total_flops() == perf.model_flops_per_token(model, S, training=False) * batch * S


SAMPLE_NAMES = {
    "Tesla T4": ("T4", 65e12),
    "NVIDIA L4": ("L4", 121e12),
    "Tesla V100-SXM2-16GB": ("V100 SXM2", 125e12),
    "Tesla V100-PCIE-32GB": ("V100 PCIe", 112e12),
    "Tesla V100S-PCIE-32GB": ("V100S PCIe", 130e12),
    "NVIDIA A100-SXM4-40GB": ("A100 40GB", 312e12),
    "NVIDIA A100-PCIE-40GB": ("A100 40GB", 312e12),
    "NVIDIA A100-SXM4-80GB": ("A100 80GB", 312e12),
    "NVIDIA A100 80GB PCIe": ("A100 80GB", 312e12),
    "NVIDIA H100 80GB HBM3": ("H100 SXM", 989.4e12),
    "NVIDIA H100 SXM5 80GB": ("H100 SXM", 989.4e12),
    "NVIDIA H100 PCIe": ("H100 PCIe", 756.5e12),
    "NVIDIA H200": ("H200 SXM", 989.4e12),
}
UNKNOWN_NAMES = [
    "NVIDIA H100 NVL",
    "NVIDIA H100",
    "NVIDIA H200 NVL",
    "NVIDIA GH200 480GB",
    "NVIDIA L40S",
    "NVIDIA GeForce RTX 4090",
    "NVIDIA A10G",
    "Apple MPS",
    "CPU: AMD EPYC",
    "cpu",
    "",
]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_peak_table_matches_sample_device_names(name):
    spec_name, peak = SAMPLE_NAMES[name]
    assert perf._lookup(name).name == spec_name
    assert perf.peak_flops(name) == pytest.approx(peak)
    assert perf.peak_flops(name.lower()) == pytest.approx(peak)  # case does not matter


@pytest.mark.parametrize("name", UNKNOWN_NAMES)
def test_unknown_devices_get_unknown(name):
    """Never another device's peak: an H100 variant we do not list is not an H100 SXM."""
    assert perf.peak_flops(name) == "unknown"
    assert perf.peak_flops(name, "fp16") == "unknown"
    assert perf.mfu(1e9, 1e3, perf.peak_flops(name)) == "unknown"


def test_peak_table_rows():
    names = {s.name for s in perf.PEAK_FLOPS}
    assert {"T4", "L4", "V100 SXM2", "A100 40GB", "A100 80GB", "H100 SXM", "H100 PCIe", "H200 SXM"} <= names
    for spec in perf.PEAK_FLOPS:
        assert spec.source and spec.fp16 > 1e12
        assert spec.bf16 is None or spec.bf16 > 1e12
    # no bf16 tensor cores: the bf16 peak falls back to the fp16 one (these GPUs train in fp16)
    assert perf.peak_flops("Tesla T4", "bf16") == perf.peak_flops("Tesla T4", "fp16") == 65e12
    with pytest.raises(ValueError, match="dtype"):
        perf.peak_flops("Tesla T4", "fp8")


def test_mfu():
    # 40% of an H100 SXM: 6N FLOPs/token at the right tokens/s
    peak = perf.peak_flops("NVIDIA H100 80GB HBM3")
    fpt = 6 * 124e6
    assert perf.mfu(fpt, 0.4 * peak / fpt, peak) == pytest.approx(0.4)
    assert perf.mfu(fpt, 0.0, peak) == 0.0
    with pytest.raises(ValueError, match="peak"):
        perf.mfu(fpt, 1.0, 0.0)


def test_tokens_per_second_and_time_steps():
    assert perf.tokens_per_second(1000, [0.5, 0.25, 100.0]) == 2000.0  # the median ignores the outlier
    assert perf.tokens_per_second(10, 2.0) == 5.0
    with pytest.raises(ValueError, match="positive"):
        perf.tokens_per_second(10, [])
    calls = []
    seconds = perf.time_steps(lambda: calls.append(1), steps=3, warmup=2)
    assert len(seconds) == 3 and len(calls) == 5 and all(s >= 0 for s in seconds)
    with pytest.raises(ValueError, match="steps"):
        perf.time_steps(lambda: None, steps=0)


def test_device_name_cpu():
    assert perf.device_name("cpu").lower().startswith("cpu")
    assert perf.peak_flops(perf.device_name("cpu")) == "unknown"


def test_track_peak_memory_on_cpu():
    with perf.track_peak_memory("cpu") as mem:
        x = torch.ones(4 * 2**20)  # 16 MB, touched
        del x
    assert mem["kind"] in ("cpu_rss_peak_delta", "unavailable")
    if mem["kind"] == "cpu_rss_peak_delta":
        assert isinstance(mem["peak_bytes"], int) and mem["peak_bytes"] >= 0
    else:
        assert mem["peak_bytes"] is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_track_peak_memory_on_cuda():
    with perf.track_peak_memory("cuda") as mem:
        x = torch.ones(2**20, device="cuda")
        del x
    assert mem["kind"] == "cuda_max_allocated" and mem["peak_bytes"] >= 4 * 2**20


def test_memory_breakdown_with_adam():
    model = tiny_gpt()
    n = perf.count_parameters(model)
    opt = torch.optim.AdamW(model.parameters())
    assert perf.memory_breakdown(model, opt) == {"weights": 4 * n, "grads": 0, "optimizer": 0}
    model(torch.zeros(1, S, dtype=torch.long)).sum().backward()
    opt.step()
    assert perf.memory_breakdown(model, opt) == {"weights": 4 * n, "grads": 4 * n, "optimizer": 8 * n}


def test_saved_activation_bytes():
    lin = nn.Linear(16, 32)
    x = torch.randn(8, 16, requires_grad=True)
    out, n = perf.saved_activation_bytes(lambda: torch.relu(lin(x)), exclude=lin)
    assert out.shape == (8, 32)
    # linear saves its input x (8 x 16 floats); relu saves its output (8 x 32); the weight is excluded
    assert n == 4 * (8 * 16 + 8 * 32)
    _, with_weight = perf.saved_activation_bytes(lambda: torch.relu(lin(x)))
    assert with_weight == n + 4 * 16 * 32
    with torch.no_grad():
        _, none = perf.saved_activation_bytes(lambda: torch.relu(lin(x)))
    assert none == 0


def test_activation_checkpointing_and_bf16_save_activation_memory():
    from tfmcourse.train import checkpoint_modules

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, max_len=32, d_model=32, num_layers=2, num_heads=2))
    ids = torch.randint(0, 64, (4, 32))
    _, full = perf.saved_activation_bytes(lambda: model(ids).sum(), exclude=model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, half = perf.saved_activation_bytes(lambda: model(ids).float().sum(), exclude=model)
    ckpt = copy.deepcopy(model)
    checkpoint_modules(ckpt.blocks)
    _, small = perf.saved_activation_bytes(lambda: ckpt(ids).sum(), exclude=ckpt)
    assert half < 0.8 * full
    assert small < 0.3 * full
