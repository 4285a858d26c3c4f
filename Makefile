# appsync-jobs - two commands: `make dev` and `make test`. Each sets itself up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: dev test setup lint typecheck unit bench synth clean node browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

setup: $(STAMP)

## Start the local AppSync-compatible API (http://127.0.0.1:8000/graphql) with its worker.
## It serves the web console at / (built first when web/dist is missing).
dev: setup node web/dist
	$(BIN)/appsync-jobs dev --https-port 8443

web/dist: | node
	npm run build

## Lint, type-check and run the whole test suite.
test: setup node browser lint typecheck
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest tests/unit -q

synth: setup
	$(BIN)/python -m infra.app

clean:
	rm -rf $(VENV) .appsync-jobs cdk.out .pytest_cache .mypy_cache .ruff_cache

# JavaScript side (Amplify JS tests, the web console): installed from the lock file when present.
ifneq ($(wildcard package-lock.json),)
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)
node: $(NODE_STAMP)
else
node:
endif

## Debian's Chromium for the browser tests (never a browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)

bench: setup
	$(BIN)/python -m bench
