# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= small
export AUTHLIB_INSECURE_TRANSPORT ?= 1

.PHONY: install run test lint schema bench clean assets

$(BIN)/hub: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/hub

run: install
	$(BIN)/hub migrate
	$(BIN)/hub seed --scale demo --if-empty
	$(BIN)/hub serve

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: install
	$(BIN)/python -m hub.graph > schema.graphql
	$(BIN)/python -m hub.data_dictionary > docs/data-dictionary.md

# Rebuild web/static/vendor/ from web/assets/package-lock.json (needs Node.js and npm).
assets: install
	$(BIN)/python -m web.assets.build

bench: install
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf .hub
