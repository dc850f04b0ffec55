"""`autocorp-lake bench transform`: Hudi upsert of 1M changed rows into a 1.2M-row table on local
Spark, against the floor of a plain parquet overwrite of the same rows, in the same run.

Synthetic customers-like rows (the 11 columns of `customers` + the DMS columns). The table is
built with bulk_insert (timed as its own figure), the changed rows are materialised as parquet
first (a staged batch), then the same staged rows are (1) upserted into the Hudi table with the
promote job's options and (2) written as plain parquet (overwrite). The ratio is (1) / (2).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def _promote_options(operation: str, batch_id: str, overrides: dict | None = None) -> dict[str, str]:
    scripts = Path(__file__).resolve().parents[2] / "glue_scripts"
    if str(scripts) not in sys.path:
        sys.path.insert(0, str(scripts))
    import promote

    spec = {"name": "bench_customers", "primary_key": ["customer_id"], "ordering_field": "dms_change_seq",
            "partition": None, "hudi_table_type": "COPY_ON_WRITE"}
    return {**promote.hudi_options(spec, operation, batch_id, hive_sync=False), **(overrides or {})}


def run(scale: str = "full", spark=None, workdir: str | None = None, overrides: dict | None = None) -> dict:
    """Figures of one run; `overrides` are Hudi options laid over the promote job's (experiments)."""
    base_rows, changed_rows = SCALES.get(scale, SCALES["full"])
    if spark is None:
        from autocorp_lake.local.spark import build_session

        spark = build_session("autocorp-bench-transform")
    root = Path(workdir or tempfile.mkdtemp(prefix="bench-transform-"))
    table_path = str(root / "hudi" / "bench_customers")
    staged_path = str(root / "staged")
    floor_path = str(root / "parquet_floor")
    try:
        started = time.perf_counter()
        (_customers(spark, base_rows, 0, 0).write.format("hudi")
         .options(**_promote_options("bulk_insert", "bench-base", overrides)).mode("overwrite").save(table_path))
        bulk_s = time.perf_counter() - started

        _customers(spark, changed_rows, 1, 10_000_000).write.mode("overwrite").parquet(staged_path)
        staged = spark.read.parquet(staged_path)

        started = time.perf_counter()
        staged.write.format("hudi").options(**_promote_options("upsert", "bench-upsert", overrides)).mode("append").save(table_path)
        upsert_s = time.perf_counter() - started

        started = time.perf_counter()
        spark.read.parquet(staged_path).write.mode("overwrite").parquet(floor_path)
        floor_s = time.perf_counter() - started

        check = spark.read.format("hudi").load(table_path)
        total = check.count()
        updated = check.where("dms_change_seq >= '00000000000010000000'").count()
        if total != base_rows or updated != changed_rows:
            raise RuntimeError(f"bench table has {total} rows ({updated} updated); expected "
                               f"{base_rows} ({changed_rows} updated)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratio = upsert_s / floor_s if floor_s else None
    return {
        "rows": [
            {"figure": f"hudi bulk_insert of {base_rows:,} rows (table build)", "value": round(bulk_s, 1), "unit": "s"},
            {"figure": f"hudi upsert of {changed_rows:,} changed rows into {base_rows:,}", "value": round(upsert_s, 1), "unit": "s"},
            {"figure": f"parquet overwrite of the same {changed_rows:,} rows (floor)", "value": round(floor_s, 1), "unit": "s"},
            {"figure": "upsert / floor ratio (goal <= 2)", "value": round(ratio, 2) if ratio else None, "unit": "x"},
        ],
        "scale": scale,
        "overrides": overrides or {},
        "spark": {"master": spark.sparkContext.master,
                  "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions")},
    }
