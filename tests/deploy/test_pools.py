"""No task waits for a pool MWAA does not have (issue 12, point 3).

A fresh MWAA environment has only `default_pool`; nobody runs `airflow pools set` there. So no
task names another pool, on either target (the local target must not be more permissive), the
local runner and `make airflow` create no pool, and what the pools capped is capped per task
(max_active_tis_per_dag) instead. Terraform sizes each Glue job's concurrent runs for those caps."""

from __future__ import annotations

import os
import re

import pytest

from deploy_support import REPO

MWAA_POOLS = {"default_pool"}
GLUE_STEPS = ("apply_changes", "clean_feed", "promote", "crawl_raw_database", "crawl_raw_csv")
ATHENA_STEPS = ("create_databases", "create_views", "run_analytics")


def dagbag(target: str):
    from airflow.dag_processing.dagbag import DagBag

    previous = os.environ.get("LAKE_TARGET")
    os.environ["LAKE_TARGET"] = target
    try:
        return DagBag(dag_folder=str(REPO / "dags"))
    finally:
        os.environ["LAKE_TARGET"] = previous or "local"


def _cap(task) -> int | None:
    cap = getattr(task, "max_active_tis_per_dag", None)
    if cap is None and hasattr(task, "partial_kwargs"):
        cap = task.partial_kwargs.get("max_active_tis_per_dag")
    return cap


@pytest.mark.parametrize("target", ["aws", "local"])
def test_no_task_uses_a_pool_mwaa_lacks_and_cloud_steps_are_capped(target):
    from autocorp_lake.targets import ATHENA_CONCURRENCY, GLUE_CONCURRENCY

    bag = dagbag(target)
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            pool = task.partial_kwargs.get("pool") if hasattr(task, "partial_kwargs") else task.pool
            assert (pool or "default_pool") in MWAA_POOLS, f"{target} {dag.dag_id}.{task.task_id} uses pool {pool!r}"
            short = task.task_id.rsplit(".", 1)[-1]
            if short in ATHENA_STEPS:
                assert _cap(task) == ATHENA_CONCURRENCY, f"{dag.dag_id}.{task.task_id}"
            elif short in GLUE_STEPS and short.startswith("crawl"):
                assert _cap(task) is not None and _cap(task) <= GLUE_CONCURRENCY, f"{dag.dag_id}.{task.task_id}"
            elif short in GLUE_STEPS:
                assert _cap(task) == GLUE_CONCURRENCY, f"{dag.dag_id}.{task.task_id}"


def test_nothing_creates_pools_locally():
    """The local runner and the standalone script create no pool: a DAG that needs one fails
    locally as it would on MWAA."""
    from autocorp_lake import runner

    source = (REPO / "plugins/autocorp_lake/runner.py").read_text()
    assert not re.search(r"\bPool\b|create_or_update_pool|pools set", source)
    assert not hasattr(runner, "POOLS") and not hasattr(runner, "_ensure_pools")
    for script in list((REPO / "scripts").glob("*.sh")) + [REPO / "docker-compose.yaml"]:
        if script.exists():
            assert "pools set" not in script.read_text() and "pools import" not in script.read_text(), script


def test_glue_jobs_allow_the_concurrent_runs_the_caps_permit():
    """Every Glue job's max_concurrent_runs covers GLUE_CONCURRENCY per task running it, summed
    over the DAGs (a run beyond it fails with ConcurrentRunsExceededException)."""
    import hcl2

    from autocorp_lake.targets import GLUE_CONCURRENCY

    bag = dagbag("aws")
    need: dict[str, int] = {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            short = task.task_id.rsplit(".", 1)[-1]
            if short in ("apply_changes", "clean_feed", "promote"):
                need[short] = need.get(short, 0) + GLUE_CONCURRENCY
    variables = hcl2.loads((REPO / "infra/modules/glue/variables.tf").read_text())["variable"]
    runs = next(body for v in variables for name, body in v.items()
                if name.strip('"') == "max_concurrent_runs")["default"]
    assert runs >= max(need.values()), f"max_concurrent_runs={runs}, the DAGs may start {need}"
