# Night Owl: `make run` starts the service on the embedded defaults; `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest browser bench clean

$(BIN)/nightowl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/nightowl
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/nightowl
	$(BIN)/nightowl db upgrade
	$(BIN)/nightowl serve

# Debian's Chromium drives the /sim and /map browser tests (Playwright uses it as is).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

pytest: $(VENV)/.dev browser
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/dispatch.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
