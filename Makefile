# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-sqlite test-pg install catalogues translations system-deps firefox-driver lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) catalogues

## catalogues: compile the committed .po catalogues (interview/translations) into .mo files
catalogues: $(STAMP)
	@$(VENV)/bin/pybabel compile -d interview/translations -D "messages js" >/dev/null

## translations: after changing candidate-facing text, extract every message (templates, Python,
##               the recorder's ES modules) and merge it into each language's catalogue
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --no-wrap \
	  --project=interview -o interview/translations/messages.pot .
	$(VENV)/bin/pybabel extract -F babel-js.cfg --sort-by-file --no-wrap \
	  --project=interview -o interview/translations/js.pot .
	$(VENV)/bin/pybabel update -d interview/translations -D messages --no-wrap \
	  -i interview/translations/messages.pot
	$(VENV)/bin/pybabel update -d interview/translations -D js --no-wrap \
	  -i interview/translations/js.pot

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
