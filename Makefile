# Regio — the two commands: `make run` (platform on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
REGIO_PORT ?= 8000
SHARED ?= $(abspath ../shared)
STAMP := $(VENV)/.installed

.PHONY: run test bench lint install node clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch node_modules/.installed

node: node_modules/.installed

run: install
	$(BIN)/regio migrate --noinput -v0
	$(BIN)/regio territory load --source "$(SHARED)/data/territory"
	$(BIN)/regio demo
	$(BIN)/regio collectstatic --noinput -v0
	@echo "Regio : http://127.0.0.1:$(REGIO_PORT)/ (Ctrl+C pour arrêter)"
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/regio worker & worker=$$!; \
	$(BIN)/gunicorn regio.wsgi:application --bind 127.0.0.1:$(REGIO_PORT) --workers 3 --access-logfile - --log-level warning

test: install node
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var node_modules
