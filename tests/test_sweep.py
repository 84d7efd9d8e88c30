"""Seeds from outside, recorded numbers, and sweeps that cannot go stale (tfmcourse.sweep)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from tfmcourse import sweep

ROOT = Path(__file__).resolve().parents[1]


def test_course_seed_reads_the_environment(monkeypatch):
    monkeypatch.delenv(sweep.ENV_SEED, raising=False)
    assert sweep.course_seed() == 0
    monkeypatch.setenv(sweep.ENV_SEED, "3")
    assert sweep.course_seed() == 3
    for bad in ("x", "-1", "1.5"):
        monkeypatch.setenv(sweep.ENV_SEED, bad)
        with pytest.raises(ValueError, match="TFMCOURSE_SEED"):
            sweep.course_seed()


def test_seed_everything_repeats_draws():
    sweep.seed_everything(5)
    a = (torch.rand(3), np.random.rand(3))
    sweep.seed_everything(5)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_record_returns_the_value_and_writes_plain_json(monkeypatch, tmp_path):
    out = tmp_path / "rec.json"
    monkeypatch.setenv(sweep.ENV_RECORD, str(out))
    t = torch.tensor(0.5)
    assert sweep.record("t", t) is t
    sweep.record("arr", np.array([1.0, 2.0]))
    sweep.record("np", np.float64(0.25))
    sweep.record("flag", True)
    got = json.loads(out.read_text())
    assert got["t"] == 0.5 and got["arr"] == [1.0, 2.0] and got["np"] == 0.25 and got["flag"] is True
    with pytest.raises(TypeError, match="'bad'"):
        sweep.record("bad", {"a": 1})
    with pytest.raises(ValueError, match="key"):
        sweep.record("", 1.0)


def _fake_sweep(tmp_path: Path) -> Path:
    data = {
        "chapter": "99",
        "notebook": "book/99_x.ipynb",
        "code_sha256": "0",
        "command": "python -m tfmcourse.sweep 99",
        "date": "2026-01-01",
        "machine": {"cpu": "cpu", "cpus": 2, "system": "Linux x86_64"},
        "versions": {"python": "3.11", "torch": "2.13.0", "numpy": "2"},
        "seeds": [0, 1, 2, 3],
        "seconds": [1, 1, 1, 1],
        "values": {"acc": [0.9, 0.95, 1.0, 0.97], "curve": [[1, 2], [1, 2], [1, 2], [1, 3]]},
    }
    (tmp_path / "sweep_99.json").write_text(json.dumps(data))
    return tmp_path


def test_sweep_table_and_range(tmp_path):
    data = _fake_sweep(tmp_path)
    table = sweep.sweep_table("99", {"acc": "accuracy", "curve": "curve"}, data=data).data
    assert "| accuracy | 0.90 | 0.95 | 1.00 | 0.97 |" in table
    assert "1.00 / 3.00" in table and "2026-01-01" in table and "torch 2.13.0" in table
    assert sweep.sweep_range("99", "acc", data=data) == "0.90 to 1.00"
    assert sweep.sweep_values("99", "acc", data=data)[2] == 1.0
    with pytest.raises(KeyError, match="nope"):
        sweep.sweep_values("99", "nope", data=data)
    missing = sweep.sweep_table("98", ["acc"], data=data).data
    assert "not available" in missing


def _write_notebook(path: Path, code: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code]
    nbformat.write(nb, path)


def test_run_sweep_collects_every_seed_and_fails_on_any_failed_seed(tmp_path):
    book, data = tmp_path / "book", tmp_path / "data"
    book.mkdir()
    _write_notebook(
        book / "42_demo.ipynb",
        [
            "from tfmcourse.sweep import course_seed, record\nSEED = course_seed()",
            "record('twice', 2 * SEED)",
        ],
    )
    path = sweep.run_sweep("42", [0, 1, 2, 3], jobs=2, data=data, book=book)
    got = json.loads(path.read_text())
    assert got["values"]["twice"] == [0, 2, 4, 6]
    assert got["code_sha256"] == sweep.code_hash(book / "42_demo.ipynb")
    assert {"date", "machine", "versions", "command"} <= set(got)
    _write_notebook(
        book / "42_demo.ipynb", ["from tfmcourse.sweep import course_seed\nassert course_seed() != 2"]
    )
    with pytest.raises(RuntimeError, match="seed 2"):
        sweep.run_sweep("42", [0, 1, 2, 3], jobs=2, data=data, book=book)
    with pytest.raises(ValueError, match="0, 1, 2 and 3"):
        sweep.run_sweep("42", [0, 1], data=data, book=book)


NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_sweep_is_fresh(notebook):
    """A chapter that records numbers has a sweep over seeds 0-3 made with its current code."""
    if not sweep.runner._records(notebook):
        pytest.skip(f"{notebook.name} records nothing")
    chapter = notebook.name[:2]
    path = sweep.DATA / f"sweep_{chapter}.json"
    assert path.is_file(), (
        f"{notebook.name} records numbers but has no sweep: python -m tfmcourse.sweep {chapter}"
    )
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert {0, 1, 2, 3} <= set(stored["seeds"])
    assert stored["code_sha256"] == sweep.code_hash(notebook), (
        f"{notebook.name} changed after its sweep: rerun `python -m tfmcourse.sweep {chapter} --seeds 0-3`"
    )
