# greencircle — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GREENCIRCLE_VAR_DIR ?= $(CURDIR)/var
DEMO_DB ?= sqlite:///$(CURDIR)/var/greencircle.db

.PHONY: demo test test-fast fuzz lint format install system-deps serve bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## demo: install, build the SQLite database, load the demo scenario, serve on 127.0.0.1:8000
demo: $(STAMP)
	mkdir -p var
	GREENCIRCLE_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/greencircle db upgrade
	GREENCIRCLE_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/greencircle demo load
	GREENCIRCLE_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/greencircle demo logins
	@echo "Serving http://127.0.0.1:8000/console  (API docs: http://127.0.0.1:8000/docs)"
	GREENCIRCLE_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/greencircle serve --host 127.0.0.1 --port 8000

## system-deps: Debian packages the tests need (PostgreSQL server, Chromium)
system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests $(wildcard benchmarks)
	$(VENV)/bin/ruff format --check src tests $(wildcard benchmarks)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

## test: install everything the suite needs and run lint + the whole suite
test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest -p no:cacheprovider --durations=15

## test-fast: the inner loop (no browser, no PostgreSQL, no slow tests; no lint)
test-fast: $(STAMP)
	$(VENV)/bin/pytest -p no:cacheprovider -q -m "not slow and not browser and not postgres"

## fuzz: only the bounded Schemathesis run against the API (part of `make test` too)
fuzz: $(STAMP)
	$(VENV)/bin/pytest -p no:cacheprovider tests/api/test_schemathesis.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
