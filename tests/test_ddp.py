"""Data parallel training: two CPU processes under torchrun (gloo) take the same steps as one process
on the same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from tfmcourse import ddp

STEPS, GLOBAL_BATCH = 4, 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_counting_batch_and_shard():
    x, y = ddp.counting_batch(3, GLOBAL_BATCH, seq=6, vocab=32, seed=1)
    assert x.shape == y.shape == (GLOBAL_BATCH, 6)
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one
    x2, _ = ddp.counting_batch(3, GLOBAL_BATCH, seq=6, vocab=32, seed=1)
    assert torch.equal(x, x2)  # every process computes the same global batch
    assert not torch.equal(x, ddp.counting_batch(4, GLOBAL_BATCH, 6, 32, seed=1)[0])
    parts = [ddp.shard((x, y), r, 4) for r in range(4)]
    assert torch.equal(torch.cat([p[0] for p in parts]), x) and all(p[0].shape == (2, 6) for p in parts)
    with pytest.raises(ValueError, match="split evenly"):
        ddp.shard((x, y), 0, 3)


def test_loss_goes_down_in_one_process():
    result = ddp.train(steps=8, global_batch=GLOBAL_BATCH, device=torch.device("cpu"))
    assert result["world_size"] == 1 and len(result["losses"]) == 8
    assert result["losses"][-1] < result["losses"][0] - 0.1


def test_two_processes_equal_one(tmp_path):
    single = ddp.train(steps=STEPS, global_batch=GLOBAL_BATCH, device=torch.device("cpu"))
    out = tmp_path / "ddp.json"
    env = dict(
        os.environ,
        MASTER_ADDR="127.0.0.1",
        GLOO_SOCKET_IFNAME=os.environ.get("GLOO_SOCKET_IFNAME", "lo"),
        OMP_NUM_THREADS="1",
        CUDA_VISIBLE_DEVICES="",
    )
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "tfmcourse.ddp",
        "--steps",
        str(STEPS),
        "--global-batch",
        str(GLOBAL_BATCH),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    double = json.loads(out.read_text())
    assert double["world_size"] == 2
    # the same losses, step by step, and the same final weights, to float32 rounding
    assert double["losses"] == pytest.approx(single["losses"], abs=1e-5)
    assert double["weight_sum"] == pytest.approx(single["weight_sum"], rel=1e-6)
    assert double["weight_norm"] == pytest.approx(single["weight_norm"], rel=1e-6)
    # and training did something: the test would notice a run that never updated the weights
    assert double["losses"][-1] < double["losses"][0]


def test_backend_nccl_on_gpus_gloo_otherwise():
    assert ddp.choose_backend(0, cuda_devices=0, nccl_available=True) == ("gloo", torch.device("cpu"))
    assert ddp.choose_backend(1, cuda_devices=4, nccl_available=True) == ("nccl", torch.device("cuda", 1))
    assert ddp.choose_backend(0, cuda_devices=1, nccl_available=False) == ("gloo", torch.device("cuda", 0))
    with pytest.raises(ValueError, match="LOCAL_RANK=2 but this machine has 2 CUDA"):
        ddp.choose_backend(2, cuda_devices=2, nccl_available=True)


@pytest.mark.parametrize("gpus, backend, device", [(0, "gloo", "cpu"), (2, "nccl", "cuda:1")])
def test_setup_under_torchrun_starts_the_chosen_backend(monkeypatch, gpus, backend, device):
    started = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: started.setdefault("set_device", d))
    monkeypatch.setattr(ddp.dist, "is_nccl_available", lambda: True)
    monkeypatch.setattr(ddp.dist, "init_process_group", lambda **kw: started.update(kw))
    assert ddp.setup() == (1, 2, torch.device(device))
    assert started["backend"] == backend and started["rank"] == 1 and started["world_size"] == 2
    assert ("set_device" in started) == (gpus > 0)
