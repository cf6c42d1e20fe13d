# Two commands on a fresh machine: `make dev` (run Ferry locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install dev test test-fast lint format synth bench qstash-suite clean test-dev-stop

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

dev: install
	$(BIN)/ferry dev $(ARGS)

# Two pytest workers: each test process runs `ferry dev`'s emulator and handlers in-process, bound
# to one core by the GIL, so one process leaves the second core mostly idle. Each worker starts
# its own stacks; xdist's load scheduling hands every worker its tests in collection order, so a
# worker's package-scoped stacks (browser, contract) end before its integration stack starts.
# PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 2

test: install node_modules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# `ferry dev` stops within 5 s on SIGINT/SIGTERM, 20 times in a row with a delivery in flight.
test-dev-stop: install
	FERRY_DEV_STOP_LOOPS=20 $(BIN)/pytest tests/e2e/test_ferry_dev_process.py -q -p no:cacheprovider \
		-k stops_within_5_seconds_every_time

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

# Every benchmark in its short mode, then one table (benchmarks/report.py; about 3 minutes).
bench: install
	$(BIN)/python -m benchmarks.report

# The official qstash-py suite against `ferry dev`, loopback only (needs root for `unshare -n`;
# docs/compatibility.md has the current result). QSTASH_PY_REPO: a clone to use instead of GitHub.
qstash-suite: install
	$(BIN)/python scripts/qstash_sdk_suite.py $(if $(QSTASH_PY_REPO),--repo $(QSTASH_PY_REPO))

clean:
	rm -rf $(VENV) cdk.out node_modules layers/ferry/build .pytest_cache .ruff_cache

# A longer schemathesis run against the generated OpenAPI document (the suite runs 50 examples
# per operation; this runs 1,000).
.PHONY: fuzz
fuzz: install
	FERRY_FUZZ_EXAMPLES=$${FERRY_FUZZ_EXAMPLES:-1000} $(BIN)/pytest tests/fuzz -q -p no:cacheprovider
