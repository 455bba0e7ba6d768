# The two commands of the README's Quick start:
#   make demo   set everything up, then run the top-3 job on examples/ locally
#   make test   set everything up, then run the whole test suite
# Set-up is idempotent: each step only does what is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test setup system-deps venv bench clean

demo: setup
	$(BIN)/topwords run --backend local --top 3 --output-dir out examples/*.txt

test: setup
	$(BIN)/python -m pytest

setup: system-deps venv
	$(BIN)/topwords local setup

system-deps:
	@bash scripts/install-system-deps.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf out .pytest_cache .hypothesis
