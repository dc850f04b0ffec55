"""Shared fixtures: an isolated local workspace, a real PostgreSQL cluster started by the tests
(on a free loopback port), and one SparkSession per test run (the `spark` fixture). A test that
uses the `spark` fixture is marked `spark` automatically, so `make test-fast` never starts a JVM."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Airflow reads its settings when first imported: keep tests away from any real AIRFLOW_HOME.
os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".local" / "airflow-test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def lake_workspace(tmp_path_factory) -> Path:
    """Point every local path of the package at a fresh folder for this test run."""
    root = tmp_path_factory.mktemp("autocorp-local")
    os.environ["AUTOCORP_LOCAL_DIR"] = str(root)
    os.environ["LAKE_TARGET"] = "local"
    return root


@pytest.fixture(scope="session")
def pg(lake_workspace):
    """A real PostgreSQL 15 cluster with wal2json, the 3 databases and the source schema."""
    from autocorp_lake.local import services

    os.environ["AUTOCORP_PG_PORT"] = str(free_port())
    services.up(log=lambda *a, **k: None)
    yield services
    services.down(log=lambda *a, **k: None)
    shutil.rmtree(services.cluster_dir(), ignore_errors=True)


@pytest.fixture()
def source_db(pg):
    """The source database emptied before the test (schema kept, slots dropped)."""
    from autocorp_lake.config import registry

    with pg.connect() as conn:
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        names = ", ".join(t.name for t in registry().tables)
        conn.execute(f"truncate {names} restart identity cascade")
    return pg


@pytest.fixture(scope="session")
def spark(pg):
    """One SparkSession (Hudi + the PostgreSQL-backed metastore of the test cluster) per test run;
    Glue scripts run in-process on it."""
    os.environ["AUTOCORP_SPARK_INPROCESS"] = "1"
    from autocorp_lake.local.spark import build_session

    session = build_session("autocorp-lake-tests")
    yield session
    session.stop()
    # py4j logs from __del__ at interpreter exit, after pytest closed the streams
    import logging

    logging.getLogger("py4j").setLevel(logging.CRITICAL)
