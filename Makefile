# Leedz API. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv: the one on PATH, else the user install; bootstrapped with pip (for the user) when missing.
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTEST_ARGS ?=
# Coverage of src/leedz, in this process (not the servers tests/e2e starts). The floor
# (fail_under in pyproject.toml) holds for the whole suite only: a run narrowed with PYTEST_ARGS
# reports its figure without failing on it.
COV_ARGS ?= --cov=leedz --cov-report=term:skip-covered $(if $(strip $(PYTEST_ARGS)),--cov-fail-under=0)

.PHONY: help uv install run test client lint format types bench db-upgrade db-downgrade db-seed db-revision clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}'

uv: ## Install uv for the current user if it is missing
	@test -x "$(UV)" || python3 -m pip install --user --quiet uv
	@test -x "$(UV)" || { echo "uv could not be installed"; exit 1; }

install: uv ## Create .venv from uv.lock (dev tools included)
	@$(UV) sync --frozen --quiet

run: install ## Serve the API on http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(UV) run --frozen leedz serve --upgrade --seed

test: install ## Run the whole test suite on real PostgreSQL (embedded unless LEEDZ_TEST_DATABASE_URL), with coverage
	@status=0; $(UV) run --frozen pytest $(COV_ARGS) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; exit 1; fi; \
	exit $$status

client: install ## Regenerate the TypeScript client from the spec; fail on drift; tsc --noEmit
	bash scripts/check-ts-client.sh

lint: install ## ruff check and ruff format --check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install ## Apply ruff fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

types: install ## mypy --strict
	$(UV) run --frozen mypy

bench: install ## Run the benchmarks in bench/ (ratios against ceilings measured in the same run)
	$(UV) run --frozen python -m bench

db-upgrade: install ## Apply migrations (leedz db upgrade)
	$(UV) run --frozen leedz db upgrade

db-downgrade: install ## Revert the last migration (leedz db downgrade -1)
	$(UV) run --frozen leedz db downgrade -1

db-seed: install ## Seed the plan catalog (leedz db seed)
	$(UV) run --frozen leedz db seed

db-revision: install ## New migration: make db-revision m="add things"
	@test -n "$(m)" || { echo 'usage: make db-revision m="what changes"'; exit 1; }
	$(UV) run --frozen leedz db revision -m "$(m)"

clean: ## Remove caches (keeps .leedz/ data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
