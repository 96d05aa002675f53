# One entry point for every task. Each target installs what it needs first:
#   .venv/         the pinned Python environment (from requirements.lock)
#   node_modules/  the pinned AWS CDK CLI (from package-lock.json)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
CDK := JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 node_modules/.bin/cdk
MWAA_CONSTRAINTS ?= ../shared/mwaa/airflow-3.3.1-constraints-py3.12.txt
# Extra arguments for cdk, e.g. make deploy CDK_ARGS="-c env=prod".
CDK_ARGS ?=

# jsii warns on every call that Node 20 is past end of life; the CDK still works on it, and the
# banner would bury the output (the EOL one takes the major version). Node 22+ needs neither.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Spark and Airflow must never reach AWS from tests or the demo by accident.
export AWS_EC2_METADATA_DISABLED := true
# The DAG's package (dags/) and the Glue job's (glue_scripts/) import as they do on MWAA and Glue.
export PYTHONPATH := $(CURDIR):$(CURDIR)/dags:$(CURDIR)/glue_scripts:$(CURDIR)/plugins

.PHONY: help check-tools venv node test lint demo synth diff deploy destroy bench trigger lock clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

check-tools:  ## Fail early, and clearly, when a required tool is missing.
	@command -v $(PYTHON) >/dev/null || { echo "missing: $(PYTHON) (Python 3.11, the Glue 5.1 runtime). Install it or run make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "$(PYTHON) is not Python 3.11"; exit 1; }
	@command -v java >/dev/null || { echo "missing: java (Java 17, for local Spark). On Debian: apt-get install openjdk-17-jre-headless"; exit 1; }
	@java -version 2>&1 | grep -qE 'version "(17|21)' || { echo "java must be 17 (or 21) for Spark 3.5; found: $$(java -version 2>&1 | head -1)"; exit 1; }
	@command -v node >/dev/null || { echo "missing: node (Node.js 18+, for the CDK CLI)"; exit 1; }
	@command -v npm >/dev/null || { echo "missing: npm (for the CDK CLI)"; exit 1; }

$(BIN)/.installed: requirements.lock | check-tools
	@echo ">> creating $(VENV) from requirements.lock"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --require-hashes --python $(BIN)/python requirements.lock
	touch $@

venv: $(BIN)/.installed  ## Create the pinned Python environment.

node_modules/.installed: package-lock.json | check-tools
	@echo ">> installing the pinned CDK CLI"
	npm ci --no-audit --no-fund --loglevel=error
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

test: venv node  ## Install everything, then run lint and every test.
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

demo: venv  ## Run the whole pipeline locally (moto + Airflow + Spark) and print the KPIs.
	$(BIN)/python -m local_run.demo $(DEMO_ARGS)

synth: venv node  ## Synthesize the stack with the cdk-nag checks (fails on any finding).
	$(CDK) synth --quiet $(CDK_ARGS)

diff: venv node  ## cdk diff against the deployed stack.
	$(CDK) diff $(CDK_ARGS)

deploy: venv node  ## cdk deploy with the pinned CLI.
	$(CDK) deploy $(CDK_ARGS)

destroy: venv node  ## cdk destroy with the pinned CLI.
	$(CDK) destroy $(CDK_ARGS)

trigger: venv  ## Trigger the deployed DAG through MWAA's InvokeRestApi and follow it.
	$(BIN)/python -m local_run.trigger $(TRIGGER_ARGS)

bench: venv  ## Run the benchmarks and print one table (results also in BENCHMARKS.md).
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:  ## Remove generated output (not the environments).
	rm -rf cdk.out out .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log
