# Relay: `make demo` shows the product, `make test` proves it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# `make demo` installs what the demo needs (Relay + scikit-learn/skops and the model server's
# extra); `make test` adds the test, lint, Ray and UI-test (Playwright) extras. Each has its own
# stamp, so neither reinstalls needlessly.
DEMO_STAMP := $(VENV)/.relay-demo
TEST_STAMP := $(VENV)/.relay-test
PYTEST_ARGS ?=

.PHONY: install install-demo demo test lint format bench bench-registry bench-serving bench-monitoring bench-ui clean

install: $(TEST_STAMP)
install-demo: $(DEMO_STAMP)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Relay needs Python 3.11 or newer (found $$($(PYTHON) -V))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -e ".[ml,serve]"
	@touch $(DEMO_STAMP)

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,ray,ui]"
	@touch $(TEST_STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/relay demo

test: install
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src tests

format: install
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: install
	$(PY) benchmarks/tracking/run.py
	$(PY) benchmarks/drift/run.py
	$(PY) benchmarks/contracts/run.py
	$(PY) benchmarks/cli/run.py
	$(PY) benchmarks/publish/run.py
	$(PY) benchmarks/registry/run.py
	$(PY) benchmarks/serving/score.py
	$(PY) benchmarks/serving/run.py
	$(PY) benchmarks/monitoring/run.py
	$(PY) benchmarks/ui/run.py

bench-registry: install
	$(PY) benchmarks/registry/run.py $(BENCH_ARGS)

bench-serving: install
	$(PY) benchmarks/serving/run.py $(BENCH_ARGS)

bench-monitoring: install
	$(PY) benchmarks/monitoring/run.py $(BENCH_ARGS)

bench-ui: install
	$(PY) benchmarks/ui/run.py $(BENCH_ARGS)

clean:
	rm -rf .relay .pytest_cache .mypy_cache .ruff_cache
