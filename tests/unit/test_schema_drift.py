"""The gate's schema comparison: Hudi's Avro commit schema against a batch's Spark schema."""

from __future__ import annotations

import json

from autocorp_lake.quality import schema_drift

SUITE = {"expectations": [{"type": "expect_table_columns_to_match_set",
                           "kwargs": {"column_set": ["Op", "part_id", "price", "_chk_commit_time"]}}]}
DERIVED = ["_chk_commit_time"]


def batch(**columns):
    return [{"name": name, "type": kind, "nullable": True} for name, kind in columns.items()]


def test_avro_types_read_as_spark_types():
    assert schema_drift.avro_type(["null", "int"]) == "int"
    assert schema_drift.avro_type(["null", "long"]) == "bigint"
    assert schema_drift.avro_type({"type": "fixed", "size": 5, "logicalType": "decimal",
                                   "precision": 10, "scale": 2}) == "decimal(10,2)"
    assert schema_drift.avro_type(["null", {"type": "long", "logicalType": "timestamp-micros"}]) == "timestamp"
    assert schema_drift.avro_type({"type": "int", "logicalType": "date"}) == "date"


def test_latest_commit_schema_skips_hudi_columns_and_reads_the_newest_commit(tmp_path):
    timeline = tmp_path / "curated/hudi/auto_parts/.hoodie"
    timeline.mkdir(parents=True)
    for instant, fields in (("20260101000000000", [("part_id", "int")]),
                            ("20260102000000000", [("_hoodie_commit_time", "string"), ("part_id", "int"),
                                                   ("warranty_months", ["null", "int"])])):
        schema = {"type": "record", "fields": [{"name": n, "type": t} for n, t in fields]}
        (timeline / f"{instant}.commit").write_text(json.dumps({"extraMetadata": {"schema": json.dumps(schema)}}))
    (timeline / "20260103000000000.commit.requested").write_text("")
    listing = lambda uri: sorted(str(p) for p in __import__("pathlib").Path(uri).iterdir())  # noqa: E731
    read = lambda uri: open(uri).read()  # noqa: E731
    assert schema_drift.latest_commit_schema(str(tmp_path), "auto_parts", listing, read) == {
        "part_id": "int", "warranty_months": "int"}
    assert schema_drift.latest_commit_schema(str(tmp_path), "customers", listing, read) is None


def test_first_load_is_compared_with_the_suite():
    same = schema_drift.compare(batch(Op="string", part_id="int", price="decimal(10,2)"), None, SUITE, DERIVED, ["part_id"])
    assert (same.new, same.dropped, same.changed, same.blocking) == ([], [], [], False)


def test_added_column_is_a_warning_and_the_suite_follows():
    columns = batch(Op="string", part_id="int", price="decimal(10,2)", warranty_months="int")
    curated = {"Op": "string", "part_id": "int", "price": "decimal(10,2)"}
    drift = schema_drift.compare(columns, curated, SUITE, DERIVED, ["part_id"])
    assert drift.new == [("warranty_months", "int")] and not drift.blocking
    followed = schema_drift.follow_schema(SUITE, drift, columns, DERIVED)
    assert followed["expectations"][0]["kwargs"]["column_set"] == [
        "Op", "part_id", "price", "warranty_months", "_chk_commit_time"]
    assert SUITE["expectations"][0]["kwargs"]["column_set"][-1] == "_chk_commit_time"  # not edited in place
    assert [r["severity"] for r in schema_drift.result_rows(drift)] == ["warning"]


def test_dropped_changed_and_renamed_key_block():
    curated = {"Op": "string", "part_id": "int", "price": "decimal(10,2)"}
    drift = schema_drift.compare(batch(Op="string", id="int", price="decimal(12,2)"), curated, SUITE, DERIVED, ["part_id"])
    assert drift.blocking
    assert drift.dropped == ["part_id"] and drift.new == [("id", "int")]
    assert drift.changed == [("price", "decimal(10,2)", "decimal(12,2)")]
    rules = [r["rule"] for r in schema_drift.result_rows(drift) if r["severity"] == "critical"]
    assert rules == ["column part_id is in the curated table but not in the batch (dropped or renamed in the source)",
                     "column price changed type: decimal(10,2) in the curated table, decimal(12,2) in the batch"]
    assert "autocorp_bootstrap --conf" in schema_drift.schema_fix("auto_parts", drift)
