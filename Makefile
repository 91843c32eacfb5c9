# The two set-up commands are `make demo` and `make test`; both build .venv from nothing but
# Python, and only from the committed lock (exact versions, checked hashes), so a fresh clone
# installs the same packages next year as today. `make lock` moves the pins; `make test-latest`
# tries the newest versions pyproject.toml allows before they are locked.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
BOOTSTRAP := requirements/bootstrap.txt
# pytest-xdist workers: much of the suite waits on real processes (outages of 30 and 60 s, a
# partition, restarts), so on the 2-core machine four workers keep both cores busy (94 % in a
# measured run: 4 min 18 s, where two workers took 5 min 56 s and three 4 min 38 s);
# `make test WORKERS=0` runs it in one process. Modules go to
# the workers in the order tests/conftest.py sorts them (the long ones first), not xdist's
# default of the modules with the most tests first, which left the one-test netns stories
# (over a minute each) to start last, with the other worker idle.
WORKERS ?= 4
LATEST := .iam-planes/latest-venv
SOURCES := replication controlplane dataplane deploy awswire bench

.PHONY: demo test test-latest bench lint lock up down clean

# pip installs the pinned uv (requirements/bootstrap.txt, hashed too); uv installs the lock in
# seconds where pip takes most of a minute. Bytecode is compiled up front: where
# PYTHONDONTWRITEBYTECODE is set (as on the project's machines) nothing compiled on import is
# kept, and every process the tests start would compile botocore, pydantic and the rest again.
$(STAMP): $(LOCK) $(BOOTSTRAP) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes --no-deps -r $(BOOTSTRAP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --no-deps --compile-bytecode -r $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/check_venv.py $(LOCK) $(BOOTSTRAP)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iam-planes demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# the project's own modules too, for the same reason (compileall skips what is up to date)
test: lint
	$(BIN)/python -m compileall -q -j 0 $(SOURCES) tests examples > /dev/null
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

# Not run by CI: the newest releases pyproject.toml admits, in a scratch venv, through the
# same checks. This is how an upgrade is found and tried before `make lock` moves the pins.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade -e '.[dev]'
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/freeze.txt
	$(LATEST)/bin/ruff check .
	$(LATEST)/bin/ruff format --check .
	$(LATEST)/bin/mypy
	$(LATEST)/bin/lint-imports
	$(LATEST)/bin/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder -p no:cacheprovider

# Regenerates the lock from pyproject.toml (runtime + dev) and requirements/build.in with uv,
# fetched into a scratch venv on demand: users never need it.
lock:
	$(PYTHON) -m venv .iam-planes/lock-tools
	.iam-planes/lock-tools/bin/python -m pip install --quiet --disable-pip-version-check uv
	.iam-planes/lock-tools/bin/uv pip compile pyproject.toml requirements/build.in \
	  --extra dev --generate-hashes --python-version 3.11 --upgrade -o $(LOCK)
	.iam-planes/lock-tools/bin/uv pip compile requirements/bootstrap.in \
	  --generate-hashes --python-version 3.11 --upgrade -o $(BOOTSTRAP)

bench: $(STAMP)
	$(BIN)/python -m bench

up: $(STAMP)
	$(BIN)/iam-planes up

down: $(STAMP)
	$(BIN)/iam-planes down

clean:
	rm -rf $(VENV) .iam-planes .mypy_cache .ruff_cache .pytest_cache
