"""Local services against a real PostgreSQL 15 cluster."""

from __future__ import annotations

import shutil
import socket

import pytest

from autocorp_lake.local import services


def test_up_is_idempotent(pg):
    first = services.up(log=lambda *a: None)
    second = services.up(log=lambda *a: None)
    assert first == second
    postgres = first["services"][0]
    assert postgres["running"] is True
    assert "wal_level=logical" in postgres["detail"]
    with services.connect("postgres") as conn:
        names = {r[0] for r in conn.execute("select datname from pg_database")}
    assert {"autocorp", "airflow", "metastore"} <= names
    with services.connect() as conn:
        tables = {r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'public'")}
        publication = conn.execute(
            "select count(*) from pg_publication_tables where pubname = 'autocorp_lake'").fetchone()[0]
    assert {"auto_parts", "customers", "service", "service_parts", "sales_order",
            "sales_order_parts", "sales_order_services"} <= tables
    assert publication == 7


def test_port_in_use_names_port_and_setting(pg, tmp_path, monkeypatch):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    scratch = pg.cluster_dir().parent / "busy-port-cluster"
    monkeypatch.setenv("AUTOCORP_PG_PORT", str(port))
    monkeypatch.setenv("AUTOCORP_PG_DIR", str(scratch))
    try:
        with pytest.raises(services.ServiceError) as error:
            services.up(log=lambda *a: None)
    finally:
        busy.close()
        shutil.rmtree(scratch, ignore_errors=True)
    message = str(error.value)
    assert f"port {port}" in message and "AUTOCORP_PG_PORT" in message


def test_status_reports_where(pg):
    rows = services.status()["services"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["postgresql"]["where"].endswith(f":{pg.config.postgres().port}")
    assert by_name["catalog"]["where"].startswith("jdbc:postgresql://127.0.0.1")
