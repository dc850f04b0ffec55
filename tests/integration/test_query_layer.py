"""The query layer on the demo data: every Athena SQL file runs locally on both engines (sqlglot ->
Spark on the local catalog; hudi-rs + sqlglot -> DuckDB, the CLI's) and gives the answer PostgreSQL
gives to the same question; views build; time travel and incremental reads see exactly the CDC
round's change. The CDC round updates, moves (to another month) and deletes orders, so the
merge-on-read sales_order holds log files not yet compacted, which hudi-rs must merge as Spark does."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from autocorp_lake import analytics, config
from autocorp_lake.local import generator, query_duckdb, query_engine, replicator
from autocorp_lake.local.jobs import run_glue_script

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SQL = config.include_dir() / "sql"


def promote_all(run_id: str) -> None:
    """One apply_changes run (stage + gate every table), one promote run, as the DAG does."""
    args = {"kind": "table", "name": ",".join(t.name for t in config.registry().in_load_order()), "run_id": run_id}
    run_glue_script("apply_changes", args, in_process=True)
    run_glue_script("promote", args, in_process=True)


def instants(table: str) -> list[str]:
    timeline = Path(config.lake_uri(f"curated/hudi/{table}")) / ".hoodie"
    return sorted(p.name.split(".")[0] for p in timeline.glob("*.commit"))


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory, pg, spark):
    """The demo data seeded, fully loaded and promoted; then one customer changes city."""
    lake = tmp_path_factory.mktemp("query-lake")
    os.environ["AUTOCORP_LAKE_DIR"] = str(lake)
    with pg.connect() as conn:
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        conn.execute("drop table if exists autocorp_seed_info")
    for name in config.registry().table_names + ["sales_order_ro", "sales_order_rt"]:
        spark.sql(f"drop table if exists autocorp_curated.{name}")
    generator.seed(scale="demo", seed=11, progress=False)
    replicator.full_load(log=lambda *a: None)
    promote_all("q1")
    before = instants("customers")[-1]
    with pg.connect() as conn:
        customer = conn.execute("select min(customer_id) from customers").fetchone()[0]
        conn.execute("update customers set city = 'Time Travel City' where customer_id = %s", (customer,))
        orders = [r[0] for r in conn.execute("select order_id from sales_order order by order_id").fetchall()]
        changed, moved, deleted = orders[:20], orders[20], orders[-2:]
        conn.execute("update sales_order set status = 'Cancelled', subtotal = subtotal + 1, total_amount = total_amount + 1 "
                     "where order_id = any(%s)", (changed,))
        conn.execute("update sales_order set order_date = order_date + interval '45 days' "
                     "where order_id = %s", (moved,))
        for table in ("sales_order_parts", "sales_order_services", "sales_order"):
            conn.execute(f"delete from {table} where order_id = any(%s)", (deleted,))
    replicator.capture_batch(log=lambda *a: None)
    promote_all("q2")
    after = instants("customers")[-1]
    assert after > before, "the CDC round made no commit on customers"
    yield {"first_instant": before, "second_instant": after, "customer": customer,
           "changed_orders": changed, "moved_order": moved, "deleted_orders": deleted}
    os.environ.pop("AUTOCORP_LAKE_DIR", None)


def postgres_sql(athena_sql: str) -> str:
    """The same question for the source database: curated tables are the source tables."""
    tree = sqlglot.parse_one(athena_sql, read="trino")
    for table in tree.find_all(exp.Table):
        if table.db == "autocorp_curated":
            table.set("this", exp.to_identifier(query_engine._base_table(table.name)))
            table.set("db", exp.to_identifier("public"))
    return tree.sql(dialect="postgres")


def normalise(value):
    if isinstance(value, (Decimal, float)):
        return round(Decimal(str(value)), 2)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def run_query(engine: str, sql: str, spark, **kwargs) -> list[dict]:
    if engine == "spark":
        return query_engine.query(sql, spark=spark, **kwargs)
    return query_duckdb.query(sql, **kwargs)


ENGINES = ["spark", "duckdb"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("template", analytics.sql_files("analytics"))
def test_analytics_file_matches_postgres(demo_lake, pg, spark, template, engine):
    text = (SQL / template).read_text()
    lake_rows = run_query(engine, text, spark)
    with pg.connect() as conn:
        cursor = conn.execute(postgres_sql(text))
        columns = [c.name for c in cursor.description]
        source_rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
    assert lake_rows, f"{template} returned nothing"
    assert list(lake_rows[0]) == columns
    assert [[normalise(v) for v in r.values()] for r in lake_rows] == \
        [[normalise(v) for v in r.values()] for r in source_rows]


@pytest.mark.parametrize("engine", ENGINES)
def test_views_build_and_cover_the_source(demo_lake, pg, spark, engine):
    if engine == "spark":
        for template in analytics.sql_files("ddl") + analytics.sql_files("views"):
            query_engine.query((SQL / template).read_text(), spark=spark)
    expected = {
        "v_order_facts": "select count(*) from sales_order",
        "v_service_mix": "select count(*) from sales_order_services",
        "v_parts_demand": "select count(*) from auto_parts",
        "v_customer_lifetime_value": "select count(*) from customers",
    }
    with pg.connect() as conn:
        for view, source_sql in expected.items():
            source = conn.execute(source_sql).fetchone()[0]
            lake = run_query(engine, f"select count(*) as n from autocorp_analytics.{view}", spark)
            assert lake[0]["n"] == source, view
        lifetime = conn.execute("select sum(total_amount) from sales_order").fetchone()[0]
    lake_lifetime = run_query(
        engine, "select sum(lifetime_value) as v from autocorp_analytics.v_customer_lifetime_value", spark)
    assert Decimal(str(lake_lifetime[0]["v"])) == lifetime


@pytest.mark.parametrize("engine", ENGINES)
def test_time_travel_reads_old_value_before_the_commit(demo_lake, spark, engine):
    sql = f"select city from autocorp_curated.customers where customer_id = {demo_lake['customer']}"
    assert run_query(engine, sql, spark)[0]["city"] == "Time Travel City"
    old = run_query(engine, sql, spark, as_of=demo_lake["first_instant"])[0]["city"]
    assert old != "Time Travel City"
    assert run_query(engine, sql, spark, as_of=demo_lake["second_instant"])[0]["city"] == "Time Travel City"


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_returns_exactly_the_changed_keys(demo_lake, spark, engine):
    rows = run_query(engine, "select customer_id, city from autocorp_curated.customers", spark,
                     since=demo_lake["first_instant"])
    assert rows == [{"customer_id": demo_lake["customer"], "city": "Time Travel City"}]


def test_bad_time_is_a_clear_error(demo_lake, spark):
    with pytest.raises(query_engine.QueryError, match="YYYY-MM-DD"):
        query_engine.query("select 1 from autocorp_curated.customers", as_of="yesterday", spark=spark)


# --- the DuckDB engine (hudi-rs reads) against Spark's reads of the same Hudi tables ---------------

def by_key(rows: list[dict], key: str) -> list[dict]:
    """Rows in key order; a key can stand twice in a read-optimized read (a row moved to another
    partition: the old base file still has it until compaction), so the file breaks the tie."""
    return sorted(rows, key=lambda r: (r[key], r.get("_hoodie_partition_path") or "", r.get("_hoodie_file_name") or ""))


def test_sales_order_holds_log_files_not_yet_compacted(demo_lake):
    folder = Path(config.lake_uri("curated/hudi/sales_order"))
    logs = [p for p in folder.rglob(".*.log.*") if not p.name.endswith(".crc")]
    assert logs, "the CDC round wrote no merge-on-read log file: the comparisons below would prove nothing"
    timeline = folder / ".hoodie"
    assert not list(timeline.glob("*.commit")), "sales_order was compacted; its log files are merged already"


@pytest.mark.parametrize("mode", ["snapshot", "read_optimized"])
def test_hudi_rs_reads_merge_on_read_as_spark_does(demo_lake, spark, mode):
    ours = query_duckdb.read_hudi("sales_order", mode)
    theirs = query_duckdb.read_with_spark("sales_order", mode)
    assert sorted(ours.column_names) == sorted(theirs.column_names)
    assert ours.num_rows == theirs.num_rows
    assert by_key(ours.select(theirs.column_names).to_pylist(), "order_id") == \
        by_key(theirs.to_pylist(), "order_id")


@pytest.mark.parametrize("table", ["customers", "sales_order_parts", "service"])
def test_hudi_rs_reads_copy_on_write_as_spark_does(demo_lake, spark, table):
    key = config.registry().table(table).primary_key[0]
    ours = query_duckdb.read_hudi(table)
    theirs = query_duckdb.read_with_spark(table)
    assert by_key(ours.select(theirs.column_names).to_pylist(), key) == by_key(theirs.to_pylist(), key)


def test_snapshot_merges_updates_moves_and_deletes_from_the_logs(demo_lake, pg):
    snapshot = query_duckdb.read_hudi("sales_order").to_pylist()
    optimized = {r["order_id"]: r for r in query_duckdb.read_hudi("sales_order", "read_optimized").to_pylist()}
    latest = {r["order_id"]: r for r in snapshot}
    assert len(latest) == len(snapshot), "a key appears twice in the snapshot"
    for order in demo_lake["changed_orders"]:
        assert latest[order]["status"] == "Cancelled"
        assert latest[order]["total_amount"] == optimized[order]["total_amount"] + 1  # base file is older
    for order in demo_lake["deleted_orders"]:
        assert order not in latest and order in optimized
    with pg.connect() as conn:
        month = conn.execute("select to_char(order_date, 'YYYY-MM') from sales_order where order_id = %s",
                             (demo_lake["moved_order"],)).fetchone()[0]
        source_count = conn.execute("select count(*) from sales_order").fetchone()[0]
    assert latest[demo_lake["moved_order"]]["order_month"] == month
    assert len(latest) == source_count


def file_groups(table_dir: Path) -> dict[str, set[str]]:
    """{partition folder: ids of its file groups}."""
    return {p.name: {f.name.split("_")[0] for f in p.glob("*.parquet")}
            for p in table_dir.iterdir() if p.name.startswith("order_month=")}


def test_a_partitioned_bulk_insert_writes_one_file_group_per_partition(spark, tmp_path):
    """promote.BULK_INSERT_LAYOUT: rows of 3 months spread over 4 Spark partitions. Without it (sort
    mode NONE) each task writes a file in every month it holds."""
    from autocorp_lake.jobs import promote
    from pyspark.sql import functions as F

    spec = {"name": "layout", "primary_key": ["id"], "ordering_field": "dms_change_seq",
            "partition": {"field": "order_month"}, "hudi_table_type": "COPY_ON_WRITE"}
    rows = spark.range(0, 300).repartition(4).select(
        F.col("id").cast("int").alias("id"),
        F.concat(F.lit("2024-0"), (F.col("id") % 3 + 1).cast("string")).alias("order_month"),
        F.format_string("%020d", F.col("id")).alias("dms_change_seq"),
        F.lit(False).alias("_hoodie_is_deleted"))
    groups = {}
    for layout in ("registry", "NONE"):
        options = promote.hudi_options(spec, "bulk_insert", "b0", hive_sync=False, metadata=False)
        if layout == "NONE":
            options["hoodie.bulkinsert.sort.mode"] = "NONE"
        rows.write.format("hudi").options(**options).mode("append").save(str(tmp_path / layout))
        groups[layout] = file_groups(tmp_path / layout)
    assert len(groups["registry"]) == 3 and all(len(ids) == 1 for ids in groups["registry"].values()), groups
    assert any(len(ids) > 1 for ids in groups["NONE"].values()), "the comparison would prove nothing"


def test_the_cdc_round_adds_no_file_group_to_a_bulk_inserted_partition(demo_lake):
    """Its inserts go to the partition's file (small file handling): still one per partition."""
    groups = file_groups(Path(config.lake_uri("curated/hudi/sales_order_parts")))
    assert len(groups) > 1 and all(len(ids) == 1 for ids in groups.values()), groups


def test_each_base_file_carries_a_bloom_filter_sized_for_its_keys(demo_lake):
    """promote.BLOOM_FILTER_SIZE: a step of 10,000 keys at 1e-4 is 32 KB of footer; Hudi's default
    (60,000 keys at 1e-9) puts 431 KB in every file, whatever it holds."""
    import pyarrow.parquet as pq

    from autocorp_lake.jobs import promote

    step = int(promote.BLOOM_FILTER_SIZE["hoodie.index.bloom.num_entries"])
    checked = 0
    for spec in config.registry().tables:
        if not spec.partition:
            continue
        for path in query_duckdb.table_path(spec.name).glob("*/*.parquet"):
            footer = pq.ParquetFile(path).metadata
            bloom = footer.metadata[b"org.apache.hudi.bloomfilter"]
            steps = -(-footer.num_rows // step)
            assert footer.metadata[b"hoodie_bloom_filter_type_code"] == b"DYNAMIC_V0"
            assert 0 < len(bloom) <= 32_100 * steps, (path, footer.num_rows, len(bloom))
            checked += 1
    assert checked >= 3, "no partitioned base file was checked"


def test_the_engine_reads_base_files_in_place_and_merges_only_the_slices_with_logs(demo_lake):
    files = query_duckdb.snapshot_files("sales_order")
    assert files.base_files and files.merged is not None and files.merged.num_rows, \
        "sales_order should have slices of both kinds: the union below would prove nothing"
    ours = query_duckdb.query("select * from autocorp_curated.sales_order_rt")
    assert by_key(ours, "order_id") == by_key(query_duckdb.read_hudi("sales_order").to_pylist(), "order_id")
    optimized = query_duckdb.snapshot_files("sales_order", "read_optimized")
    assert optimized.merged is None and len(optimized.base_files) == len(files.base_files) + len(
        {(s["_hoodie_partition_path"], s["_hoodie_file_name"].split("_")[0]) for s in files.merged.to_pylist()})
    customers = query_duckdb.snapshot_files("customers")  # copy-on-write: every slice in place
    assert customers.merged is None and customers.base_files


def test_a_table_hudi_rs_cannot_read_is_read_by_spark(demo_lake, spark, capsys):
    def refuse(name, *args):
        raise OSError(f"unsupported log block in {name}")

    text = (SQL / "athena/analytics/revenue_by_month.sql").read_text()
    engine = query_duckdb.Engine(reader=refuse)
    rows = query_duckdb.query(text, engine=engine)
    assert engine.bound[(query_duckdb.CURATED_DB, "sales_order_rt")] == "spark"
    assert "hudi-rs cannot read autocorp_curated.sales_order_rt" in capsys.readouterr().err
    assert rows == query_duckdb.query(text)


def test_missing_names_and_bad_sql_are_clear_errors(demo_lake):
    with pytest.raises(query_duckdb.QueryError,
                       match=r"autocorp_curated\.nope does not exist.*sales_order_rt.*autocorp_bootstrap"):
        query_duckdb.query("select count(*) from autocorp_curated.nope")
    with pytest.raises(query_duckdb.QueryError, match=r"sales_order_rt \(snapshot\)"):
        query_duckdb.query("select count(*) from autocorp_curated.sales_order")
    with pytest.raises(query_duckdb.QueryError, match=r"v_nope does not exist.*v_order_facts"):
        query_duckdb.query("select * from autocorp_analytics.v_nope")
    with pytest.raises(query_duckdb.QueryError, match=r"cannot parse .*line 1, column"):
        query_duckdb.query("select from where")
    with pytest.raises(query_duckdb.QueryError, match="YYYY-MM-DD"):
        query_duckdb.query("select 1 from autocorp_curated.customers", as_of="yesterday")


def cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "autocorp-lake"
    return subprocess.run([str(exe), "query", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_stdout_holds_only_the_result(demo_lake, engine):
    text = (SQL / "athena/analytics/orders_by_status.sql").read_text()
    expected = json.loads(json.dumps(query_duckdb.query(text), default=str))
    result = cli(text, "--format", "json", "--engine", engine)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
    result = cli(text, "--format", "csv", "--engine", engine)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["status"] for r in rows] == [r["status"] for r in expected]
    assert [int(r["orders"]) for r in rows] == [r["orders"] for r in expected]


def test_cli_error_names_the_table_on_stderr_only(demo_lake):
    result = cli("select * from autocorp_curated.custmers", "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "autocorp_curated.custmers does not exist" in result.stderr


def test_hudi_rs_reads_bucket_index_merge_on_read_with_compaction(demo_lake, spark):
    """The layout an unpartitioned merge-on-read table gets from promote (bucket index), with an
    inline compaction between log writes: updates, compaction, then deletes and updates that add a
    column (schema evolution) in log files on the compacted base."""
    from autocorp_lake.jobs import promote
    from pyspark.sql import functions as F

    name = "customers_mor_bucket"
    spec = {"name": name, "primary_key": ["customer_id"], "ordering_field": "dms_change_seq",
            "partition": None, "hudi_table_type": "MERGE_ON_READ", "buckets": 2}
    path = config.lake_uri(f"curated/hudi/{name}")
    source = spark.read.format("hudi").load(config.lake_uri("curated/hudi/customers"))
    source = source.drop(*[c for c in source.columns if c.startswith("_hoodie_") and c != "_hoodie_is_deleted"])
    later = F.concat(F.col("dms_change_seq"), F.lit("9"))
    writes = [
        source,
        source.filter("customer_id % 10 = 0").withColumn("city", F.lit("Bucket City")).withColumn("dms_change_seq", later),
        source.filter("customer_id % 10 = 1").withColumn("_hoodie_is_deleted", F.lit(True))
        .withColumn("dms_change_seq", later).withColumn("loyalty_tier", F.lit(None).cast("string"))
        .unionByName(source.filter("customer_id % 10 = 2").withColumn("dms_change_seq", later)
                     .withColumn("loyalty_tier", F.lit("gold"))),
    ]
    for number, frame in enumerate(writes):
        options = promote.hudi_options(spec, "upsert", f"b{number}", hive_sync=False, metadata=False)
        options["hoodie.compact.inline.max.delta.commits"] = "2"
        frame.write.format("hudi").options(**options).mode("overwrite" if number == 0 else "append").save(path)
    timeline = Path(path) / ".hoodie"
    assert list(timeline.glob("*.commit")), "no compaction ran"
    assert [p for p in Path(path).glob(".*.log.*") if not p.name.endswith(".crc")], "no log file after compaction"
    for mode in ("snapshot", "read_optimized"):
        ours = query_duckdb.read_hudi(name, mode)
        theirs = query_duckdb.read_with_spark(name, mode)
        assert by_key(ours.select(theirs.column_names).to_pylist(), "customer_id") == \
            by_key(theirs.to_pylist(), "customer_id"), mode
    snapshot = query_duckdb.query(f"select count(*) as n, count_if(city = 'Bucket City') as moved "
                                  f"from autocorp_curated.{name}_rt")[0]
    assert snapshot["n"] == source.filter("customer_id % 10 != 1").count()
    assert snapshot["moved"] == source.filter("customer_id % 10 = 0").count()
    gold = query_duckdb.query(f"select count(*) as n from autocorp_curated.{name}_rt where loyalty_tier = 'gold'")
    assert gold == [{"n": source.filter("customer_id % 10 = 2").count()}]


def test_incremental_and_time_travel_on_merge_on_read_equal_spark(demo_lake, spark):
    timeline = Path(config.lake_uri("curated/hudi/sales_order")) / ".hoodie"
    first = sorted(p.name.split(".")[0] for p in timeline.glob("*.deltacommit"))[0]
    sql = "select order_id, status, total_amount, order_month from autocorp_curated.sales_order_rt order by order_id"
    since = {engine: run_query(engine, sql, spark, since=first) for engine in ENGINES}
    assert since["duckdb"] == since["spark"]
    assert {r["order_id"] for r in since["duckdb"]} >= set(demo_lake["changed_orders"])
    as_of = {engine: run_query(engine, sql, spark, as_of=first) for engine in ENGINES}
    assert as_of["duckdb"] == as_of["spark"]
    assert set(demo_lake["deleted_orders"]) <= {r["order_id"] for r in as_of["duckdb"]}
