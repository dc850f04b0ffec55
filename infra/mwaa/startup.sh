#!/bin/sh
# MWAA startup script (uploaded as startup.sh next to plugins.zip): MWAA runs it on every
# scheduler, worker and web server before Airflow starts, and keeps the variables it exports.
# MWAA_AIRFLOW_COMPONENT and AIRFLOW_ENV_NAME are set by MWAA.
export LAKE_TARGET=aws

# The environment id: the `lake.env` configuration option set by Terraform, else the suffix of
# the MWAA environment name (autocorp-lake-<env>).
LAKE_ENV="${LAKE_ENV:-${AIRFLOW__LAKE__ENV:-}}"
if [ -z "${LAKE_ENV}" ]; then
  case "${AIRFLOW_ENV_NAME:-}" in
    autocorp-lake-*) LAKE_ENV="${AIRFLOW_ENV_NAME#autocorp-lake-}" ;;
    *) LAKE_ENV=dev ;;
  esac
fi
export LAKE_ENV
export LAKE_BUCKET="${LAKE_BUCKET:-${AIRFLOW__LAKE__BUCKET:-autocorp-datalake-${LAKE_ENV}}}"

# include/ travels inside the dags folder of the bundle.
export AUTOCORP_INCLUDE_DIR="${AIRFLOW_HOME:-/usr/local/airflow}/dags/include"
