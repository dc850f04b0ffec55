"""Glue job apply_changes: each database table's DMS changes (full load + CDC) into one staged
batch, validated by its quality gate.

One run stages every table of `--name a,b,...` (a DAG run's tables) in one Spark application. For
each table it reads the raw files that are not yet processed, keeps the latest change per primary
key (by `dms_change_seq`), adds the Hudi partition column and the delete flag, and writes the batch
to `staged/<table>/<run_id>/` (parquet) with a `_batch.json` manifest for the gate and promote;
then it gates every staged batch (`jobs.staging`: GX, result.json, quarantine on a critical
failure).

Arguments: those of every batch job (`lake.BatchArgs`: --kind table --name <table>[,<table>...]
--run_id --lake_root --registry); --JOB_NAME (Glue passes it).

Raw layout (what the DMS S3 target writes; CdcPath applies only with PreserveTransactions):
`raw/database/<schema>/<table>/LOAD00000001.parquet ...` (full load) and
`raw/database/<schema>/<table>/YYYY/MM/DD/<yyyymmdd-hhmmssfff>.parquet` (CDC), one folder per table.

Bookmark: the committed checkpoint `staged/_checkpoints/<table>.json`, advanced by promote after
the Hudi commit, decides which files are processed, on Glue as locally. Glue job bookmarks are not
used: runs of one job for several tables (or a bootstrap beside a CDC run) overlap, and a bookmark
fails such runs with a version mismatch. Files of a quarantined batch are held back until the
batch is released, so later runs go on.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue, staging
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

OP = "Op"
COMMIT_TS = "dms_commit_ts"
CHANGE_SEQ = "dms_change_seq"
DELETE_FLAG = "_hoodie_is_deleted"
GRANULARITY_FORMATS = {"month": "yyyy-MM", "day": "yyyy-MM-dd", "year": "yyyy"}


def is_full_load_file(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith("LOAD")


# --- pure transforms -----------------------------------------------------------------------------


def normalize_types(df: DataFrame) -> DataFrame:
    """Timestamps without time zone (DMS writes timestamp(us)) as Spark TimestampType, in UTC."""
    for field in df.schema.fields:
        if isinstance(field.dataType, T.TimestampNTZType):
            df = df.withColumn(field.name, F.col(field.name).cast(T.TimestampType()))
    return df


def latest_change_per_key(df: DataFrame, keys: Sequence[str], ordering_field: str) -> DataFrame:
    """One row per key: the change with the highest ordering value (dms_change_seq)."""
    missing = [c for c in [*keys, ordering_field] if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are missing from the changes (have {df.columns})")
    window = Window.partitionBy(*keys).orderBy(F.col(ordering_field).desc())
    return (
        df.withColumn("_rank", F.row_number().over(window))
        .where(F.col("_rank") == 1)
        .drop("_rank")
    )


def with_partition_column(df: DataFrame, partition: dict | None) -> DataFrame:
    """Add the Hudi partition column (e.g. order_month = 'YYYY-MM' of order_date); None: as is."""
    if not partition:
        return df
    granularity = partition.get("granularity", "month")
    if granularity not in GRANULARITY_FORMATS:
        raise ValueError(f"partition granularity {granularity!r} is not one of {list(GRANULARITY_FORMATS)}")
    source = partition["source_column"]
    if source not in df.columns:
        raise ValueError(f"partition source column {source!r} is missing from the changes")
    return df.withColumn(
        partition["field"], F.date_format(F.col(source), GRANULARITY_FORMATS[granularity])
    )


def to_upsert_frame(df: DataFrame) -> DataFrame:
    """Add `_hoodie_is_deleted` (Op == 'D'): Hudi drops those keys on upsert."""
    return df.withColumn(DELETE_FLAG, F.coalesce(F.col(OP) == F.lit("D"), F.lit(False)))


def prepare_batch(df: DataFrame, spec: dict) -> DataFrame:
    """Raw DMS changes -> the staged batch: latest change per key, partition column, delete flag."""
    df = normalize_types(df)
    latest = latest_change_per_key(df, spec["primary_key"], spec["ordering_field"])
    return to_upsert_frame(with_partition_column(latest, spec.get("partition")))


def batch_stats(df: DataFrame) -> dict:
    """Rows per operation and the oldest / newest source commit of a staged batch, in one pass."""
    counts = {"I": 0, "U": 0, "D": 0}
    oldest = newest = None
    for row in df.groupBy(OP).agg(F.count(F.lit(1)).alias("n"), F.min(COMMIT_TS).alias("oldest"),
                                  F.max(COMMIT_TS).alias("newest")).collect():
        counts[str(row[OP])] = int(row["n"])
        oldest = row["oldest"] if oldest is None or (row["oldest"] and row["oldest"] < oldest) else oldest
        newest = row["newest"] if newest is None or (row["newest"] and row["newest"] > newest) else newest
    return {"rows": sum(counts.values()), "counts": counts, "oldest_change_ts": oldest, "newest_change_ts": newest}


def order_files(files: Iterable[str]) -> list[str]:
    """Full-load files first (LOAD00000001...), then CDC files in time order (their path order)."""
    files = list(files)
    full = sorted(f for f in files if is_full_load_file(f))
    cdc = sorted(f for f in files if not is_full_load_file(f))
    return full + cdc


def unprocessed(files: Iterable[str], processed: Iterable[str]) -> list[str]:
    done = set(processed)
    return [f for f in order_files(files) if f not in done]


def _manifest_files(manifests: Iterable[str]) -> set[str]:
    return {f for uri in manifests for f in lake.read_json(uri).get("files") or []}


def quarantined_files(lake_root: str, table: str) -> set[str]:
    """Raw files of the table's quarantined batches: held back until the batch is fixed and
    released (release promotes them), so later runs neither replay them nor are blocked by them."""
    return _manifest_files(lake.batch_manifests(lake.join(lake_root, lake.quarantine_prefix(table))))


def schema_summary(df: DataFrame) -> list[dict]:
    return [
        {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable}
        for f in df.schema.fields
    ]


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, dict]:
    """Every table of `--name a,b,...` staged and gated in this Spark application (jobs.staging)."""
    batches, args = lake.BatchArgs.many_from_argv(argv, "apply_changes")
    for batch in batches:
        if batch.kind != "table":
            raise lake.BatchArgsError(f"apply_changes stages database tables; --kind {batch.kind} goes to clean_feed")
        batch.registry_data().table_spec(batch.name)  # an unknown table fails the run, before any work
    config.use_include_from(batches[0].registry, with_suites=True)
    spark, job = glue.start(args["JOB_NAME"], args, "apply_changes")
    outcomes = staging.stage_and_validate(batches, lambda batch: stage(spark, batch))
    job.commit()
    return outcomes


def stage(spark, batch: lake.BatchArgs) -> dict:
    """The table's unprocessed raw files -> `staged/<table>/<run_id>/` and its `_batch.json`."""
    table, lake_root, run_id = batch.name, batch.lake_root, batch.run_id
    spec = batch.registry_data().table_spec(table)
    checkpoint = lake.read_checkpoint(lake_root, table)
    if run_id in checkpoint["batches"] and lake.exists(batch.manifest):
        return lake.read_json(batch.manifest)  # this batch is already promoted: a rerun keeps it as it is
    held = quarantined_files(lake_root, table)
    available = lake.list_files(lake.join(lake_root, lake.raw_table_prefix(spec["source_schema"], table)))
    candidates = {lake.relative_key(lake_root, f) for f in available}
    files = unprocessed(candidates - held, checkpoint["files"])
    raw = spark.read.option("mergeSchema", "true").parquet(*[lake.join(lake_root, f) for f in files]) if files else None

    first_load = not checkpoint["files"] and not lake.hudi_table_exists(lake_root, table)
    manifest = {
        "kind": "table",
        "name": table,
        "zone": batch.zone,
        "curated_table": table,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "files": files,
        "mode": "bulk_insert" if first_load else "upsert",
        "input_rows": 0,
        "rows": 0,
        "counts": {"I": 0, "U": 0, "D": 0},
        "primary_key": spec["primary_key"],
        "ordering_field": spec["ordering_field"],
        "partition": spec["partition"],
        "hudi_table_type": spec["hudi_table_type"],
        "path": batch.staged,
        "schema": [],
    }
    if raw is not None:
        prepare_batch(raw, spec).write.mode("overwrite").parquet(batch.staged)
        staged = spark.read.parquet(batch.staged)
        manifest["input_rows"] = raw.count()
        # oldest_change_ts: how long a held (quarantined) batch has waited; newest: its freshness
        manifest.update(batch_stats(staged))
        manifest["schema"] = schema_summary(staged)
    lake.write_json(batch.manifest, manifest)
    return manifest
