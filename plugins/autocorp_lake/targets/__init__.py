"""One factory per pipeline step, per target. `steps()` returns the module of the configured
target; aws.py and local.py expose the same factory names with the same signatures, so a DAG
file is the same on MWAA and on one machine (tests hold the two DAG shapes equal)."""

from __future__ import annotations

from types import ModuleType

from autocorp_lake import config

# Concurrency caps where the cloud bills, per task across all runs of its DAG. MWAA has only
# `default_pool` (nobody creates pools on a fresh environment), so no task names another pool:
# Glue jobs and crawlers run at most GLUE_CONCURRENCY at a time per task, Athena queries at most
# ATHENA_CONCURRENCY; the same on the local target. infra/ sizes each Glue job's
# max_concurrent_runs for these caps (tests/deploy/test_pools.py).
GLUE_CONCURRENCY = 2
ATHENA_CONCURRENCY = 4

STEP_FACTORIES = (
    "start_replication",
    "wait_full_load",
    "check_replication",
    "wait_for_cdc_files",
    "crawl",
    "glue_job",
    "quality_gate",
    "transfer_exports",
    "publish_metrics",
)


def steps(target: str | None = None) -> ModuleType:
    target = target or config.target()
    if target == "aws":
        from autocorp_lake.targets import aws

        return aws
    from autocorp_lake.targets import local

    return local
