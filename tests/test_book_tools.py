"""The build helpers in tools/: parallel cached execution that fails on a failed notebook, the kernel
start-up of executed notebooks (plain-text progress bars, nothing leaked), the logo, the MathJax copy."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def execute(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TFMCOURSE_SEED": "0"}
    return subprocess.run(
        [sys.executable, str(TOOLS / "execute_notebooks.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_execution_fails_on_a_failed_notebook_and_caches_the_others(tmp_path):
    good = notebook(tmp_path / "good.ipynb", "x = 6 * 7\nprint(x)")
    bad = notebook(tmp_path / "bad.ipynb", "raise ValueError('boom: deliberately broken')")
    cache = tmp_path / "cache"
    run = execute("--jobs", "2", "--cache", str(cache), str(good), str(bad))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ok good.ipynb" in run.stdout and "FAILED bad.ipynb" in run.stdout
    assert "boom: deliberately broken" in run.stdout  # the traceback is printed
    assert "FAILED: bad.ipynb" in run.stderr
    # again: the good one comes from the cache, the bad one runs (and fails) again
    run = execute("--cache", str(cache), str(good), str(bad))
    assert run.returncode == 1 and "1 notebook(s) to run" in run.stdout and "1 unchanged" in run.stdout
    notebook(bad, "print('fixed')")
    run = execute("--cache", str(cache), str(good), str(bad))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 of 1 ran without error" in run.stdout and "1 unchanged" in run.stdout


def test_the_cache_is_dropped_when_the_inputs_change(tmp_path, monkeypatch):
    tool = load("execute_notebooks")
    (tmp_path / "tfmcourse").mkdir()
    module = tmp_path / "tfmcourse" / "m.py"
    module.write_text("A = 1\n")
    (tmp_path / "requirements.txt").write_text("torch==2.13.0\n")
    monkeypatch.setenv("TFMCOURSE_SEED", "0")
    first = tool.fingerprint(tmp_path)
    assert tool.fingerprint(tmp_path) == first
    module.write_text("A = 2\n")
    assert tool.fingerprint(tmp_path) != first
    module.write_text("A = 1\n")
    monkeypatch.setenv("TFMCOURSE_SEED", "1")
    assert tool.fingerprint(tmp_path) != first
    assert {p.name for p in tool.input_files(ROOT)} >= {"page.py", "requirements.txt", "static_kernel.py"}


def test_static_kernel_gives_one_final_line_per_bar_and_leaks_no_name(monkeypatch):
    monkeypatch.setenv("PYTHONSTARTUP", str(TOOLS / "static_kernel.py"))
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from tqdm.auto import tqdm, trange\n"
                "total = sum(i for i in tqdm(range(300), desc='loop'))\n"
                "bar = tqdm(total=40, desc='train')\n"
                "for step in range(40):\n"
                "    bar.update(1)\n"
                "    bar.set_postfix(loss=step)  # forces a redraw in a normal bar\n"
                "    if step == 20:\n"
                "        bar.write('step 20: eval 0.5')\n"
                "bar.close()\n"
                "for _ in trange(3, desc='gone', leave=False):\n"
                "    pass\n"
                "print(sorted(k for k in globals() if not k.startswith('_')))"
            )
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.execute(nb, timeout=120)
    outputs = nb.cells[0].outputs
    assert all(o.output_type == "stream" and o.name == "stdout" for o in outputs), outputs  # no widget
    text = "".join(o.text for o in outputs)
    lines = text.splitlines()
    assert "\r" not in text and "Warning" not in text
    assert lines[0].startswith("loop: 100%") and "300/300" in lines[0]
    assert lines[1] == "step 20: eval 0.5"
    assert lines[2].startswith("train: 100%") and "40/40" in lines[2] and "loss=39" in lines[2]
    assert not any("gone" in line for line in lines)  # leave=False: nothing stays
    names = eval(lines[3])
    assert len(lines) == 4
    assert names == sorted(
        ["In", "Out", "bar", "exit", "get_ipython", "open", "quit", "step", "total", "tqdm", "trange"]
    )


def test_logo_and_favicon_are_drawn_by_code(tmp_path):
    load("draw_logo").main(["--out", str(tmp_path)])
    from matplotlib.image import imread

    for name, shape in [("logo.png", (160, 480)), ("favicon.png", (64, 64))]:
        drawn, committed = imread(tmp_path / name), imread(ROOT / "book" / "_static" / name)
        assert drawn.shape[:2] == committed.shape[:2] == shape
        assert abs(drawn - committed).mean() < 0.02, f"book/_static/{name} is stale: run tools/draw_logo.py"


def test_mathjax_comes_from_the_installed_package():
    sys.path.insert(0, str(TOOLS))
    try:
        ext = load("tfmcourse_sphinx")
    finally:
        sys.path.remove(str(TOOLS))
    es5 = ext.mathjax_source()
    for name in ext.MATHJAX_FILES:
        assert (es5 / name).exists(), name
    assert (es5 / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff").is_file()

    class Config:
        mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"

    with pytest.raises(Exception, match="served from the site"):
        ext.check_mathjax_path(None, Config)
