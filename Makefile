# One task runner for humans and CI. `make test` and `make run` are the README's commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: run install install-dev system-deps test check lint fmt typecheck imports pytest test-fast bench bundle

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

system-deps:
	bash packaging/linux/install-system-deps.sh

install: system-deps $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[train]"

install-dev: system-deps $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"

run: install
	$(BIN)/sscq-desktop

test: install-dev check

check: lint typecheck imports pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

pytest:
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest --runslow $(PYTEST_ARGS)

test-fast:
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

bench:
	$(BIN)/python tests/benchmarks/bench_search.py

bundle: install
	$(BIN)/python -m pip install -q -e ".[bundle]"
	bash packaging/build_bundle.sh
