# Matchmaker — `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install browser dictionary run migrate seed test lint format typecheck bench soak learn simulate clean

help: ## List every target
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	# torch first, pinned: an unpinned torch would pull a multi-gigabyte CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its pinned dependencies

migrate: install ## Create or upgrade the database schema
	$(BIN)/matchmaker migrate

seed: migrate ## Load the sample data (idempotent) and local demo sign-ins
	$(BIN)/matchmaker seed --demo-users

run: seed ## Serve on http://127.0.0.1:$(PORT) under gunicorn with the sample data
	@$(MAKE) --no-print-directory dictionary || echo "Serving without the dictionary: key terms are shared words only."
	@echo "Serving on http://127.0.0.1:$(PORT) — demo sign-ins: instance/demo-credentials.txt"
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

browser: ## Install Debian's Chromium for the browser tests (when missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null || \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; fi

dictionary: ## Install Debian's German-English dictionary (trans-de-en) for key terms across languages
	@if [ ! -f /usr/share/trans/de-en ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq trans-de-en >/dev/null || \
	    (apt-get update -qq && apt-get install -y -qq trans-de-en >/dev/null); \
	  else echo "Key terms across languages need Debian's trans-de-en: sudo apt-get install trans-de-en"; exit 1; fi; fi

test: install browser dictionary ## Run the whole test suite
	$(BIN)/pytest

lint: install ## Lint and check formatting
	$(BIN)/ruff check matchmaker tests
	$(BIN)/ruff format --check matchmaker tests

format: install ## Format the code
	$(BIN)/ruff format matchmaker tests
	$(BIN)/ruff check --fix matchmaker tests

typecheck: install ## Type-check the package
	$(BIN)/mypy matchmaker

bench: install ## Run the benchmarks (figures go to docs/benchmarks.md)
	$(BIN)/python tests/bench/run_all.py

soak: install ## Soak test: 2 gunicorn workers, mixed load for 150 s (figures in docs/reliability.md)
	MATCHMAKER_SOAK=1 $(BIN)/pytest -q -s tests/reliability/test_soak.py

learn: install ## Train the re-ranker on the office's decisions (models/reranker.*)
	$(BIN)/matchmaker learn

simulate: install ## Replay an office with a hidden preference; writes the learning curve (minutes)
	$(BIN)/matchmaker simulate --control --plot docs/learning-curve.png

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) instance
