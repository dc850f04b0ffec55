#!/usr/bin/env bash
# Airflow 3.3.1 standalone (api-server with the UI on localhost:8080, scheduler, dag-processor,
# triggerer) against the local PostgreSQL `airflow` database, with this repo's DAGs and plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/autocorp-lake up >/dev/null
eval "$($BIN/python -m autocorp_lake.runner)"
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=${AIRFLOW_PORT:-8080}
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
mkdir -p "$AIRFLOW_HOME"
$BIN/airflow db migrate >/dev/null
echo "Airflow UI: http://localhost:${AIRFLOW__API__PORT} (user admin; the password is printed by"
echo "airflow standalone below and kept in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)"
exec $BIN/airflow standalone
