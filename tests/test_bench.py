"""Tests of tfmcourse.bench: a tiny run on the CPU, its JSON schema and its table."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from tfmcourse import bench
from tfmcourse.bench import training

# Smaller than "tiny": one timed repetition, no warmup, so the whole run takes seconds.
MICRO = replace(bench.SIZES["tiny"], attn_seqs=(8, 16), steps=1, warmup=0)


@pytest.fixture(scope="module")
def result():
    return bench.run(MICRO, device="cpu", peer="on", command="pytest")


def test_sizes():
    large = bench.SIZES["large"]
    # GPT-2 small's shape, vocabulary padded to a multiple of 64, batch 16, sequence 1024
    assert (large.gpt_layers, large.gpt_d_model, large.gpt_heads, large.gpt_seq, large.gpt_batch) == (
        12,
        768,
        12,
        1024,
        16,
    )
    assert large.gpt_vocab == 50304 == bench.pad_vocab(50257) and bench.pad_vocab(64) == 64
    assert set(bench.SIZES) >= {"tiny", "small", "large"}


def test_header(result):
    assert result["schema"] == bench.SCHEMA
    assert result["device"]["type"] == "cpu" and result["device"]["name"]
    assert result["torch"] == torch.__version__
    assert result["command"] == "pytest" and result["size"] == "custom"
    assert result["date"][:2] == "20" and "T" in result["date"]
    assert result["config"]["attn_seqs"] == [8, 16] or result["config"]["attn_seqs"] == (8, 16)
    json.dumps(result)  # JSON-ready


def test_attention_rows(result):
    rows = result["attention"]
    assert [r["seq"] for r in rows] == [8, 16]
    for r in rows:
        for name in ("naive", "ours_sdpa", "torch_sdpa"):
            assert r[f"{name}_ms"] > 0
        assert r["ours_sdpa_speedup"] == pytest.approx(r["naive_ms"] / r["ours_sdpa_ms"])
        assert r["torch_sdpa_speedup"] == pytest.approx(r["naive_ms"] / r["torch_sdpa_ms"])
        assert r["max_abs_diff"] < 1e-5  # the three compute the same attention


def test_mha_rows(result):
    rows = {r["impl"]: r for r in result["mha"]}
    assert set(rows) == {"torch", "ours_naive", "ours_sdpa"}
    assert rows["torch"]["vs_torch"] == 1.0
    for r in rows.values():
        assert r["status"] == "ok" and r["ms"] > 0 and r["max_abs_diff"] < 1e-5
        assert r["vs_torch"] == pytest.approx(rows["torch"]["ms"] / r["ms"])


def test_train_step_rows(result):
    rows = result["train_step"]
    names = [r["name"] for r in rows]
    assert names == [name for name, _ in bench.TRAIN_STEPS] + ["HF GPT-2 peer, same options"]
    by = dict(zip(names, rows))
    assert by["naive fp32"]["impl"] == "naive" and by["+ SDPA"]["impl"] == "sdpa"
    assert by["+ mixed precision"]["mixed_precision"] is True
    # on the CPU the compile step is skipped with a reason, never estimated
    assert by["+ compile"]["status"] == "skipped" and "cpu" in by["+ compile"]["note"]
    assert by["+ compile"]["ms"] is None and by["+ compile"]["tokens_per_s"] is None
    assert by["+ fused AdamW"]["compile"] is False  # the skipped option is not counted as used
    tokens = result["model"]["tokens_per_step"]
    assert tokens == MICRO.gpt_batch * MICRO.gpt_seq
    for r in rows:
        assert r["status"] in ("ok", "skipped"), r
        if r["status"] == "ok":
            assert r["tokens_per_s"] == pytest.approx(tokens / (r["ms"] / 1000))
            assert r["mfu"] == "unknown"  # a CPU has no entry in the peak table
            assert r["speedup"] == pytest.approx(rows[0]["ms"] / r["ms"])
            assert r["activation_bytes"] > 0 and r["peak_bytes"] is None
            # same weights, same batch: the same first loss (bf16 to a looser tolerance)
            assert r["first_loss"] == pytest.approx(rows[0]["first_loss"], rel=1e-2)
    assert by["+ mixed precision"]["activation_bytes"] < by["+ SDPA"]["activation_bytes"]
    assert result["model"]["flops_per_token"] > 6 * result["model"]["matmul_params"]


def test_table(result):
    table = bench.format_table(result)
    assert "naive" in table and "torch SDPA" in table and "multi-head: torch" in table
    assert "step: + fused AdamW" in table and "skipped on cpu" in table
    assert table.count("\n(a)") == 6 and table.count("\n(b)") == 3


def test_cli_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(bench.SIZES, "micro", MICRO)
    out = tmp_path / "b.json"
    bench.main(["--device", "cpu", "--size", "micro", "--parts", "b", "--out", str(out), "--threads", "1"])
    data = json.loads(out.read_text())
    assert data["command"].startswith("python -m tfmcourse.bench --device cpu --size micro")
    assert "mha" in data and "attention" not in data and "train_step" not in data
    assert "wrote" in capsys.readouterr().out


def test_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        bench.run("huge")
    with pytest.raises(ValueError, match="parts"):
        bench.run(MICRO, device="cpu", parts="xyz")
    with pytest.raises(ValueError, match="peer"):
        bench.run(MICRO, device="cpu", peer="maybe")


def test_figures(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = bench.train_step_figure(result)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_title() and ax.get_legend() is not None
    assert len(ax.patches) == len(result["train_step"])
    fig2 = bench.attention_figure(result)
    assert fig2.axes[0].get_ylabel() and len(fig2.axes[0].lines) == 3
    plt.close("all")
    with pytest.raises(ValueError, match="part"):
        bench.train_step_figure({"device": {}, "train_step": []})


def test_load_results(tmp_path, result):
    assert bench.load_results(tmp_path / "missing") == []
    (tmp_path / "bench_cpu_custom.json").write_text(json.dumps(result))
    cuda = dict(
        result, device={"type": "cuda", "name": "NVIDIA H100 80GB HBM3"}, date="2001-01-01T00:00:00+00:00"
    )
    (tmp_path / "bench_cuda_large.json").write_text(json.dumps(cuda))
    found = bench.load_results(tmp_path)
    assert [r["device"]["name"] for r in found] == ["NVIDIA H100 80GB HBM3"]
    assert len(bench.load_results(tmp_path, None)) == 2
    (tmp_path / "bench_bad.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ValueError, match="not a"):
        bench.load_results(tmp_path)


def test_kv_cache_rows(result):
    rows = result["kv_cache"]
    assert [r["length"] for r in rows] == [MICRO.gpt_seq]
    for r in rows:
        assert r["cached"] > 0 and r["uncached"] > 0
        assert r["speedup"] == pytest.approx(r["cached"] / r["uncached"])
    assert "(d)" in bench.format_table(result)


# ----------------------------------------------------------------------------- the ladder's row logic

ALL = {"tf32": None, "sdpa": None, "mixed_precision": None, "fused": None, "compile": None}


def test_ladder_on_a_gpu_that_has_everything():
    rows = training.ladder(ALL)
    assert [r["name"] for r in rows] == [name for name, _ in bench.TRAIN_STEPS]
    assert [r["name"] for r in rows] == [
        "naive fp32", "+ TF32", "+ SDPA", "+ mixed precision", "+ fused AdamW", "+ compile",
    ]  # fmt: skip
    assert all(r["status"] == "run" for r in rows)
    first, last = rows[0], rows[-1]
    assert (first["impl"], first["tf32"], first["mixed_precision"], first["fused"], first["compile"]) == (
        "naive", False, False, False, False,
    )  # fmt: skip
    assert (last["impl"], last["tf32"], last["mixed_precision"], last["fused"], last["compile"]) == (
        "sdpa", True, True, True, True,
    )  # fmt: skip
    # each row adds exactly one option to the one before
    keys = ("impl", "tf32", "mixed_precision", "fused", "compile")
    for before, after in zip(rows, rows[1:]):
        assert sum(before[k] != after[k] for k in keys) == 1


def test_ladder_skips_what_the_device_lacks_and_carries_nothing_of_it():
    rows = {r["name"]: r for r in training.ladder(dict(ALL, tf32="no TF32 on cpu", compile="not here"))}
    assert rows["+ TF32"]["status"] == "skipped" and rows["+ TF32"]["note"] == "no TF32 on cpu"
    assert rows["+ SDPA"]["tf32"] is False and rows["+ SDPA"]["impl"] == "sdpa"
    assert rows["+ compile"]["status"] == "skipped" and rows["+ compile"]["fused"] is True
    t4 = {r["name"]: r for r in training.ladder(dict(ALL, tf32="capability 7.5"))}  # a T4
    assert t4["+ compile"]["tf32"] is False and t4["+ compile"]["mixed_precision"] is True
    with pytest.raises(ValueError, match="keys"):
        training.ladder({"sdpa": None})


def test_tf32_only_on_ampere_or_newer_gpus():
    assert "cpu" in training.tf32_unsupported_reason(torch.device("cpu"))


def test_float32_matmuls_sets_and_restores_the_precision():
    before = torch.get_float32_matmul_precision()
    with training.float32_matmuls(True):
        assert torch.get_float32_matmul_precision() == "high" and torch.backends.cuda.matmul.allow_tf32
    assert torch.get_float32_matmul_precision() == before
    torch.set_float32_matmul_precision("high")
    try:
        with pytest.raises(KeyError), training.float32_matmuls(False):
            assert torch.get_float32_matmul_precision() == "highest"
            assert not torch.backends.cuda.matmul.allow_tf32
            raise KeyError("an error inside")
        assert torch.get_float32_matmul_precision() == "high"  # restored, also after an error
    finally:
        torch.set_float32_matmul_precision(before)


def test_oom_retry_halves_the_batch_and_says_so():
    tried = []

    def measure(batch):
        tried.append(batch)
        return {"status": "oom"} if batch > 4 else {"status": "ok", "ms": 1.0}

    row = training.with_oom_retry(measure, 16)
    assert tried == [16, 8, 4] and row["batch"] == 4 and row["status"] == "ok"
    assert row["note"] == "out of memory at batch 16, 8; measured at batch 4"
    row = training.with_oom_retry(lambda b: {"status": "oom"}, 2)
    assert row["batch"] == 1 and row["note"] == "out of memory at batch 2; also at batch 1"
    row = training.with_oom_retry(lambda b: {"status": "ok"}, 16)
    assert row["batch"] == 16 and "note" not in row


def test_a_row_out_of_memory_is_measured_at_half_the_batch(monkeypatch):
    real = training._train_step

    def runs_out_above_one(model, batch, *args, **kwargs):
        if batch[0].shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(model, batch, *args, **kwargs)

    monkeypatch.setattr(training, "_train_step", runs_out_above_one)
    rows, info = training.bench_train_step(MICRO, torch.device("cpu"), compile_mode="off")
    ran = [r for r in rows if r["status"] == "ok"]
    assert MICRO.gpt_batch == 2 and len(ran) >= 3
    for r in ran:
        assert r["batch"] == 1 and r["note"] == "out of memory at batch 2; measured at batch 1"
        assert r["tokens_per_s"] == pytest.approx(MICRO.gpt_seq / (r["ms"] / 1000))
    table = bench.format_table({**_empty_result(), "train_step": rows, "model": info})
    assert "out of memory at batch 2" in table


def _empty_result():
    return {
        "device": {"name": "cpu", "type": "cpu"}, "torch": torch.__version__, "date": "2026",
        "size": "custom", "config": {"gpt_batch": MICRO.gpt_batch}, "wall_seconds": 0.0,
    }  # fmt: skip


def test_compile_time_is_reported_apart_from_the_step_time(monkeypatch):
    import time

    def slow_first_call(model, **kwargs):  # a stand-in for torch.compile: the first call "compiles"
        calls = []

        def forward(*args, **kw):
            if not calls:
                time.sleep(0.3)
            calls.append(1)
            return model(*args, **kw)

        return forward

    monkeypatch.setattr(training, "compile_unsupported_reason", lambda device: None)
    monkeypatch.setattr(training.torch, "compile", slow_first_call)
    rows, _ = training.bench_train_step(MICRO, torch.device("cpu"), compile_mode="on")
    by = {r["name"]: r for r in rows}
    compiled = by["+ compile"]
    assert compiled["status"] == "ok" and compiled["compile"] is True
    assert compiled["compile_s"] >= 0.25 and compiled["ms"] < compiled["first_step_s"] * 1000
    assert all("compile_s" not in r for r in rows if not r["compile"])
