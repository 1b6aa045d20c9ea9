# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-sqlite test-pg install system-deps firefox-driver lint format bench clean

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
test: install firefox-driver
	@bin/system-deps haproxy
	@bin/test

## firefox-driver: Debian's firefox-esr (+ PulseAudio for a null sound sink) and puppeteer-core
##                 from npm (tests/firefox, locked), which drives it through WebDriver BiDi
firefox-driver:
	@bin/system-deps chromium pdftotext espeak-ng firefox-esr pulseaudio node npm
	@test -d tests/firefox/node_modules/puppeteer-core || \
	  (cd tests/firefox && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: every bench/*_bench.py in turn, then ONE table of their key figures. Each bench
##        appends its figures as JSON lines to the file named by BENCH_FIGURES (through
##        bench/_figures.py: record(bench, figure, value, unit)); bench/summary.py prints them.
##        A new bench only needs the *_bench.py name and record() calls (see bench/README.md).
bench: install
	@bin/system-deps haproxy node npm
	@figures=$$(mktemp); status=0; \
	for b in bench/*_bench.py; do \
	  echo "== $$b =="; \
	  BENCH_FIGURES=$$figures $(VENV)/bin/python "$$b" || { status=1; echo "$$b FAILED"; }; \
	done; \
	$(VENV)/bin/python bench/summary.py "$$figures"; rm -f "$$figures"; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
