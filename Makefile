# EvoSpikeNet build. Every target creates and uses the project's virtualenv at .venv.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The generator's post-hooks call `ruff`: put the pinned one first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

SPEC := openapi/evospikenet.yaml
GEN_CONFIG := openapi/generator-config.yaml
GEN_TEMPLATES := openapi/templates
GEN_PACKAGE := evospikenet_api_client
GEN_DIR := generated/$(GEN_PACKAGE)
EXTRAS := server,models,simulation,progress,postgres,s3,dev
STAMP := $(VENV)/.installed

.PHONY: help venv install generate check-generated lint test test-postgres demo serve bench clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(PY)  ## Create .venv.

install: $(STAMP)  ## Install the project, all extras and the dev tools into .venv.

# Generate into a fresh temp dir, then replace generated/: the generator's --overwrite keeps
# stale files, and generating the same way for check-generated makes the two comparable.
define generate_into
	rm -rf "$(1)" && mkdir -p "$(1)"
	$(BIN)/openapi-python-client generate --path $(SPEC) --config $(GEN_CONFIG) \
		--custom-template-path $(GEN_TEMPLATES) --meta none --fail-on-warning \
		--output-path "$(1)/$(GEN_PACKAGE)"
endef

generate: $(STAMP)  ## Rebuild generated/ from the spec, from scratch, and the SDK's sync client.
	$(eval TMP := $(shell mktemp -d))
	$(call generate_into,$(TMP))
	rm -rf $(GEN_DIR) && mkdir -p generated && cp -r $(TMP)/$(GEN_PACKAGE) $(GEN_DIR)
	rm -rf $(TMP)
	$(PY) scripts/unasync.py

check-generated: $(STAMP)  ## Fail when generated/ or the SDK's sync client is stale.
	$(eval TMP := $(shell mktemp -d))
	$(call generate_into,$(TMP))
	diff -r --exclude=__pycache__ $(TMP)/$(GEN_PACKAGE) $(GEN_DIR) \
		|| { echo "generated/ is stale: run 'make generate' and commit the result" >&2; rm -rf $(TMP); exit 1; }
	rm -rf $(TMP)
	$(PY) scripts/unasync.py --check
	@echo "generated/ and evospikenet/sdk/_client.py are up to date"

lint: $(STAMP)  ## Validate the spec, run ruff and mypy.
	$(PY) -m openapi_spec_validator $(SPEC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict evospikenet

test: $(STAMP)  ## Run the whole test suite.
	$(BIN)/pytest -q

test-postgres: $(STAMP)  ## Run the server's tests against a PostgreSQL server started on loopback.
	bash scripts/with_postgres.sh $(BIN)/pytest -q tests/server

demo: $(STAMP)  ## Start the server on embedded defaults in a temp dir and run examples/sdk_usage.py.
	bash scripts/demo.sh

serve: $(STAMP)  ## Run the server on 127.0.0.1:8000 with ./.evospikenet.
	$(BIN)/evospikenet serve --host 127.0.0.1 --port 8000 --data-dir ./.evospikenet

bench: $(STAMP)  ## Run every benchmark script (slow).
	for f in benchmarks/bench_*.py; do \
		case "$$f" in *_common.py|*_support.py) continue;; esac; \
		echo "== $$f"; $(PY) $$f; \
	done

clean:  ## Remove caches (keeps .venv).
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis
