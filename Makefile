# Làng Số: `make run` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TRAINEES ?= 0
STAMP := $(VENV)/.installed
CATALOGUES := $(wildcard lms/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: install run serve worker test test-pg e2e lint bench translations clean

install: $(STAMP) $(COMPILED)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: apt-get install python3.11 python3.11-venv"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lms/translations/%/LC_MESSAGES/messages.mo: lms/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d lms/translations -l $* --statistics

run: install
	$(BIN)/lms db upgrade
	$(BIN)/lms seed demo --trainees $(TRAINEES)
	@$(MAKE) --no-print-directory serve

# The web server with the worker beside it; Ctrl-C stops both. The server is gunicorn with
# gunicorn.conf.py's 2 workers, as in production: Flask's own server (`lms run`, one process)
# answered a class of 400 phones posting progress with a p95 of 5.2 s, gunicorn in 1.5 s
# (bench/progress_load.py). Each child stops itself on the
# terminal's SIGINT (the worker finishes its tasks first: huey's graceful stop) and the shell waits
# for it. The shell never signals its own group: `trap 'kill 0' TERM` re-enters its own trap until
# the shell overflows its stack ("Segmentation fault"). A background job starts with SIGINT ignored,
# so the worker gets the default handler back before exec.
serve: install
	@echo "Serving on http://$(HOST):$(PORT) with the worker beside it. Ctrl-C stops both."
	@(trap - INT; exec $(BIN)/lms worker) & worker=$$!; \
	  trap 'trap - INT TERM EXIT; wait $$worker' INT; \
	  trap 'trap - INT TERM EXIT; kill -INT $$worker 2>/dev/null; wait $$worker' TERM EXIT; \
	  HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py lms.wsgi:app

test: install
	@command -v pdftotext >/dev/null && command -v zbarimg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils zbar-tools; }
	$(BIN)/pytest -m "not e2e" -q $(PYTEST_ARGS)

e2e: install
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	test -d node_modules/axe-core || npm ci --no-audit --no-fund
	$(BIN)/pytest -m e2e -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python bench/run_all.py

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o lms/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache
