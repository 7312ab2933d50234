.DEFAULT_GOAL := help
UV := python3 -m uv

.PHONY: help install test lint run chromium

help:  ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install:  ## Install uv if needed, then the locked environment (.venv)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

test: install  ## Run the test suite
	$(UV) run pytest

lint: install  ## ruff (lint + format check) and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .

run: install  ## Migrate and start the Clerk emulator (the only runnable piece so far)
	$(UV) run python manage.py migrate --no-input
	$(UV) run python -m clerk_emulator --host 127.0.0.1 --port 8787

chromium:  ## Install Debian's Chromium for browser tests if it is missing
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
