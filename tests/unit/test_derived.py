"""The derived `_chk_*` columns: one batch through both engines gives the same columns row by row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import derived, gate, suites

REPO = Path(__file__).resolve().parents[2]
DEC = pa.decimal128(10, 2)

# every kind, and each with a column the batch does not have
EXTRA_SPECS = [
    {"name": "_chk_time", "kind": "timestamp", "column": "dms_commit_ts"},
    {"name": "_chk_no_time", "kind": "timestamp", "column": "no_such_column"},
    {"name": "_chk_cost_diff", "kind": "linear", "target": "line_total", "sum": ["labor_cost", "parts_cost"]},
    {"name": "_chk_missing_term", "kind": "linear", "target": "line_total", "sum": ["labor_cost", "no_such_column"]},
    {"name": "_chk_orphan_missing", "kind": "orphan", "column": "no_such_column",
     "parent": {"kind": "table", "name": "service", "column": "serviceid"}},
    {"name": "_chk_orphan_line", "kind": "orphan", "column": "line_item_id",  # a key: kept on deletes
     "parent": {"kind": "table", "name": "sales_order", "column": "order_id"}},
    {"name": "_chk_orphan_no_parent", "kind": "orphan", "column": "order_id",
     "parent": {"kind": "table", "name": "auto_parts", "column": "part_id"}},
]


def _write(folder: Path, table: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet")


def write_batch(lake: Path) -> list[str]:
    """Parents (a staged sales_order batch, the feed's staged sales_orders, a curated service base
    file; auto_parts has no data) and the child batch; returns the batch's files."""
    orders = pa.table({"order_id": pa.array([1, 2, 3], pa.int32())})
    _write(lake / "staged" / "sales_order" / "run_p", orders)
    _write(lake / "staged" / "feed_sales_orders" / "run_p", orders)
    _write(lake / "curated" / "hudi" / "service" / "2024", pa.table({"serviceid": pa.array([10, 11], pa.int32())}))
    n = 8
    batch = pa.table({
        "Op": pa.array(["I", "U", "D", "I", None, "D", "I", "U"]),
        "dms_commit_ts": pa.array(["2026-01-10 11:00:00.000000", "2026-01-10 11:00:00.250000", "not a time",
                                   None, "2026-01-09 08:30:00.000000", "2026-01-10 11:00:00.000000",
                                   "2026-01-10 11:00:00.123456", "x"]),
        "line_item_id": pa.array([1, 2, 3, 4, 5, 6, 7, 8], pa.int32()),
        "order_id": pa.array([1, 2, 99, 3, 98, None, 2, 97], pa.int32()),
        "serviceid": pa.array([10, 12, 10, None, 11, 13, 10, 10], pa.int32()),
        "quantity": pa.array([1, 2, 1, 3, None, 1, 2, 1], pa.int32()),
        "labor_cost": pa.array([Decimal("50.00"), Decimal("20.10"), None, Decimal("5.25"), Decimal("1.00"),
                                Decimal("3.00"), Decimal("7.70"), Decimal("0.10")], DEC),
        "parts_cost": pa.array([Decimal("10.00"), None, Decimal("2.00"), Decimal("1.10"), None, None,
                                Decimal("0.20"), Decimal("0.20")], DEC),
        "line_total": pa.array([Decimal("60.00"), Decimal("40.20"), Decimal("2.00"), Decimal("19.05"),
                                Decimal("1.00"), None, Decimal("15.81"), Decimal("0.30")], DEC),
        "notes": pa.array(["a", None, "c", "d", "e", "f", "g", "h"]),
        "dms_change_seq": pa.array([f"{i:026d}" for i in range(n)]),
        "_hoodie_is_deleted": pa.array([False] * n),
    })
    folder = lake / "staged" / "sales_order_services" / "run_1"
    _write(folder, batch)
    return [str(folder / "part-00000.parquet")]


def _plain(value):
    """A value both engines can be compared by: None for any null, floats as floats, the rest as
    text (an orphan is the key as it is on pandas, as a string on Spark)."""
    import pandas as pd

    if pd.isna(value):
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (float, Decimal)):
        return float(value)
    return str(value)


def _spark_rows(df) -> list[dict]:
    from pyspark.sql import functions as F

    columns = [F.date_format(f.name, "yyyy-MM-dd HH:mm:ss.SSSSSS").alias(f.name)
               if f.dataType.typeName() == "timestamp" else F.col(f.name) for f in df.schema.fields]
    rows = [row.asDict() for row in df.select(*columns).collect()]
    return sorted(rows, key=lambda row: row["line_item_id"])


@pytest.mark.parametrize("kind", ["table", "feed"])
def test_both_engines_derive_the_same_columns(spark, tmp_path, kind):
    lake = tmp_path / "lake"
    files = write_batch(lake)
    batch = BatchArgs.of(kind, "sales_order_services", "run_1", str(lake), str(REPO / "include" / "tables.yaml"))
    specs = suites.derived_columns(suites.read_suite_json(batch.zone)) + EXTRA_SPECS
    assert {spec["kind"] for spec in specs} == set(derived.KINDS)  # a new kind: add it to this batch

    notes = {"pandas": [], "spark": []}
    key = ("line_item_id",)
    by_pandas = derived.add_derived(gate.to_pandas(files), "pandas", specs, batch, notes["pandas"], key)
    by_spark = derived.add_derived(spark.read.parquet(*files), "spark", specs, batch, notes["spark"], key)

    assert list(by_pandas.columns) == by_spark.columns
    pandas_rows = sorted(by_pandas.to_dict("records"), key=lambda row: row["line_item_id"])
    pandas_rows = [{k: _plain(v) for k, v in row.items()} for row in pandas_rows]
    spark_rows = [{k: _plain(v) for k, v in row.items()} for row in _spark_rows(by_spark)]
    for pandas_row, spark_row in zip(pandas_rows, spark_rows, strict=True):
        assert pandas_row == spark_row
    assert notes["pandas"] == notes["spark"] == [
        "_chk_orphan_no_parent: parent table auto_parts has no data yet; check skipped"]

    by_id = {row["line_item_id"]: row for row in pandas_rows}
    def orphans(column):
        return [i for i, row in by_id.items() if row[column] is not None]

    table = kind == "table"  # a table's delete rows (3, 6) are masked and never orphans
    assert orphans("_chk_orphan_order_id") == (["5", "8"] if table else ["3", "5", "8"])
    assert orphans("_chk_orphan_serviceid") == (["2"] if table else ["2", "6"])
    assert orphans("_chk_orphan_line") == (["4", "5", "7", "8"] if table else ["4", "5", "6", "7", "8"])
    assert orphans("_chk_orphan_missing") == orphans("_chk_orphan_no_parent") == []
    deleted = by_id["3"]
    assert (deleted["notes"], deleted["order_id"], deleted["Op"]) == (
        (None, None, "D") if table else ("c", "99", "D"))
    assert [by_id[i]["_chk_time"] for i in ("1", "2", "3", "4")] == [
        "2026-01-10 11:00:00.000000", "2026-01-10 11:00:00.250000", None, None]
    assert by_id["2"]["_chk_line_total_diff"] == 0.0 and by_id["2"]["_chk_cost_diff"] is None
    assert by_id["7"]["_chk_line_total_diff"] == 0.01


def test_an_unknown_kind_is_a_gate_error(tmp_path):
    import pandas as pd

    batch = BatchArgs.of("table", "sales_order", "run_1", str(tmp_path), str(REPO / "include" / "tables.yaml"))
    with pytest.raises(gate.GateError, match="unknown derived column kind 'ratio' in the suite"):
        derived.add_derived(pd.DataFrame({"a": [1]}), "pandas", [{"name": "_chk_x", "kind": "ratio"}], batch, [])
