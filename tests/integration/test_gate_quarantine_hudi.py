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
sys.path.insert(0, str(REPO / "glue_scripts"))
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
    import promote

    from autocorp_lake.quality import gate

    lake = tmp_path / "lake"
    write_staged(lake, "customers", "c1", _customers_table([1, 2, 3]))
    registry = str(REPO / "include/tables.yaml")

    _stage(lake, "good", _orders_table(), "bulk_insert")
    assert gate.run_gate(batch_args(lake, "sales_order", "good"), now=NOW)["status"] == "passed"
    written = promote.main(["--table", "sales_order", "--run_id", "good", "--lake_root", str(lake),
                            "--registry", registry, "--hive_sync", "false"])
    assert written["written"] is True
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
        promote.main(["--table", "sales_order", "--run_id", "bad", "--lake_root", str(lake),
                      "--registry", registry, "--hive_sync", "false"])
    assert _fingerprint(hudi) == before
    rows = spark.read.format("hudi").load(str(hudi)).count()
    assert rows == 12
