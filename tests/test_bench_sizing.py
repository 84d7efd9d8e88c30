"""``--size auto``: the batch and length of part (c) chosen from a device's memory, tested on the CPU with
given memory amounts; the estimate it rests on checked against the activations autograd really saves."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from tfmcourse import bench
from tfmcourse.bench import sizing
from tfmcourse.bench.training import make_gpt
from tfmcourse.memory import saved_activation_bytes

GIB = sizing.GIB


@pytest.mark.parametrize(
    "layers, d_model, heads, vocab, batch, seq",
    [(1, 64, 4, 256, 2, 64), (2, 64, 4, 256, 2, 64), (2, 128, 4, 256, 2, 64), (2, 64, 8, 256, 2, 128)],
)
def test_activation_estimate_is_an_upper_bound_within_20_percent(layers, d_model, heads, vocab, batch, seq):
    size = replace(
        bench.SIZES["tiny"], gpt_layers=layers, gpt_d_model=d_model, gpt_heads=heads, gpt_vocab=vocab,
        gpt_seq=seq, gpt_batch=batch,
    )  # fmt: skip
    model = make_gpt(size, "naive", "cpu", seed=0).train()
    x = torch.randint(0, vocab, (batch, seq))

    def loss():
        return F.cross_entropy(model(x).flatten(0, 1), x.flatten())

    _, measured = saved_activation_bytes(loss, exclude=model)
    estimate = sizing.saved_activations_estimate(size, batch, seq)
    assert measured <= estimate <= 1.2 * measured, (measured, estimate)


def test_the_big_gpus_get_gpt2_smalls_full_step():
    for gpu in ("H200", "H100", "A100 80GB"):
        choice = sizing.choose_gpt_shape(sizing.GPU_MEMORY_GIB[gpu] * GIB)
        assert (choice["batch"], choice["seq"]) == (16, 1024), gpu


@pytest.mark.parametrize("gpu", list(sizing.GPU_MEMORY_GIB))
def test_each_gpu_gets_the_largest_batch_that_fits(gpu):
    large = bench.SIZES["large"]
    memory = sizing.GPU_MEMORY_GIB[gpu] * GIB
    choice = sizing.choose_gpt_shape(memory)
    assert choice["seq"] == 1024  # every GPU of the list keeps GPT-2's context
    assert choice["estimate_bytes"] == sizing.train_step_bytes(large, choice["batch"], choice["seq"])
    assert choice["estimate_bytes"] <= choice["budget_bytes"] < memory
    # the next power of two would not fit (or the batch is already the size's 16)
    assert (
        choice["batch"] == 16
        or sizing.train_step_bytes(large, 2 * choice["batch"], 1024) > choice["budget_bytes"]
    )


def test_the_t4_gets_a_smaller_batch_than_the_h200():
    t4 = sizing.choose_gpt_shape(15 * GIB)
    assert 1 <= t4["batch"] < 16 and t4["estimate_bytes"] < 15 * GIB
    batches = [sizing.choose_gpt_shape(g * GIB)["batch"] for g in sorted(sizing.GPU_MEMORY_GIB.values())]
    assert batches == sorted(batches)  # more memory never gives a smaller batch


def test_little_memory_shortens_the_sequence_then_refuses():
    choice = sizing.choose_gpt_shape(4 * GIB)
    assert choice["seq"] < 1024 and choice["estimate_bytes"] <= choice["budget_bytes"]
    with pytest.raises(ValueError, match="too little"):
        sizing.choose_gpt_shape(GIB)
    with pytest.raises(ValueError, match="memory_bytes"):
        sizing.choose_gpt_shape(-1)


def test_auto_size_uses_the_choice_everywhere():
    size, choice = sizing.auto_size(15 * GIB)
    assert (size.gpt_batch, size.gpt_seq) == (choice["batch"], choice["seq"])
    assert (size.mha_batch, size.mha_seq) == (choice["batch"], choice["seq"])
    assert set(size.attn_seqs) <= set(bench.SIZES["large"].attn_seqs)
    assert size.gpt_d_model == 768 and size.gpt_layers == 12  # still GPT-2 small
    big, _ = sizing.auto_size(141 * GIB)
    assert big.attn_seqs == bench.SIZES["large"].attn_seqs and len(size.attn_seqs) < len(big.attn_seqs)


def test_run_auto_on_a_cpu_takes_the_small_size_and_says_so():
    result = bench.run("auto", device="cpu", parts="b", command="pytest")
    assert result["size"] == "auto" and result["config"]["mha_seq"] == bench.SIZES["small"].mha_seq
    assert "small" in result["auto_size"]["note"]


def test_run_auto_with_a_given_memory_records_the_choice(monkeypatch):
    # the chooser's answer for 15 GiB, recorded in the result, with the device's memory as given
    seen = {}

    def fake_run_parts(spec, *args, **kwargs):
        seen["spec"] = spec
        return {}

    monkeypatch.setattr(bench, "_run_parts", fake_run_parts)
    result = bench.run("auto", device="cpu", parts="c", memory_gib=15, command="pytest")
    choice = sizing.choose_gpt_shape(15 * GIB)
    assert result["auto_size"]["batch"] == choice["batch"] == seen["spec"].gpt_batch
    assert result["auto_size"]["memory_bytes"] == 15 * GIB
