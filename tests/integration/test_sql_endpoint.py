"""The SQL endpoint for BI tools: a Spark Thrift Server on loopback answering a JDBC client
(the Hive beeline shipped in pyspark's jars) over the shared catalog."""

from __future__ import annotations

import subprocess

import pytest

from autocorp_lake.local import sql_endpoint

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_jdbc_client_queries_the_catalog(pg, spark, monkeypatch):
    from tests.conftest import free_port

    monkeypatch.setenv("AUTOCORP_SQL_ENDPOINT_PORT", str(free_port()))
    try:
        status = sql_endpoint.start(log=lambda *a: None)
        assert status["running"] and status["where"] == sql_endpoint.jdbc_url()
        result = subprocess.run(
            sql_endpoint.beeline_command("show databases", database="default"),
            capture_output=True, text=True, timeout=180,
        )
        assert result.returncode == 0, result.stderr[-1500:]
        names = set(result.stdout.split())
        assert {"autocorp_raw", "autocorp_curated", "autocorp_analytics"} <= names
    finally:
        assert sql_endpoint.stop()["running"] is False
