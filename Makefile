# Firebreak: `make demo` runs the whole loop on the embedded default; `make test` runs the checks.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench-smoke clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,mlflow,k8s,scale]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/firebreak demo $(DEMO_ARGS)

system-deps:
	@bash scripts/system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest

bench-smoke: $(STAMP)
	bash scripts/bench-smoke.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache firebreak.db firebreak.db-wal firebreak.db-shm
