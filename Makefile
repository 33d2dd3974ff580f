# make run  - set up .venv from the lock, migrate, bootstrap, serve on $(HOST):$(PORT)
# make test - set up .venv with the test tools and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint lock evaluate bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

run: $(VENV)/.runtime
	mkdir -p var
	$(BIN)/alembic upgrade head
	$(BIN)/python -m app.bootstrap
	exec $(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --loop uvloop --http httptools --no-server-header

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy app

# Re-pin after editing requirements*.in (needs pip-tools: pip install pip-tools).
lock:
	pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements.lock requirements.in
	pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements-dev.lock requirements-dev.in

evaluate: $(VENV)/.dev
	$(BIN)/python -m app.matching.evaluate ../shared/data/eval/csl-dev

bench: $(VENV)/.dev
	$(BIN)/python -m app.matching.bench
