"""What every AutoCorp DAG shares: default arguments, metadata, the failure callback, and the
registry lists that DAGs map over. Cheap to import: no Airflow hooks, no I/O beyond reading the
repo's own include/tables.yaml once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum

from autocorp_lake import config, lake

log = logging.getLogger(__name__)

OWNER = "data-platform"
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def on_failure(context) -> None:
    """One failure callback for every task: a clear log line that names the DAG run, the task and
    the cause, as the last line of the task's log.

    Airflow runs failure callbacks inside the collapsed "Post Execute" group of the log view; the
    group is closed first so the cause shows without expanding anything. Alerting itself runs on
    CloudWatch alarms (AWS) and `autocorp-lake status` (local)."""
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    text = str(exc).strip() if exc is not None else ""
    lines = text.splitlines()
    # a long message (a failed job's log tail): its first lines and its last one
    cause = text if len(lines) <= 8 else "\n".join(lines[:6] + ["...", lines[-1]])
    log.info("::endgroup::")
    log.error(
        "AutoCorp Lake task failed: dag=%s task=%s run=%s map_index=%s error=%s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        context.get("run_id"),
        getattr(ti, "map_index", -1),
        cause,
    )


DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "on_failure_callback": on_failure,
}


def dag_kwargs(doc: str | None, tags: list[str], **overrides) -> dict:
    """The metadata every DAG carries (doc_md, tags, owner, retries, tz-aware start, catchup)."""
    kwargs = {
        "doc_md": doc,
        "tags": ["autocorp", config.target(), *tags],
        "default_args": DEFAULT_ARGS,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "template_searchpath": [str(config.include_dir() / "sql")],
    }
    kwargs.update(overrides)
    return kwargs


def watch(dag) -> None:
    """Make the run fail when any task of it failed (the amazon provider system tests' watcher).

    The leaf publish_metrics runs with trigger_rule all_done, so without this leaf a failed gate
    or a failed promote would leave the DAG run green in `autocorp-lake run` and in the UI."""
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.sdk import task

    @task(task_id="watcher", trigger_rule="one_failed", retries=0)
    def watcher() -> None:
        raise AirflowFailException(
            "a task of this run failed or could not run (see the tasks marked failed or "
            "upstream_failed); the run is failed so that it does not look green"
        )

    list(dag.tasks) >> watcher()


def table_names() -> list[str]:
    return config.registry().table_names


def feed_names() -> list[str]:
    return config.registry().feed_names


def curated_asset():
    """The curated zone as an Airflow Asset: every promote (a Hudi commit) updates it, and
    `autocorp_analytics` runs when it changes as well as daily, so a report is never older than
    its data. The URI is where the tables live (s3:// on AWS, file:// locally)."""
    from airflow.sdk import Asset

    location = config.lake_uri(lake.CURATED_PREFIX)
    uri = location if location.startswith("s3://") else "file://" + location
    return Asset(name="autocorp_curated", uri=uri, group="autocorp_lake")


def analytics_schedule():
    """Daily, and whenever the curated tables changed (a promote succeeded) since the last run."""
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    return AssetOrTimeSchedule(timetable=CronTriggerTimetable("@daily", timezone="UTC"),
                               assets=[curated_asset()])
