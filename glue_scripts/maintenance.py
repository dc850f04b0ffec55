"""Glue job `autocorp-maintenance-<env>`: reconcile (what autocorp_maintenance runs on AWS), or
the table services of one curated Hudi table.

--mode reconcile (the job's default on AWS): every source table (JDBC through the job's Glue
connection `--source_connection`) against its curated Hudi snapshot, with the same code as locally
(`autocorp_lake.reconcile`, from the package zip); the per-table counts go to
`logs/runs/<run_id>/reconcile.json`, read by the DAG's task.

--mode services --table T: table services of one curated Hudi table:

- clean: drop file versions older than the retention (a week of time travel is kept);
- compaction: merge-on-read tables fold their log files into base files;
- clustering: partitioned tables rewrite small files into fewer, larger ones.

Hudi's Spark SQL procedures do the work, so the same script runs on Glue 5.0 and locally.

Arguments (`--name value`):
  --mode       reconcile | services (default services)
  --run_id     reconcile: the DAG run's id (the result's folder)
  --source_connection  reconcile on Glue: the Glue JDBC connection to the source
  --table      registry table name (services)
  --registry   path or s3:// URI of include/tables.yaml (default: the local repo's)
  --lake_root  s3://bucket or a local folder (default: the local target's lake)
  --clustering true|false (default false: clustering rewrites data, run it when files are small)
"""

from __future__ import annotations

import sys
from typing import Sequence

import glue_compat

RETAIN_COMMITS = 7 * 24 * 6  # CDC every 10 minutes: a week of commits stays readable


def maintenance_calls(spec: dict, path: str, clustering: bool = False) -> list[str]:
    """The Hudi procedure calls for one table (pure: unit-testable)."""
    calls = []
    if spec.get("hudi_table_type") == "MERGE_ON_READ":
        calls.append(f"call run_compaction(op => 'scheduleAndExecute', path => '{path}')")
    if clustering and spec.get("partition"):
        calls.append(f"call run_clustering(path => '{path}')")
    calls.append(f"call run_clean(path => '{path}', retain_commits => {RETAIN_COMMITS})")
    return calls


def registry_to_include(registry: str | None) -> None:
    """On S3, copy the registry to a local include/ folder that autocorp_lake.config reads."""
    import os
    import tempfile

    if not registry or not registry.startswith("s3://"):
        return
    include = tempfile.mkdtemp(prefix="autocorp-include-")
    with open(os.path.join(include, "tables.yaml"), "w", encoding="utf-8") as handle:
        handle.write(glue_compat.read_text(registry))
    os.environ["AUTOCORP_INCLUDE_DIR"] = include


def run_reconcile(args: dict) -> dict:
    import json

    from autocorp_lake import reconcile  # the package zip of --extra-py-files

    lake_root = (args["lake_root"] or glue_compat.default_lake_root()).rstrip("/")
    run_id = glue_compat.safe_run_id(args["run_id"] or "manual")
    registry_to_include(args["registry"])
    spark = glue_compat.get_spark("autocorp-reconcile")
    jdbc = glue_compat.jdbc_conf(spark, args["source_connection"]) if args["source_connection"] else None
    rows = reconcile.reconcile(spark=spark, lake_root=lake_root, jdbc=jdbc)
    result = {"run_id": run_id, "tables": rows}
    glue_compat.write_text(glue_compat.join(lake_root, reconcile.result_key(run_id)), json.dumps(result, indent=2))
    return result


def main(argv: Sequence[str] | None = None) -> dict:
    args = glue_compat.parse_args(
        argv, [], {"mode": "services", "table": None, "registry": None, "lake_root": None,
                   "clustering": "false", "run_id": None, "source_connection": None,
                   "JOB_NAME": "maintenance"},
    )
    if args["mode"] == "reconcile":
        return run_reconcile(args)
    if args["mode"] != "services" or not args["table"]:
        raise glue_compat.ArgumentError("pass --mode reconcile, or --mode services --table T")
    lake_root = args["lake_root"] or glue_compat.default_lake_root()
    spec = glue_compat.load_table_spec(args["registry"] or glue_compat.default_registry(), args["table"])
    path = glue_compat.join(lake_root, "curated/hudi", spec["name"])
    if not glue_compat.exists(glue_compat.join(path, ".hoodie")):
        return {"table": spec["name"], "skipped": f"no Hudi table at {path} yet"}
    spark = glue_compat.get_spark(f"maintenance-{spec['name']}")
    done = []
    for call in maintenance_calls(spec, path, args["clustering"] == "true"):
        spark.sql(call).collect()
        done.append(call.split("(")[0].removeprefix("call "))
    return {"table": spec["name"], "services": done}


if __name__ == "__main__":
    print(main(sys.argv[1:]))
