"""A quarantined batch leaves the curated Hudi table alone: its commit timeline and data files are
byte-for-byte the same, and promote cannot publish the batch (it is no longer staged)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_quality_gate import NOW, _customers_table, _orders_table, batch_args, write_staged  # noqa: E402


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _stage(lake: Path, run_id: str, table: pa.Table, mode: str) -> None:
    folder = write_staged(lake, "sales_order", run_id, table)
    (folder / "_batch.json").write_text(json.dumps({
        "table": "sales_order", "run_id": run_id, "rows": table.num_rows, "files": [], "mode": mode,
        "counts": {"I": table.num_rows, "U": 0, "D": 0},
    }))


def test_quarantined_batch_leaves_the_hudi_timeline_untouched(spark, tmp_path):
    from autocorp_lake.jobs import promote

    from autocorp_lake.quality import gate

    lake = tmp_path / "lake"
    write_staged(lake, "customers", "c1", _customers_table([1, 2, 3]))
    registry = str(REPO / "include/tables.yaml")

    _stage(lake, "good", _orders_table(), "bulk_insert")
    assert gate.run_gate(batch_args(lake, "sales_order", "good"), now=NOW)["status"] == "passed"
    written = promote.main(["--kind", "table", "--name", "sales_order", "--run_id", "good", "--lake_root", str(lake),
                            "--registry", registry, "--hive_sync", "false"])
    assert written["sales_order"]["written"] is True
    hudi = lake / "curated/hudi/sales_order"
    before = _fingerprint(hudi)
    assert any(name.startswith(".hoodie/") for name in before)

    bad = _orders_table(start_id=50)
    bad = pa.concat_tables([bad, bad.slice(0, 1)])  # a duplicated key
    _stage(lake, "bad", bad, "upsert")
    with pytest.raises(gate.QualityGateFailed, match="expect_column_values_to_be_unique"):
        gate.run_gate(batch_args(lake, "sales_order", "bad"), now=NOW)
    # the DAG's promote does not run after a failed gate; even run by hand it finds no staged batch
    with pytest.raises(FileNotFoundError):
        promote.main(["--kind", "table", "--name", "sales_order", "--run_id", "bad", "--lake_root", str(lake),
                      "--registry", registry, "--hive_sync", "false"])
    assert _fingerprint(hudi) == before
    rows = spark.read.format("hudi").load(str(hudi)).count()
    assert rows == 12


def test_feed_batch_clean_gate_promote(spark, tmp_path):
    """A CSV feed end to end: clean_feed -> gate (warnings only) -> promote into its curated table."""
    from autocorp_lake.jobs import clean_feed
    from autocorp_lake.jobs import promote
    from autocorp_lake.lake import BatchArgs
    from autocorp_lake.quality import dispatch

    lake = tmp_path / "lake"
    folder = lake / "raw/csv"  # the share as DataSync copies it
    folder.mkdir(parents=True)
    header = ("order_id,customer_id,order_date,invoice_number,payment_method,subtotal,tax,total_amount,"
              "order_type,status,notes,created_at,updated_at")
    rows = [f"{i},{i},2024-02-0{i} 10:00:00,INV-0000000{i},Cash,100.00,8.25,108.25,Parts,Completed,,"
            f"2024-02-0{i} 10:00:00,2024-02-0{i} 10:00:00" for i in range(1, 6)]
    rows.append("1,1,2024-02-01 10:00:00,INV-00000001,Cash,100.00,8.25,108.25,Parts,Completed,,"
                "2024-02-01 10:00:00,2024-02-01 10:00:00")  # a duplicate: rejected row-level
    (folder / "sales_orders.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    registry = str(REPO / "include/tables.yaml")
    args = ["--kind", "feed", "--name", "sales_orders", "--run_id", "f1", "--lake_root", str(lake), "--registry", registry]
    summary = clean_feed.main(args)["sales_orders"]  # cleaned, staged and gated in the job
    assert (summary["accepted"], summary["rejected_by_reason"]) == (5, {"duplicate_order_id": 1})
    assert summary["gate"] in ("passed", "warning")
    verdict = dispatch.verdict(BatchArgs.from_script_args(dict(zip(args[0::2], args[1::2]))))
    assert verdict["status"] == summary["gate"] and verdict["rows"] == 5, verdict["critical_failures"]
    result = promote.main(args + ["--hive_sync", "false"])["sales_orders"]
    assert result["written"] is True and result["table"] == "sales_orders_history"
    assert spark.read.format("hudi").load(str(lake / "curated/hudi/sales_orders_history")).count() == 5


def test_promote_writes_every_staged_table_and_names_the_one_that_failed(spark, tmp_path):
    """One promote run over three tables (its thread pool writes them at the same time): the two
    staged ones land whole (row by row) with their results and the job run's record; the one
    without a staged batch fails the job by name."""
    from autocorp_lake.jobs import promote

    lake = tmp_path / "lake"
    customers = _customers_table([1, 2, 3, 4])
    write_staged(lake, "customers", "r1", customers)
    (lake / "staged/customers/r1/_batch.json").write_text(json.dumps(
        {"table": "customers", "run_id": "r1", "rows": customers.num_rows, "mode": "bulk_insert"}))
    orders = _orders_table()
    _stage(lake, "r1", orders, "bulk_insert")
    with pytest.raises(promote.PromoteFailed, match=r"auto_parts: no staged batch .*\(promoted: customers, sales_order\)"):
        promote.main(["--kind", "table", "--name", "customers,sales_order,auto_parts", "--run_id", "r1",
                      "--lake_root", str(lake), "--registry", str(REPO / "include/tables.yaml"), "--hive_sync", "false"])
    for table, source, key in (("customers", customers, "customer_id"), ("sales_order", orders, "order_id")):
        curated = spark.read.format("hudi").load(str(lake / "curated/hudi" / table)).toPandas()
        expected = source.to_pandas()
        assert sorted(curated[key]) == sorted(expected[key])
        for column in ("email",) if table == "customers" else ("invoice_number", "total_amount"):
            assert dict(zip(curated[key], curated[column])) == dict(zip(expected[key], expected[column]))
        result = json.loads((lake / "logs/runs/r1/promote" / f"{table}.json").read_text())
        assert (result["written"], result["operation"], result["rows"]) == (True, "bulk_insert", len(expected))
    assert not (lake / "logs/runs/r1/promote/auto_parts.json").exists()
    job_run = json.loads((lake / "logs/runs/r1/promote.json").read_text())
    assert (job_run["zones"], job_run["failed"]) == (["customers", "sales_order", "auto_parts"], ["auto_parts"])
    assert not (lake / "curated/hudi/auto_parts").exists()
