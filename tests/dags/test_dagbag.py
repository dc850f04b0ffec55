"""DagBag import test, DAG metadata, parse-time discipline and the two targets' equal shapes."""

from __future__ import annotations

import builtins
import os
import socket
import time
from pathlib import Path

import pytest

from autocorp_lake.config import DAG_IDS

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"


def load_dagbag(target: str):
    from airflow.dag_processing.dagbag import DagBag

    os.environ["LAKE_TARGET"] = target
    try:
        return DagBag(dag_folder=str(DAGS))
    finally:
        os.environ["LAKE_TARGET"] = "local"


@pytest.fixture(scope="module")
def dagbag():
    return load_dagbag("local")


def test_no_import_errors_and_all_dags(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted(DAG_IDS)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_metadata(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and dag_id in dag.doc_md
    assert "autocorp" in dag.tags
    assert dag.start_date.tzinfo is not None
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.owner == "data-platform"
        assert task.on_failure_callback, f"{task.task_id} has no failure callback"
        if task.task_id.endswith("quality_gate"):
            assert task.retries == 0, "a data failure is not transient: the gate must not retry"


def test_schedules(dagbag):
    schedules = {dag_id: dagbag.dags[dag_id].schedule for dag_id in DAG_IDS}
    assert schedules["autocorp_bootstrap"] is None
    assert schedules["autocorp_cdc"] == "*/10 * * * *"
    assert schedules["autocorp_files"] == "@hourly"
    # daily, and when the curated tables change (tests/dags/test_runs_without_logical_date.py)
    assert schedules["autocorp_analytics"].timetable.expression == "0 0 * * *"
    assert schedules["autocorp_maintenance"] == "@daily"


def shape(dagbag) -> dict[str, dict[str, list[str]]]:
    return {
        dag_id: {t.task_id: sorted(t.downstream_task_ids) for t in dagbag.dags[dag_id].tasks}
        for dag_id in dagbag.dag_ids
    }


def test_local_and_aws_shapes_are_equal(dagbag):
    aws = load_dagbag("aws")
    assert aws.import_errors == {}
    assert shape(aws) == shape(dagbag)
    assert shape(dagbag)["autocorp_bootstrap"]["wait_full_load"] == ["crawl_raw_database", "watcher"]


@pytest.mark.parametrize("dag_id", ["autocorp_bootstrap", "autocorp_cdc", "autocorp_files"])
def test_a_failed_task_fails_the_run(dagbag, dag_id):
    """publish_metrics runs all_done; the watcher leaf (one_failed, downstream of every task) is
    what turns a failed gate into a failed run."""
    dag = dagbag.dags[dag_id]
    watcher = dag.get_task("watcher")
    assert watcher.trigger_rule == "one_failed" and watcher.retries == 0
    assert watcher.upstream_task_ids == {t.task_id for t in dag.tasks} - {"watcher"}
    assert dag.get_task("publish_metrics").trigger_rule == "all_done"


def test_both_targets_have_the_step_factories_the_dags_call():
    """Every `step.<factory>(` of dags/ and `steps.<factory>(` of pipelines.py is in STEP_FACTORIES,
    and aws.py and local.py define each with the same parameters."""
    import inspect
    import re

    from autocorp_lake.targets import STEP_FACTORIES, aws, local

    sources = [*DAGS.glob("*.py"), REPO / "plugins" / "autocorp_lake" / "pipelines.py"]
    called = {name for path in sources for name in re.findall(r"\bsteps?\.(\w+)\(", path.read_text())}
    assert called == set(STEP_FACTORIES)
    for name in STEP_FACTORIES:
        assert (list(inspect.signature(getattr(aws, name)).parameters.values())
                == list(inspect.signature(getattr(local, name)).parameters.values())), name


def test_operators_differ_by_target(dagbag):
    aws = load_dagbag("aws")
    local_op = dagbag.dags["autocorp_bootstrap"].get_task("start_replication")
    aws_op = aws.dags["autocorp_bootstrap"].get_task("start_replication")
    assert type(local_op).__name__ == "PythonOperator"
    assert "Dms" in type(aws_op).__name__


def test_parse_is_fast_and_touches_nothing_outside(monkeypatch, dagbag):
    """Parsing all DAG files: no network, no database, no file outside the repo, < 1 s."""
    opened: list[str] = []
    real_open = builtins.open

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access at parse time: {args}")

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    import psycopg

    monkeypatch.setattr(psycopg, "connect", no_network)
    from autocorp_lake import config

    config._load_registry.cache_clear()
    started = time.perf_counter()
    bag = load_dagbag("local")
    elapsed = time.perf_counter() - started
    assert bag.import_errors == {}
    outside = [p for p in opened if not Path(p).resolve().is_relative_to(REPO)]
    assert outside == []
    parse_seconds = sum(stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds") else stat.duration
                        for stat in bag.dagbag_stats)
    assert parse_seconds < 1.0, f"parsing the DAG files took {parse_seconds:.2f}s"
    assert elapsed < 5.0


def test_gate_metrics_land_on_the_curated_table_of_a_feed():
    from autocorp_lake.lake import BatchArgs

    assert BatchArgs.of("feed", "customers", "r").curated_table == "customers_master"
    assert BatchArgs.of("table", "customers", "r").curated_table == "customers"
