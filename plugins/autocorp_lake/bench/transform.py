"""`autocorp-lake bench transform`: Hudi upsert of 1M changed rows into a 1.2M-row table on local
Spark, against the floor of a plain parquet overwrite of the same rows, in the same run.

Synthetic customers-like rows (the 11 columns of `customers` + the DMS columns). The changed rows
are materialised as parquet first (a staged batch) and written as plain parquet (the floor, timed
before and after the Hudi writes, the faster one kept). Then,
with the promote job's options for the registry's customers table, the table is built with
bulk_insert (its own figure) and the staged rows are upserted: once copy-on-write (as registered),
once merge-on-read (the high-churn layout). Each ratio is upsert / floor.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from autocorp_lake.bench.common import throwaway_lake

SCALES = {"full": (1_200_000, 1_000_000), "demo": (120_000, 100_000), "tiny": (12_000, 10_000)}


def _customers(spark, n: int, version: int, seq_base: int):
    """n customers-like rows (ids 1..n); version changes the mutable values."""
    from pyspark.sql import functions as F

    df = spark.range(1, n + 1).withColumnRenamed("id", "customer_id")
    v = F.lit(version)
    return df.select(
        F.lit("I" if version == 0 else "U").alias("Op"),
        F.lit("2024-06-01 00:00:00.000000").alias("dms_commit_ts"),
        F.col("customer_id").cast("int").alias("customer_id"),
        F.concat(F.lit("First"), (F.col("customer_id") % 5000).cast("string")).alias("first_name"),
        F.concat(F.lit("Last"), (F.col("customer_id") % 7919).cast("string")).alias("last_name"),
        F.concat(F.lit("c"), F.col("customer_id").cast("string"), F.lit("@example.com")).alias("email"),
        F.concat(F.lit("+1 555 "), F.lpad(((F.col("customer_id") * 7 + v) % 10000).cast("string"), 4, "0")).alias("phone"),
        F.concat(((F.col("customer_id") * 13 + v) % 9999).cast("string"), F.lit(" Main St")).alias("address"),
        F.concat(F.lit("City"), ((F.col("customer_id") + v) % 800).cast("string")).alias("city"),
        F.concat(F.lit("S"), (F.col("customer_id") % 50).cast("string")).alias("state"),
        F.lpad((F.col("customer_id") % 99999).cast("string"), 5, "0").alias("zip_code"),
        F.timestamp_seconds(F.lit(1_704_067_200) + F.col("customer_id")).alias("created_at"),
        F.timestamp_seconds(F.lit(1_717_200_000) + F.col("customer_id") + v * 86400).alias("updated_at"),
        F.format_string("%020d", F.lit(seq_base) + F.col("customer_id")).alias("dms_change_seq"),
        F.lit(False).alias("_hoodie_is_deleted"),
    )


def _promote_options(operation: str, batch_id: str, table_type: str, table_dir: str,
                     overrides: dict | None = None) -> dict[str, str]:
    """The promote job's options for the registry's customers table (as `bench_customers`)."""
    from autocorp_lake import config
    from autocorp_lake.jobs import promote

    customers = config.registry().table("customers")
    spec = {"name": "bench_customers", "primary_key": list(customers.primary_key),
            "ordering_field": customers.ordering_field, "partition": None,
            "hudi_table_type": table_type, "buckets": customers.buckets}
    options = promote.hudi_options(spec, operation, batch_id, hive_sync=False,
                                   metadata=promote.metadata_table_default(table_dir))
    return {**options, **(overrides or {})}


def _timed_hudi(spark, table_type: str, base_rows: int, staged_path: str, table_path: str,
                overrides: dict | None) -> tuple[float, float]:
    """(bulk_insert seconds, upsert seconds) of one table built then upserted with the staged rows."""
    started = time.perf_counter()
    (_customers(spark, base_rows, 0, 0).write.format("hudi")
     .options(**_promote_options("bulk_insert", "bench-base", table_type, table_path, overrides))
     .mode("overwrite").save(table_path))
    bulk_s = time.perf_counter() - started
    started = time.perf_counter()
    (spark.read.parquet(staged_path).write.format("hudi")
     .options(**_promote_options("upsert", "bench-upsert", table_type, table_path, overrides))
     .mode("append").save(table_path))
    return bulk_s, time.perf_counter() - started


def _timed_floor(spark, staged_path: str, floor_path: str) -> float:
    started = time.perf_counter()
    spark.read.parquet(staged_path).write.mode("overwrite").parquet(floor_path)
    return time.perf_counter() - started


def _check(spark, table_path: str, base_rows: int, changed_rows: int) -> None:
    check = spark.read.format("hudi").load(table_path)
    total = check.count()
    updated = check.where("dms_change_seq >= '00000000000010000000'").count()
    if total != base_rows or updated != changed_rows:
        raise RuntimeError(f"bench table {table_path} has {total} rows ({updated} updated); expected "
                           f"{base_rows} ({changed_rows} updated)")


def run(scale: str = "full", spark=None, workdir: str | None = None, overrides: dict | None = None) -> dict:
    """Figures of one run; `overrides` are Hudi options laid over the promote job's (experiments).

    The customers table as the registry has it (copy-on-write, bucket index), and the same table as
    merge-on-read (what a high-churn table gets: updates go to log files, compaction comes later)."""
    base_rows, changed_rows = SCALES.get(scale, SCALES["full"])
    if spark is None:
        from autocorp_lake.local.spark import build_session

        spark = build_session("autocorp-bench-transform")
    root = Path(workdir or tempfile.mkdtemp(prefix="bench-transform-"))
    staged_path = str(root / "staged")
    floor_path = str(root / "parquet_floor")
    timings = {}
    try:
        _customers(spark, changed_rows, 1, 10_000_000).write.mode("overwrite").parquet(staged_path)
        floors = [_timed_floor(spark, staged_path, floor_path)]
        for table_type in ("COPY_ON_WRITE", "MERGE_ON_READ"):
            table_path = str(root / "hudi" / table_type.lower())
            timings[table_type] = _timed_hudi(spark, table_type, base_rows, staged_path, table_path, overrides)
            _check(spark, table_path, base_rows, changed_rows)
        floors.append(_timed_floor(spark, staged_path, floor_path))
        floor_s = min(floors)  # the warm floor: a cold JVM would flatter the ratios
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = [{"figure": f"parquet overwrite of the {changed_rows:,} changed rows (floor)",
             "value": round(floor_s, 1), "unit": "s"}]
    for table_type, (bulk_s, upsert_s) in timings.items():
        label = "copy-on-write" if table_type == "COPY_ON_WRITE" else "merge-on-read"
        rows += [
            {"figure": f"{label}: bulk_insert of {base_rows:,} rows (table build)", "value": round(bulk_s, 1), "unit": "s"},
            {"figure": f"{label}: upsert of {changed_rows:,} changed rows into {base_rows:,}", "value": round(upsert_s, 1), "unit": "s"},
            {"figure": f"{label}: upsert / floor (goal <= 2)", "value": round(upsert_s / floor_s, 2), "unit": "x"},
        ]
    return {
        "rows": rows,
        "scale": scale,
        "overrides": overrides or {},
        "spark": {"master": spark.sparkContext.master,
                  "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
                  "driver_memory": spark.conf.get("spark.driver.memory")},
    }


def bootstrap_demo() -> dict:
    """Bootstrap of the demo data, source PostgreSQL to curated Hudi, end to end, timed in a
    throwaway local environment; checked with reconcile."""
    with throwaway_lake("bootstrap") as step:
        seconds = step("run", "autocorp_bootstrap")
        step("reconcile")  # exit 1 on any difference
    return {"figure": "bootstrap of the demo data, source to curated, end to end (reconciled)",
            "value": round(seconds, 1), "unit": "s"}
