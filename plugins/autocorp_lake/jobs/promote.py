"""Glue job promote: one staged batch (a database table's or a CSV feed's) into its Hudi table.

Writes `curated/hudi/<table>`: record key = the primary key, precombine/ordering =
`dms_change_seq`, hive-style partitions from the registry (`order_month=YYYY-MM`), the registry's
table type (COPY_ON_WRITE / MERGE_ON_READ); `bulk_insert` for the first load, then `upsert` with
deletes through `_hoodie_is_deleted`; cleaner retention of a week (time travel); hms meta sync to
`autocorp_curated`; schema evolution (a new source column becomes a nullable column of the table
and of the catalog). Only after the Hudi commit succeeds is the table's checkpoint advanced.

Idempotent: each Hudi commit carries the batch id in its metadata, and a batch already in the
checkpoint or on the timeline is not written again (no new commit, no changed value).

Arguments: those of every batch job (`lake.BatchArgs`: --kind table|feed --name --run_id
--lake_root --registry; a feed's batch goes to the feed's curated_table, with the layout its
_batch.json names), and:
  --catalog_database  database of the meta sync (default autocorp_curated)
  --hive_sync         true|false (default true)
  --JOB_NAME          Glue job name (Glue passes it)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Sequence

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DELETE_FLAG = "_hoodie_is_deleted"
BATCH_META_KEY = "_autocorp_batch_id"  # commit metadata (prefix "_" = hoodie commitmeta prefix)
log = logging.getLogger(__name__)
DEFAULT_BUCKETS = 4  # bucket index of an unpartitioned table without `buckets` in the registry
# Below this many rows a write goes without Hudi's embedded timeline server (its start and the
# marker and file-system-view calls to it cost more than a CDC batch's few files: a 5-row upsert
# into customers took 1.2-2.0 s without it, the server and the per-commit clean and hive sync
# against 3.9-5.5 s with all three); a big batch keeps it (one file listing for all executors).
SMALL_BATCH_ROWS = 100_000
# Tables are promoted concurrently, but one catalog change at a time: a write that syncs the
# catalog (a new table, column or partition) holds this lock, as does the check whether to sync.
CATALOG_LOCK = threading.Lock()


def key_generator(spec: dict) -> str:
    if not spec.get("partition"):
        return "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
    if len(spec["primary_key"]) > 1:
        return "org.apache.hudi.keygen.ComplexKeyGenerator"
    return "org.apache.hudi.keygen.SimpleKeyGenerator"


def metadata_table_default(lake_root: str) -> bool:
    """Hudi's metadata table replaces S3 listings; on a local disk listing is cheap and the table
    only adds a second commit per write (config.hudi_metadata_table overrides)."""
    override = config.hudi_metadata_table()
    return str(lake_root).startswith("s3://") if override is None else override


# A partitioned table's bulk insert sends each partition to one task, sorted by key: one file per
# partition (sales_order_parts at full scale: 25 files instead of 100, one per partition and
# shuffle task), one open file per task. Measured on the full-scale sales_order_parts (1.69M
# rows, 25 months, warm): bulk insert 8.9-9.3 s against 13.1 s, an upsert of 150 rows 10.3-12.0 s
# against 13.5-13.9 s (a quarter of the files to check); a query opens a quarter of the files.
BULK_INSERT_LAYOUT = {"hoodie.bulkinsert.sort.mode": "PARTITION_PATH_REPARTITION_AND_SORT"}


# Each base file of a bloom-indexed table carries its keys' bloom filter in the parquet footer,
# which every reader loads: the index lookup of an upsert, Spark, Athena and the DuckDB engine.
# Hudi's default sizes a filter for 60,000 keys at a 1e-9 false positive rate: 431 KB of footer
# in every file, of 300 rows or of 21,000 (30% of a full-scale sales_order_services file, 1.4 MB).
# DuckDB answered service_category_mix in 44-50 ms over those files, in 24-28 ms over the same
# rows rewritten without the filter. Sized here at 10,000 keys a step, growing with the file's
# keys (DYNAMIC_V0) up to a million, at 1e-4: 32 KB of footer a step. A false positive only costs
# a read of one file's keys, when a changed key falls inside that file's key range.
BLOOM_FILTER_SIZE = {
    "hoodie.bloom.index.filter.type": "DYNAMIC_V0",
    "hoodie.index.bloom.num_entries": "10000",
    "hoodie.index.bloom.fpp": "0.0001",
    "hoodie.bloom.index.filter.dynamic.max.entries": "1000000",
}


def index_options(spec: dict) -> dict[str, str]:
    """Partitioned tables: a global index, so a key stays unique across partitions (an update that
    changes the month moves the row, a delete finds the row whatever partition it carries). A bloom
    index: it reads each base file's footer (key range, bloom filter) instead of every key of the
    table, and the keys grow with time, so a CDC batch of recent rows opens few files. Measured on a
    sales_order-like table (791,532 rows, 24 months), 1,000 changed + 300 new rows: 3.6-6.4 s
    against 7.9-14.6 s for GLOBAL_SIMPLE (both table types); 1,000 random old rows: 11.6-14.8 s
    against 15.0-21.9 s. Both index types read the base files Hudi already writes (each carries
    its bloom filter), so an existing table switches without a rewrite.
    Unpartitioned tables: a bucket index, a key's file group is the hash of the key, so an upsert
    needs no index lookup (the number of buckets, registry `buckets`, is fixed at table creation),
    and no file needs a bloom filter: Hudi stops adding every key to one (4.6% of the CPU samples of
    a 1M-row copy-on-write upsert)."""
    if spec.get("partition"):
        return {"hoodie.index.type": "GLOBAL_BLOOM", "hoodie.bloom.index.update.partition.path": "true",
                **BLOOM_FILTER_SIZE, **BULK_INSERT_LAYOUT}
    return {
        "hoodie.index.type": "BUCKET",
        "hoodie.index.bucket.engine": "SIMPLE",
        "hoodie.bucket.index.num.buckets": str(spec.get("buckets") or DEFAULT_BUCKETS),
        "hoodie.bucket.index.hash.field": ",".join(spec["primary_key"]),
        "hoodie.parquet.bloom.filter.enabled": "false",
    }


BUCKET_FILE = re.compile(r"^[0-9]{8}-")  # bucket index file groups: <bucket id, 8 digits>-<uuid>


def check_bucket_layout(lake_root: str, spec: dict, kind: str = "table") -> None:
    """A table written before it had a bucket index has file groups the bucket index cannot map:
    stop with the fix rather than write duplicates. Every promote runs this, so it looks at one
    listing of the table's root only (an unpartitioned table keeps its base files there, and a
    table is either all bucket files or none, since mixing is refused here)."""
    if spec.get("partition"):
        return
    stray = [name for name in lake.some_files(lake.hudi_table_uri(lake_root, spec["name"]))
             if not BUCKET_FILE.match(name)]
    if stray:
        fix = ("autocorp-lake run autocorp_bootstrap --conf '{\"reset\": true}'" if kind == "table" else
               f"delete {lake.hudi_table_uri(lake_root, spec['name'])} and run autocorp_files again (each export is whole)")
        raise RuntimeError(
            f"Hudi table {spec['name']} was created without its bucket index ({stray[0]} is not a bucket "
            f"file); rebuild it: {fix}"
        )


def hudi_options(spec: dict, operation: str, batch_id: str, database: str = "autocorp_curated",
                 hive_sync: bool = True, metadata: bool = True, rows: int | None = None) -> dict[str, str]:
    """The Hudi write options of a registry table (pure: unit-testable). `rows`: the batch's rows
    (a small batch writes without the embedded timeline server, see SMALL_BATCH_ROWS)."""
    table = spec["name"]
    partition = spec.get("partition")
    partition_field = partition["field"] if partition else ""
    options = {
        "hoodie.table.name": table,
        "hoodie.datasource.write.table.name": table,
        "hoodie.datasource.write.table.type": spec["hudi_table_type"],
        "hoodie.datasource.write.operation": operation,
        "hoodie.datasource.write.recordkey.field": ",".join(spec["primary_key"]),
        "hoodie.datasource.write.precombine.field": spec["ordering_field"],
        "hoodie.payload.ordering.field": spec["ordering_field"],
        # an older change never overwrites a newer one (ordering compared with the stored row)
        "hoodie.datasource.write.payload.class": "org.apache.hudi.common.model.DefaultHoodieRecordPayload",
        "hoodie.datasource.write.partitionpath.field": partition_field,
        "hoodie.datasource.write.keygenerator.class": key_generator(spec),
        "hoodie.datasource.write.hive_style_partitioning": "true",
        **index_options(spec),
        # schema evolution: new columns extend the table schema (nullable), never dropped
        "hoodie.datasource.write.reconcile.schema": "true",
        # a staged batch holds one row per key (apply_changes keeps the latest change, clean_feed
        # the first row, and the gate blocks a duplicated key): no second dedupe shuffle here
        "hoodie.combine.before.upsert": "false",
        "hoodie.combine.before.insert": "false",
        # Spark's own default codec: gzip (Hudi's default) doubled the write time of a table
        "hoodie.parquet.compression.codec": "snappy",
        # a week of time travel; cleaning is planned once an hour of commits, not after every
        # small CDC commit (the retention is by hours, so a later clean removes the same files)
        "hoodie.clean.automatic": "true",
        "hoodie.clean.max.commits": str(max(1, 60 // config.CDC_INTERVAL_MINUTES)),
        "hoodie.cleaner.policy": "KEEP_LATEST_BY_HOURS",
        "hoodie.cleaner.hours.retained": str(config.TIME_TRAVEL_HOURS),
        "hoodie.cleaner.commits.retained": str(config.commits_in_time_travel()),
        "hoodie.keep.min.commits": str(config.commits_in_time_travel() + 10),
        "hoodie.keep.max.commits": str(config.commits_in_time_travel() + 30),
        "hoodie.upsert.shuffle.parallelism": "4",
        "hoodie.insert.shuffle.parallelism": "4",
        "hoodie.bulkinsert.shuffle.parallelism": "4",
        "hoodie.delete.shuffle.parallelism": "4",
        "hoodie.metadata.enable": str(metadata).lower(),
        "hoodie.datasource.write.commitmeta.key.prefix": "_",
        BATCH_META_KEY: batch_id,
    }
    if rows is not None and rows < SMALL_BATCH_ROWS:
        options["hoodie.embed.timeline.server"] = "false"
    if spec["hudi_table_type"] == "MERGE_ON_READ":
        options.update({
            "hoodie.compact.inline": "true",
            "hoodie.compact.inline.max.delta.commits": "10",
        })
    if hive_sync:
        options.update({
            "hoodie.datasource.hive_sync.enable": "true",
            "hoodie.datasource.meta.sync.enable": "true",
            "hoodie.datasource.hive_sync.mode": "hms",
            "hoodie.datasource.hive_sync.database": database,
            "hoodie.datasource.hive_sync.table": table,
            "hoodie.datasource.hive_sync.support_timestamp": "true",
            "hoodie.datasource.hive_sync.partition_fields": partition_field,
            "hoodie.datasource.hive_sync.partition_extractor_class": (
                "org.apache.hudi.hive.MultiPartKeysValueExtractor"
                if partition else "org.apache.hudi.hive.NonPartitionedExtractor"
            ),
        })
    return options


def completed_instants(lake_root: str, table: str) -> list[str]:
    """File names of the completed commits on the table's active timeline."""
    timeline = lake.join(lake.hudi_table_uri(lake_root, table), ".hoodie")
    return sorted(name for name in (uri.rsplit("/", 1)[-1] for uri in lake.list_children(timeline))
                  if name.endswith((".commit", ".deltacommit")))


def batch_on_timeline(lake_root: str, table: str, batch_id: str, look_back: int = 50) -> str | None:
    """The instant whose commit metadata names batch_id (the newest look_back commits), or None."""
    timeline = lake.join(lake.hudi_table_uri(lake_root, table), ".hoodie")
    for name in reversed(completed_instants(lake_root, table)[-look_back:]):
        try:
            meta = json.loads(lake.read_text(lake.join(timeline, name)) or "{}")
        except ValueError:
            continue
        if (meta.get("extraMetadata") or {}).get(BATCH_META_KEY) == batch_id:
            return name
    return None


def align_to_table(df: DataFrame, table_columns: list[str] | None) -> DataFrame:
    """The table's columns first, in the table's order; new source columns after them.

    The catalog (Hive metastore, Glue) accepts a schema change that appends columns; a new
    column in the middle reads as a type change of the columns after it."""
    if not table_columns:
        return df
    known = [c for c in table_columns if c in df.columns]
    new = [c for c in df.columns if c not in table_columns]
    return df.select(*known, *new)


def table_columns(lake_root: str, table: str) -> list[str] | None:
    """Data columns of an existing Hudi table in its order: the schema of its latest commit's
    metadata (read from the timeline, without building a file index), None if absent."""
    from autocorp_lake.quality import schema_drift

    schema = schema_drift.latest_commit_schema(lake_root, table, lake.list_children, lake.read_text)
    return list(schema) if schema else None


def catalog_needs_sync(spark, lake_root: str, spec: dict, df: DataFrame, columns: list[str] | None,
                       database: str) -> bool:
    """Whether this commit changes what the catalog must hold: the table's entry (a new table, or
    an entry lost), a new column, or a new partition (Athena finds a Hudi table's partitions in the
    catalog). A CDC batch into known partitions changes none of them, and the sync (a metastore
    round trip per partition) is skipped; Hudi's next sync catches up from the timeline."""
    if columns is None or set(df.columns) - set(columns):
        return True
    name = spec["name"] if spec["hudi_table_type"] == "COPY_ON_WRITE" else f"{spec['name']}_rt"
    if not spark.catalog.tableExists(f"{database}.{name}"):
        return True
    partition = spec.get("partition")
    if not partition:
        return False
    prefix = f"{partition['field']}="
    known = {name[len(prefix):] for name in lake.list_folders(lake.hudi_table_uri(lake_root, spec["name"]))
             if name.startswith(prefix)}
    written = {row[0] for row in df.select(partition["field"]).distinct().collect()}
    return not written <= known


def rows_to_write(df: DataFrame, operation: str) -> DataFrame:
    """bulk_insert writes no deletes (a first load has nothing to delete)."""
    if operation == "bulk_insert" and DELETE_FLAG in df.columns:
        return df.where(~F.col(DELETE_FLAG))
    return df


def feed_spec(manifest: dict) -> dict:
    """A CSV feed's batch carries its Hudi layout in _batch.json (written by clean_feed)."""
    return {
        "name": manifest["curated_table"],
        "primary_key": list(manifest["primary_key"]),
        "ordering_field": manifest["ordering_field"],
        "partition": manifest.get("partition"),
        "hudi_table_type": manifest.get("hudi_table_type", "COPY_ON_WRITE"),
    }


class PromoteFailed(RuntimeError):
    """One or more batches of the run failed to promote; the others were promoted."""


def main(argv: Sequence[str] | None = None) -> dict[str, dict]:
    """Every batch of `--name a,b,...` (those that passed their gate) into its Hudi table, in this
    Spark application, several tables at a time (`config.job_threads`); each result is written
    to `logs/runs/<run_id>/promote/<zone>.json`. A batch that fails does not stop the others; the
    job fails at the end naming it (a rerun skips the promoted ones: their batch is in the
    checkpoint)."""
    batches, args = lake.BatchArgs.many_from_argv(argv, "promote", catalog_database="autocorp_curated",
                                                  hive_sync="true")
    spark, job = glue.start(args["JOB_NAME"], args, "promote")
    results, failed = {}, {}

    def promote_one(batch: lake.BatchArgs) -> None:
        try:
            results[batch.name] = promote(spark, batch, args)
        except Exception as exc:  # noqa: BLE001 - the others still go; named at the end
            log.exception("promote of %s, run %s, failed", batch.zone, batch.run_id)
            failed[batch.name] = exc
            return
        lake.write_json(batch.uri(lake.job_result_key(batch.run_id, "promote", batch.zone)), results[batch.name])

    # A small batch's write is mostly Hudi's driver-side work (timeline, file listing, index
    # lookup, commit): other tables' writes fill the cores meanwhile. Each table has its own timeline.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=config.job_threads(), thread_name_prefix="promote") as pool:
        list(pool.map(promote_one, batches))
    lake.write_job_run(batches, "promote", time.monotonic() - started, failed=sorted(failed))
    results = {batch.name: results[batch.name] for batch in batches if batch.name in results}
    if len(failed) == 1 and not results:
        raise next(iter(failed.values()))
    if failed:
        raise PromoteFailed("promote failed for " + "; ".join(f"{name}: {exc}" for name, exc in failed.items())
                            + f" (promoted: {', '.join(results) or 'none'}); rerun promote for this run")
    job.commit()
    return results


def promote(spark, batch: lake.BatchArgs, args: dict) -> dict:
    if not lake.exists(batch.manifest):
        raise FileNotFoundError(
            f"no staged batch at {batch.manifest}; run {batch.transform_job} for {batch.name} "
            f"with --run_id {batch.run_id} first"
        )
    lake_root, zone, run_id = batch.lake_root, batch.zone, batch.run_id
    manifest = lake.read_json(batch.manifest)
    manifest.setdefault("run_id", run_id)
    spec = batch.registry_data().table_spec(batch.name) if batch.kind == "table" else feed_spec(manifest)
    table = spec["name"]
    started = time.monotonic()
    result = {"table": table, "kind": batch.kind, "name": batch.name, "run_id": run_id,
              "rows": int(manifest.get("rows") or 0), "counts": manifest.get("counts"),
              "rejected": manifest.get("rejected"), "written": False, "operation": None, "instant": None}

    if run_id in lake.read_checkpoint(lake_root, zone)["batches"]:
        result["skipped"] = "batch already promoted (checkpoint)"
        return result
    instant = batch_on_timeline(lake_root, table, run_id)
    if instant:  # written before, checkpoint not advanced: advance it now, write nothing
        lake.advance_checkpoint(lake_root, zone, manifest, instant)
        result.update(skipped="batch already on the Hudi timeline", instant=instant)
        return result
    if not result["rows"]:
        lake.advance_checkpoint(lake_root, zone, manifest, None)
        result["skipped"] = "empty batch"
        return result

    exists = lake.hudi_table_exists(lake_root, table)
    first = manifest.get("mode") == "bulk_insert" or batch.kind == "feed"
    operation = "bulk_insert" if first and not exists else "upsert"
    df = rows_to_write(spark.read.parquet(batch.staged), operation)
    columns = None
    if exists:
        check_bucket_layout(lake_root, spec, batch.kind)
        columns = table_columns(lake_root, table)
        df = align_to_table(df, columns)
    with CATALOG_LOCK:
        sync = args["hive_sync"].lower() == "true" and catalog_needs_sync(
            spark, lake_root, spec, df, columns, args["catalog_database"])
    options = hudi_options(spec, operation, run_id, args["catalog_database"], hive_sync=sync,
                           metadata=metadata_table_default(lake_root), rows=result["rows"])
    with CATALOG_LOCK if sync else nullcontext():
        df.write.format("hudi").options(**options).mode("append").save(lake.hudi_table_uri(lake_root, table))

    instant = batch_on_timeline(lake_root, table, run_id)
    if instant is None:
        raise RuntimeError(
            f"the Hudi write of {table} batch {run_id} left no completed commit on "
            f"{lake.hudi_table_uri(lake_root, table)}/.hoodie; the checkpoint was not advanced, rerun promote"
        )
    lake.advance_checkpoint(lake_root, zone, manifest, instant)
    result.update(written=True, operation=operation, instant=instant, catalog_synced=sync,
                  duration_seconds=round(time.monotonic() - started, 1),
                  freshness_seconds=source_freshness(manifest.get("newest_change_ts")))
    return result


def source_freshness(newest_change_ts: str | None) -> float | None:
    """Seconds from the batch's newest source commit (dms_commit_ts, UTC; apply_changes records it in
    `_batch.json`) to now; None for a feed (no source commit time)."""
    if not newest_change_ts:
        return None
    committed = dt.datetime.strptime(newest_change_ts[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
    return round((dt.datetime.now(dt.timezone.utc) - committed).total_seconds(), 1)
