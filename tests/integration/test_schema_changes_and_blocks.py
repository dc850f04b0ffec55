"""Operating the lake through real source changes, with real PostgreSQL, the local DMS, Spark +
Hudi, GX and the catalog:
- ALTER TABLE ... ADD COLUMN flows raw -> staged -> gate (a warning) -> curated -> catalog -> SQL;
- DROP COLUMN and a type change are blocked, shown as blocked, and flow again after the
  documented fix (suite update + bootstrap with reset);
- a quarantined batch is fixed with Spark and released; a failed release goes back to quarantine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autocorp_lake import config
from autocorp_lake.local import query_engine, replicator
from autocorp_lake.local.jobs import run_glue_script
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import dispatch, gate, held, release
from autocorp_lake.reconcile import reconcile

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REPO = Path(__file__).resolve().parents[2]
PARTS = """insert into auto_parts (sku, name, category, price, created_at) values
    ('P-1', 'Brake pad', 'Brakes', 49.99, '2024-01-02 03:04:05'),
    ('P-2', 'Oil filter', 'Filters', 9.50, '2024-01-03 00:00:00'),
    ('P-3', 'Spark plug', 'Ignition', 4.25, null)"""


@pytest.fixture()
def lake(tmp_path, monkeypatch, spark, source_db):
    monkeypatch.setenv("AUTOCORP_LAKE_DIR", str(tmp_path / "lake"))
    for name in config.registry().table_names + ["sales_order_ro", "sales_order_rt"]:
        spark.sql(f"drop table if exists autocorp_curated.{name}")
    with source_db.connect() as conn:
        conn.execute("alter table auto_parts drop column if exists warranty_months")
        conn.execute(PARTS)
    yield config.lake_uri()
    with source_db.connect() as conn:  # the schema back as 001_schema.sql has it, for later tests
        conn.execute("truncate auto_parts restart identity cascade")
        conn.execute("alter table auto_parts drop column if exists warranty_months")
        conn.execute("alter table auto_parts add column if not exists category varchar(100)")
        conn.execute("alter table auto_parts alter column price type numeric(10, 2)")
        cols = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_name = 'auto_parts' "
            "order by ordinal_position").fetchall()]
        if cols != ["part_id", "sku", "name", "category", "price", "created_at", "updated_at"]:
            conn.execute("drop table auto_parts cascade")
            source_db.apply_source_schema()


def quiet(*args, **kwargs):
    return None


def stage(table: str, run_id: str) -> dict:
    batch = BatchArgs.of("table", table, run_id).script_args()
    run_glue_script("apply_changes", {k.removeprefix("--"): v for k, v in batch.items()})
    return batch


def promote(batch: dict) -> dict:
    return run_glue_script("promote", {k.removeprefix("--"): v for k, v in batch.items()})[batch["--name"]]


def gate_verdict(batch: dict) -> dict:
    """What the table's quality_gate task does: read the verdict apply_changes' gate wrote."""
    return dispatch.verdict(BatchArgs.from_script_args(batch))


def cycle(table: str, run_id: str) -> dict:
    """apply_changes (stage + gate) -> quality_gate -> promote, as the DAG's table pipeline runs them."""
    batch = stage(table, run_id)
    verdict = gate_verdict(batch)
    promote(batch)
    return verdict


def change(source_db, *statements: str) -> None:
    with source_db.connect() as conn:
        for statement in statements:
            conn.execute(statement)
    replicator.capture_batch(log=quiet)


def state_of(table: str) -> dict:
    return next(row for row in held.table_states() if row["table"] == table)


def assert_reconciled(spark, lake, table: str = "auto_parts") -> None:
    rows = reconcile(tables=[table], spark=spark, lake_root=lake)
    assert [(r["missing"], r["extra"], r["different"]) for r in rows] == [(0, 0, 0)], rows


def schema_drift_rules(verdict: dict) -> list[str]:
    return [w["rule"] for w in verdict["warnings"] if w["expectation"].startswith("schema_drift")]


def test_added_column_flows_to_curated_catalog_and_sql(source_db, spark, lake):
    replicator.full_load(log=quiet)
    cycle("auto_parts", "b0")

    change(source_db,
           "alter table auto_parts add column warranty_months integer",
           "update auto_parts set warranty_months = 24 where part_id = 1",
           "insert into auto_parts (sku, name, price, warranty_months) values ('P-4', 'Wiper', 12.00, 12)")
    verdict = cycle("auto_parts", "c1")
    assert schema_drift_rules(verdict) == [
        "new column warranty_months (int) in the source: added to the curated table"]
    assert verdict["critical_failures"] == []

    curated = spark.read.format("hudi").load(f"{lake}/curated/hudi/auto_parts")
    assert {r["part_id"]: r["warranty_months"] for r in curated.collect()} == {1: 24, 2: None, 3: None, 4: 12}
    described = {r["col_name"] for r in spark.sql("describe autocorp_curated.auto_parts").collect()}
    assert "warranty_months" in described
    answer = query_engine.query(
        "select part_id, warranty_months from autocorp_curated.auto_parts "
        "where warranty_months is not null order by part_id", spark=spark)
    assert answer == [{"part_id": 1, "warranty_months": 24}, {"part_id": 4, "warranty_months": 12}]
    assert_reconciled(spark, lake)  # reconcile compares the new column too

    # the next round sees the column in the curated table: no more warning
    change(source_db, "update auto_parts set warranty_months = 6 where part_id = 2")
    assert schema_drift_rules(cycle("auto_parts", "c2")) == []
    assert_reconciled(spark, lake)
    assert state_of("auto_parts")["state"] == "ok"


def _suite_without(column: str, table: str, folder: Path) -> Path:
    """The documented fix's first step: the suite updated to the new schema."""
    include = folder / "include"
    shutil.copytree(REPO / "include", include)
    path = include / "quality" / f"{table}.json"
    suite = json.loads(path.read_text())
    kept = []
    for item in suite["expectations"]:
        if item["kwargs"].get("column") == column:
            continue
        if item["type"] == "expect_table_columns_to_match_set":
            item["kwargs"]["column_set"] = [c for c in item["kwargs"]["column_set"] if c != column]
        kept.append(item)
    suite["expectations"] = kept
    path.write_text(json.dumps(suite, indent=2))
    return include


def rebuild_with_reset(table: str, run_id: str) -> dict:
    """What `autocorp-lake run autocorp_bootstrap --conf '{"reset": true}'` does for one table."""
    from autocorp_lake.targets import local as local_target

    local_target._forget_database_tables()
    replicator.full_load(log=quiet, reset=True)
    return cycle(table, run_id)


def test_dropped_column_blocks_until_the_documented_rebuild(source_db, spark, lake, tmp_path, monkeypatch):
    replicator.full_load(log=quiet)
    cycle("auto_parts", "b0")

    change(source_db, "alter table auto_parts drop column category",
           "update auto_parts set price = 51.00 where part_id = 1")
    batch = stage("auto_parts", "c1")
    with pytest.raises(gate.QualityGateFailed) as failed:
        gate_verdict(batch)
    message = str(failed.value)
    assert "column category is in the curated table but not in the batch" in message
    assert "autocorp_bootstrap --conf" in message and "include/quality/auto_parts.json" in message

    blocked = state_of("auto_parts")
    assert (blocked["state"], blocked["held_batches"], blocked["held_changes"]) == ("blocked", 1, 1)
    assert blocked["freshness_seconds"] > 0 and "autocorp-lake release auto_parts c1" in blocked["fix"]
    # a later change of the table waits as well: the table stays blocked, freshness keeps growing
    change(source_db, "update auto_parts set price = 52.00 where part_id = 2")
    assert state_of("auto_parts")["freshness_seconds"] >= blocked["freshness_seconds"]

    monkeypatch.setenv("AUTOCORP_INCLUDE_DIR", str(_suite_without("category", "auto_parts", tmp_path)))
    verdict = rebuild_with_reset("auto_parts", "b1")
    assert verdict["status"] in ("passed", "warning")
    assert state_of("auto_parts")["state"] == "ok"
    assert "category" not in spark.read.format("hudi").load(f"{lake}/curated/hudi/auto_parts").columns
    # the reset dropped the old catalog entry: the rebuilt table registered its new schema
    assert "category" not in {r["col_name"] for r in spark.sql("describe autocorp_curated.auto_parts").collect()}
    assert_reconciled(spark, lake)

    change(source_db, "update auto_parts set price = 53.00 where part_id = 3")
    cycle("auto_parts", "c2")
    assert_reconciled(spark, lake)


def test_type_change_blocks_until_rebuilt(source_db, spark, lake):
    replicator.full_load(log=quiet)
    cycle("auto_parts", "b0")

    change(source_db, "alter table auto_parts alter column price type numeric(12, 2)",
           "update auto_parts set price = 1234567890.12 where part_id = 1")
    batch = stage("auto_parts", "c1")
    with pytest.raises(gate.QualityGateFailed, match=r"column price changed type: decimal\(10,2\) in the "
                                                      r"curated table, decimal\(12,2\) in the batch"):
        gate_verdict(batch)
    assert state_of("auto_parts")["state"] == "blocked"

    rebuild_with_reset("auto_parts", "b1")  # the suite accepts any decimal: no suite change needed
    assert state_of("auto_parts")["state"] == "ok"
    assert_reconciled(spark, lake)


def test_fix_and_release_and_a_failed_release_goes_back(source_db, spark, lake, tmp_path):
    replicator.full_load(log=quiet)
    cycle("auto_parts", "b0")
    hudi = f"{lake}/curated/hudi/auto_parts"

    change(source_db, "update auto_parts set price = -5 where part_id = 2",
           "update auto_parts set name = 'Iridium plug' where part_id = 3")
    batch = stage("auto_parts", "c1")
    with pytest.raises(gate.QualityGateFailed, match="price >= 0"):
        gate_verdict(batch)
    assert state_of("auto_parts")["held_changes"] == 2

    # a promote that fails after the gate passed: the batch goes back to quarantine, still blocked
    def broken_promote():
        raise RuntimeError("disk full")

    held_batch = BatchArgs.of_zone("auto_parts", "c1", lake)
    release.fix_batch(spark, held_batch, "part_id", exclude_keys=["2"])
    with pytest.raises(gate.GateError, match="back in"):
        release.release_and_promote(held_batch, broken_promote)
    assert Path(release.quarantined_batch(held_batch)).is_dir()
    assert not Path(held_batch.staged).exists()
    assert state_of("auto_parts")["state"] == "blocked"

    # the Spark-rewritten batch keeps the table's parquet types: promote merges it
    result = release.release_and_promote(held_batch, lambda: promote(batch))
    assert result["promote"]["written"] is True
    assert state_of("auto_parts")["state"] == "ok"
    rows = {r["part_id"]: r for r in spark.read.format("hudi").load(hudi).collect()}
    assert rows[3]["name"] == "Iridium plug" and float(rows[2]["price"]) == 9.50
    # the excluded change is the one difference between source and lake
    diff = reconcile(tables=["auto_parts"], spark=spark, lake_root=lake)[0]
    assert (diff["missing"], diff["extra"], diff["different"]) == (0, 0, 1)
