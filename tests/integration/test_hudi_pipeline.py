"""Real Spark + Hudi + the PostgreSQL-backed metastore: synthetic DMS files -> apply -> promote.

The tests of this module run in order on one lake (a module fixture): first load, a CDC batch with
the hard cases, reruns that must change nothing, a new source column.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from autocorp_lake.local.jobs import run_glue_script

pytestmark = [pytest.mark.integration, pytest.mark.spark]

TS = pa.timestamp("us")
DEC = pa.decimal128(12, 2)
CUSTOMERS = [
    ("customer_id", pa.int32()), ("first_name", pa.string()), ("email", pa.string()),
    ("created_at", TS), ("updated_at", TS),
]
SALES_ORDER = [
    ("order_id", pa.int32()), ("customer_id", pa.int32()), ("order_date", TS),
    ("invoice_number", pa.string()), ("subtotal", DEC), ("total_amount", DEC),
    ("status", pa.string()), ("updated_at", TS),
]
COLUMNS = {"customers": CUSTOMERS, "sales_order": SALES_ORDER}
KEYS = {"customers": "customer_id", "sales_order": "order_id"}


class Dms:
    """Writes files of the DMS S3 contract and keeps the expected table image."""

    def __init__(self, lake: Path):
        self.lake = lake
        self.seq = 0
        self.image: dict[str, dict] = {"customers": {}, "sales_order": {}}
        self.load_counter: dict[str, int] = {}
        self.clock = dt.datetime(2024, 6, 1, 12, 0, 0)

    def _file(self, table: str, changes: list[tuple[str, dict]], cdc: bool, extra=()) -> Path:
        columns = COLUMNS[table] + list(extra)
        data: dict[str, list] = {"Op": [], "dms_commit_ts": []}
        data.update({name: [] for name, _ in columns})
        data["dms_change_seq"] = []
        for op, row in changes:
            self.seq += 1
            data["Op"].append(op)
            data["dms_commit_ts"].append(self.clock.strftime("%Y-%m-%d %H:%M:%S.%f"))
            for name, _ in columns:
                data[name].append(row.get(name))
            data["dms_change_seq"].append(f"{self.seq:020d}")
            key = row[KEYS[table]]
            if op == "D":
                self.image[table].pop(key, None)
            else:
                self.image[table][key] = {name: row.get(name) for name, _ in columns}
        schema = pa.schema(
            [("Op", pa.string()), ("dms_commit_ts", pa.string())]
            + [pa.field(n, t) for n, t in columns]
            + [("dms_change_seq", pa.string())]
        )
        if cdc:
            self.clock += dt.timedelta(seconds=7)
            folder = self.lake / "raw/database/public" / table / self.clock.strftime("%Y/%m/%d")
            name = self.clock.strftime("%Y%m%d-%H%M%S") + f"{self.clock.microsecond // 1000:03d}.parquet"
        else:
            self.load_counter[table] = self.load_counter.get(table, 0) + 1
            folder = self.lake / "raw/database/public" / table
            name = f"LOAD{self.load_counter[table]:08X}.parquet"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(data, schema=schema), folder / name)
        return folder / name

    def full_load(self, table, rows):
        return self._file(table, [("I", r) for r in rows], cdc=False)

    def cdc(self, table, changes, extra=()):
        return self._file(table, changes, cdc=True, extra=extra)


def customer(i, name=None, email=None, **extra):
    row = {"customer_id": i, "first_name": name or f"name{i}", "email": email or f"c{i}@x.test",
           "created_at": dt.datetime(2024, 1, 1, 8, 0, 0, 123456),
           "updated_at": dt.datetime(2024, 1, 2, 9, 30, 0, 1)}
    row.update(extra)
    return row


def order(i, month=1, status="new", subtotal="10.50"):
    sub = Decimal(subtotal)
    return {"order_id": i, "customer_id": 1, "order_date": dt.datetime(2024, month, 15, 10, 0, 0, 654321),
            "invoice_number": f"INV-{i:05d}", "subtotal": sub, "total_amount": sub + Decimal("1.05"),
            "status": status, "updated_at": dt.datetime(2024, month, 16, 0, 0, 0, 999999)}


@pytest.fixture(scope="module")
def lake(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("pipeline-lake")
    for name in ("customers", "sales_order", "sales_order_ro", "sales_order_rt"):
        spark.sql(f"drop table if exists autocorp_curated.{name}")
    return root


@pytest.fixture(scope="module")
def dms(lake):
    return Dms(lake)


def stage(lake: Path, table: str, run_id: str) -> dict:
    """apply_changes' staging alone (these synthetic batches test Hudi, not the gate's suites)."""
    from autocorp_lake.jobs import apply_changes, glue
    from autocorp_lake.lake import BatchArgs

    return apply_changes.stage(glue.get_spark(), BatchArgs.of("table", table, run_id, str(lake)))


def promote(lake: Path, table: str, run_id: str) -> dict:
    args = {"kind": "table", "name": table, "run_id": run_id, "lake_root": str(lake)}
    return run_glue_script("promote", args)[table]


def apply_and_promote(lake: Path, table: str, run_id: str) -> tuple[dict, dict]:
    return stage(lake, table, run_id), promote(lake, table, run_id)


def snapshot(spark, lake: Path, table: str, columns=None) -> dict:
    df = spark.read.format("hudi").load(str(lake / "curated/hudi" / table))
    columns = columns or [n for n, _ in COLUMNS[table]]
    return {row[KEYS[table]]: row.asDict() for row in df.select(*columns).collect()}


def commits(lake: Path, table: str) -> list[str]:
    timeline = lake / "curated/hudi" / table / ".hoodie"
    return sorted(p.name for p in timeline.iterdir() if p.suffix in (".commit", ".deltacommit"))


def assert_image(spark, lake, dms, table, columns=None):
    got = snapshot(spark, lake, table, columns)
    want = {k: {c: v.get(c) for c in (columns or v)} for k, v in dms.image[table].items()}
    assert got == want


def test_first_load_bulk_inserts_the_image(spark, lake, dms):
    dms.full_load("customers", [customer(i) for i in range(1, 6)])
    dms.full_load("sales_order", [order(1, 1), order(2, 1), order(3, 2), order(4, 2)])
    for table in ("customers", "sales_order"):
        manifest, result = apply_and_promote(lake, table, "run_001")
        assert manifest["mode"] == "bulk_insert" and result["operation"] == "bulk_insert"
        assert manifest["counts"] == {"I": len(dms.image[table]), "U": 0, "D": 0}
        staged = json.loads((lake / f"staged/{table}/run_001/_batch.json").read_text())
        assert {"Op", "dms_change_seq", "dms_commit_ts"} <= {f["name"] for f in staged["schema"]}
        assert_image(spark, lake, dms, table)
    parts = sorted(p.name for p in (lake / "curated/hudi/sales_order").glob("order_month=*"))
    assert parts == ["order_month=2024-01", "order_month=2024-02"]
    props = (lake / "curated/hudi/sales_order/.hoodie/hoodie.properties").read_text()
    assert "hoodie.table.type=MERGE_ON_READ" in props
    checkpoint = json.loads((lake / "staged/_checkpoints/customers.json").read_text())
    assert checkpoint["files"] == ["raw/database/public/customers/LOAD00000001.parquet"]


def test_cdc_batch_with_the_hard_cases(spark, lake, dms):
    # customers, two CDC files in one batch
    dms.cdc("customers", [
        ("U", customer(1, name="first")),
        ("U", customer(1, name="second")),
        ("I", customer(6)),                       # insert + delete in one batch
        ("D", customer(6)),
        ("D", customer(2)),                       # delete then re-insert
        ("I", customer(2, name="reborn", email="new2@x.test")),
    ])
    dms.cdc("customers", [
        ("U", customer(1, name="third")),         # many updates of one key: last wins
        ("D", customer(3)),                       # primary-key change 3 -> 7 = D old + I new
        ("I", customer(7, name="name3", email="c3@x.test")),
        ("I", customer(8)),
    ])
    dms.cdc("sales_order", [
        ("U", order(1, month=3, status="moved")),  # month changes: partition moves
        ("D", order(2, 1)),
        ("U", order(3, 2, status="paid", subtotal="20.00")),
        ("U", order(3, 2, status="shipped", subtotal="20.00")),
        ("I", order(5, 3)),
    ])
    for table in ("customers", "sales_order"):
        before = commits(lake, table)
        manifest, result = apply_and_promote(lake, table, "run_002")
        assert manifest["mode"] == "upsert" and result["operation"] == "upsert"
        assert len(commits(lake, table)) == len(before) + 1
        assert_image(spark, lake, dms, table)
    customers = snapshot(spark, lake, "customers")
    assert customers[1]["first_name"] == "third"
    assert 6 not in customers and 3 not in customers
    assert customers[2]["first_name"] == "reborn" and customers[7]["email"] == "c3@x.test"
    orders = spark.read.format("hudi").load(str(lake / "curated/hudi/sales_order"))
    months = {r.order_id: r.order_month for r in orders.select("order_id", "order_month").collect()}
    assert months == {1: "2024-03", 3: "2024-02", 4: "2024-02", 5: "2024-03"}


def test_rerun_changes_nothing(spark, lake, dms):
    tables = ("customers", "sales_order")
    data = {t: snapshot(spark, lake, t) for t in tables}
    timeline = {t: commits(lake, t) for t in tables}
    for table in tables:
        apply_and_promote(lake, table, "run_002")              # the same batch again
        manifest, result = apply_and_promote(lake, table, "run_003")  # no new input
        assert manifest["rows"] == 0 and not result["written"]
        # a crash after the Hudi commit, before the checkpoint: promote sees the batch on the timeline
        cp_path = lake / f"staged/_checkpoints/{table}.json"
        cp = json.loads(cp_path.read_text())
        cp["batches"].remove("run_002")
        cp_path.write_text(json.dumps(cp))
        result = promote(lake, table, "run_002")
        assert not result["written"] and "timeline" in result["skipped"]
    assert {t: snapshot(spark, lake, t) for t in tables} == data
    assert {t: commits(lake, t) for t in tables} == timeline


def test_new_source_column_becomes_nullable_in_table_and_catalog(spark, lake, dms):
    extra = [("loyalty_tier", pa.string())]
    dms.cdc("customers", [("U", customer(4, loyalty_tier="gold")), ("I", customer(9, loyalty_tier="silver"))],
            extra=extra)
    apply_and_promote(lake, "customers", "run_004")
    columns = [n for n, _ in CUSTOMERS] + ["loyalty_tier"]
    got = snapshot(spark, lake, "customers", columns)
    assert got[4]["loyalty_tier"] == "gold" and got[9]["loyalty_tier"] == "silver"
    assert got[1]["loyalty_tier"] is None
    assert_image(spark, lake, dms, "customers", columns)
    field = spark.read.format("hudi").load(str(lake / "curated/hudi/customers")).schema["loyalty_tier"]
    assert field.nullable
    spark.catalog.refreshTable("autocorp_curated.customers")
    described = {r.col_name: r.data_type for r in spark.sql("describe autocorp_curated.customers").collect()}
    assert described.get("loyalty_tier") == "string"
    catalog_columns = {c.name for c in spark.catalog.listColumns("autocorp_curated.customers")}
    assert "loyalty_tier" in catalog_columns


def test_catalog_has_the_synced_tables(spark, lake):
    names = {t.name for t in spark.catalog.listTables("autocorp_curated")}
    assert {"customers", "sales_order_ro", "sales_order_rt"} <= names
    rows = spark.table("autocorp_curated.sales_order_rt").where("order_id = 3").collect()
    assert rows[0]["status"] == "shipped"


def test_a_quarantined_batch_is_held_back_and_does_not_block_the_next_run(spark, lake, dms):
    """The gate moves a failed batch to quarantine (as gate.run_gate does); the next run takes only
    the newer files, and the released batch is promoted after it: the older change wins nowhere."""
    from autocorp_lake import lake as lake_io

    columns = [n for n, _ in CUSTOMERS] + ["loyalty_tier"]
    extra = [("loyalty_tier", pa.string())]
    before = snapshot(spark, lake, "customers", columns)
    held_key, next_key = sorted(before)[0], sorted(before)[-1]
    held_file = dms.cdc("customers", [("U", customer(held_key, name="held", loyalty_tier="bronze"))], extra=extra)
    held = stage(lake, "customers", "run_bad")
    assert held["rows"] == 1
    staged, quarantine = lake / "staged/customers/run_bad", lake / "quarantine/customers/run_bad/batch"
    lake_io.move_tree(str(staged), str(quarantine))

    dms.cdc("customers", [("U", customer(next_key, name="next", loyalty_tier="gold"))], extra=extra)
    manifest, result = apply_and_promote(lake, "customers", "run_next")
    assert str(held_file.relative_to(lake)) not in manifest["files"] and manifest["rows"] == 1
    assert result["written"]
    got = snapshot(spark, lake, "customers", columns)
    assert got[next_key]["first_name"] == "next" and got[held_key] == before[held_key]  # held back

    lake_io.move_tree(str(quarantine), str(staged))  # what release does before its gate and promote
    released = promote(lake, "customers", "run_bad")
    assert released["written"]
    assert_image(spark, lake, dms, "customers", columns)
    manifest, result = apply_and_promote(lake, "customers", "run_after")
    assert manifest["rows"] == 0 and not result["written"]  # nothing replayed


def test_the_catalog_is_synced_only_when_a_commit_changes_it(spark, lake, dms):
    """A new partition (or column, or table) is synced to the catalog, where Athena finds a Hudi
    table's partitions; a CDC batch into known partitions skips the metastore round trips."""
    dms.cdc("sales_order", [("I", order(6, 4))])  # the first order of 2024-04
    _, result = apply_and_promote(lake, "sales_order", "run_sync_1")
    assert result["written"] and result["catalog_synced"] is True
    partitions = {row[0] for row in spark.sql("show partitions autocorp_curated.sales_order_ro").collect()}
    assert "order_month=2024-04" in partitions

    dms.cdc("sales_order", [("U", order(6, 4, status="paid"))])
    _, result = apply_and_promote(lake, "sales_order", "run_sync_2")
    assert result["written"] and result["catalog_synced"] is False
    spark.catalog.refreshTable("autocorp_curated.sales_order_rt")
    assert spark.table("autocorp_curated.sales_order_rt").where("order_id = 6").first()["status"] == "paid"
    assert_image(spark, lake, dms, "sales_order")
