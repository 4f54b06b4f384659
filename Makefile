# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= small
# Test processes: two more than the cores (pytest-xdist): much of a test process's time
# is spent waiting (on servers and processes starting, on polls, on leases), which more
# processes fill; since the suite's `hub` processes fork from a pre-imported one, 4 do a
# little better than 3 on 2 cores (clean-clone runs, quiet: pytest 225, 219, 247 s against
# 232, 239; within the runs' spread: bench/results/make-test.md). A module's tests stay in one process,
# since they share its servers and databases; modules go out longest first, as long as
# they took when last recorded (tests/module_order.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 2 )))
export AUTHLIB_INSECURE_TRANSPORT ?= 1
# mypy's cache is kept per user, beside the suite's Node tools, not per checkout: a fresh
# clone checks 273 files in 13 CPU s without it and in 0.4 with one another checkout left
# (mypy keys what it kept by each file's hash, so changed files are checked again).
MYPY_CACHE ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/wage-hub/mypy
PACKAGES := kernel storage ingest auth synthetic connectors graph audit alerts web hub bench

.PHONY: install run test lint schema docs bench clean assets

# The virtualenv is filled by uv (itself installed into it by the system's pip, or by the
# venv's own where the system's has no --python): it fetches and unpacks the ~80 wheels
# side by side where pip takes them one after another. A fresh venv and install: 31 s with
# pip, 10 s with uv (bench/results/make-test.md). Their bytecode is written as modules are
# first imported (compiling all of them ahead took 8.4 CPU s, half of it for modules
# nothing here imports: mypy's, pygments' lexers).
$(BIN)/hub: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	test -x $(BIN)/uv || $(PYTHON) -m pip --python $(BIN)/python install --quiet 'uv>=0.9' \
	  || { $(BIN)/python -m ensurepip --upgrade && $(BIN)/python -m pip install --quiet 'uv>=0.9'; }
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $@

install: $(BIN)/hub

run: install
	$(BIN)/hub migrate
	$(BIN)/hub seed --scale demo --if-empty
	$(BIN)/hub warnings evaluate  # the demo's warnings and work orders; raises nothing twice
	$(BIN)/hub serve

# The documentation's build and mypy run beside the suite, whose processes often wait (on
# servers starting, on polls): on 2 cores they cost the suite a little CPU, not their own
# minute of wall time; at a lower priority (nice), they take the cycles the suite leaves
# rather than the start, when every test process is collecting at once; what they print
# is shown after the suite only if they fail. Bytecode is written during the run even
# where PYTHONDONTWRITEBYTECODE is set (as in CI): otherwise every process compiles again
# what it imports and no earlier one cached (the test helpers, the migrations Alembic runs,
# the libraries), every `hub` process the tests start among them. The packages are compiled
# first, on every core, and the test modules' rewritten asserts written once
# (tests/rewrite_ahead.py), so that the test processes starting at once do not each
# compile them. The 25 slowest tests are listed at the end of every run (where the suite's
# time goes: see bench/results/make-test.md).
test: export PYTHONDONTWRITEBYTECODE :=
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m compileall -q -j 0 $(PACKAGES) > /dev/null
	mkdir -p .hub
	nice -n 10 sh -c '$(MAKE) --no-print-directory docs && $(BIN)/mypy --cache-dir "$(MYPY_CACHE)"' > .hub/checks.log 2>&1 & checks=$$!; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25; suite=$$?; \
	if ! wait $$checks; then cat .hub/checks.log; echo "make test: docs or mypy failed"; exit 1; fi; \
	exit $$suite

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
