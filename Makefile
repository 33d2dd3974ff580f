# make run      - set up .venv from the lock, migrate, bootstrap, serve on $(HOST):$(PORT)
# make test     - set up .venv with the test tools and run the whole suite
# make evaluate DATA=dir - the matcher's quality on a BEIR-layout dataset (docs/matching.md)
# make bench SIZES=2000,10000,100000 - the matcher's speed and memory (docs/matching.md)
# make bench-volume - seed PostgreSQL with 100k challenges (and their bids, projects, audit
#                 events) and time the list routes over HTTP (docs/performance.md, "Volume");
#                 BENCH_ARGS="--keep" / "--reuse" / "--help"
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint lock evaluate bench bench-volume

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
	@if [ -z "$(DATA)" ]; then echo "make evaluate DATA=<dir>: the dataset's directory;" \
	  "get the public CSL dataset (Chinese Scientific Literature) in BEIR layout from the" \
	  "C-MTEB collection (corpus.jsonl, queries.jsonl, qrels/dev.tsv)" >&2; exit 2; fi
	$(BIN)/python -m benchmarks.evaluate "$(DATA)"

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.bench $(if $(SIZES),--sizes $(SIZES))

bench-volume: $(VENV)/.dev
	$(BIN)/python scripts/bench_volume.py $(BENCH_ARGS)
