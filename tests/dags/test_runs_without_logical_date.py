"""What a run under a real scheduler needs from the DAGs' templates: no template assumes a logical
date (REST and CLI triggers in Airflow 3 have none), mapped tasks are labelled by their table or
feed, and a reduced registry (AUTOCORP_TABLES / AUTOCORP_FEEDS) reduces every DAG consistently."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_AFTER = pendulum.datetime(2026, 11, 29, 6, 50, tz="UTC")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _render(dag, template: str, **context) -> str:
    return dag.get_template_env().from_string(template).render(**context)


def _dag_run(logical_date=None):
    return SimpleNamespace(logical_date=logical_date, run_after=RUN_AFTER)


@pytest.mark.parametrize("logical_date, param, expected", [
    (None, None, "2026-11-29"),  # REST / CLI trigger without a logical date
    (pendulum.datetime(2026, 11, 28, tz="UTC"), None, "2026-11-28"),  # scheduled or dated run
    (None, "2026-01-31", "2026-01-31"),  # the report_date param wins
])
def test_analytics_report_date_with_or_without_logical_date(dagbag, logical_date, param, expected):
    dag = dagbag.dags["autocorp_analytics"]
    assert dag.params["report_date"] is None
    for task_id in ("keep_results", "build_report"):
        template = dag.get_task(task_id).op_kwargs["report_date"]
        assert _render(dag, template, params={"report_date": param}, dag_run=_dag_run(logical_date)) == expected


@pytest.mark.parametrize("target", ["local", "aws"])
def test_no_template_needs_a_logical_date(monkeypatch, target):
    """`ds`, `ts`, `logical_date` and the data interval are undefined in a run without a logical
    date: a template may read them only with `dag_run.run_after` as the fallback."""
    import re

    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("LAKE_TARGET", target)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dated = re.compile(r"\b(ds|ds_nodash|ts|ts_nodash|logical_date|data_interval_start|data_interval_end|"
                       r"prev_ds|next_ds|execution_date)\b")
    checked = 0
    for dag in bag.dags.values():
        for task in dag.tasks:
            for name in task.template_fields:
                for template in re.findall(r"{{.*?}}", repr(getattr(task, name, None))):
                    checked += 1
                    if dated.search(template.replace("dag_run.logical_date", "")) or "logical_date" in template:
                        assert "dag_run.run_after" in template, f"{dag.dag_id}.{task.task_id}.{name}: {template}"
    assert checked


@pytest.mark.parametrize("dag_id, group, kind", [
    ("autocorp_bootstrap", "table_pipeline", "table"),
    ("autocorp_cdc", "table_pipeline", "table"),
    ("autocorp_files", "feed_pipeline", "feed"),
])
def test_one_staging_and_one_promote_job_per_run_and_a_gate_per_table(dagbag, dag_id, group, kind):
    """The pipeline of a run: one staging job, one quality_gate task per table or feed (mapped,
    labelled by its name, in the registry's order), one promote job for those that passed."""
    from autocorp_lake import config

    dag = dagbag.dags[dag_id]
    names = config.registry().table_names if kind == "table" else config.registry().feed_names
    staging = "apply_changes" if kind == "table" else "clean_feed"
    grouped = {t.task_id.removeprefix(f"{group}."): t for t in dag.tasks if t.task_id.startswith(f"{group}.")}
    assert set(grouped) == {"prepare_batches", staging, "quality_gate", "passed_gate", "promote"}
    assert [t for t, task in grouped.items() if hasattr(task, "expand_input")] == ["quality_gate"]
    gate = grouped["quality_gate"]
    assert [kw["name"] for kw in gate.expand_input.value["op_kwargs"]] == names
    assert {kw["kind"] for kw in gate.expand_input.value["op_kwargs"]} == {kind}
    label = _render(dag, gate.map_index_template, task=SimpleNamespace(op_kwargs={"name": names[-1]}))
    assert label == names[-1]
    assert grouped[staging].downstream_task_ids - {"watcher"} == {f"{group}.quality_gate"}
    assert grouped["passed_gate"].trigger_rule == "all_done"  # promotes what passed when others failed
    assert grouped["passed_gate"].downstream_task_ids - {"watcher"} == {f"{group}.promote"}


def test_reduced_registry_reduces_every_dag(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from autocorp_lake import analytics, config

    monkeypatch.setenv("AUTOCORP_TABLES", "customers,sales_order")
    monkeypatch.setenv("AUTOCORP_FEEDS", "customers")
    assert config.registry().table_names == ["customers", "sales_order"]
    assert config.registry().feed_names == ["customers"]
    # views and queries over tables left out are left out too
    assert analytics.sql_files("views") == ["athena/views/v_customer_lifetime_value.sql"]
    queries = analytics.sql_files("analytics")
    assert "athena/analytics/revenue_by_month.sql" in queries
    assert "athena/analytics/customers_by_state.sql" in queries
    assert not any("parts" in q or "service" in q for q in queries)
    assert len(analytics.sql_files("ddl")) == 3
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    run = bag.dags["autocorp_analytics"].get_task("run_analytics")
    assert len(run.expand_input.value["op_kwargs"]) == len(queries)

    monkeypatch.setenv("AUTOCORP_TABLES", "customers,no_such_table")
    with pytest.raises(config.ConfigError, match="no_such_table.*the registry"):
        config.registry()


def test_full_registry_keeps_every_sql_file(monkeypatch):
    from autocorp_lake import analytics

    monkeypatch.delenv("AUTOCORP_TABLES", raising=False)
    monkeypatch.delenv("AUTOCORP_FEEDS", raising=False)
    for layer in ("ddl", "views", "analytics"):
        on_disk = sorted((REPO / "include/sql/athena" / layer).glob("*.sql"))
        assert analytics.sql_files(layer) == [f"athena/{layer}/{p.name}" for p in on_disk]


def test_spark_child_lines_are_logged_at_their_own_level():
    from autocorp_lake.local.jobs import ChildLogLevels

    level_of = ChildLogLevels()
    lines = [
        ("26/11/29 06:50:01 INFO SparkContext: Running Spark version 3.5.4", logging.INFO),
        ("26/11/29 06:50:02 WARN NativeCodeLoader: Unable to load native-hadoop library", logging.WARNING),
        ("2026-11-29 06:50:03,123 INFO promote: wrote 1149 rows", logging.INFO),
        ("{'written': True}", logging.INFO),  # a print
        ("26/11/29 06:50:04 ERROR Executor: Exception in task 0.0", logging.ERROR),
        ("java.lang.IllegalStateException: boom", logging.ERROR),
        ("\tat org.apache.hudi.Foo.bar(Foo.java:1)", logging.ERROR),  # continuation keeps ERROR
        ("26/11/29 06:50:05 WARN HoodiePartitionMetadata: Error trying to save partition metadata "
         "(this is okay, as long as at least 1 of these succeeded)", logging.WARNING),
        ("org.apache.hudi.exception.HoodieIOException: Failed to create file", logging.WARNING),  # tolerated
        ("\tat org.apache.hudi.common.util.RetryHelper.start(RetryHelper.java:113)", logging.WARNING),
        ("26/11/29 06:50:05 INFO ShutdownHookManager: Shutdown hook called", logging.INFO),
        ("Traceback (most recent call last):", logging.ERROR),
        ('  File "promote.py", line 3, in <module>', logging.ERROR),
        ("ValueError: --table 'x' is not in the registry", logging.ERROR),
    ]
    assert [level_of(line) for line, _ in lines] == [level for _, level in lines]


def test_failed_spark_submit_names_its_cause_last(tmp_path, monkeypatch, caplog):
    """A failing child: its lines are logged (INFO stays INFO), and the error's last line is the cause."""
    from autocorp_lake.local import jobs, spark

    script = tmp_path / "promote.py"  # a failing entry point in place of the real one
    monkeypatch.setenv("AUTOCORP_GLUE_SCRIPTS_DIR", str(tmp_path))
    script.write_text("print('26/11/29 06:50:01 INFO Fake: starting')\nraise ValueError('bad batch: 3 rows')\n")
    monkeypatch.setattr(spark, "spark_submit_command", lambda path, args: ["python3", path])
    with caplog.at_level(logging.DEBUG, logger="autocorp_lake.spark_submit"):
        with pytest.raises(jobs.GlueScriptError) as failure:
            jobs.run_glue_script("promote", {"kind": "table", "name": "customers"}, in_process=False)
    levels = {record.getMessage(): record.levelno for record in caplog.records}
    assert levels["26/11/29 06:50:01 INFO Fake: starting"] == logging.INFO
    assert levels["ValueError: bad batch: 3 rows"] == logging.ERROR
    message = str(failure.value)
    assert message.splitlines()[0] == "Glue script promote.py failed (exit 1): ValueError: bad batch: 3 rows"
    assert message.splitlines()[-1] == "cause: ValueError: bad batch: 3 rows"


def test_promote_updates_the_curated_asset_that_analytics_runs_on(dagbag):
    from airflow.sdk import AssetOrTimeSchedule

    from autocorp_lake import config

    curated = None
    for dag_id in ("autocorp_bootstrap", "autocorp_cdc", "autocorp_files"):
        dag = dagbag.dags[dag_id]
        for task in dag.tasks:
            names = [a.name for a in task.outlets]
            if task.task_id.endswith(".promote"):
                assert names == ["autocorp_curated"], task.task_id
                curated = task.outlets[0]
            else:
                assert names == [], f"{dag_id}.{task.task_id} does not change the curated tables"
    assert curated.uri == "file://" + config.lake_uri("curated/hudi")
    schedule = dagbag.dags["autocorp_analytics"].timetable
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert [a.name for a in schedule.asset_condition.objects] == ["autocorp_curated"]
    assert schedule.timetable.expression == "0 0 * * *"
