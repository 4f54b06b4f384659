# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= small
# Test processes: one per core (pytest-xdist); a module's tests stay in one process, since
# they share its servers and databases.
TEST_WORKERS ?= auto
export AUTHLIB_INSECURE_TRANSPORT ?= 1

.PHONY: install run test lint schema docs bench clean assets

$(BIN)/hub: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/hub

run: install
	$(BIN)/hub migrate
	$(BIN)/hub seed --scale demo --if-empty
	$(BIN)/hub warnings evaluate  # the demo's warnings and work orders; raises nothing twice
	$(BIN)/hub serve

test: install docs
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The documentation site (mkdocs.yml, docs/) into ./site; strict: a broken link or anchor fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: install
	$(BIN)/python -m hub.graph > schema.graphql
	$(BIN)/python -m hub.data_dictionary > docs/data-dictionary.md
	$(BIN)/python -m hub.scope_table > docs/scopes.md
	$(BIN)/python -m hub.settings_reference > docs/configuration.md
	$(BIN)/python -m hub.command_reference > docs/command-line.md

# Rebuild web/static/vendor/ from web/assets/package-lock.json (needs Node.js and npm).
assets: install
	$(BIN)/python -m web.assets.build

bench: install
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf .hub site
