# The commands of the README (Quick start, Install):
#   make demo   set everything up, then run the top-3 job on examples/ locally
#   make test   set everything up, then run the whole test suite
#   make dist   build the sdist and the wheel into dist/
# Set-up is idempotent: each step only does what is missing. Azurite is
# pinned by backends/local/azurite_npm/package-lock.json (shipped in the
# wheel too); `topwords local setup` runs npm ci on it into ~/.cache/topwords/.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test setup system-deps venv bench dist clean

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

# The sdist and the wheel users install (see README, "Install").
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist

clean:
	rm -rf out dist .pytest_cache .hypothesis
