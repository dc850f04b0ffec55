"""One factory per pipeline step, per target. `steps()` returns the module of the configured
target; aws.py and local.py expose the same factories (STEP_FACTORIES) with the same parameters,
so a DAG file is the same on MWAA and on one machine (tests/dags hold the factories and the two DAG
shapes equal). Everything that differs by target is behind these factories; a factory's name says
what its step does on both targets, and its doc string what the step does on its own one."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

from autocorp_lake import config

# Concurrency caps where the cloud bills, per task across all runs of its DAG. MWAA has only
# `default_pool` (nobody creates pools on a fresh environment), so no task names another pool:
# Glue jobs and crawlers run at most GLUE_CONCURRENCY at a time per task, Athena queries at most
# ATHENA_CONCURRENCY; the same on the local target. infra/ sizes each Glue job's
# max_concurrent_runs for these caps (tests/deploy/test_pools.py).
GLUE_CONCURRENCY = 2
ATHENA_CONCURRENCY = 4
# a quality_gate task is labelled by its table or feed in the grid and in its log's title
GATE_LABEL = "{{ task.op_kwargs['name'] }}"

# every factory a DAG file or pipelines.py calls, on both targets
STEP_FACTORIES = (
    "start_replication",
    "full_load_finished",
    "check_replication",
    "new_cdc_files_or_skip",
    "crawl",
    "glue_job",
    "quality_gate",
    "transfer_exports",
    "publish_metrics",
    "athena_sql",
    "keep_results",
    "build_report",
    "reconcile_lake",
)


def in_task(task_id: str, python_callable: Callable, op_kwargs: dict[str, Any] | None = None, **kwargs):
    """A step that runs its callable in the Airflow task itself (a PythonOperator)."""
    from airflow.providers.standard.operators.python import PythonOperator

    return PythonOperator(task_id=task_id, python_callable=python_callable, op_kwargs=op_kwargs, **kwargs)


def steps(target: str | None = None) -> ModuleType:
    target = target or config.target()
    if target == "aws":
        from autocorp_lake.targets import aws

        return aws
    from autocorp_lake.targets import local

    return local
