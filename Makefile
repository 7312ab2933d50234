.DEFAULT_GOAL := help
UV := python3 -m uv
# Some machines (this CI box among them) set PYTHONDONTWRITEBYTECODE: every Python process would then compile the
# ~1,500 modules it imports from source, about 2 s of CPU each, and the suite starts a hundred of them.
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist workers: one per core, at most 4 (each has its own test database, Clerk emulator and Redis database).
TEST_WORKERS ?= $(shell python3 -c 'import os; print(max(1, min(4, len(os.sched_getaffinity(0)))))')
# worksteal: an idle worker takes tests queued on a busy one, so the long kinds (benches, browser) do not leave one
# worker finishing alone.
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal

.PHONY: help install test test-fast test-sqlite lint run chromium vendor-clerk-js vendor-axe

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install:  ## Install uv if needed, then the locked environment (.venv)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

test: install  ## Run the whole suite in parallel, reporting line and branch coverage of the product code (emulator included)
	$(UV) run pytest $(PYTEST_PARALLEL) --cov --cov-report=term
	$(UV) run python scripts/coverage_totals.py

test-fast: install  ## The suite without the slow kinds (browser, fuzz, bench, live server, races, matrices, subprocesses), no coverage
	$(UV) run pytest $(PYTEST_PARALLEL) -q -m "not slow"

# The demo runs on SQLite, whose SQL differs where lists are built (no LIMIT inside a UNION, no trigram index):
# the list, search and page tests run there too (without DATABASE_URL), fast ones only.
SQLITE_TESTS := tests/core/test_text_search.py tests/core/test_capped_pages.py tests/invitations/test_history.py \
	tests/invitations/test_history_pages.py tests/invitations/test_bulk.py tests/invitations/test_members_pages.py \
	tests/invitations/test_pages.py tests/internal_users/test_selectors.py tests/internal_users/test_pages.py \
	tests/internal_users/test_history.py

test-sqlite: install  ## The list, search and page tests on SQLite, the demo's database
	DATABASE_URL= $(UV) run pytest $(PYTEST_PARALLEL) -q -m "not slow" $(wildcard $(SQLITE_TESTS))

lint: install  ## ruff (lint + format check) and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .

run: install  ## Migrate, start the Clerk emulator and the app on 127.0.0.1:8000, seed demo accounts
	$(UV) run python manage.py migrate --no-input && $(UV) run python manage.py rundemo

chromium:  ## Install Debian's Chromium for browser tests if it is missing
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

vendor-clerk-js:  ## Refresh the vendored ClerkJS browser build from npm (VERSION=6.40.0 by default)
	python3 scripts/vendor_clerk_js.py $(if $(VERSION),--version $(VERSION))

vendor-axe:  ## Refresh the vendored axe-core (browser tests' accessibility checks) from npm (VERSION=4.14.1 by default)
	python3 scripts/vendor_axe_core.py $(if $(VERSION),--version $(VERSION))
