"""Pure transforms of glue_scripts/apply_changes.py on small DataFrames (the shared SparkSession)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest


from autocorp_lake.jobs import apply_changes as ac  # noqa: E402

pytestmark = pytest.mark.spark

COLUMNS = ["Op", "dms_commit_ts", "order_id", "order_date", "total", "dms_change_seq"]
SPEC = {
    "name": "sales_order",
    "primary_key": ["order_id"],
    "ordering_field": "dms_change_seq",
    "partition": {"source_column": "order_date", "granularity": "month", "field": "order_month"},
    "hudi_table_type": "MERGE_ON_READ",
}


def frame(spark, rows):
    data = [
        (op, "2024-06-01 00:00:00.000000", key, dt.datetime(2024, month, 3, 4, 5, 6, 7),
         Decimal(total), f"{seq:020d}")
        for op, key, month, total, seq in rows
    ]
    schema = ("Op string, dms_commit_ts string, order_id int, order_date timestamp, "
              "total decimal(12,2), dms_change_seq string")
    return spark.createDataFrame(data, schema)


def result(spark, rows):
    out = ac.prepare_batch(frame(spark, rows), SPEC).collect()
    return {r.order_id: r.asDict() for r in out}


def test_many_updates_of_one_key_keep_the_last(spark):
    got = result(spark, [("I", 1, 1, "1.00", 1), ("U", 1, 1, "2.00", 3), ("U", 1, 1, "3.00", 7),
                         ("U", 1, 1, "2.50", 5)])
    assert list(got) == [1]
    assert got[1]["total"] == Decimal("3.00") and got[1]["Op"] == "U"
    assert got[1]["dms_change_seq"] == f"{7:020d}" and got[1]["_hoodie_is_deleted"] is False


def test_insert_then_delete_in_one_batch_is_a_delete(spark):
    got = result(spark, [("I", 2, 1, "1.00", 1), ("D", 2, 1, "1.00", 2)])
    assert got[2]["Op"] == "D" and got[2]["_hoodie_is_deleted"] is True


def test_delete_then_reinsert_is_an_upsert_of_the_new_row(spark):
    got = result(spark, [("D", 3, 1, "1.00", 10), ("I", 3, 2, "9.99", 11)])
    assert got[3]["Op"] == "I" and got[3]["_hoodie_is_deleted"] is False
    assert got[3]["total"] == Decimal("9.99") and got[3]["order_month"] == "2024-02"


def test_primary_key_change_deletes_old_and_inserts_new(spark):
    got = result(spark, [("I", 4, 1, "1.00", 1), ("D", 4, 1, "1.00", 20), ("I", 5, 1, "1.00", 21)])
    assert got[4]["_hoodie_is_deleted"] is True
    assert got[5]["_hoodie_is_deleted"] is False and got[5]["Op"] == "I"


def test_partition_column_is_the_month_and_none_leaves_the_frame(spark):
    df = frame(spark, [("I", 1, 11, "1.00", 1)])
    assert ac.with_partition_column(df, SPEC["partition"]).first()["order_month"] == "2024-11"
    assert ac.with_partition_column(df, None).columns == df.columns


def test_ordering_is_by_change_seq_not_by_arrival(spark):
    rows = [("U", 6, 1, "5.00", 9), ("U", 6, 1, "4.00", 8)]
    assert result(spark, rows)[6]["total"] == Decimal("5.00")


def test_timestamp_ntz_becomes_timestamp(spark):
    df = spark.sql("select timestamp_ntz'2024-01-02 03:04:05.123456' as ts")
    out = ac.normalize_types(df)
    assert out.schema["ts"].dataType.typeName() == "timestamp"
    assert out.first()["ts"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)


def test_files_in_order_and_unprocessed():
    files = [
        "raw/database/public/t/2024/06/02/20240602-000000000.parquet",
        "raw/database/public/t/LOAD00000002.parquet",
        "raw/database/public/t/2024/06/01/20240601-120000000.parquet",
        "raw/database/public/t/LOAD00000001.parquet",
    ]
    assert ac.order_files(files) == [files[3], files[1], files[2], files[0]]
    assert ac.unprocessed(files, [files[3], files[1]]) == [files[2], files[0]]


def test_promote_options_follow_the_registry():
    from autocorp_lake.jobs import promote

    options = promote.hudi_options(SPEC, "upsert", "run_1")
    assert options["hoodie.datasource.write.table.type"] == "MERGE_ON_READ"
    assert options["hoodie.datasource.write.recordkey.field"] == "order_id"
    assert options["hoodie.datasource.write.precombine.field"] == "dms_change_seq"
    assert options["hoodie.datasource.write.partitionpath.field"] == "order_month"
    assert options["hoodie.datasource.write.hive_style_partitioning"] == "true"
    assert options["hoodie.datasource.hive_sync.mode"] == "hms"
    assert options["hoodie.datasource.hive_sync.database"] == "autocorp_curated"
    assert options["hoodie.cleaner.policy"] == "KEEP_LATEST_BY_HOURS"
    assert options["hoodie.cleaner.hours.retained"] == "168"
    assert int(options["hoodie.keep.min.commits"]) > int(options["hoodie.cleaner.commits.retained"])
    assert options["_autocorp_batch_id"] == "run_1"
    flat = promote.hudi_options({**SPEC, "partition": None, "hudi_table_type": "COPY_ON_WRITE"}, "bulk_insert", "r")
    assert flat["hoodie.datasource.write.keygenerator.class"].endswith("NonpartitionedKeyGenerator")
    assert flat["hoodie.datasource.hive_sync.partition_extractor_class"].endswith("NonPartitionedExtractor")
    # partitioned: a global index (rows move between months), the bloom one (footers, not every key,
    # are read per upsert: measured 2x faster on a CDC batch), so its files keep their bloom filter;
    # unpartitioned: the bucket index, whose files need no bloom filter
    assert options["hoodie.index.type"] == "GLOBAL_BLOOM"
    assert options["hoodie.bloom.index.update.partition.path"] == "true"
    assert options.get("hoodie.parquet.bloom.filter.enabled", "true") == "true"
    # a partitioned table's bulk insert writes one file per partition; the bucket index has its own
    assert options["hoodie.bulkinsert.sort.mode"] == "PARTITION_PATH_REPARTITION_AND_SORT"
    assert "hoodie.bulkinsert.sort.mode" not in flat
    assert flat["hoodie.index.type"] == "BUCKET" and flat["hoodie.bucket.index.num.buckets"] == "4"
    assert flat["hoodie.parquet.bloom.filter.enabled"] == "false"
    assert flat["hoodie.bucket.index.hash.field"] == "order_id"
    one = promote.hudi_options({**SPEC, "partition": None, "buckets": 1}, "upsert", "r")
    assert one["hoodie.bucket.index.num.buckets"] == "1"
    assert options["hoodie.parquet.compression.codec"] == "snappy"
    assert options["hoodie.combine.before.upsert"] == "false"


def test_metadata_table_on_s3_only_unless_set(monkeypatch):
    from autocorp_lake.jobs import promote

    monkeypatch.delenv("AUTOCORP_HUDI_METADATA", raising=False)
    assert promote.metadata_table_default("s3://autocorp-datalake-dev") is True
    assert promote.metadata_table_default("/work/lake") is False
    monkeypatch.setenv("AUTOCORP_HUDI_METADATA", "true")
    assert promote.metadata_table_default("/work/lake") is True
    assert promote.hudi_options(SPEC, "upsert", "r", metadata=False)["hoodie.metadata.enable"] == "false"


def test_registry_buckets_only_on_unpartitioned_tables():
    from autocorp_lake import config

    registry = config.registry()
    assert registry.table("customers").buckets == 4
    assert all(t.buckets is None for t in registry.tables if t.partition)
    data = {"tables": [{"name": "x", "primary_key": ["id"], "partition": {"source_column": "d",
            "granularity": "month", "field": "m"}, "buckets": 2}], "feeds": []}
    with pytest.raises(config.ConfigError, match="buckets"):
        config._parse_registry(data)


def test_glue_stand_in_parses_name_value_pairs():
    from autocorp_lake.jobs import glue

    args = glue.parse_args(["--name", "customers", "--run_id=r1", "--flag"], ["name"],
                           {"lake_root": None})
    assert args == {"name": "customers", "run_id": "r1", "flag": "true", "lake_root": None}
    with pytest.raises(glue.ArgumentError, match="--name"):
        glue.parse_args([], ["name"])


def test_every_job_parses_its_batch_one_way(tmp_path):
    """Only --kind, --name, --run_id, --lake_root and --registry travel; the rest is derived."""
    from autocorp_lake import config
    from autocorp_lake.lake import BatchArgs, BatchArgsError

    argv = ["--kind", "feed", "--name", "customers", "--run_id", "scheduled__2024-06-01T00:10:00+00:00",
            "--lake_root", f"{tmp_path}/", "--JOB_NAME", "autocorp-promote-dev", "--catalog_database", "x"]
    [batch], extra = BatchArgs.many_from_argv(argv, "promote", catalog_database="autocorp_curated")
    assert batch.run_id == config.safe_run_id(batch.run_id) == "scheduled__2024-06-01T00_10_00_00_00"
    assert (batch.zone, batch.curated_table, batch.lake_root) == ("feed_customers", "customers_master", str(tmp_path))
    assert batch.staged == f"{tmp_path}/staged/feed_customers/{batch.run_id}"
    assert batch.manifest == f"{batch.staged}/_batch.json"
    assert batch.quarantine == f"{tmp_path}/quarantine/feed_customers/{batch.run_id}"
    assert batch.quality_results == f"{tmp_path}/logs/quality/feed_customers/{batch.run_id}"
    assert batch.registry == config.registry_uri() and batch.transform_job == "clean_feed"
    assert extra == {"JOB_NAME": "autocorp-promote-dev", "catalog_database": "x"}
    assert BatchArgs.from_script_args(batch.script_args()) == batch
    assert BatchArgs.of_zone("feed_customers", batch.run_id, batch.lake_root) == batch
    with pytest.raises(glue_argument_error()):
        BatchArgs.many_from_argv(["--name", "customers"], "promote")  # no --kind
    batches, _ = BatchArgs.many_from_argv(["--kind", "table", "--name", "customers,sales_order", "--run_id", "r"],
                                          "apply_changes")
    assert [b.name for b in batches] == ["customers", "sales_order"]
    assert BatchArgs.script_args_of(batches)["--name"] == "customers,sales_order"
    with pytest.raises(BatchArgsError, match="one kind, run"):
        BatchArgs.script_args_of([batches[0], BatchArgs.of("feed", "customers", "r")])
    with pytest.raises(BatchArgsError, match="--kind 'tabel'"):
        BatchArgs.of("tabel", "customers", "r")


def glue_argument_error():
    from autocorp_lake.jobs import glue

    return glue.ArgumentError


def test_a_table_without_its_bucket_layout_is_refused_with_the_fix(tmp_path):
    from autocorp_lake.jobs import promote

    spec = {**SPEC, "name": "customers", "partition": None, "buckets": 4}
    table = tmp_path / "curated/hudi/customers"
    (table / ".hoodie").mkdir(parents=True)
    (table / ".hoodie/ignored.parquet").write_bytes(b"")
    (table / "00000001-6f0c-4b1e-9a57-0d1f2a3b4c5d-0_0-1-2_20261126.parquet").write_bytes(b"")
    promote.check_bucket_layout(str(tmp_path), spec)  # bucket files only: fine
    (table / "6f0c4b1e-9a57-0d1f-2a3b-4c5d6e7f8091-0_0-1-2_20261120.parquet").write_bytes(b"")
    with pytest.raises(RuntimeError, match="bucket index.*reset"):
        promote.check_bucket_layout(str(tmp_path), spec)
    with pytest.raises(RuntimeError, match="delete .*customers and run autocorp_files"):
        promote.check_bucket_layout(str(tmp_path), spec, kind="feed")
    promote.check_bucket_layout(str(tmp_path), {**spec, "partition": {"field": "order_month"}})  # global index


def test_batch_stats_counts_each_operation_and_the_commit_range_in_one_pass(spark):
    schema = "Op string, dms_commit_ts string, order_id int"
    rows = [("I", "2024-06-01 00:00:02.000000", 1), ("U", "2024-06-01 00:00:09.500000", 2),
            ("U", "2024-06-01 00:00:01.250000", 3), ("D", "2024-06-01 00:00:05.000000", 4)]
    stats = ac.batch_stats(spark.createDataFrame(rows, schema))
    assert stats == {"rows": 4, "counts": {"I": 1, "U": 2, "D": 1},
                     "oldest_change_ts": "2024-06-01 00:00:01.250000",
                     "newest_change_ts": "2024-06-01 00:00:09.500000"}
    empty = ac.batch_stats(spark.createDataFrame([], schema))
    assert empty == {"rows": 0, "counts": {"I": 0, "U": 0, "D": 0}, "oldest_change_ts": None, "newest_change_ts": None}
