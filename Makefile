# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-sqlite test-pg install system-deps lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## system-deps: ffmpeg and redis-server from Debian's packages when missing (needs root + apt)
system-deps:
	@bin/system-deps

## run: install, migrate, create demo data once, start web + worker (+ Redis if none answers)
run: install system-deps
	@bin/run

## test: the whole suite on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set
##       (installs Debian's chromium for the browser tests when missing)
test: install
	@bin/system-deps chromium pdftotext
	@bin/test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install system-deps
	@for b in bench/*.py; do [ -e "$$b" ] && $(VENV)/bin/python "$$b"; done; true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
