# tfmcourse: two commands do everything on a fresh machine.
#   make book   create .venv if missing, install, execute the notebooks (cached), build the HTML
#   make test   the whole suite: pytest tests/, every chapter notebook (nbval), the book build with -W
# Helpers: make notebooks (regenerate setup cells and exercises/), make bench, make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

.PHONY: book test unit notebooks-run book-check notebooks exercises bench clean

# Install torch from its exact pin together with the package, in one resolution, so that
# `-e .` (which only asks for torch>=2.1) never pulls another torch.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html
	@echo "Open: $(CURDIR)/_build/html/index.html"

test: $(STAMP) unit notebooks-run book-check

unit: $(STAMP)
	$(BIN)/pytest tests/

notebooks-run: $(STAMP)
	$(BIN)/pytest --nbval-lax --nbval-current-env -p no:randomly book/

# The build with execution off: broken references, missing toc entries, bad directives fail.
book-check: $(STAMP)
	mkdir -p _build
	$(PY) -c "import yaml; c = yaml.safe_load(open('_config.yml')); c['execute']['execute_notebooks'] = 'off'; yaml.safe_dump(c, open('_build/_config_noexec.yml', 'w'))"
	$(BIN)/jupyter-book build . --builder html --config _build/_config_noexec.yml --path-output _build/check -W -n --keep-going

# Regenerate what is generated from book/: the setup cell of every notebook and exercises/.
notebooks exercises: $(STAMP)
	$(PY) -m tfmcourse.exercises.build

bench: $(STAMP)
	$(PY) -m tfmcourse.bench

clean:
	rm -rf _build .pytest_cache .hypothesis
