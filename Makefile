# Two commands on a fresh machine: `make dev` (run Ferry locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install dev test test-fast lint format synth bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

dev: install
	$(BIN)/ferry dev $(ARGS)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

# Unit tests and the in-memory side of the contract tests: no emulator, no sockets to AWS (< 30 s).
# The cron property tests run a tenth of their examples here; `make test` runs them all.
test-fast: install
	FERRY_CRON_EXAMPLES=0.1 $(BIN)/pytest -q -p no:cacheprovider tests/unit tests/contract -m "not adapter" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules

# Synthesizes the CloudFormation template (bundles the Lambda layer locally with pip; no Docker).
synth: install node_modules
	PATH="$(CURDIR)/$(BIN):$$PATH" npx cdk synth --quiet

bench: install
	$(BIN)/python -m benchmarks.batch_concurrency

clean:
	rm -rf $(VENV) cdk.out node_modules layers/ferry/build .pytest_cache .ruff_cache
