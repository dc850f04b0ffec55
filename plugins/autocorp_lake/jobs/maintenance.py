"""Glue job maintenance (`autocorp-maintenance-<env>`): what autocorp_maintenance runs on AWS.

It reconciles every source table (JDBC through the job's Glue connection `--source_connection`)
with its curated Hudi snapshot, with the same code as locally (`autocorp_lake.reconcile`); the
per-table counts go to `logs/runs/<run_id>/reconcile.json`, read by the DAG's task. Hudi's table
services need no job of their own: promote cleans on every commit and compacts merge-on-read
tables inline (see promote.hudi_options).

Arguments: --run_id (the DAG run's id), --source_connection, --lake_root, --registry, --JOB_NAME.
"""

from __future__ import annotations

from typing import Sequence

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue


def main(argv: Sequence[str] | None = None) -> dict:
    from autocorp_lake import reconcile

    args = glue.parse_args(argv, [], {"run_id": None, "source_connection": None, "lake_root": None,
                                      "registry": None, "JOB_NAME": "maintenance"})
    lake_root = (args["lake_root"] or config.lake_uri()).rstrip("/")
    run_id = config.safe_run_id(args["run_id"] or "manual")
    config.use_include_from(args["registry"])
    spark, job = glue.start(args["JOB_NAME"], args, "autocorp-reconcile")
    jdbc = glue.jdbc_conf(spark, args["source_connection"]) if args["source_connection"] else None
    result = {"run_id": run_id, "tables": reconcile.reconcile(spark=spark, lake_root=lake_root, jdbc=jdbc)}
    lake.write_json(lake.join(lake_root, reconcile.result_key(run_id)), result)
    job.commit()
    return result
