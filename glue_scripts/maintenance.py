"""Glue job: table services of one curated Hudi table (daily, from autocorp_maintenance).

- clean: drop file versions older than the retention (a week of time travel is kept);
- compaction: merge-on-read tables fold their log files into base files;
- clustering: partitioned tables rewrite small files into fewer, larger ones.

Hudi's Spark SQL procedures do the work, so the same script runs on Glue 5.0 and locally.

Arguments (`--name value`):
  --table      registry table name (required)
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


def main(argv: Sequence[str] | None = None) -> dict:
    args = glue_compat.parse_args(
        argv, ["table"], {"registry": None, "lake_root": None, "clustering": "false"}
    )
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
