# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 200
# Without CUSTODIAN_ISSUER the issuer is http://HOST:PORT, so `make run PORT=8100` moves it too.
export HOST PORT

.PHONY: run test lint typecheck imports contract pytest openapi bench clean messages

# Reinstall whenever pyproject.toml changes; one stamp per install flavour.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/custodian migrate
	$(BIN)/custodian demo --customers $(DEMO_CUSTOMERS)
	$(BIN)/custodian serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test lint typecheck imports contract pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

imports: $(VENV)/.installed-test
	$(BIN)/lint-imports

# The committed OpenAPI document must pass Spectral's and Redocly's rules with no error
# (pinned versions, fetched by npx from the npm registry on first use).
SPECTRAL ?= npx --yes @stoplight/spectral-cli@6.16.3
REDOCLY ?= npx --yes @redocly/cli@2.77.0
contract:
	$(SPECTRAL) lint --ruleset .spectral.yaml --fail-severity error openapi/openapi.json
	$(REDOCLY) lint --extends recommended --format summary openapi/openapi.json


# One worker per core; each worker has its own databases (see tests/throwaway_db.py).
pytest: $(VENV)/.installed-test
	$(BIN)/pytest -n auto

# The pages' messages: extract them from the templates and code, merge new ones into each
# language's catalogue (api/web/locale/<lang>/LC_MESSAGES/messages.po), then translate those.
# The catalogues are compiled in memory when the server starts; no .mo file is built.
messages: $(VENV)/.installed-run
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d api/web/locale --no-location --ignore-obsolete

openapi: $(VENV)/.installed-run
	$(BIN)/custodian openapi

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
