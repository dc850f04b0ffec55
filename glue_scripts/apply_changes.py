"""Glue job: apply a database table's DMS changes (full load + CDC) into one staged batch.

One script for every table of the registry. It reads the table's raw files that are not yet
processed, keeps the latest change per primary key (by `dms_change_seq`), adds the Hudi partition
column and the delete flag, and writes the batch to `staged/<table>/<run_id>/` (parquet) with a
`_batch.json` manifest for the quality gate and the promote step.

Arguments (`--name value`):
  --table       registry table name (required; --name is accepted too)
  --registry    path or s3:// URI of include/tables.yaml (default: the local repo's)
  --lake_root   s3://bucket or a local folder (default: the local target's lake)
  --run_id      batch id, the staged folder name (default: a UTC timestamp)
  --kind        accepted and ignored (the DAGs pass it to every job)
  --JOB_NAME    Glue job name (Glue passes it)

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
import json
from typing import Iterable, Sequence

import glue_compat
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

OP = "Op"
COMMIT_TS = "dms_commit_ts"
CHANGE_SEQ = "dms_change_seq"
DELETE_FLAG = "_hoodie_is_deleted"
DMS_COLUMNS = (OP, COMMIT_TS, CHANGE_SEQ)
GRANULARITY_FORMATS = {"month": "yyyy-MM", "day": "yyyy-MM-dd", "year": "yyyy"}


# --- lake layout ---------------------------------------------------------------------------------


def full_load_prefix(schema: str, table: str) -> str:
    return f"raw/database/{schema}/{table}"


def cdc_prefix(schema: str, table: str) -> str:
    """CDC files sit in the table's folder, under YYYY/MM/DD/ (DatePartitionEnabled)."""
    return full_load_prefix(schema, table)


def is_full_load_file(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith("LOAD")


safe_run_id = glue_compat.safe_run_id


def default_run_id() -> str:
    return "manual_" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


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


def op_counts(df: DataFrame) -> dict[str, int]:
    counts = {"I": 0, "U": 0, "D": 0}
    for row in df.groupBy(OP).count().collect():
        counts[str(row[OP])] = int(row["count"])
    return counts


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
    return {f for uri in manifests for f in json.loads(glue_compat.read_text(uri)).get("files") or []}


def quarantined_files(lake_root: str, table: str) -> set[str]:
    """Raw files of the table's quarantined batches: held back until the batch is fixed and
    released (release promotes them), so later runs neither replay them nor are blocked by them."""
    return _manifest_files(glue_compat.batch_manifests(glue_compat.join(lake_root, "quarantine", table)))


def pending_files(lake_root: str, table: str, checkpoint: dict, run_id: str) -> set[str]:
    """Raw files of staged batches never promoted (a failed promote or gate error)."""
    manifests = [
        uri for uri in glue_compat.batch_manifests(glue_compat.join(lake_root, "staged", table))
        if uri.rsplit("/", 2)[-2] not in set(checkpoint["batches"]) | {run_id}
    ]
    return _manifest_files(manifests)


def schema_summary(df: DataFrame) -> list[dict]:
    return [
        {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable}
        for f in df.schema.fields
    ]


# --- checkpoint ----------------------------------------------------------------------------------


read_checkpoint = glue_compat.read_checkpoint
hudi_table_exists = glue_compat.hudi_table_exists


def relative_key(lake_root: str, uri: str) -> str:
    root = lake_root.rstrip("/") + "/"
    return uri[len(root):] if uri.startswith(root) else uri


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict:
    args = glue_compat.parse_args(
        argv,
        required=[],
        optional={"table": None, "name": None, "kind": "table", "registry": None, "lake_root": None,
                  "run_id": None, "JOB_NAME": "apply_changes"},
    )
    table = args["table"] or args["name"]
    if not table:
        raise glue_compat.ArgumentError("missing argument --table (a registry table, e.g. customers)")
    lake_root = (args["lake_root"] or glue_compat.default_lake_root()).rstrip("/")
    spec = glue_compat.load_table_spec(args["registry"] or glue_compat.default_registry(), table)
    run_id = safe_run_id(args["run_id"] or default_run_id())

    spark = glue_compat.get_spark(f"apply_changes-{table}")
    context = glue_compat.glue_context(spark)
    job = glue_compat.job(context)
    job.init(args["JOB_NAME"], args)

    checkpoint = read_checkpoint(lake_root, table)
    staged_uri = glue_compat.join(lake_root, glue_compat.staged_prefix(table, run_id))
    manifest_uri = glue_compat.join(staged_uri, "_batch.json")
    if run_id in checkpoint["batches"] and glue_compat.exists(manifest_uri):
        # this batch is already promoted: a rerun keeps it as it is
        job.commit()
        return json.loads(glue_compat.read_text(manifest_uri))
    held = quarantined_files(lake_root, table)
    available = glue_compat.list_files(glue_compat.join(lake_root, full_load_prefix(spec["source_schema"], table)))
    candidates = {relative_key(lake_root, f) for f in available}
    files = unprocessed(candidates - held, checkpoint["files"])
    raw = (
        spark.read.option("mergeSchema", "true").parquet(*[glue_compat.join(lake_root, f) for f in files])
        if files
        else None
    )

    first_load = not checkpoint["files"] and not hudi_table_exists(lake_root, table)
    manifest = {
        "table": table,
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
        "path": staged_uri,
        "schema": [],
    }
    if raw is not None:
        batch = prepare_batch(raw, spec)
        batch.write.mode("overwrite").parquet(staged_uri)
        staged = spark.read.parquet(staged_uri)
        manifest["input_rows"] = raw.count()
        manifest["rows"] = staged.count()
        manifest["counts"] = op_counts(staged)
        # the oldest source change of the batch: how long a held (quarantined) batch has waited
        manifest["oldest_change_ts"] = staged.agg(F.min(COMMIT_TS)).first()[0]
        manifest["schema"] = schema_summary(staged)
    glue_compat.write_text(manifest_uri, json.dumps(manifest, indent=2))
    job.commit()
    return manifest


if __name__ == "__main__":
    main()
