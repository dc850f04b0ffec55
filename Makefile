# AutoCorp Lake. `make demo` shows the lake working end to end; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv tools up down status demo test test-fast deploy-check airflow compose-check bundle lock clean

help:
	@echo "make demo     set up, start services, seed, run the DAGs, print what landed"
	@echo "make test     the whole test suite (real PostgreSQL, Spark + Hudi, GX; moto for AWS calls)"
	@echo "make airflow  Airflow 3.3.1 standalone on localhost:8080 (AIRFLOW_PORT=N moves it) with this repo's DAGs"
	@echo "make compose-check   docker compose config of docker-compose.yaml (skipped without Docker)"
	@echo "make bundle   build dist/mwaa/ (dags, plugins.zip, requirements.txt, startup.sh)"
	@echo "make deploy-check  the bundle, Terraform and IAM against what MWAA 3.3.1 and AWS really are"
	@echo "make up|down|status   local services"

$(STAMP): requirements-dev.txt requirements-lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# Spark's jars (Hudi, the PostgreSQL JDBC driver) from Maven Central into the project's Ivy cache,
# before any Spark session starts (a session cannot add the JDBC driver to its own classpath).
JARS := .cache/ivy/autocorp-jars.txt
$(JARS): $(STAMP) plugins/autocorp_lake/local/spark.py
	$(BIN)/autocorp-lake fetch-jars

venv: $(STAMP) $(JARS)

$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q -r requirements-tools.txt
	touch $@

tools: $(TOOLS)/.installed

up: venv
	$(BIN)/autocorp-lake up
down: venv
	$(BIN)/autocorp-lake down
status: venv
	$(BIN)/autocorp-lake status

demo: venv
	bash scripts/demo.sh

# tests/deploy/ (make deploy-check) is part of the suite: it needs the tools venv and PyPI.
test: venv tools
	$(BIN)/python -m pytest -q

test-fast: venv tools
	$(BIN)/python -m pytest -q -m "not spark and not cli"

# requirements.txt under MWAA's constraints (Python 3.12), a clean venv with only the MWAA image's
# packages + requirements.txt + the unpacked bundle, IAM against every recorded call + parliament,
# Terraform's enumerated values against botocore's service models.
deploy-check: venv tools
	$(BIN)/python -m pytest -q tests/deploy

airflow: venv
	bash scripts/airflow_standalone.sh

# Renders docker-compose.yaml with Docker's own parser. The two secrets compose requires are set to
# throwaway random values for the rendering only (it starts nothing).
compose-check:
	@if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then \
		throwaway=$$(python3 -c 'import secrets; print(secrets.token_hex(16))'); \
		POSTGRES_PASSWORD=$${POSTGRES_PASSWORD:-$$throwaway} AIRFLOW_JWT_SECRET=$${AIRFLOW_JWT_SECRET:-$$throwaway} \
			docker compose -f docker-compose.yaml config --quiet && echo "docker compose config: docker-compose.yaml is valid"; \
	else \
		echo "compose-check skipped: docker with the compose plugin is not installed on this machine"; \
		echo "(tests/infra/test_docker_compose.py still checks the file's structure)"; \
	fi

bundle: venv
	$(BIN)/python -m autocorp_lake.bundle

lock: venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^autocorp-lake' > requirements-lock.txt

clean:
	-$(BIN)/autocorp-lake down
	rm -rf .local dist .cache
