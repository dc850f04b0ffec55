#!/bin/sh
# Runs once, on an empty data directory: the Airflow metadata database and the catalog's metastore
# next to the source database (POSTGRES_DB=autocorp).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create database airflow;
create database metastore;
SQL
