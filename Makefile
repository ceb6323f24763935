# Engagement HRMS: the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
PY := .venv/bin/python
HOST_PY ?= python3

# What the test suite runs against (see README.md, "Configuration").
TEST_ENV := DATABASE_URL=postgres://hrms_owner@127.0.0.1:5432/hrms \
	DATABASE_APP_ROLE=hrms_app \
	REDIS_URL=redis://127.0.0.1:6379/15 \
	CELERY_TASK_ALWAYS_EAGER=true \
	DEBUG=true

.PHONY: help install run test lint format services pdf-deps system-deps messages compile-messages bench bench-pages bench-reporting bench-throughput bench-pdf bench-calibration bench-load clean

help:
	@echo "make run   - install, migrate the embedded SQLite database, load the demo, serve http://127.0.0.1:8000"
	@echo "make test  - install, start/use PostgreSQL and Redis on localhost, run lint and the whole suite"
	@echo "make messages - re-extract the strings to translate into locale/de (docs/translation.md), then compile"
	@echo "make lint  - ruff format --check, ruff check, mypy, lint-imports (the import contracts)"
	@echo "make bench - benchmarks that print ratios measured in one run (bench/README.md)"
	@echo "make bench-pages - every main page of every role at 1,000 and 10,000 employees against a floor page"
	@echo "make bench-reporting - the reporting dashboards at 1,000 and 10,000 employees against the floor, and the exports"
	@echo "make bench-throughput - requests/s of the floor, HR home and a plan page at 10,000 employees (gunicorn, wrk)"
	@echo "make bench-pdf - the appraisal PDF: job path vs plain WeasyPrint, queries per document, 1,000 as a batch over 2 workers"
	@echo "make bench-calibration - a cycle's reviewer leniency at 10,000 employees against a plain GROUP BY; the session page's queries at 100 and 10,000 in scope"
	@echo "make bench-load - 50 users for 2 minutes with Redis stopped and a worker killed (docs/benchmarks.md)"

$(UV):
	$(HOST_PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(HOST_PY)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: .venv/.synced node_modules/.installed

run: install pdf-deps compile-messages
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py seed_demo
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py runserver 127.0.0.1:8000

services:
	./scripts/ensure_services.sh

# Debian packages the suite needs: chromium (browser journeys), WeasyPrint's libraries
# and fonts (PDF reports), poppler-utils (pdftoppm, to look at PDFs); and wrk, the load
# generator of bench/throughput.py.
# gettext: msgfmt compiles the translation catalogues (docs/translation.md).
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
RUN_PACKAGES := $(PDF_PACKAGES) gettext
SYSTEM_PACKAGES := chromium $(RUN_PACKAGES) poppler-utils wrk
# What `make run` needs of them: WeasyPrint's libraries and fonts (the demo's PDF)
# and gettext.
pdf-deps:
	@missing=$$(for p in $(RUN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The compiled catalogues (.mo) are built, not committed: one per .po under locale/.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
locale/%.mo: locale/%.po
	msgfmt --check -o $@ $<
compile-messages: $(CATALOGUES)

# After changing user-facing strings: new entries arrive untranslated (msgstr "").
messages: install
	$(PY) manage.py makemessages --all --no-location --no-obsolete \
		--ignore '.venv/*' --ignore '.tools/*' --ignore 'node_modules/*' \
		--ignore 'staticfiles/*' --ignore 'bench/*' --ignore 'tests/*'
	$(MAKE) compile-messages

lint: install
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# One pytest-xdist worker per CPU, each with a database and cache keys of its own
# (tests/conftest.py); `pytest` without -n runs the same suite in one process.
test: install services system-deps compile-messages lint
	$(TEST_ENV) $(PY) -m pytest -n auto --durations=20

# Benchmarks that print ratios (see bench/README.md); not tests. Every one runs; the
# target fails at the end if one of them found a broken invariant.
bench: install services system-deps
	@status=0; \
	for script in pages reporting recompute calibration people_directory throughput pdf_rendering; do \
		$(TEST_ENV) $(PY) bench/$$script.py || status=1; \
	done; \
	exit $$status

# Pass options with ARGS, e.g. make bench-pages ARGS="--only 'plan' --repeats 5".
bench-pages: install services
	$(TEST_ENV) $(PY) bench/pages.py $(ARGS)

bench-reporting: install services
	$(TEST_ENV) $(PY) bench/reporting.py $(ARGS)

bench-throughput: install services system-deps
	$(TEST_ENV) $(PY) bench/throughput.py $(ARGS)

bench-pdf: install services system-deps
	$(TEST_ENV) $(PY) bench/pdf_rendering.py $(ARGS)

bench-calibration: install services
	$(TEST_ENV) $(PY) bench/calibration.py

# About 6 minutes: its own database, Redis, gunicorn, Celery worker and beat, Locust
# with 50 users; Redis is stopped for 20 s and the worker killed once; then the
# consistency check. Prints its figures (docs/benchmarks.md).
bench-load: install services
	$(TEST_ENV) $(PY) bench/load_outage.py

clean:
	rm -rf .venv $(TOOLS) node_modules staticfiles db.sqlite3
