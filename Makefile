# Relay: `make demo` shows the product, `make test` proves it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.relay-installed
PYTEST_ARGS ?=

.PHONY: install demo test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Relay needs Python 3.11 or newer (found $$($(PY) -V))"; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,ray]"
	@touch $(STAMP)

demo: install
	$(VENV)/bin/relay demo

test: install
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

format: install
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: install
	$(PY) benchmarks/tracking/run.py
	$(PY) benchmarks/drift/run.py
	$(PY) benchmarks/contracts/run.py

clean:
	rm -rf .relay .pytest_cache .mypy_cache .ruff_cache
