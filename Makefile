# tfmcourse: two commands do everything on a fresh machine.
#   make book   create .venv if missing, install, execute the notebooks (cached, 2 at once), build the HTML
#   make test   the whole suite: unit tests, every chapter notebook at two seeds, the book, browser tests
# Helpers: make notebooks (regenerate setup cells and exercises/), make bench, make clean.
#
# What runs where in `make test` (nothing is executed twice):
#   unit           pytest tests/ (package, checkers, notebook hygiene), without the built-book tests
#   book           every chapter executed at TFMCOURSE_SEED=0 into the jupyter-cache, JOBS at once, then
#                  the HTML built from that cache with -W: this execution is also the seed-0 notebook test
#   notebooks-run  every chapter again with nbval at the second seed SEED2, JOBS at once
#   browser        tests/book: the executed outputs scanned for tool warnings and machine paths, and every
#                  built page opened in headless Chromium with the network blocked

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

# SEED: the TFMCOURSE_SEED the notebooks run with (every chapter's assertions hold for 0-3);
# SEED2: the second fixed seed `make test` runs them with; JOBS: notebooks executed at once.
SEED  ?= 0
SEED2 ?= 1
JOBS  ?= 2

# The kernels of the executed notebooks start with tools/static_kernel.py (plain-text progress bars for
# a static page; see that file). Jupyter and Colab do not use it.
NB_ENV := PYTHONSTARTUP=$(CURDIR)/tools/static_kernel.py

.PHONY: book test unit lint notebooks-run browser book-check notebooks exercises bench sweep clean

# Install torch from its exact pin together with the package, in one resolution, so that
# `-e .` (which only asks for torch>=2.1) never pulls another torch.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	touch $(STAMP)

# The book is always executed at seed 0. tools/execute_notebooks.py runs the notebooks that changed
# (JOBS at once) into _build/.jupyter_cache and exits 1, with the tracebacks, if any fails: a
# half-executed chapter is never built. The build then takes every notebook from the cache; -W
# --keep-going makes any warning (a broken reference, a failed execution) fail `make book`. --all
# re-reads every page (about a minute): Sphinx only notices changed sources, not new outputs in the
# cache, and an unchanged page would not repeat its warnings.
book: $(STAMP)
	$(NB_ENV) TFMCOURSE_SEED=0 $(PY) tools/execute_notebooks.py --jobs $(JOBS) book/*.ipynb
	$(NB_ENV) TFMCOURSE_SEED=0 $(BIN)/jupyter-book build . --all --builder html -W -n --keep-going
	@echo "Open: $(CURDIR)/_build/html/index.html"

# Seed 0 runs inside `make book`, the second seed with nbval: a threshold tuned to one run fails here.
test: $(STAMP)
	$(MAKE) unit
	$(MAKE) book
	$(MAKE) notebooks-run SEED=$(SEED2)
	$(MAKE) browser

unit: $(STAMP)
	$(BIN)/pytest tests/ --ignore=tests/book

# ruff: the linter and the formatter's check (configuration in pyproject.toml, line length 110).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One notebook per worker (--dist loadfile); each chapter uses one thread, so JOBS=2 fills two cores.
notebooks-run: $(STAMP)
	$(NB_ENV) TFMCOURSE_SEED=$(SEED) $(BIN)/pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env -p no:randomly book/

# The built book as a reader gets it (run after `make book`): executed outputs free of tool warnings and
# machine paths; every page in headless Chromium, offline. Screenshots: _build/screenshots/.
browser: $(STAMP)
	TFMCOURSE_REQUIRE_BOOK=1 $(BIN)/pytest tests/book

# A quick build with execution off (seconds): broken references, missing toc entries, bad directives.
book-check: $(STAMP)
	mkdir -p _build
	$(PY) -c "import os, yaml; c = yaml.safe_load(open('_config.yml')); c['execute']['execute_notebooks'] = 'off'; \
	  ext = c['sphinx']['local_extensions']; ext.update({k: os.path.abspath(v) for k, v in ext.items()}); \
	  yaml.safe_dump(c, open('_build/_config_noexec.yml', 'w'))"
	$(BIN)/jupyter-book build . --builder html --config _build/_config_noexec.yml --path-output _build/check -W -n --keep-going

# Regenerate what is generated from book/: the setup cell of every notebook and exercises/.
notebooks exercises: $(STAMP)
	$(PY) -m tfmcourse.exercises.build

bench: $(STAMP)
	$(PY) -m tfmcourse.bench

# Multi-seed numbers for the prose: make sweep CH=01 (or CH=all) writes book/data/sweep_NN.json.
CH    ?= all
SEEDS ?= 0-3
sweep: $(STAMP)
	$(PY) -m tfmcourse.sweep $(CH) --seeds $(SEEDS) --jobs $(JOBS)

clean:
	rm -rf _build .pytest_cache .hypothesis
