# The commands of the README (Quick start, Install):
#   make demo   set everything up, then run the top-3 job on examples/ locally
#   make test   set everything up, then run the whole test suite
#   make dist   build the sdist and the wheel into dist/
#   make client-envs  the other Batch clients the tests drive the emulator with:
#               azure-batch 14.2.0 (msrest) in .venv-msrest, 11.0.0 in .venv-msrest11,
#               6.0.0 in .venv-msrest6, the Azure CLI in .venv-azcli, @azure/batch in
#               tests/clients/node/node_modules (all pinned; `make test` builds them)
# Set-up is idempotent: each step only does what is missing. Azurite is
# pinned by backends/local/azurite_npm/package-lock.json (shipped in the
# wheel too); `topwords local setup` runs npm ci on it into ~/.cache/topwords/.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MSREST_VENV ?= .venv-msrest
MSREST11_VENV ?= .venv-msrest11
MSREST6_VENV ?= .venv-msrest6
AZCLI_VENV ?= .venv-azcli
NODE_CLIENT := tests/clients/node

.PHONY: demo test setup system-deps venv client-envs bench dist clean

demo: setup
	$(BIN)/topwords run --backend local --top 3 --output-dir out examples/*.txt

test: setup client-envs
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

# azure-batch 11, 14 and 15 cannot share a virtualenv: each msrest one gets its own
client-envs: $(MSREST_VENV)/.installed-stamp $(MSREST11_VENV)/.installed-stamp \
	$(MSREST6_VENV)/.installed-stamp $(AZCLI_VENV)/.installed-stamp $(NODE_CLIENT)/node_modules/.installed-stamp

$(MSREST_VENV)/.installed-stamp: tests/clients/msrest/requirements.txt
	$(PYTHON) -m venv $(MSREST_VENV)
	$(MSREST_VENV)/bin/pip install --quiet -r tests/clients/msrest/requirements.txt
	touch $@

$(MSREST11_VENV)/.installed-stamp: tests/clients/msrest/requirements-11.txt
	$(PYTHON) -m venv $(MSREST11_VENV)
	$(MSREST11_VENV)/bin/pip install --quiet -r tests/clients/msrest/requirements-11.txt
	touch $@

$(MSREST6_VENV)/.installed-stamp: tests/clients/msrest/requirements-6.txt
	$(PYTHON) -m venv $(MSREST6_VENV)
	$(MSREST6_VENV)/bin/pip install --quiet -r tests/clients/msrest/requirements-6.txt
	touch $@

$(AZCLI_VENV)/.installed-stamp: tests/clients/azcli/requirements.txt
	$(PYTHON) -m venv $(AZCLI_VENV)
	$(AZCLI_VENV)/bin/pip install --quiet -r tests/clients/azcli/requirements.txt
	touch $@

$(NODE_CLIENT)/node_modules/.installed-stamp: $(NODE_CLIENT)/package-lock.json
	cd $(NODE_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: setup
	$(BIN)/python bench/run.py

# The sdist and the wheel users install (see README, "Install").
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist

clean:
	rm -rf out dist .pytest_cache .hypothesis
